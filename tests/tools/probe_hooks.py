"""Hooks that tests load into tools/train.py runs (through a test config's
``custom_imports``, see :func:`probe_config`): one records what each rank
trained on, one kills the process the way a crash or a preempted job would,
one freezes batch norm."""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import signal
from typing import Any, List, Sequence

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from torch.nn.modules.batchnorm import _BatchNorm

from mmkd_ccd.registry import HOOKS

# The environment a tools/train.py run of a probe config needs: the tools
# import the installed mmkd_ccd and leave sys.path alone, so this module's
# package, `tests`, is found through PYTHONPATH (tools/dist_train.sh and the
# Slurm scripts put the repository root there themselves).
PROBE_ENV = dict(PYTHONPATH=osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))

# 'iter:N' or 'epoch:N' (counted from 1): KillHook kills the process after
# that iteration or epoch, once the checkpoint hook has run.
KILL_AFTER_ENV = 'MMKD_TEST_KILL_AFTER'


def _tensor_digests(inputs: Any) -> List[str]:
    if hasattr(inputs, 'numpy'):
        return [hashlib.sha1(inputs.numpy().tobytes()).hexdigest()[:16]]
    return [digest for item in inputs for digest in _tensor_digests(item)]


@HOOKS.register_module()
class RecordBatchesHook(Hook):
    """Appends one JSON line per trained batch to
    ``work_dir/batches_rank{rank}.jsonl``: ``iter``, the samples'
    ``sample_idx`` and ``jda_ops``, a digest of every input tensor and the
    logged ``losses`` at full precision."""

    priority = 'LOWEST'

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        # Read before the model's data preprocessor, which rewrites the data
        # samples in place.
        samples = data_batch['data_samples']
        self._record = dict(
            iter=runner.iter + 1,
            sample_idx=[s.metainfo['sample_idx'] for s in samples],
            jda_ops=[list(s.metainfo['jda_ops']) for s in samples],
            inputs=_tensor_digests(data_batch['inputs']))

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        record = dict(self._record,
                      losses={k: float(v) for k, v in outputs.items()})
        path = osp.join(runner.work_dir, f'batches_rank{get_rank()}.jsonl')
        with open(path, 'a') as f:
            f.write(json.dumps(record) + '\n')


@HOOKS.register_module()
class KillHook(Hook):
    """SIGKILLs the process after the iteration or epoch named by the
    ``MMKD_TEST_KILL_AFTER`` environment variable; does nothing without
    it."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        unit, _, count = os.environ.get(KILL_AFTER_ENV, ':').partition(':')
        self.unit = unit
        self.count = int(count) if count else None

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.unit == 'iter' and runner.iter + 1 == self.count:
            os.kill(os.getpid(), signal.SIGKILL)

    def after_train_epoch(self, runner) -> None:
        if self.unit == 'epoch' and runner.epoch + 1 == self.count:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class FreezeBatchNormHook(Hook):
    """Puts every batch-norm layer in eval mode before each iteration, so
    that a step does not depend on how the batch is split over ranks."""

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        for module in runner.model.modules():
            if isinstance(module, _BatchNorm):
                module.eval()


def probe_config(folder: str, base: str, body: str = '',
                 hooks: Sequence[str] = ('RecordBatchesHook', 'KillHook')
                 ) -> str:
    """Write ``folder/probe_config.py``: ``base`` with these hooks
    importable and ``hooks`` (type names) as ``custom_hooks``, and ``body``
    appended; return its path."""
    path = osp.join(folder, 'probe_config.py')
    custom_hooks = [dict(type=name) for name in hooks]
    with open(path, 'w') as f:
        f.write(f"_base_ = [{base!r}]\n"
                "custom_imports = dict(imports=['mmkd_ccd', "
                "'tests.tools.probe_hooks'], allow_failed_imports=False)\n"
                f"custom_hooks = {custom_hooks!r}\n{body}")
    return path


def read_batches(work_dir: str, rank: int = 0) -> List[dict]:
    """What :class:`RecordBatchesHook` wrote for ``rank``, in order."""
    with open(osp.join(work_dir, f'batches_rank{rank}.jsonl')) as f:
        return [json.loads(line) for line in f]
