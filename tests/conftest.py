"""Shared fixtures: a tiny generated dataset."""
from __future__ import annotations

import pytest

import mmkd_ccd  # noqa: F401  (compat shims + registration for every test)
from mmkd_ccd.datasets import toy_data


@pytest.fixture(scope='session')
def tiny_workspace(tmp_path_factory) -> str:
    """A folder holding ``data/tiny`` (4 generated classes, 8 train and 4
    val images each, 32x32): the tiny configs' ``data_root`` relative to
    it."""
    root = tmp_path_factory.mktemp('workspace')
    splits = toy_data.split_stratified(
        toy_data.make_shapes(num_classes=4, num_per_class=12), 1 / 3)
    toy_data.write_custom_dataset(str(root / 'data' / 'tiny'), splits)
    return str(root)


