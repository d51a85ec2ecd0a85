from .exact_resume_hook import ExactResumeHook
from .loops import DistillTestLoop
from .rank_averaged_log_hook import RankAveragedLogHook
from .training_hooks import TRAINING_HOOKS, add_training_hooks

__all__ = ['DistillTestLoop', 'ExactResumeHook', 'RankAveragedLogHook',
           'TRAINING_HOOKS', 'add_training_hooks']
