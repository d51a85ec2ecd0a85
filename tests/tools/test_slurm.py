"""tools/slurm_train.sh and tools/slurm_test.sh through a stand-in ``srun``:
a tiny CCD+JDA run trained, resumed and tested as Slurm job steps on CPU.

The stand-in (first on ``PATH``) parses the srun options the scripts pass,
refuses anything it does not expect, records what it got, and runs the task
with the variables a real srun sets for a one-task step; a stand-in
``scontrol`` expands the node list as mmengine's slurm launcher asks it to.
"""
import json
import math
import os
import os.path as osp
import stat
import subprocess
import sys

import torch

from tests.utils import read_scalars, repo_path, run_tool

CONFIG = repo_path('configs', 'ccd',
                   'ccd_logits_resnet34_resnet18_1xb8_tiny.py')
NODE = 'localhost'

SRUN = '''\
#!{python}
"""Stand-in srun: checks its options and runs one task as srun would."""
import argparse
import json
import os
import sys

parser = argparse.ArgumentParser(prog='srun', allow_abbrev=False)
parser.add_argument('-p', '--partition', required=True)
parser.add_argument('--job-name', required=True)
parser.add_argument('--gres', required=True)
parser.add_argument('--ntasks', type=int, required=True)
parser.add_argument('--ntasks-per-node', type=int, required=True)
parser.add_argument('--cpus-per-task', type=int, required=True)
parser.add_argument('--kill-on-bad-exit', type=int, required=True)
parser.add_argument('--time')
parser.add_argument('command', nargs=argparse.REMAINDER)
args = parser.parse_args()
with open(os.environ['SRUN_RECORD'], 'a') as f:
    f.write(json.dumps(dict(vars(args),
                            PYTHONPATH=os.environ.get('PYTHONPATH'))) + '\\n')
if (args.ntasks, args.ntasks_per_node) != (1, 1):
    sys.exit('stand-in srun runs one task only')
if not args.command:
    sys.exit('stand-in srun: no command to run')
# What srun exports to each task of a one-task, one-node step.
os.environ.update(
    SLURM_JOB_ID='4242', SLURM_STEP_ID='0', SLURM_JOB_NAME=args.job_name,
    SLURM_JOB_PARTITION=args.partition, SLURM_NNODES='1',
    SLURM_NTASKS='1', SLURM_NPROCS='1', SLURM_TASKS_PER_NODE='1',
    SLURM_NODELIST='{node}', SLURM_JOB_NODELIST='{node}',
    SLURM_STEP_NODELIST='{node}', SLURMD_NODENAME='{node}',
    SLURM_NODEID='0', SLURM_PROCID='0', SLURM_LOCALID='0',
    SLURM_CPUS_PER_TASK=str(args.cpus_per_task))
os.execvp(args.command[0], args.command)
'''

SCONTROL = '''\
#!/usr/bin/env bash
# Stand-in scontrol: only "scontrol show hostname LIST" of a single host.
[[ $1 == show && $2 == hostname && $3 == {node} ]] || {{
    echo "stand-in scontrol: unexpected arguments: $*" >&2; exit 1; }}
echo {node}
'''


