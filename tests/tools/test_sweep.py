"""tools/sweep.py: reading final metrics from hand-written logs, sweep file
checks, command lines, and the tiny two-run sweep end to end."""
import json
import os
import os.path as osp
import sys
from typing import List

import pytest

from mmkd_ccd.tools import sweep as sweep_tools
from tests.utils import load_tool, repo_path, run_tool

TOOL = repo_path('tools', 'sweep.py')
TINY_SWEEP = repo_path('configs', 'ccd', 'sweeps', 'proportion_tiny.py')
TINY_CONFIG = 'configs/ccd/ccd_logits_resnet34_resnet18_1xb8_tiny.py'


tool = load_tool(TOOL)


def _write_scalars(work_dir, timestamp: str, records: List[dict]) -> None:
    vis_data = work_dir / timestamp / 'vis_data'
    vis_data.mkdir(parents=True)
    (vis_data / 'scalars.json').write_text(''.join(
        json.dumps(r) + '\n' for r in records))


def _train(step: int) -> dict:
    return dict(lr=0.1, loss=1.0, time=0.3, data_time=0.01, epoch=step,
                iter=step, step=step)


def _val(step: int, top1: float) -> dict:
    return {'accuracy/top1': top1, 'teacher.accuracy/top1': 50.0,
            'data_time': 0.01, 'time': 0.1, 'step': step}


def test_final_metrics_last_record_of_latest_launch(tmp_path):
    _write_scalars(tmp_path, '20240101_120000',
                   [_train(1), _val(1, 10.0), _train(2), _val(2, 99.0)])
    # The later launch (a resume) ends on a training record: its last
    # validation record counts, not the earlier launch's.
    _write_scalars(tmp_path, '20240102_080000', [
        _train(3), _val(3, 30.0), _train(4), _val(4, 40.0), _train(5)
    ])
    (tmp_path / 'not_a_launch').mkdir()
    assert sweep_tools.final_metrics(str(tmp_path)) == {
        'accuracy/top1': 40.0,
        'teacher.accuracy/top1': 50.0
    }


def test_final_metrics_latest_launch_without_validation(tmp_path):
    _write_scalars(tmp_path, '20240101_120000', [_train(1), _val(1, 10.0)])
    # A launch that crashed before validating: no final metrics, rather
    # than the previous attempt's.
    _write_scalars(tmp_path, '20240102_080000', [_train(1)])
    (tmp_path / '20240103_080000').mkdir()
    assert sweep_tools.final_metrics(str(tmp_path)) == {}
    assert sweep_tools.final_metrics(str(tmp_path / 'missing')) == {}


def _sweep_file(tmp_path, text: str, name: str = 'sweep.py') -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_load_sweep(tmp_path):
    (tmp_path / 'local.py').write_text('x = 1\n')
    path = _sweep_file(
        tmp_path, f"""
title = 'ablation'
runs = [
    dict(name='KD+JDA', config='local.py',
         cfg_options={{'a.b': 'none', 'c': [1, 2.5], 'd': (True, None)}}),
    dict(name='repo root', config='{TINY_CONFIG}'),
]
""")
    sweep = sweep_tools.load_sweep(path)
    assert sweep.title == 'ablation' and sweep.metrics is None
    first, second = sweep.runs
    # Relative to the sweep file first, then the cwd, then the repo root.
    assert first.config_path == str(tmp_path / 'local.py')
    assert second.config_path == repo_path(TINY_CONFIG)
    assert first.options == ['a.b=none', 'c=[1,2.5]', 'd=(True,None)']
    assert sweep_tools.safe_name(second.name) == 'repo_root'


@pytest.mark.parametrize('text, message', [
    ("metrics = ['accuracy/top1']\n", 'no "runs" list'),
    ("runs = []\n", '"runs" must be a non-empty list'),
    (f"runs = [dict(name='a', config='{TINY_CONFIG}'),"
     f" dict(name='a', config='{TINY_CONFIG}')]\n",
     r"runs\[1\] \('a'\): duplicate name 'a'"),
    (f"runs = [dict(name='a b', config='{TINY_CONFIG}'),"
     f" dict(name='a_b', config='{TINY_CONFIG}')]\n",
     r"runs\[1\] \('a_b'\): duplicate work dir 'a_b'"),
    ("runs = [dict(name='KD', config='configs/nope.py')]\n",
     r"""runs\[0\] \('KD'\): "config" file 'configs/nope.py' not found"""),
    (f"runs = [dict(config='{TINY_CONFIG}')]\n",
     r'runs\[0\]: "name" must be a non-empty string'),
    (f"runs = [dict(name='a', config='{TINY_CONFIG}', cfg_option={{}})]\n",
     r"runs\[0\]: unknown key\(s\) \['cfg_option'\]"),
    (f"runs = [dict(name='a', config='{TINY_CONFIG}',"
     " cfg_options={'x': 'a,b'})]\n",
     r"cfg_options\['x'\] = 'a,b' cannot be passed"),
    (f"runs = [dict(name='a', config='{TINY_CONFIG}')]\nmetric = ['x']\n",
     r"unknown key\(s\) \['metric'\]"),
])
def test_load_sweep_errors(tmp_path, text, message):
    path = _sweep_file(tmp_path, text)
    with pytest.raises(sweep_tools.SweepFileError, match=message) as info:
        sweep_tools.load_sweep(path)
    assert str(info.value).startswith(path)


