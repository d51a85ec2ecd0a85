from mmengine.config import Config

from mmkd_ccd.engine import add_training_hooks
from tests.utils import load_tool, repo_path

EXACT = dict(type='ExactResumeHook')
AVERAGED = dict(type='RankAveragedLogHook')


def test_added_under_their_own_keys():
    cfg = Config(dict(default_hooks=dict(logger=dict(type='LoggerHook'))))
    add_training_hooks(cfg)
    assert cfg.default_hooks == dict(logger=dict(type='LoggerHook'),
                                     exact_resume=EXACT,
                                     rank_averaged_log=AVERAGED)
    cfg = Config(dict())
    add_training_hooks(cfg)
    assert cfg.default_hooks == dict(exact_resume=EXACT,
                                     rank_averaged_log=AVERAGED)


def test_none_switches_a_hook_off():
    cfg = Config(dict(default_hooks=dict(exact_resume=None)))
    add_training_hooks(cfg)
    # Removed: mmengine accepts None only for its own default hooks.
    assert cfg.default_hooks == dict(rank_averaged_log=AVERAGED)


def test_a_config_keeps_its_own_settings():
    own = dict(type='ExactResumeHook', priority='HIGHEST')
    cfg = Config(dict(default_hooks=dict(exact_resume=own),
                      custom_hooks=[dict(AVERAGED)]))
    add_training_hooks(cfg)
    # Neither replaced nor registered twice.
    assert cfg.default_hooks == dict(exact_resume=own)
    assert cfg.custom_hooks == [AVERAGED]


def test_train_tool_adds_them_and_cfg_options_switch_them_off():
    train = load_tool(repo_path('tools', 'train.py'))
    config = repo_path('configs', 'ccd',
                       'ccd_logits_resnet34_resnet18_1xb8_tiny.py')
    cfg = train.build_config(train.parse_args([config]))
    assert cfg.default_hooks.exact_resume == EXACT
    assert cfg.default_hooks.rank_averaged_log == AVERAGED
    cfg = train.build_config(train.parse_args(
        [config, '--cfg-options', 'default_hooks.exact_resume=None']))
    assert 'exact_resume' not in cfg.default_hooks
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'
