"""mmkd_ccd.tools.config_switches (--epochs, --few-shot, the seed), alone
and through tools/train.py's command line."""
import pytest
from mmengine.config import Config

from mmkd_ccd.tools.config_switches import (DEFAULT_SEED, set_epochs,
                                            set_seed, wrap_few_shot)
from tests.utils import load_tool, repo_path

TRAIN = load_tool(repo_path('tools', 'train.py'))
TEACHER = repo_path('configs', 'demo', 'resnet18-w16_1xb64_digits.py')
STUDENT = repo_path('configs', 'demo',
                    'kd_logits_resnet18-w16_resnet18-w4_1xb32_digits.py')


def cifar_like() -> Config:
    """A 240-epoch step schedule with an iteration-based warm-up."""
    return Config(dict(
        train_cfg=dict(by_epoch=True, max_epochs=240, val_interval=1),
        param_scheduler=[
            dict(type='LinearLR', by_epoch=False, begin=0, end=500),
            dict(type='MultiStepLR', by_epoch=True,
                 milestones=[150, 180, 210], gamma=0.1),
        ],
        default_hooks=dict(checkpoint=dict(type='CheckpointHook',
                                           interval=10))))


def test_epochs_scale_milestones_and_keep_short_intervals():
    cfg = cifar_like()
    changes = set_epochs(cfg, 24)
    assert cfg.train_cfg.max_epochs == 24
    # 150/180/210 of 240 -> 15/18/21 of 24; the warm-up counts iterations.
    assert cfg.param_scheduler[1].milestones == [15, 18, 21]
    assert cfg.param_scheduler[0].end == 500
    assert cfg.train_cfg.val_interval == 1
    assert cfg.default_hooks.checkpoint.interval == 10
    assert 'param_scheduler[1].milestones [150, 180, 210] -> [15, 18, 21]' \
        in changes
    # An interval longer than the new schedule ends at its end.
    set_epochs(cfg, 5)
    assert cfg.default_hooks.checkpoint.interval == 5
    assert cfg.param_scheduler[1].milestones == [3, 4, 4]


def test_epochs_flag_moves_cosine_period_validation_and_checkpoints():
    cfg = TRAIN.build_config(TRAIN.parse_args([TEACHER, '--epochs', '45']))
    assert cfg.train_cfg.max_epochs == 45
    assert cfg.param_scheduler.T_max == 45  # was 30, the schedule's length
    assert cfg.train_cfg.val_interval == 45
    assert cfg.default_hooks.checkpoint.interval == 45


def test_epochs_refused_for_iteration_schedules_and_bad_values():
    cfg = Config(dict(train_cfg=dict(by_epoch=False, max_iters=1000)))
    with pytest.raises(ValueError, match='train_cfg has no max_epochs'):
        set_epochs(cfg, 10)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match='--epochs must be a positive'):
            set_epochs(cifar_like(), bad)


def test_few_shot_wraps_the_training_set_with_the_runs_seed():
    cfg = TRAIN.build_config(TRAIN.parse_args(
        [STUDENT, '--few-shot', '0.1', '--seed', '3']))
    dataset = cfg.train_dataloader.dataset
    assert (dataset.type, dataset.fraction, dataset.seed) == (
        'FewShotDataset', 0.1, 3)
    assert dataset.dataset.type == 'CustomDataset'
    assert dataset.dataset.data_prefix == 'train'
    with pytest.raises(ValueError, match='FewShotDataset already'):
        wrap_few_shot(cfg, 0.5, 0)
    for bad in (0, 1.5, '0.1'):
        with pytest.raises(ValueError, match=r'--few-shot must be a fraction'):
            wrap_few_shot(Config.fromfile(STUDENT), bad, 0)


def test_few_shot_resumed_without_a_seed_is_refused(tmp_path):
    checkpoint = tmp_path / 'epoch_1.pth'
    checkpoint.write_bytes(b'')
    with pytest.raises(ValueError, match='pass the --seed of the run'):
        TRAIN.build_config(TRAIN.parse_args(
            [STUDENT, '--few-shot', '0.1', '--resume', str(checkpoint)]))


def test_seed_given_configured_default_and_resumed():
    cfg = Config(dict(randomness=dict(seed=None)))
    assert set_seed(cfg, None, resuming=False).startswith(
        f'seed {DEFAULT_SEED}: the default')
    assert cfg.randomness.seed == DEFAULT_SEED
    cfg = Config(dict(randomness=dict(seed=7, deterministic=True)))
    assert set_seed(cfg, None, resuming=False) == 'seed 7 (randomness.seed)'
    assert cfg.randomness == dict(seed=7, deterministic=True)
    assert set_seed(cfg, 2, resuming=True) == 'seed 2 (--seed)'
    assert cfg.randomness.seed == 2
    # Resuming without a seed: mmengine restores the checkpoint's.
    cfg = Config(dict())
    assert 'stored in the checkpoint' in set_seed(cfg, None, resuming=True)
    assert cfg.randomness.get('seed') is None
    assert TRAIN.build_config(TRAIN.parse_args([TEACHER])).randomness.seed \
        == DEFAULT_SEED