@pytest.mark.parametrize('name', ['proportion_tiny.py', 'kd_vs_ccd_in1k.py'])
def test_shipped_sweep_files_load(name):
    sweep = sweep_tools.load_sweep(repo_path('configs', 'ccd', 'sweeps', name))
    assert len(sweep.runs) == 2 and sweep.metrics[0] == 'accuracy/top1'


def test_load_sweep_json_and_yaml(tmp_path):
    run = dict(name='a', config=TINY_CONFIG, cfg_options={'x.y': 0.5})
    json_path = _sweep_file(tmp_path, json.dumps(dict(runs=[run])),
                            'sweep.json')
    yaml_path = _sweep_file(
        tmp_path, f'runs:\n  - name: a\n    config: {TINY_CONFIG}\n'
        '    cfg_options: {x.y: 0.5}\n', 'sweep.yaml')
    for path in (json_path, yaml_path):
        assert sweep_tools.load_sweep(path).runs[0].options == ['x.y=0.5']


def test_train_command():
    run = sweep_tools.Run('a', 'a.py', '/abs/a.py', {'k': 1}, ['k=1'])
    assert sweep_tools.train_command(run, 'w/a', 'none', 1, tool.TRAIN) == [
        sys.executable, tool.TRAIN, '/abs/a.py', '--work-dir', 'w/a',
        '--launcher', 'none', '--cfg-options', 'k=1'
    ]
    command = sweep_tools.train_command(run, 'w/a', 'pytorch', 8,
                                        tool.TRAIN)
    assert command[1:4] == ['-m', 'torch.distributed.run',
                            '--nproc_per_node=8']
    assert command[5:] == [
        tool.TRAIN, '/abs/a.py', '--work-dir', 'w/a', '--launcher',
        'pytorch', '--cfg-options', 'k=1'
    ]


def test_sweep_tiny_end_to_end(tiny_workspace, tmp_path):
    work_dir = str(tmp_path / 'sweep')
    out = str(tmp_path / 'table.md')
    output = run_tool([TOOL, TINY_SWEEP, '--work-dir', work_dir, '--out', out],
                      tiny_workspace)
    names = ['augmented_fraction=0.5', 'augmented_fraction=1.0']
    with open(out) as f:
        table = f.read()
    assert table in output
    cells = [[c.strip() for c in line.strip('|').split('|')]
             for line in table.splitlines() if line.startswith('|')]
    rows = {row[0]: row for row in cells[2:]}  # after header and rule
    assert sorted(rows) == names
    with open(osp.join(work_dir, 'results.json')) as f:
        results = json.load(f)
    assert results['metrics'] == ['accuracy/top1', 'teacher.accuracy/top1']
    assert [r['name'] for r in results['runs']] == names
    for run in results['runs']:
        run_dir = osp.join(work_dir, sweep_tools.safe_name(run['name']))
        metrics = sweep_tools.final_metrics(run_dir)
        assert 0 <= metrics['accuracy/top1'] <= 100
        assert run['status'] == 'done' and run['metrics'] == metrics
        # Columns: name, config, cfg-options, top1, teacher top1, status.
        row = rows[run['name']]
        assert [float(v) for v in row[3:5]] == [
            round(metrics['accuracy/top1'], 2),
            round(metrics['teacher.accuracy/top1'], 2)
        ]
        assert row[5] == 'done'
        assert os.path.isfile(osp.join(run_dir, 'epoch_1.pth'))

    # Finished runs are reused, not trained again.
    output = run_tool([TOOL, TINY_SWEEP, '--work-dir', work_dir,
                       '--skip-existing'], tiny_workspace)
    assert output.count(': reused ') == 2
    assert sorted(os.listdir(work_dir)) == [
        *[sweep_tools.safe_name(n) for n in names], 'results.json',
        'results.md'
    ]


def test_sweep_goes_on_after_a_failed_run(tmp_path, monkeypatch, capsys):
    # A stand-in for train.py, so the test needs no training.
    fake_train = tmp_path / 'fake_train.py'
    fake_train.write_text('import sys\nprint("ValueError: bad key")\n'
                          'sys.exit(3)\n')
    monkeypatch.setattr(tool, 'TRAIN', str(fake_train))
    path = _sweep_file(
        tmp_path, f"runs = [dict(name='a', config='{TINY_CONFIG}'), "
        f"dict(name='b', config='{TINY_CONFIG}'), "
        f"dict(name='left out', config='{TINY_CONFIG}')]\n")
    work_dir = str(tmp_path / 'work')
    assert tool.main([path, '--work-dir', work_dir, '--only', 'a', 'b']) == 1
    output = capsys.readouterr().out
    assert output.count('FAILED (exit 3)') == 2
    assert 'ValueError: bad key' in output
    with open(osp.join(work_dir, 'results.json')) as f:
        runs = json.load(f)['runs']
    assert [(r['status'], r['returncode']) for r in runs] == [
        ('failed (exit 3)', 3), ('failed (exit 3)', 3), ('not run', None)
    ]
    # Failed runs are not reused.
    assert tool.main([path, '--work-dir', work_dir, '--only', 'a',
                      '--skip-existing']) == 1
