"""mmkd_ccd.datasets.toy_data: stratified splits and the digits folder."""
import json
import os
import os.path as osp

from mmkd_ccd.datasets import toy_data

# scikit-learn's digits per class (0-9).
DIGITS_PER_CLASS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def test_split_with_test_keeps_class_shares():
    samples = toy_data.make_shapes(num_classes=3, num_per_class=10, size=8)
    splits = toy_data.split_stratified(samples, 0.2, seed=1,
                                       test_fraction=0.3)
    counts = {name: [sum(label == c for _, label in split) for c in range(3)]
              for name, split in splits.items()}
    assert counts == {'train': [5, 5, 5], 'val': [2, 2, 2],
                      'test': [3, 3, 3]}
    # Every sample lands in exactly one split.
    ids = [id(img) for split in splits.values() for img, _ in split]
    assert sorted(ids) == sorted(id(img) for img, _ in samples)
    assert set(toy_data.split_stratified(samples, 0.2)) == {'train', 'val'}


def test_ensure_digits_writes_once_and_replaces_other_layouts(tmp_path):
    root = str(tmp_path / 'digits')
    # 20% of each class to test and to val: round(0.2 n) summed = 359.
    expected = sum(round(0.2 * n) for n in DIGITS_PER_CLASS)
    assert expected == 359
    line = toy_data.ensure_digits(root)
    assert line == (f'digits: {1797 - 2 * expected} train / {expected} val / '
                    f'{expected} test images (16x16) in {root}')
    with open(osp.join(root, 'split.json')) as f:
        assert json.load(f)['counts'] == dict(train=1079, val=359, test=359)
    record = osp.join(root, 'split.json')
    stamp = os.stat(record).st_mtime_ns
    assert toy_data.ensure_digits(root) == line
    assert os.stat(record).st_mtime_ns == stamp  # not written again

    # A folder of another layout (an older demo: train/val only) is
    # written anew, stray files included.
    os.remove(record)
    stray = osp.join(root, 'train', 'class_0', 'stray.png')
    open(stray, 'w').close()
    assert toy_data.ensure_digits(root) == line
    assert not osp.exists(stray)
    counts = {split: sum(len(files) for _, _, files in
                         os.walk(osp.join(root, split)))
              for split in ('train', 'val', 'test')}
    assert counts == dict(train=1079, val=359, test=359)
