"""Export the student of an MMRazor distillation checkpoint as plain
mmpretrain and backbone-only checkpoints.

Usage:
    python tools/export_student.py CHECKPOINT OUT_DIR
        [--student-key architecture] [--name NAME]

CHECKPOINT is what mmengine's Runner saves for an MMRazor distill algorithm
(e.g. ``SingleTeacherDistill``): its ``state_dict`` holds the student under
``<student-key>.`` (``architecture.`` in MMRazor), next to ``teacher.``,
``distiller.`` and ``data_preprocessor.``. Written to OUT_DIR (NAME defaults
to CHECKPOINT's file name without its extension):

- ``NAME_classifier.pth``: ``{'state_dict': {backbone.*, neck.*, head.*},
  'meta': {...}}``, the student alone, for the student's own config, e.g.
  ``mmpretrain.apis.init_model(mmengine.hub.get_config(
  'mmpretrain::resnet/resnet18_8xb32_in1k.py'), 'NAME_classifier.pth')``,
  ``load_from`` or ``tools/test.py``.
- ``NAME_backbone.pth``: ``{'state_dict': {backbone.*}, 'meta': {...}}``, for
  a downstream backbone, e.g. mmdet's ``init_cfg=dict(type='Pretrained',
  checkpoint='NAME_backbone.pth', prefix='backbone.')``: mmengine keeps the
  keys starting with ``prefix`` and strips it, so the keys keep
  ``backbone.`` here.

Both hold only tensors and plain Python values, so they load with
``torch.load(path, weights_only=True)`` without having to be trusted. The
distillation config that ``meta['cfg']`` held is kept as
``meta['distill_cfg']``: it does not describe the exported model.
"""
from __future__ import annotations

import argparse
import os.path as osp
import sys
from collections import OrderedDict
from pathlib import Path
import typing
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

import mmkd_ccd  # shims: mmengine checkpoints on torch >= 2.6

__all__ = [
    'top_level_prefixes', 'extract_student', 'backbone_only', 'plain_meta',
    'load_distill_checkpoint', 'export_student', 'main'
]

StateDict = typing.OrderedDict[str, torch.Tensor]
_PLAIN_SCALARS = (type(None), bool, int, float, str, torch.Tensor)


def top_level_prefixes(state_dict: Mapping[str, Any]) -> List[str]:
    """The sorted first components of ``state_dict``'s keys, e.g.
    ``['architecture', 'data_preprocessor', 'teacher']``."""
    return sorted({key.split('.', 1)[0] for key in state_dict})


def _select(state_dict: Mapping[str, Any], prefix: str,
            strip: bool) -> StateDict:
    """The entries of ``state_dict`` under ``prefix`` (a module name, no
    trailing dot), with the prefix removed when ``strip``; the module
    versions of ``_metadata`` (what ``load_state_dict`` hands to each
    module's ``_load_from_state_dict``) follow the same selection."""
    dotted = prefix + '.'
    cut = len(dotted) if strip else 0
    selected: StateDict = OrderedDict(
        (key[cut:], value) for key, value in state_dict.items()
        if key.startswith(dotted))
    metadata = getattr(state_dict, '_metadata', None)
    if metadata is not None:
        kept = OrderedDict()
        for module, info in metadata.items():
            if module == prefix:
                kept['' if strip else module] = dict(info)
            elif module.startswith(dotted):
                kept[module[cut:]] = dict(info)
            elif module == '' and not strip:
                kept[module] = dict(info)
        selected._metadata = kept
    return selected


def extract_student(state_dict: Mapping[str, Any],
                    student_key: str = 'architecture') -> StateDict:
    """The student's state dict: the ``<student_key>.*`` entries of a
    distillation state dict with that prefix removed (``backbone.*``,
    ``neck.*``, ``head.*``, ...). The teacher, distiller and the
    algorithm's data preprocessor are left out.

    Raises:
        KeyError: no key starts with ``<student_key>.``; the message lists
            the top-level prefixes that the state dict has.
        TypeError: naming a student entry that is not a tensor.
    """
    student = _select(state_dict, student_key, strip=True)
    if not student:
        raise KeyError(
            f'no {student_key}.* keys in the state dict, so no student to '
            f'export (--student-key {student_key}); its top-level prefixes '
            f'are {top_level_prefixes(state_dict)}')
    for key, value in student.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f'{student_key}.{key} is a '
                            f'{type(value).__name__}, not a tensor')
    return student


