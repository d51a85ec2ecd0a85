import json
import os
import os.path as osp

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mmkd_ccd.engine import RankAveragedLogHook


def average_on_rank(rank: int, port: int, out_dir: str, names_differ: bool):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    outputs = {'loss': torch.tensor(1.0 + rank, requires_grad=True),
               'distill.ccd_weight': torch.tensor([1.25, 1.75][rank]),
               'plain': 4.0 * rank}
    if names_differ and rank == 1:
        outputs['extra'] = torch.tensor(0.0)
    try:
        RankAveragedLogHook().after_train_iter(None, 0, outputs=outputs)
        result = {k: [float(v), type(v).__name__] for k, v in outputs.items()}
    except RuntimeError as exc:
        result = dict(error=str(exc))
    with open(osp.join(out_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(result, f)
    dist.destroy_process_group()


def run_two_ranks(tmp_path, port: int, names_differ: bool = False):
    mp.start_processes(average_on_rank, args=(port, str(tmp_path),
                                              names_differ),
                       nprocs=2, start_method='fork')
    results = []
    for rank in range(2):
        with open(tmp_path / f'rank{rank}.json') as f:
            results.append(json.load(f))
    return results


def test_both_ranks_log_the_mean(tmp_path):
    for result in run_two_ranks(tmp_path, 29561):
        assert result == {'loss': [1.5, 'Tensor'],
                          'distill.ccd_weight': [1.5, 'Tensor'],
                          'plain': [2.0, 'float']}


def test_different_names_are_refused_on_every_rank(tmp_path):
    for result in run_two_ranks(tmp_path, 29562, names_differ=True):
        assert 'different log variables' in result['error']


def test_single_process_is_left_alone():
    outputs = {'loss': torch.tensor(2.5)}
    RankAveragedLogHook().after_train_iter(None, 0, outputs=outputs)
    assert outputs['loss'].item() == 2.5

