"""Training runs in a small pool of worker processes.

Starting a Python process that imports torch, mmengine, mmpretrain and
MMRazor costs about 8-10 s here, as much as training a few-shot student on
a small dataset. A study of a hundred such runs therefore trains them in a
few worker processes started once, each run in-process through
:func:`mmkd_ccd.cli.train` -- the function ``tools/train.py`` runs, with
the same checks, hooks and seed handling.

Each worker writes a run's whole output (mmengine's log, warnings, a
traceback) to that run's log file: its stdout and stderr file descriptors
point there while the run lasts (so output from C code goes there too),
and to the pool's ``workers.log`` in between. The workers are started with
``spawn`` (a fork of a process that has used torch's thread pools can
hang) and use :data:`mmkd_ccd.cli.CPU_THREADS_ENV` threads each.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import os.path as osp
import sys
import time
import traceback
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Dict, List

#: The log of the workers between runs, in the pool's log folder.
WORKERS_LOG = 'workers.log'


def _redirect_output(path: str) -> None:
    """Point this process's stdout and stderr (fds 1 and 2) at ``path``,
    appending."""
    sys.stdout.flush()
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def _init_worker(workers_log: str, cpu_threads: int) -> None:
    from mmkd_ccd.cli import CPU_THREADS_ENV
    os.environ[CPU_THREADS_ENV] = str(cpu_threads)
    _redirect_output(workers_log)


def train_in_worker(argv: List[str], log_file: str,
                    workers_log: str) -> Dict[str, Any]:
    """Train ``tools/train.py``'s ``argv`` in this process, its output in
    ``log_file``.

    Returns:
        dict: ``returncode`` 0 and ``result`` (a
        :class:`mmkd_ccd.cli.RunResult` as a dict), or ``returncode`` 1
        (2 for a bad command line) and ``error``, the exception's first
        line (its traceback is in ``log_file``).
    """
    from mmkd_ccd import cli

    os.makedirs(osp.dirname(osp.abspath(log_file)), exist_ok=True)
    _redirect_output(log_file)
    try:
        result = cli.train(cli.parse_train_args(argv))
        print(cli.train_summary(result), flush=True)
        return dict(returncode=0, result=result.to_dict())
    except SystemExit as exit_:  # argparse's way to refuse a command line
        return dict(returncode=exit_.code or 2,
                    error=f'bad command line (exit {exit_.code})')
    except Exception as error:  # the run failed; the next one may not
        traceback.print_exc()
        first = (str(error).splitlines() or [''])[0]
        return dict(returncode=1, error=f'{type(error).__name__}: {first}')
    finally:
        _redirect_output(workers_log)
        gc.collect()


class WorkerPool:
    """``workers`` processes that train runs given as ``tools/train.py``
    command lines (:func:`train_in_worker`).

    Args:
        workers (int): Number of processes, >= 1.
        log_dir (str): Where :data:`WORKERS_LOG` goes.
        cpu_threads (int): torch threads per worker (runs without CUDA).
            Defaults to 1.
    """

    def __init__(self, workers: int, log_dir: str,
                 cpu_threads: int = 1) -> None:
        if workers < 1 or cpu_threads < 1:
            raise ValueError(f'workers and cpu_threads must be >= 1, got '
                             f'{workers} and {cpu_threads}')
        os.makedirs(log_dir, exist_ok=True)
        self.workers = workers
        self.workers_log = osp.join(log_dir, WORKERS_LOG)
        self._executor = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context('spawn'),
            initializer=_init_worker,
            initargs=(self.workers_log, cpu_threads))

    def submit(self, argv: List[str], log_file: str) -> Future:
        """Train ``argv`` in a worker; the future's result is
        :func:`train_in_worker`'s dict."""
        return self._executor.submit(train_in_worker, list(argv), log_file,
                                     self.workers_log)

    def close(self, cancel: bool = False) -> None:
        """Wait for the runs in flight (``cancel``: drop those not started)
        and stop the workers."""
        self._executor.shutdown(wait=True, cancel_futures=cancel)

    def __enter__(self) -> 'WorkerPool':
        return self

    def __exit__(self, kind, *_) -> None:
        self.close(cancel=kind is not None)


def format_duration(seconds: float) -> str:
    """``h:mm:ss`` or ``m:ss``."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f'{hours}:{minutes:02d}:{seconds:02d}'
    return f'{minutes}:{seconds:02d}'


class Progress:
    """Progress lines of a batch of runs: done/total, elapsed time and the
    time left at the rate of the runs finished so far.

    Args:
        total (int): Number of runs, reused ones included.
        reused (int): Runs already done (finished before). Defaults to 0.
        clock (callable): Returns the time in seconds. Defaults to
            ``time.monotonic``.
    """

    def __init__(self, total: int, reused: int = 0, clock=time.monotonic):
        self.total = total
        self.done = reused
        self._reused = reused
        self._clock = clock
        self._start = clock()

    def reuse(self) -> None:
        """Count one more run as done without training it."""
        self.done += 1
        self._reused += 1

    def advance(self, text: str) -> str:
        """Count one more run finished and return its progress line."""
        self.done += 1
        elapsed = self._clock() - self._start
        trained = self.done - self._reused
        left = self.total - self.done
        eta = elapsed / trained * left if trained else None
        width = len(str(self.total))
        return (f'[{self.done:>{width}}/{self.total}] {text} | elapsed '
                f'{format_duration(elapsed)}, ETA '
                f'{format_duration(eta) if eta is not None else "?"}')

    def elapsed(self) -> float:
        """Seconds since the start."""
        return self._clock() - self._start

    @property
    def reused(self) -> int:
        """Runs counted as done without training."""
        return self._reused

    @property
    def trained(self) -> int:
        """Runs finished by training (or failing)."""
        return self.done - self._reused