def backbone_only(state_dict: Mapping[str, Any]) -> StateDict:
    """The ``backbone.*`` entries of a classifier state dict, keys unchanged
    (``prefix='backbone.'`` in an mmengine ``Pretrained`` init strips it).

    Raises:
        KeyError: no key starts with ``backbone.``; the message lists the
            top-level prefixes found.
    """
    backbone = _select(state_dict, 'backbone', strip=False)
    if not backbone:
        raise KeyError('no backbone.* keys in the student; its top-level '
                       f'prefixes are {top_level_prefixes(state_dict)}')
    return backbone


def _is_plain(value: Any) -> bool:
    if isinstance(value, _PLAIN_SCALARS):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(key, (str, int)) and _is_plain(item)
            for key, item in value.items())
    return False


def plain_meta(meta: Mapping[str, Any]) -> Tuple[Dict[str, Any], List[str]]:
    """Split a checkpoint's ``meta`` into the entries that the safe unpickler
    rebuilds (None, bool, int, float, str, tensors, and lists, tuples and
    dicts of them) and the names of those left out (e.g. numpy values)."""
    kept, dropped = {}, []
    for key, value in meta.items():
        if _is_plain(value):
            kept[key] = value
        else:
            dropped.append(key)
    return kept, dropped


def load_distill_checkpoint(
        path: str) -> Tuple[Mapping[str, Any], Dict[str, Any]]:
    """``(state_dict, meta)`` of the checkpoint at ``path``, on the CPU.

    The user named this file, so it is trusted for full unpickling
    (:func:`mmkd_ccd.compat.load_named_checkpoint`): mmengine checkpoints
    pickle their message hub, which the safe unpickler refuses. A bare
    state dict (no ``'state_dict'`` entry) is accepted, with an empty meta.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'distillation checkpoint not found: {path}')
    checkpoint = mmkd_ccd.compat.load_named_checkpoint(path)
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f'{path} holds a {type(checkpoint).__name__}, '
                        'expected a checkpoint dict')
    if isinstance(checkpoint.get('state_dict'), Mapping):
        return checkpoint['state_dict'], dict(checkpoint.get('meta') or {})
    return checkpoint, {}


def export_student(checkpoint: str,
                   out_dir: str,
                   student_key: str = 'architecture',
                   name: Optional[str] = None) -> Dict[str, Path]:
    """Write ``NAME_classifier.pth`` and ``NAME_backbone.pth`` (see the
    module docstring) to ``out_dir``; return their paths under the keys
    ``'classifier'`` and ``'backbone'``."""
    state_dict, source_meta = load_distill_checkpoint(checkpoint)
    student = extract_student(state_dict, student_key)
    backbone = backbone_only(student)

    meta, dropped = plain_meta(source_meta)
    if 'cfg' in meta:
        meta['distill_cfg'] = meta.pop('cfg')
    meta.update(exported_from=osp.abspath(checkpoint), student_key=student_key)

    name = name or Path(checkpoint).stem
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        'classifier': out / f'{name}_classifier.pth',
        'backbone': out / f'{name}_backbone.pth',
    }
    torch.save({'state_dict': student, 'meta': meta}, paths['classifier'])
    torch.save({'state_dict': backbone, 'meta': meta}, paths['backbone'])

    others = [p for p in top_level_prefixes(state_dict) if p != student_key]
    print(f'read {len(state_dict)} tensors from {checkpoint}: '
          f'{len(student)} of the student ({student_key}), '
          f'{len(state_dict) - len(student)} left out (under {others})')
    if dropped:
        print(f'meta entries left out (not plain data): {dropped}')
    print(f'saved {len(student)} tensors to {paths["classifier"]}')
    print(f'saved {len(backbone)} tensors to {paths["backbone"]}')
    return paths


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='distillation checkpoint (.pth)')
    parser.add_argument('out_dir', help='folder to write the exports to')
    parser.add_argument(
        '--student-key',
        default='architecture',
        help='state dict prefix of the student (default: %(default)s)')
    parser.add_argument(
        '--name',
        help='file name stem of the exports (default: the checkpoint\'s)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        export_student(args.checkpoint, args.out_dir, args.student_key,
                       args.name)
    except (FileNotFoundError, KeyError, TypeError, ValueError) as error:
        # KeyError's str() is the repr of its message; show the text
        message = error.args[0] if isinstance(error, KeyError) else error
        print(f'error: {message}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
