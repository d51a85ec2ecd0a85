"""mmkd_ccd.tools.study and tools/study.py: study files, the grid, the
statistics against hand-computed values, the plot's data read back from
the PNG, and a small study on the tiny generated dataset end to end,
resumed."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest

from mmkd_ccd.tools import study as study_tools
from mmkd_ccd.tools.sweep import SweepFileError
from tests.utils import repo_path

TOOL = repo_path('tools', 'study.py')
DEMO = repo_path('configs', 'demo')
STUDENT = osp.join(DEMO, 'resnet18-w4_1xb32_digits.py')
KD = osp.join(DEMO, 'kd_logits_resnet18-w16_resnet18-w4_1xb32_digits.py')
TEACHER = osp.join(DEMO, 'resnet18-w16_1xb64_digits.py')


def write(tmp_path, text: str, name: str = 'study.py') -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


STUDY = f'''
title = 'two methods'
teacher = dict(config={TEACHER!r}, epochs=2)
cfg_options = {{'a.b': 1}}
methods = [
    dict(name='alone', config={STUDENT!r}),
    dict(name='KD', config={KD!r}, cfg_options={{'c': 2}},
         settings=['half'], plot=False),
]
settings = [
    dict(name='half', x=50, few_shot=0.5, epochs=5, cfg_options={{'d': 3}}),
    dict(name='all', x=100, seeds=[1]),
]
seeds = [0, 1]
comparisons = [('KD', 'alone')]
x_log = True
'''


# ---------------------------------------------------------------------------
# Statistics, by hand
# ---------------------------------------------------------------------------
def test_mean_and_sample_std():
    assert study_tools.mean_std([90.0, 92.0, 94.0]) == (92.0, 2.0)
    assert study_tools.mean_std([91.5]) == (91.5, None)


def test_paired_difference_by_hand():
    ours = {0: 92.0, 1: 95.0, 2: 91.0, 3: 96.0}
    # Seed 4 has no partner and is left out.
    baseline = {0: 90.0, 1: 91.0, 2: 90.0, 3: 92.0, 4: 99.0}
    row = study_tools.paired_difference(ours, baseline)
    # Differences 2, 4, 1, 4: mean 2.75, squared deviations 0.5625 +
    # 1.5625 + 3.0625 + 1.5625 = 6.75, sd = sqrt(6.75 / 3) = 1.5; the 95%
    # interval is 2.75 +- t(0.975, 3) * 1.5 / 2 with t = 3.18244630528.
    half = 3.18244630528 * 1.5 / 2
    assert row['n'] == 4 and row['seeds'] == [0, 1, 2, 3]
    assert row['mean'] == pytest.approx(2.75)
    assert row['std'] == pytest.approx(1.5)
    assert row['low'] == pytest.approx(2.75 - half)
    assert row['high'] == pytest.approx(2.75 + half)
    one = study_tools.paired_difference({0: 3.0}, {0: 1.0, 1: 5.0})
    assert (one['n'], one['mean'], one['low'], one['high']) == (
        1, 2.0, None, None)
    assert study_tools.paired_difference({0: 1.0}, {1: 1.0}) is None


def records(values):
    """Study records from ``{(method, setting, seed): value}``."""
    return [dict(method=m, setting=s, seed=seed, value=v)
            for (m, s, seed), v in values.items()]


def test_summary_tables_and_comparisons(tmp_path):
    study = study_tools.load_study(write(tmp_path, STUDY))
    summary = study_tools.summarize(records({
        ('alone', 'half', 0): 80.0, ('alone', 'half', 1): 84.0,
        ('alone', 'all', 1): 95.0, ('KD', 'half', 0): 86.0,
        ('KD', 'half', 1): 87.0, ('teacher', '', 0): 99.0,
    }) + [dict(method='KD', setting='all', seed=1, value=None)])
    assert summary['alone']['half'] == dict(values={0: 80.0, 1: 84.0}, n=2,
                                            mean=82.0,
                                            std=pytest.approx(2.8284271))
    assert summary['KD'] == {'half': dict(values={0: 86.0, 1: 87.0}, n=2,
                                          mean=86.5,
                                          std=pytest.approx(0.7071068))}
    assert 'teacher' not in summary
    table = study_tools.results_table(study, summary).splitlines()
    assert table[0] == '| method | half | all |'
    assert table[2] == '| alone | 82.00 ± 2.83 | 95.00 |'
    assert table[3] == '| KD | 86.50 ± 0.71 |  |'
    rows = study_tools.compare(study, summary)
    # KD - alone: +6 and +3 -> mean 4.5, sd 2.1213, t(0.975, 1) = 12.7062.
    half = 12.7062047362 * 2.12132034 / 2 ** 0.5
    assert len(rows) == 1 and rows[0]['mean'] == pytest.approx(4.5)
    assert rows[0]['high'] == pytest.approx(4.5 + half)
    compared = study_tools.comparison_table(study, rows).splitlines()
    assert compared[2] == (f'| KD − alone | +4.50 [{4.5 - half:+.2f}, '
                           f'{4.5 + half:+.2f}] (n=2) | - |')


def test_plot_holds_one_line_per_method_and_its_points(tmp_path):
    study = study_tools.load_study(write(tmp_path, STUDY))
    study.methods[1].plot = True
    summary = study_tools.summarize(records({
        ('alone', 'half', 0): 80.0, ('alone', 'half', 1): 84.0,
        ('alone', 'all', 1): 95.0, ('KD', 'half', 0): 86.0,
        ('KD', 'half', 1): 87.0}))
    path = str(tmp_path / 'plot.png')
    returned = study_tools.plot_study(study, summary, path)
    data = study_tools.read_plot_data(path)
    assert data == returned
    assert [(s['label'], s['x'], s['y']) for s in data] == [
        ('alone', [50.0, 100.0], [82.0, 95.0]),
        ('KD', [50.0], [86.5]),
    ]
    # Error bars: one sample std; none (drawn as 0) for a single seed.
    assert data[0]['yerr'] == pytest.approx([2.8284271, 0.0])
    assert data[1]['yerr'] == pytest.approx([0.7071068])
    study.methods[1].plot = False
    study_tools.plot_study(study, summary, path)
    assert [s['label'] for s in study_tools.read_plot_data(path)] == ['alone']


# ---------------------------------------------------------------------------
# Study files and the grid
# ---------------------------------------------------------------------------
def test_grid_order_and_command_lines(tmp_path):
    study = study_tools.load_study(write(tmp_path, STUDY))
    assert [m.distils for m in study.methods] == [False, True]
    runs = study_tools.grid(study, 'w')
    assert [(r.method, r.setting, r.seed) for r in runs] == [
        ('alone', 'half', 0), ('KD', 'half', 0),
        ('alone', 'half', 1), ('KD', 'half', 1), ('alone', 'all', 1)]
    kd = runs[1]
    assert kd.run_dir == osp.join('w', 'KD', 'half', 'seed0')
    assert kd.argv == [
        KD, '--work-dir', kd.run_dir, '--seed', '0', '--epochs', '5',
        '--few-shot', '0.5', '--test', '--cfg-options', 'a.b=1', 'c=2',
        'd=3', 'experiment_name=w_KD_half_seed0']
    assert study_tools.with_teacher(kd, 'w/teacher/epoch_2.pth')[-1] == (
        'model.teacher_ckpt=w/teacher/epoch_2.pth')
    assert study_tools.with_teacher(runs[0], 'w/t.pth') == runs[0].argv
    teacher = study_tools.teacher_run(study, 'w')
    assert teacher.argv[:7] == [TEACHER, '--work-dir',
                                osp.join('w', 'teacher'), '--seed', '0',
                                '--epochs', '2']
    assert runs[4].argv[5:7] == ['--test', '--cfg-options']  # no switches


@pytest.mark.parametrize('change, message', [
    ("seeds = [0, 0]", 'repeats a seed'),
    ("split = 'train'", r'"split" must be one of'),
    ("method = []", r"unknown key\(s\) \['method'\]"),
    ("comparisons = [('KD', 'DKD')]", r"unknown method\(s\) \['DKD'\]"),
    (f"methods = [dict(name='a', config={STUDENT!r}, settings=['most'])]",
     r"unknown setting\(s\) \['most'\]"),
    (f"methods = [dict(name='teacher', config={STUDENT!r})]",
     "duplicate name 'teacher'"),
    ("settings = [dict(name='a', few_shot=2)]", '"few_shot" must be a'),
    ("settings = [dict(name='a', epochs=True)]",
     r"settings\[0\] \('a'\): \"epochs\" must be a positive integer"),
    (f"teacher = dict(config={TEACHER!r}, epochs=0)",
     'teacher: "epochs" must be a positive integer'),
    ("settings = [dict(name='a', cfg_options=[1])]",
     r"settings\[0\] \('a'\): \"cfg_options\" must be a dict"),
    ("settings = [dict(name='a'), dict(name='a')]", "duplicate name 'a'"),
    ("teacher = dict(config='nope.py')", "'nope.py' not found"),
])
def test_study_file_errors_name_the_entry(tmp_path, change, message):
    path = write(tmp_path, STUDY + change + '\n')
    with pytest.raises(SweepFileError, match=message) as info:
        study_tools.load_study(path)
    assert str(info.value).startswith(path)


def test_shipped_study_files_load():
    for name in ('digits.py', 'digits_demo.py', 'digits_policy_val.py'):
        study = study_tools.load_study(
            repo_path('configs', 'ccd', 'studies', name))
        assert study.teacher.work_dir == 'work_dirs/digits_teacher'
    demo = study_tools.load_study(
        repo_path('configs', 'ccd', 'studies', 'digits_demo.py'))
    assert [m.name for m in demo.methods] == [
        'student alone', 'KD', 'KD+JDA', 'CCD+JDA']
    assert len(study_tools.grid(demo, 'w')) == 12


def test_seeds_note_names_the_seeds_of_each_setting(tmp_path):
    study = study_tools.load_study(write(tmp_path, STUDY))
    assert study_tools.seeds_note(study.settings) == (
        'seeds 0, 1 (half); 1 (all)')
    assert study_tools.seeds_note(study.settings[:1]) == 'seeds 0, 1'
    digits = study_tools.load_study(
        repo_path('configs', 'ccd', 'studies', 'digits.py'))
    assert study_tools.seeds_note(digits.settings) == (
        'seeds 0-9 (5%, 10%); 0-4 (25%); 0-2 (100%)')


# ---------------------------------------------------------------------------
# End to end on the tiny dataset
# ---------------------------------------------------------------------------
TINY = {
    'train_dataloader.batch_size': 8,
    'train_dataloader.dataset.data_root': 'data/tiny',
    'val_dataloader.dataset.data_root': 'data/tiny',
    'test_dataloader.dataset.data_root': 'data/tiny',
    'test_dataloader.dataset.data_prefix': 'val',
}
TINY_STUDY = f'''
title = 'tiny'
teacher = dict(config={TEACHER!r}, epochs=1, cfg_options={TINY!r})
cfg_options = {TINY!r}
methods = [
    dict(name='alone', config={STUDENT!r}),
    dict(name='KD', config={KD!r}),
    # fails when its model is built (ResNet_CIFAR has no depth 19)
    dict(name='broken', config={STUDENT!r},
         cfg_options={{'model.backbone.depth': 19}}),
]
settings = [dict(name='half', x=50, few_shot=0.5, epochs=1)]
seeds = [0, 1]
comparisons = [('KD', 'alone')]
'''


def run_study(argv, cwd):
    proc = subprocess.run([sys.executable, TOOL, *argv], cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=600,
                          env=dict(os.environ, PYTHONUNBUFFERED='1'))
    return proc.returncode, proc.stdout


def test_tiny_study_end_to_end_and_resumed(tiny_workspace, tmp_path):
    path = write(tmp_path, TINY_STUDY)
    work_dir = str(tmp_path / 'work')
    argv = [path, '--work-dir', work_dir, '--workers', '2']
    code, output = run_study(argv, tiny_workspace)
    # The broken method fails, the others finish; the exit status says so.
    assert code == 1, output
    lines = output.splitlines()
    assert sum(line.startswith('[') and '/7] ' in line for line in lines) == 7
    assert 'trained 7, reused 0' in output
    broken = [line for line in lines if 'broken | half | seed 0' in line]
    assert broken and 'failed (' in broken[0] and 'log: ' in broken[0]
    with open(osp.join(work_dir, 'results.json')) as f:
        results = json.load(f)
    assert results['teacher']['status'] == 'done'
    assert osp.isfile(results['teacher']['checkpoint'])
    statuses = {(r['method'], r['seed']): r['status'] for r in results['runs']}
    assert statuses == {('alone', 0): 'done', ('KD', 0): 'done',
                        ('broken', 0): 'failed', ('alone', 1): 'done',
                        ('KD', 1): 'done', ('broken', 1): 'failed'}
    kd_logs = [r['log'] for r in results['runs'] if r['method'] == 'KD']
    for log in kd_logs:
        with open(log) as f:
            text = f.read()
        # Distilled from the study's teacher, which mmengine loaded.
        assert ('Loads checkpoint by local backend from path: '
                f"{results['teacher']['checkpoint']}") in text
        assert text.rstrip().splitlines()[-1].startswith('train.py: val')
    values = {m: [r['value'] for r in results['runs'] if r['method'] == m]
              for m in ('alone', 'KD')}
    for method, got in values.items():
        assert all(0 <= v <= 100 for v in got)
        cell = results['summary'][method]['half']
        assert cell['mean'] == pytest.approx(sum(got) / 2)
    assert [s['label'] for s in study_tools.read_plot_data(
        osp.join(work_dir, 'plot.png'))] == ['alone', 'KD']
    with open(osp.join(work_dir, 'results.md')) as f:
        assert f.read() in output

    # Resumed: the finished runs are reused, only the failed ones retried.
    launches = sorted(os.listdir(osp.join(work_dir, 'KD', 'half', 'seed1')))
    code, output = run_study(argv, tiny_workspace)
    assert code == 1
    assert 'trained 2, reused 5' in output
    assert sorted(os.listdir(osp.join(work_dir, 'KD', 'half', 'seed1'))) == (
        launches)
    with open(osp.join(work_dir, 'results.json')) as f:
        again = json.load(f)
    assert again['summary'] == results['summary']
