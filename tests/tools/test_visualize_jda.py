"""tools/visualize_jda.py: the pipeline cut at PairedViews, the PNG grid of
view pairs, and the error for a config without PairedViews."""
import subprocess
import sys

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from tests.utils import load_tool, repo_path, run_tool

TOOL = repo_path('tools', 'visualize_jda.py')
CCD_CONFIG = repo_path('configs', 'ccd',
                       'ccd_logits_resnet34_resnet18_1xb8_tiny.py')
KD_CONFIG = repo_path('configs', 'kd',
                      'kd_logits_resnet34_resnet18_1xb8_tiny.py')


tool = load_tool(TOOL)

PAIRED = dict(type='PairedViews', view_pipeline=[dict(type='RandomFlip')],
              augment=[dict(type='JDA')])


def test_pipeline_is_cut_after_paired_views():
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='RepeatDataset', times=2, dataset=dict(
            type='CustomDataset',
            pipeline=[dict(type='LoadImageFromFile'), PAIRED,
                      dict(type='PackInputs')])))))
    dataset_cfg = tool.paired_dataset_cfg(cfg, 'cfg.py')
    # Followed into the wrapped dataset; PackInputs is gone; the config
    # itself is untouched.
    assert [step['type'] for step in dataset_cfg['dataset']['pipeline']] == [
        'LoadImageFromFile', 'PairedViews']
    assert len(cfg.train_dataloader.dataset.dataset.pipeline) == 3


def test_device_paired_views_are_shown_finished():
    from mmengine.registry import TRANSFORMS
    views = TRANSFORMS.build(
        dict(type='DevicePairedViews', view_pipeline=[],
             augment=[dict(type='JDA', policy=[dict(type='invert')],
                           prob=1.0)]))
    image = np.arange(48, dtype=np.uint8).reshape(4, 4, 3)
    original, augmented = tool.views_to_show(views(dict(img=image)))
    assert np.array_equal(original, image)
    assert np.array_equal(augmented, 255 - image)
    dataset_cfg = tool.paired_dataset_cfg(
        Config(dict(train_dataloader=dict(dataset=dict(
            pipeline=[dict(type='LoadImageFromFile'),
                      dict(PAIRED, type='DevicePairedViews')])))), 'cfg.py')
    assert dataset_cfg['pipeline'][-1]['type'] == 'DevicePairedViews'


def test_caption_names_fired_ops_or_says_none():
    assert tool.caption(3, 'cat', ['rotate(10)', 'invert']) == (
        '#3 (cat): rotate(10), invert')
    assert 'no JDA op fired' in tool.caption(0, 'cat', [])


def test_grid_of_view_pairs(tiny_workspace, tmp_path):
    out = str(tmp_path / 'grid' / 'pairs.png')
    num = 3
    output = run_tool([TOOL, CCD_CONFIG, '--out', out, '--num', str(num),
                       '--seed', '1'], tiny_workspace)
    assert out in output
    img = np.asarray(Image.open(out).convert('RGB'))
    height, width = img.shape[:2]
    # One row per image, two view columns; savefig keeps the figure size.
    assert height / width == pytest.approx(
        num * tool.ROW_INCHES / (2 * tool.COLUMN_INCHES))
    assert (height, width) == (num * tool.ROW_INCHES * tool.DPI,
                               2 * tool.COLUMN_INCHES * tool.DPI)
    assert img.std() > 0  # images were drawn, not an empty canvas


def test_config_without_paired_views_fails_clearly(tiny_workspace, tmp_path):
    proc = subprocess.run(
        [sys.executable, TOOL, KD_CONFIG, '--out', str(tmp_path / 'x.png')],
        cwd=tiny_workspace, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, timeout=300)
    assert proc.returncode != 0
    assert (f'{KD_CONFIG}: train_dataloader.dataset.pipeline has no '
            'PairedViews transform') in proc.stdout
    assert 'Traceback' not in proc.stdout
    assert not (tmp_path / 'x.png').exists()
