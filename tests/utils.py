"""Helpers for the tests that run this project's tools."""
from __future__ import annotations

import glob
import importlib.util
import json
import os
import os.path as osp
import subprocess
import sys
from types import ModuleType
from typing import Dict, List

import pytest

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def run_tool(args: List[str], cwd: str, timeout: int = 600,
             env: Dict[str, str] = None, program: str = sys.executable) -> str:
    """Run ``python <args>`` (or ``program <args>``) with the repo's tools;
    return its output, or fail the test showing it."""
    full_env = dict(os.environ, PYTHONUNBUFFERED='1', **(env or {}))
    proc = subprocess.run([program, *args], cwd=cwd, env=full_env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout)
    if proc.returncode != 0:
        pytest.fail(f'{" ".join(args)} exited {proc.returncode}:\n'
                    f'{proc.stdout[-6000:]}')
    return proc.stdout


def repo_path(*parts: str) -> str:
    return osp.join(REPO, *parts)


def read_scalars(work_dir: str) -> List[dict]:
    """The training log records (``vis_data/scalars.json``) of every run in
    ``work_dir``, oldest run first."""
    records = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                          'scalars.json'))):
        with open(path) as f:
            records += [json.loads(line) for line in f if line.strip()]
    return records


def load_tool(path: str) -> ModuleType:
    """Import a script under tools/ (not a package) as a module."""
    name = osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
