"""Exact resume: a killed run continued with ``--resume`` trains on the
same data with the same augmentation as the run that was never stopped."""
from __future__ import annotations

from typing import Optional

from mmengine.dataset import InfiniteSampler
from mmengine.dist import get_rank, get_world_size
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop

from ..registry import HOOKS
from .random_streams import TRAIN_STREAM, derive_seed, seed_all
from .seeded_loader import Consumed, SeededBatchSampler, seeded_dataloader

__all__ = ['ExactResumeHook']


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Make every random draw of training a function of the seed, the rank
    and the position in training, and resume inside an epoch.

    mmengine seeds the random generators once per run (and each dataloader
    worker once, with ``seed + num_workers * rank + worker_id``), so the
    augmentation a sample gets depends on everything drawn before it. A
    resumed run restarts those streams, and with ``persistent_workers=False``
    every epoch replays the first one's augmentation; with ``num_workers=0``
    all ranks draw the same augmentation. This hook replaces that by keyed
    streams (:mod:`mmkd_ccd.engine.random_streams`):

    - the train dataloader loads sample ``j`` of the batch trained at
      iteration ``i`` on rank ``r`` with Python's ``random``, numpy's and
      torch's CPU RNGs seeded from ``(seed, r, i, j)``, in the worker or in
      the main process alike (:mod:`mmkd_ccd.engine.seeded_loader`);
    - before iteration ``i`` the main process's generators (those of the
      model, the data preprocessor's random choices, dropout) are seeded
      from ``(seed, r, i)``;
    - on resume from a checkpoint written inside an epoch (an iteration
      checkpoint, or an iteration-based loop), the batches trained before
      the checkpoint are drawn from the sampler, so that its order goes on
      unchanged, but not loaded nor trained on again.

    Nothing but the seed, which mmengine stores in every checkpoint, is
    needed to continue, so the guarantee holds for any number of workers,
    ``persistent_workers`` either way and validation between epochs.
    ``tools/train.py`` adds this hook as ``default_hooks.exact_resume``;
    ``default_hooks.exact_resume=None`` switches it off.

    The run's data order (the sampler) is untouched, except that after a
    resume the sampler follows the seed restored from the checkpoint when
    it was built with the runner's seed (a config without
    ``randomness.seed`` gets a new random seed on every start).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._seed = 0
        self._rank = 0
        self._seed_at_build: Optional[int] = None
        self._checkpoint_meta: Optional[dict] = None
        # False for a second instance of this hook: the first one owns the
        # dataloader and the seeds.
        self._active = False

    def before_run(self, runner) -> None:
        # The train loop, and with it the sampler, was built with this seed;
        # resuming may change runner.seed afterwards.
        self._seed_at_build = runner.seed

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._checkpoint_meta = checkpoint.get('meta', {})

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['meta']['exact_resume'] = dict(
            world_size=get_world_size(),
            batches_per_epoch=len(runner.train_loop.dataloader))

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        if isinstance(loop.dataloader.batch_sampler, SeededBatchSampler):
            runner.logger.warning('ExactResumeHook is registered twice; the '
                                  'second one does nothing.')
            return
        self._active = True
        self._seed, self._rank = runner.seed, get_rank()
        if runner.iter > 0:
            self._check_checkpoint(runner)
        self._follow_resumed_seed(runner, loop.dataloader.batch_sampler)
        loop.dataloader = seeded_dataloader(loop.dataloader, self._seed,
                                            self._rank)
        if isinstance(loop, IterBasedTrainLoop):
            # Rebuilt over the new dataloader in before_train_epoch, once the
            # batch count is set.
            loop.dataloader_iterator = None
        runner.logger.info(
            f'ExactResumeHook: sample j of the batch of iteration i on rank '
            f'r is loaded with seeds from (seed={self._seed}, r, i, j), and '
            'iteration i runs with seeds from (seed, r, i).')

    def before_train_epoch(self, runner) -> None:
        if not self._active:
            return
        loop = runner.train_loop
        loader = loop.dataloader
        if isinstance(loop, IterBasedTrainLoop):
            # One epoch over all iterations; the loop itself draws (and we
            # pass over) the batches trained before a resume.
            loader.batch_sampler.restart(0, runner.iter)
            loop.dataloader_iterator = _rebuilt_iterator(loader)
            return
        first = runner.epoch * len(loader)
        consumed = runner.iter - first
        if not 0 <= consumed <= len(loader):
            runner.logger.warning(
                f'ExactResumeHook: iteration {runner.iter} is not in epoch '
                f'{runner.epoch + 1} of {len(loader)} batches: the train '
                'dataloader has another length than in the run that wrote '
                'the checkpoint (batch size, dataset or number of '
                'processes changed). The epoch is trained from its start.')
            loader.batch_sampler.restart(runner.iter, runner.iter)
        elif consumed and not isinstance(loop, EpochBasedTrainLoop):
            runner.logger.warning(
                f'ExactResumeHook: {type(loop).__name__} is not an '
                'EpochBasedTrainLoop, so the resumed epoch is trained from '
                f'its start ({consumed} batches again).')
            loader.batch_sampler.restart(runner.iter, runner.iter)
        else:
            loader.batch_sampler.restart(first, runner.iter)
            if consumed:
                runner.logger.info(
                    f'ExactResumeHook: resuming inside epoch '
                    f'{runner.epoch + 1}: its first {consumed} of '
                    f'{len(loader)} batches were trained before the '
                    'checkpoint and are passed over.')
                _pass_over_consumed(loop)

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        if self._active:
            seed_all(derive_seed(self._seed, TRAIN_STREAM, self._rank,
                                 runner.iter))

    def after_train_epoch(self, runner) -> None:
        vars(runner.train_loop).pop('run_iter', None)

    def _check_checkpoint(self, runner) -> None:
        meta = (self._checkpoint_meta or {}).get('exact_resume')
        if meta is None:
            runner.logger.warning(
                'ExactResumeHook: the checkpoint was written without this '
                'hook, so the random streams of the run that wrote it are '
                'unknown; data order and iteration counts continue, the '
                'augmentation does not repeat it.')
        elif meta['world_size'] != get_world_size():
            runner.logger.warning(
                f'ExactResumeHook: the checkpoint was written by '
                f'{meta["world_size"]} processes, this run has '
                f'{get_world_size()}: the resumed run draws other batches '
                'and augmentation than an uninterrupted run would have.')
        if runner.cfg.get('randomness', {}).get('diff_rank_seed', False):
            runner.logger.warning(
                'ExactResumeHook: randomness.diff_rank_seed=True gives the '
                "sampler a new random seed on every start (mmengine's "
                'DefaultSampler), so the resumed data order differs. Leave '
                'it False: this hook already gives every rank its own '
                'random streams.')

    def _follow_resumed_seed(self, runner, batch_sampler) -> None:
        sampler = getattr(batch_sampler, 'sampler', None)
        built_with_runner_seed = (
            getattr(sampler, 'seed', None) == self._seed_at_build)
        if built_with_runner_seed and runner.seed != self._seed_at_build:
            runner.logger.info(
                f'ExactResumeHook: the sampler follows the resumed seed '
                f'{runner.seed} (it was built with {self._seed_at_build}).')
            sampler.seed = runner.seed
        if isinstance(sampler, InfiniteSampler):
            # mmengine 0.10.7's InfiniteSampler draws from one generator made
            # at construction, which the loop's first iterator has already
            # advanced (and which holds the old seed): start it again.
            sampler.indices = sampler._indices_of_rank()


def _rebuilt_iterator(loader):
    """An iteration-based loop's infinite iterator (mmengine's
    ``_InfiniteDataloaderIterator``) over ``loader``."""
    from mmengine.runner.loops import _InfiniteDataloaderIterator
    return _InfiniteDataloaderIterator(loader)


def _pass_over_consumed(loop: EpochBasedTrainLoop) -> None:
    """Make ``loop`` skip :class:`Consumed` batches until the end of the
    epoch (``ExactResumeHook.after_train_epoch`` removes this again), so
    that the batch index it passes to hooks stays the position in the
    epoch."""
    run_iter = loop.run_iter

    def run_iter_unless_consumed(idx: int, data_batch) -> None:
        if not isinstance(data_batch, Consumed):
            run_iter(idx, data_batch)

    loop.run_iter = run_iter_unless_consumed
