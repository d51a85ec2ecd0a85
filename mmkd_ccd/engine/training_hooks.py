"""The hooks ``tools/train.py`` adds to every training config."""
from __future__ import annotations

import copy

from mmengine.config import Config

__all__ = ['TRAINING_HOOKS', 'add_training_hooks']

# default_hooks key -> hook config.
TRAINING_HOOKS = dict(
    exact_resume=dict(type='ExactResumeHook'),
    rank_averaged_log=dict(type='RankAveragedLogHook'),
)


def add_training_hooks(cfg: Config) -> None:
    """Add :data:`TRAINING_HOOKS` to ``cfg.default_hooks``.

    Users' configs inherit MMRazor/mmpretrain runtimes that do not list
    these hooks, so they are added under their own ``default_hooks`` keys,
    where the dumped config and the runner's hook list show them. A config
    (or ``--cfg-options``) that sets the key to ``None`` switches the hook
    off -- the key is then removed, because mmengine accepts ``None`` only
    for its own default hooks. A config that lists the same hook type in
    ``custom_hooks`` keeps its own settings.

    Args:
        cfg (Config): A training config; changed in place.
    """
    default_hooks = cfg.get('default_hooks') or {}
    custom_types = {hook.get('type') for hook in cfg.get('custom_hooks') or []
                    if isinstance(hook, dict)}
    for key, hook in TRAINING_HOOKS.items():
        if key in default_hooks:
            if default_hooks[key] is None:
                del default_hooks[key]
        elif hook['type'] not in custom_types:
            default_hooks[key] = copy.deepcopy(hook)
    cfg.default_hooks = default_hooks
