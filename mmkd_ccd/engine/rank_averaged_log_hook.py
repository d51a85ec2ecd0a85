"""Log the losses of all ranks, not those of rank 0 alone."""
from __future__ import annotations

import zlib
from typing import Optional

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.hooks import Hook

from ..registry import HOOKS

__all__ = ['RankAveragedLogHook']


@HOOKS.register_module()
class RankAveragedLogHook(Hook):
    """Average the train step's log variables over ranks before they are
    logged.

    mmengine logs what the model's ``train_step`` returns on rank 0, i.e.
    the loss (and e.g. the mean CCD weight ``distill.ccd_weight``) of rank
    0's share of the batch. This hook replaces every value by its mean over
    ranks, so that the log describes the whole global batch (for equal
    per-rank batch sizes: exactly the value one process with the global
    batch would log). It runs before mmengine's ``RuntimeInfoHook`` hands
    the values to the logger; in a single process it does nothing.

    ``tools/train.py`` adds it as ``default_hooks.rank_averaged_log``;
    ``default_hooks.rank_averaged_log=None`` switches it off.

    Raises:
        RuntimeError: The ranks returned different log variable names (their
            values cannot be paired).
    """

    priority = 'HIGHEST'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Optional[dict] = None) -> None:
        world_size = get_world_size()
        if not outputs or world_size == 1:
            return
        names = sorted(outputs)
        # Every rank must send its values in the same order: compare the
        # name lists' sizes and checksums first (their max and min over
        # ranks, in one reduction, agree exactly when all ranks agree).
        key = [len(names), zlib.crc32('\n'.join(names).encode())]
        extremes = torch.tensor(key + [-k for k in key], dtype=torch.float64)
        all_reduce(extremes, op='max')
        if extremes[:2].tolist() != (-extremes[2:]).tolist():
            raise RuntimeError(
                'RankAveragedLogHook: the ranks returned different log '
                f'variables, so they cannot be averaged; this rank has '
                f'{names}.')
        values = torch.tensor([float(outputs[name]) for name in names],
                              dtype=torch.float64)
        all_reduce(values, op='sum')
        for name, total in zip(names, values.tolist()):
            mean = total / world_size
            value = outputs[name]
            outputs[name] = (
                value.detach().new_tensor(mean)
                if isinstance(value, torch.Tensor) else mean)
