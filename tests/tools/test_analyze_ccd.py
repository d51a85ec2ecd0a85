"""tools/analyze_ccd.py: the weight statistics on hand-made data, loading
the teacher from either kind of checkpoint, and the tool end to end."""
import json
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.utils import load_tool, repo_path, run_tool

TOOL = repo_path('tools', 'analyze_ccd.py')
CONFIG = repo_path('configs', 'ccd',
                   'ccd_logits_resnet34_resnet18_1xb8_tiny.py')
# The same model, with JDA on the model's device.
DEVICE_CONFIG = repo_path(
    'configs', 'ccd', 'ccd_logits_resnet34_resnet18_1xb8-devicejda_tiny.py')


tool = load_tool(TOOL)

# Five images; weights chosen so that every statistic is easy by hand.
WEIGHTS = [0.0, 0.5, 1.0, 1.5, 2.0]
OPS = [
    ['rotate(10)', 'invert'],
    ['rotate(26.7)'],  # another magnitude of the same op
    [],
    ['invert', 'invert'],  # fired twice in the chain: counted once
    ['shear_x(-0.167)'],
]


def test_summary_overall_by_hand():
    overall = tool.summarize_ccd_weights(WEIGHTS, OPS)['overall']
    assert overall['count'] == 5
    assert overall['mean'] == pytest.approx(1.0)
    # Population std: mean of squared deviations (1 + .25 + 0 + .25 + 1) / 5.
    assert overall['std'] == pytest.approx(math.sqrt(0.5))
    # Linear interpolation: q at position q * (n - 1) of the sorted values;
    # 0.05 * 4 = 0.2 -> 0.0 + 0.2 * 0.5 = 0.1.
    assert overall['quantiles'] == pytest.approx(
        {'0.05': 0.1, '0.25': 0.5, '0.5': 1.0, '0.75': 1.5, '0.95': 1.9})


def test_summary_groups_images_by_op():
    per_op = tool.summarize_ccd_weights(WEIGHTS, OPS)['per_op']
    assert list(per_op) == ['invert', 'rotate', 'shear_x', 'none fired']
    assert {name: stats['count'] for name, stats in per_op.items()} == {
        'invert': 2, 'rotate': 2, 'shear_x': 1, 'none fired': 1}
    assert per_op['invert']['mean'] == pytest.approx((0.0 + 1.5) / 2)
    assert per_op['rotate']['mean'] == pytest.approx((0.0 + 0.5) / 2)
    # 0.95 * (2 - 1) = 0.95 -> 0.0 + 0.95 * 1.5.
    assert per_op['invert']['quantiles']['0.95'] == pytest.approx(1.425)
    assert per_op['shear_x']['std'] == 0.0
    assert per_op['none fired']['mean'] == pytest.approx(1.0)


def test_summary_none_fired_row_is_always_there():
    summary = tool.summarize_ccd_weights([1.2, 1.8], [['invert'], ['invert']])
    assert summary['per_op']['none fired'] == dict(
        count=0, mean=None, std=None,
        quantiles={q: None for q in ('0.05', '0.25', '0.5', '0.75', '0.95')})
    table = tool.markdown_table(summary)
    lines = table.splitlines()
    assert lines[0].startswith('| group | count | mean | std | q0.05')
    assert lines[2].startswith('| all images | 2 | 1.5000 |')
    assert lines[-1] == '| none fired | 0 |' + ' - |' * 7


def test_summary_needs_one_op_list_per_image():
    with pytest.raises(ValueError, match='3 weights but 2 op lists'):
        tool.summarize_ccd_weights([1.0, 1.0, 1.0], [[], []])


@pytest.fixture(scope='module')
def distiller():
    """The tiny config's distillation model (random weights)."""
    torch.manual_seed(0)
    return tool.build_distiller_model(Config.fromfile(CONFIG))


def _perturbed(state_dict: dict) -> dict:
    return {key: value + 1 if value.is_floating_point() else value
            for key, value in state_dict.items()}


@pytest.mark.parametrize('kind', ['distillation', 'classifier'])
def test_teacher_loaded_from_either_checkpoint(distiller, tmp_path, kind):
    weights = _perturbed(distiller.teacher.state_dict())
    if kind == 'distillation':
        student = distiller.architecture.state_dict()
        checkpoint = {'state_dict': {
            **{f'teacher.{k}': v for k, v in weights.items()},
            **{f'architecture.{k}': v for k, v in student.items()}}}
    else:
        checkpoint = {'state_dict': weights}
    path = str(tmp_path / f'{kind}.pth')
    torch.save(checkpoint, path)
    teacher = tool.build_distiller_model(Config.fromfile(CONFIG)).teacher
    tool.load_teacher(teacher, path)
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, weights[key]), key


def test_teacher_checkpoint_with_other_keys_is_rejected(distiller, tmp_path):
    path = str(tmp_path / 'student.pth')
    torch.save({'state_dict': distiller.architecture.state_dict()}, path)
    with pytest.raises(ValueError, match=r'student\.pth: its keys do not '
                       r'match the teacher .*missing'):
        tool.load_teacher(distiller.teacher, path)
    with pytest.raises(FileNotFoundError, match='TEACHER_CKPT'):
        tool.load_teacher(distiller.teacher, str(tmp_path / 'nope.pth'))


@pytest.mark.parametrize('config', [CONFIG, DEVICE_CONFIG], ids=osp.basename)
def test_end_to_end(distiller, tiny_workspace, tmp_path, config):
    checkpoint = str(tmp_path / 'distill.pth')
    torch.save({'state_dict': distiller.state_dict()}, checkpoint)
    out_dir = str(tmp_path / 'analysis')
    output = run_tool([TOOL, config, checkpoint, '--num-images', '8',
                       '--out-dir', out_dir], tiny_workspace)
    assert '| all images | 8 |' in output
    assert osp.isfile(osp.join(out_dir, 'ccd_weights.png'))
    with open(osp.join(out_dir, 'ccd_weights_summary.json')) as f:
        summary = json.load(f)
    assert summary['overall']['count'] == 8
    weights = [image['weight'] for image in summary['images']]
    assert len(weights) == 8
    assert all(0.0 <= w <= 2.0 for w in weights)
    assert len({image['index'] for image in summary['images']}) == 8
    # Each image is in the group of every op that fired on it, or in
    # 'none fired'.
    expected_counts = {}
    for image in summary['images']:
        for name in {op.split('(')[0] for op in image['jda_ops']} or {
                'none fired'}:
            expected_counts[name] = expected_counts.get(name, 0) + 1
    counts = {name: stats['count']
              for name, stats in summary['per_op'].items() if stats['count']}
    assert counts == expected_counts
