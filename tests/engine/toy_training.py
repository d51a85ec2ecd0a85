"""A toy mmengine training run whose data and model draw from every random
generator, for the engine tests: what each iteration trained on is
recorded, a run can be cut after a given iteration, and resumed."""
from __future__ import annotations

import random
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner, set_random_seed
from torch import nn
from torch.utils.data import Dataset


class RandomDataset(Dataset):
    """Sample ``i`` is ``(i, random.random(), np.random.rand(),
    torch.rand(()))``: its "augmentation" is the three draws."""

    def __init__(self, size: int = 10) -> None:
        self.size = size
        self.metainfo = dict(classes=('toy', ))

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> dict:
        return dict(inputs=torch.tensor(
            [float(index), random.random(), np.random.rand(),
             torch.rand(()).item()], dtype=torch.float64))


class DropoutModel(BaseModel):
    """A linear model behind dropout, so that the main process's torch RNG
    changes the weights too."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 1).double()
        # Fixed start, so that runs differ only by what they train on.
        nn.init.constant_(self.linear.weight, 0.1)
        nn.init.zeros_(self.linear.bias)
        self.dropout = nn.Dropout(0.5)

    def forward(self, inputs: List[torch.Tensor], data_samples=None,
                mode: str = 'tensor') -> Dict[str, torch.Tensor]:
        # Sample indices scaled down to the draws' range.
        features = torch.stack(inputs) / torch.tensor([10., 1., 1., 1.],
                                                      dtype=torch.float64)
        out = self.linear(self.dropout(features))
        return dict(loss=(out - 1).pow(2).mean())


class Interrupted(Exception):
    """Raised by :class:`RecordHook` to cut a run short."""


class RecordHook(Hook):
    """Records ``(iteration, batch index, inputs)`` of every trained batch;
    raises :class:`Interrupted` after the iteration or epoch ``stop_after``
    names (after the checkpoint hook, as if the process were killed there).

    Args:
        stop_after (dict, optional): ``dict(iteration=N)`` or
            ``dict(epoch=N)``, counted from 1. Defaults to None.
    """

    priority = 'LOWEST'

    def __init__(self, stop_after: Optional[dict] = None) -> None:
        self.stop_after = stop_after or {}
        self.records: List[tuple] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        self.records.append(
            (runner.iter, batch_idx,
             torch.stack(data_batch['inputs']).numpy().round(12).tolist()))
        if runner.iter + 1 == self.stop_after.get('iteration'):
            raise Interrupted

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.stop_after.get('epoch'):
            raise Interrupted


_RUNS = [0]


def toy_runner(work_dir: str, hooks: List[Hook], *, by_epoch: bool = True,
               max_length: int = 3, checkpoint: Optional[dict] = None,
               exact_resume: bool = True, resume_from: Optional[str] = None,
               seed: Optional[int] = 0, **loader) -> Runner:
    """A runner over :class:`RandomDataset` (10 samples, batch 4 -> 3
    batches per epoch). ``by_epoch=False`` makes it iteration-based with
    an ``InfiniteSampler``; ``max_length`` is epochs or iterations."""
    _RUNS[0] += 1
    if by_epoch:
        train_cfg = dict(by_epoch=True, max_epochs=max_length)
        sampler = dict(type='DefaultSampler', shuffle=True)
    else:
        train_cfg = dict(by_epoch=False, max_iters=max_length)
        sampler = dict(type='InfiniteSampler', shuffle=True)
    custom_hooks = list(hooks)
    if exact_resume:
        custom_hooks.append(dict(type='ExactResumeHook'))
    loader_cfg = dict(num_workers=0)
    loader_cfg.update(loader)
    return Runner(
        model=DropoutModel(),
        work_dir=work_dir,
        experiment_name=f'toy_{_RUNS[0]}',
        # No default scope: it would stay current for the tests after this.
        default_scope=None,
        train_dataloader=dict(dataset=RandomDataset(), sampler=sampler,
                              batch_size=4, **loader_cfg),
        train_cfg=train_cfg,
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=checkpoint or dict(type='CheckpointHook',
                                          interval=1, by_epoch=by_epoch)),
        log_processor=dict(by_epoch=by_epoch),
        custom_hooks=custom_hooks,
        randomness=dict(seed=seed),
        resume=resume_from is not None,
        load_from=resume_from)


def worker_epochs(seed: int, epochs: int = 2) -> List[torch.Tensor]:
    """The ``(10, 4)`` samples of :class:`RandomDataset` in each of
    ``epochs`` passes of a dataloader built by mmengine's runner with 2
    workers that restart every epoch (``persistent_workers=False``), in a
    process seeded with ``seed`` as a run's start seeds it."""
    set_random_seed(seed)
    loader = Runner.build_dataloader(
        dict(dataset=RandomDataset(),
             sampler=dict(type='DefaultSampler', shuffle=False),
             batch_size=5, num_workers=2, persistent_workers=False),
        seed=seed)
    return [torch.cat([torch.stack(batch['inputs']) for batch in loader])
            for _ in range(epochs)]
