"""mmkd_ccd.cli: the thread count of CPU runs (the tools' checks are in
test_bad_input.py, their runs in tests/tools)."""
import pytest
import torch

from mmkd_ccd import cli


@pytest.fixture
def threads(monkeypatch):
    """torch's thread count is restored after the test; no CUDA, and no
    thread variables from the caller's environment."""
    saved = torch.get_num_threads()
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    for name in (cli.CPU_THREADS_ENV, 'OMP_NUM_THREADS', 'LOCAL_WORLD_SIZE'):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch
    torch.set_num_threads(saved)


def test_default_is_half_the_cores_shared_by_the_processes(threads):
    threads.setattr(cli, 'usable_cores', lambda: 8)
    threads.setenv('LOCAL_WORLD_SIZE', '2')
    note = cli.configure_cpu_threads()
    assert torch.get_num_threads() == 2  # 8 cores / (2 x 2 processes)
    assert note.startswith('CPU run: 2 torch thread(s) (half of 8 usable '
                           'cores over 2 process(es)')
    threads.setattr(cli, 'usable_cores', lambda: 1)
    cli.configure_cpu_threads()
    assert torch.get_num_threads() == 1  # at least one


def test_flag_then_environment(threads):
    threads.setenv(cli.CPU_THREADS_ENV, '3')
    assert '(--cpu-threads;' in cli.configure_cpu_threads(1)
    assert torch.get_num_threads() == 1
    assert f'(${cli.CPU_THREADS_ENV};' in cli.configure_cpu_threads()
    assert torch.get_num_threads() == 3


@pytest.mark.parametrize('value', ['two', '0', '-1'])
def test_bad_counts_name_their_source(threads, value):
    threads.setenv(cli.CPU_THREADS_ENV, value)
    with pytest.raises(ValueError, match=rf"\${cli.CPU_THREADS_ENV}: .*"
                       rf"positive integer, got '{value}'"):
        cli.configure_cpu_threads()
    with pytest.raises(ValueError, match='--cpu-threads: .* got 0'):
        cli.configure_cpu_threads(0)


def test_nothing_changes_with_cuda(threads):
    threads.setattr(torch.cuda, 'is_available', lambda: True)
    before = torch.get_num_threads()
    assert cli.configure_cpu_threads(1) is None
    assert torch.get_num_threads() == before