def stand_in_slurm(tmp_path) -> dict:
    """A bin folder with the stand-ins; the environment that puts it first
    on PATH and names the stand-in's record file."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    for name, text in (('srun', SRUN), ('scontrol', SCONTROL)):
        path = bin_dir / name
        path.write_text(text.format(python=sys.executable, node=NODE))
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return dict(PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}',
                SRUN_RECORD=str(tmp_path / 'srun_calls.jsonl'),
                PYTHON=sys.executable, OMP_NUM_THREADS='1',
                MASTER_PORT='29561')


def srun_calls(env: dict) -> list:
    with open(env['SRUN_RECORD']) as f:
        return [json.loads(line) for line in f]


def test_slurm_train_resume_test_ccd_jda(tiny_workspace, tmp_path):
    env = dict(stand_in_slurm(tmp_path), GPUS='1', CPUS_PER_TASK='2',
               SRUN_ARGS='--time=10')
    work_dir = str(tmp_path / 'work')
    gloo = 'env_cfg.dist_cfg.backend=gloo'

    def slurm_train(*args: str) -> str:
        return run_tool([repo_path('tools', 'slurm_train.sh'), 'gpu_part',
                         'ccd_tiny', CONFIG, work_dir, *args],
                        tiny_workspace, env=env, program='bash')

    # 32 training images, batch 8: 4 iterations an epoch.
    output = slurm_train('--cfg-options', 'train_cfg.max_epochs=1', gloo,
                         'randomness.seed=0')
    assert 'Distributed launcher: slurm' in output
    assert 'Distributed training: True' in output
    first = osp.join(work_dir, 'epoch_1.pth')
    assert osp.isfile(first)

    # A requeued job's form: a bare --resume, from the checkpoint that
    # WORK_DIR/last_checkpoint names (the only file it trusts).
    slurm_train('--resume', '--cfg-options', 'train_cfg.max_epochs=2', gloo,
                'randomness.seed=0')
    second = osp.join(work_dir, 'epoch_2.pth')
    meta = torch.load(second, map_location='cpu', weights_only=False)['meta']
    assert (meta['epoch'], meta['iter']) == (2, 8)
    # tools/train.py's ExactResumeHook ran in the Slurm task too.
    assert meta['exact_resume'] == dict(world_size=1, batches_per_epoch=4)
    records = [r for r in read_scalars(work_dir) if 'loss' in r]
    # The resumed run went on at iteration 5 instead of starting again.
    assert [r['iter'] for r in records] == list(range(1, 9))
    for r in records:
        assert math.isfinite(r['distill.loss_ccd']), r
        assert 0.0 <= r['distill.ccd_weight'] <= 2.0, r

    out_file = str(tmp_path / 'metrics.json')
    run_tool([repo_path('tools', 'slurm_test.sh'), 'gpu_part', 'ccd_test',
              CONFIG, second, '--work-dir', str(tmp_path / 'test'), '--out',
              out_file, '--cfg-options', gloo], tiny_workspace, env=env,
             program='bash')
    with open(out_file) as f:
        metrics = json.load(f)
    assert 0 <= metrics['accuracy/top1'] <= 100
    assert 0 <= metrics['teacher.accuracy/top1'] <= 100

    calls = srun_calls(env)
    assert len(calls) == 3
    for call, job in zip(calls, ('ccd_tiny', 'ccd_tiny', 'ccd_test')):
        assert (call['partition'], call['job_name'], call['gres'],
                call['ntasks'], call['ntasks_per_node'],
                call['cpus_per_task'], call['kill_on_bad_exit'],
                call['time']) == ('gpu_part', job, 'gpu:1', 1, 1, 2, 1, '10')
        assert osp.realpath(call['PYTHONPATH'].split(os.pathsep)[0]) == \
            repo_path()
        assert call['command'][:2] == [sys.executable, '-u']
        assert call['command'][-2:] == ['--launcher', 'slurm']
    assert calls[0]['command'][2:5] == [
        repo_path('tools', 'train.py'), CONFIG, f'--work-dir={work_dir}']
    assert calls[2]['command'][2:5] == [
        repo_path('tools', 'test.py'), CONFIG, second]


def test_slurm_task_layout_defaults(tmp_path):
    """OpenMMLab's defaults: GPUS=8 tasks, GPUS_PER_NODE=min(GPUS, 8), one
    GPU per task, 5 cores per task."""
    env = stand_in_slurm(tmp_path)
    expected = []
    for gpus, per_node in ((None, 8), (16, 8), (2, 2)):
        run_env = dict(os.environ, **env)
        for key in ('GPUS', 'GPUS_PER_NODE', 'CPUS_PER_TASK', 'SRUN_ARGS'):
            run_env.pop(key, None)
        if gpus is not None:
            run_env['GPUS'] = str(gpus)
        proc = subprocess.run(
            ['bash', repo_path('tools', 'slurm_train.sh'), 'part', 'job',
             CONFIG, str(tmp_path / 'work')], env=run_env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # The stand-in runs one task only; it records the request first.
        assert proc.returncode != 0
        assert 'stand-in srun runs one task only' in proc.stdout
        expected.append((gpus or 8, per_node, f'gpu:{per_node}', 5, None))
    assert [(c['ntasks'], c['ntasks_per_node'], c['gres'],
             c['cpus_per_task'], c['time']) for c in srun_calls(env)
            ] == expected
