"""Convert a CIFAR checkpoint of the CRD / mdistiller / HSAKD / CCD model
zoo into an mmpretrain ImageClassifier checkpoint (backbone from
``mmkd_ccd.models.backbones.cifar``, neck ``GlobalAveragePooling``, head
``LinearClsHead``).

Usage:
    python tools/convert/cifar_teacher_to_mmpretrain.py SRC DST --arch NAME
        [--prefix SUBNETWORK] [--no-weights-only]

NAME is the model's name in this project's arch table, the one the config
file names use (``wrn-40-2``, ``resnet32x4``, ``vgg13``, ``shufflenet-v1``,
...; see ``CIFAR_ARCHS``); a repository's own name for it (CRD's
``wrn_40_2``, ``ShuffleV1``, ...) is refused with the NAME to use. Mind the
two MobileNetV2s: ``mobilenet-v2`` is HSAKD's and the CCD code's
``mobilenetV2`` (stem stride 1, the paper's student), ``mobilenet-v2-crd``
is CRD's and mdistiller's ``MobileNetV2`` / ``mobile_half`` (stem stride
2); their checkpoints tell them apart by the classifier's keys
(``classifier.*`` vs ``classifier.0.*``), and a checkpoint given the wrong
one is refused with the name that fits.

SRC may be what any of these repositories saves:

- CRD / RepDistiller and mdistiller: ``{'model': state_dict, 'epoch',
  'best_acc' or 'accuracy', 'optimizer'}``, or ``{'opt', 'model',
  'optimizer'}`` for ``*_last.pth``;
- mdistiller's training checkpoints (``best``, ``latest``, ``epoch_N``):
  ``{'epoch', 'model', 'optimizer', 'best_acc'}`` where ``'model'`` is the
  whole distiller: ``module.student.*``, ``module.teacher.*`` and the
  method's own modules (``conv_reg.*``, ``embed_s.*``, ...). The sub-network
  that fits NAME is taken; when both or neither fit, the conversion stops
  and names them, and ``--prefix student`` (or ``teacher``) picks one;
- HSAKD and CCD: ``{'net': state_dict, 'acc', 'epoch', ...}``; their
  ``*_aux`` networks nest the classifier under ``backbone.`` next to
  ``auxiliary_classifier.*``, the self-supervised heads used only in
  HSAKD's training, which are dropped (and reported);
- ``{'state_dict': state_dict}`` (the teachers the CCD code loads) or a raw
  state dict;

with or without the ``module.`` prefix of ``nn.DataParallel``. The entries
next to the weights (epoch, accuracy, optimizer state, argparse options) are
ignored on purpose: they describe the teacher's training, not the network,
and each one ignored is printed.

DST receives ``{'state_dict': ..., 'meta': {...}}``; ``meta['model']`` is the
mmpretrain classifier config the weights fit. The conversion builds that
classifier and refuses any partial load: every source tensor must land on a
target tensor of the same shape and every target tensor must be provided
(BN ``num_batches_tracked`` counters, absent from checkpoints saved before
PyTorch 0.4.1, are the one exception: they are set to 0, which BN does not
read when it has a momentum).

Why renaming is enough: the backbones mirror the zoo's module names, so a
key ``k`` becomes ``backbone.k``, and the final Linear (``fc``,
``classifier``, ``classifier.0`` or ``linear``) becomes ``head.fc``. The
zoo's global average pool is the ``GlobalAveragePooling`` neck (no
parameters).
"""
from __future__ import annotations

import argparse
import sys
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

from mmkd_ccd import compat
from mmkd_ccd.models.backbones import (CIFAR_ARCHS, cifar_classifier_cfg,
                                       unknown_arch_message)

__all__ = [
    'ARCH_HEADS', 'CRD_HEADS', 'DISTILLER_SUBNETWORKS',
    'convert_cifar_teacher', 'crd_head_name', 'extract_state_dict',
    'fit_problems', 'load_checkpoint_file', 'select_sub_network',
    'to_crd_key', 'to_mmpretrain_key', 'main'
]

# backbone type -> CRD's name of the network's final nn.Linear
CRD_HEADS: Dict[str, str] = {
    'WideResNetCIFAR': 'fc',
    'ResNetCIFARKD': 'fc',
    'VGGCIFAR': 'classifier',
    'MobileNetV2CIFAR': 'classifier.0',
    'ShuffleNetV1CIFAR': 'linear',
    'ShuffleNetV2CIFAR': 'linear',
}
# arch -> its final Linear's name where the arch's own repository differs
# from CRD: HSAKD's and CCD's MobileNetV2 holds a plain ``nn.Linear`` where
# CRD's has ``nn.Sequential(nn.Linear)``.
ARCH_HEADS: Dict[str, str] = {'mobilenet-v2': 'classifier'}
TARGET_HEAD = 'head.fc'
TARGET_BACKBONE = 'backbone.'

# Where the repositories put the weights inside the saved dict.
MODEL_ENTRIES = ('model', 'state_dict', 'net')
DATA_PARALLEL_PREFIX = 'module.'
# HSAKD's ``*_aux`` teachers: WideResNet_Auxiliary & co. hold the classifier
# as ``self.backbone`` and the self-supervised heads as
# ``self.auxiliary_classifier``.
HSAKD_BACKBONE_PREFIX = 'backbone.'
HSAKD_AUXILIARY_PREFIX = 'auxiliary_classifier.'
# mdistiller's ``Distiller`` holds the two networks as these attributes, and
# its training checkpoints save the whole distiller.
DISTILLER_SUBNETWORKS = ('student', 'teacher')
DEFAULT_NUM_CLASSES = 100
BN_COUNTER = 'num_batches_tracked'


def crd_head_name(arch: str) -> str:
    """The module name of ``arch``'s final Linear in its repository's
    checkpoints (``fc``, ``classifier.0``, ...).

    Raises:
        ValueError: naming ``arch`` and the known names.
    """
    if arch not in CIFAR_ARCHS:
        raise ValueError(f'--arch: {unknown_arch_message(arch)}')
    return ARCH_HEADS.get(arch,
                          CRD_HEADS[CIFAR_ARCHS[arch].backbone['type']])


def to_mmpretrain_key(key: str, arch: str) -> str:
    """CRD key -> ImageClassifier key, e.g. ``fc.weight`` ->
    ``head.fc.weight``, ``conv1.weight`` -> ``backbone.conv1.weight``."""
    head = crd_head_name(arch)
    if key.startswith(head + '.'):
        return TARGET_HEAD + key[len(head):]
    return TARGET_BACKBONE + key


def to_crd_key(key: str, arch: str) -> str:
    """ImageClassifier key -> CRD key; the inverse of
    :func:`to_mmpretrain_key`.

    Raises:
        ValueError: for a key outside ``backbone.`` and ``head.fc.``.
    """
    if key.startswith(TARGET_HEAD + '.'):
        return crd_head_name(arch) + key[len(TARGET_HEAD):]
    if key.startswith(TARGET_BACKBONE):
        return key[len(TARGET_BACKBONE):]
    raise ValueError(f'{key!r} is neither a backbone nor a head.fc key')


def _strip_prefix(state: Dict[str, Any], prefix: str) -> Dict[str, Any]:
    return {key[len(prefix):]: value for key, value in state.items()}


def _under(weights: Mapping[str, Any], name: str) -> Dict[str, Any]:
    """The entries under ``name.``, with that prefix removed."""
    prefix = name + '.'
    return _strip_prefix(
        {k: v for k, v in weights.items() if k.startswith(prefix)}, prefix)


def extract_state_dict(
        checkpoint: Mapping[str, Any]
) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Find the network's weights in a checkpoint as the repositories save
    it, in CRD key layout.

    Unwraps ``'model'`` / ``'state_dict'`` / ``'net'``, removes a
    ``module.`` prefix carried by every key, and for an HSAKD ``*_aux``
    teacher keeps ``backbone.*`` (prefix removed) and drops
    ``auxiliary_classifier.*``.

    Returns:
        The weights, and one line per thing ignored on the way (training
        metadata next to the weights, HSAKD's auxiliary heads).

    Raises:
        ValueError: when the checkpoint is not a dict, holds more than one
            of the weight entries, or holds non-tensors among the weights.
    """
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f'expected a dict, got {type(checkpoint).__name__}')
    notes: List[str] = []
    wrappers = [k for k in MODEL_ENTRIES if isinstance(checkpoint.get(k),
                                                       Mapping)]
    if len(wrappers) > 1:
        raise ValueError(f'ambiguous checkpoint: it holds weights under '
                         f'{wrappers}; keep one of them')
    state: Mapping[str, Any] = checkpoint
    if wrappers:
        state = checkpoint[wrappers[0]]
        others = [k for k in checkpoint if k != wrappers[0]]
        if others:
            notes.append(f'ignored non-model entries {others} next to '
                         f'{wrappers[0]!r}')
    not_tensors = [k for k, v in state.items()
                   if not isinstance(v, torch.Tensor)]
    if not_tensors:
        raise ValueError(
            f'not a state dict: entries {not_tensors} are not tensors '
            f'(expected the weights at the top level or under one of '
            f'{list(MODEL_ENTRIES)})')
    weights = dict(state)
    if weights and all(k.startswith(DATA_PARALLEL_PREFIX) for k in weights):
        weights = _strip_prefix(weights, DATA_PARALLEL_PREFIX)
    auxiliary = [k for k in weights if k.startswith(HSAKD_AUXILIARY_PREFIX)]
    if auxiliary and all(
            k.startswith(HSAKD_BACKBONE_PREFIX) for k in weights
            if not k.startswith(HSAKD_AUXILIARY_PREFIX)):
        weights = _strip_prefix(
            {k: v for k, v in weights.items()
             if not k.startswith(HSAKD_AUXILIARY_PREFIX)},
            HSAKD_BACKBONE_PREFIX)
        notes.append(f'dropped {len(auxiliary)} {HSAKD_AUXILIARY_PREFIX}* '
                     f'tensors (HSAKD\'s self-supervised auxiliary heads, '
                     f'not part of the classifier)')
    return weights, notes


@lru_cache(maxsize=None)
def _target_tensors(arch: str,
                    num_classes: int) -> 'OrderedDict[str, torch.Tensor]':
    """The ``arch`` classifier's state dict on the meta device: its keys in
    order, shapes and dtypes, without allocating or initialising weights
    (trying every arch for a hint stays cheap)."""
    from mmpretrain.registry import MODELS
    with torch.device('meta'):
        return MODELS.build(cifar_classifier_cfg(arch,
                                                 num_classes)).state_dict()


def _num_classes(weights: Mapping[str, torch.Tensor], arch: str) -> int:
    head_weight = weights.get(crd_head_name(arch) + '.weight')
    # a checkpoint without its head is reported as missing that key
    if head_weight is None or head_weight.dim() != 2:
        return DEFAULT_NUM_CLASSES
    return head_weight.shape[0]


def fit_problems(weights: Mapping[str, torch.Tensor],
                 arch: str) -> Dict[str, List[str]]:
    """What keeps ``weights`` (a state dict in the zoo's key layout) from
    being exactly the ``arch`` model, by kind: ``'missing keys'``,
    ``'unexpected keys'``, ``'shape mismatches'`` (each absent when empty;
    an empty dict means it fits). Keys are named as in the checkpoint."""
    target = _target_tensors(arch, _num_classes(weights, arch))
    renamed = {to_mmpretrain_key(k, arch): v for k, v in weights.items()}
    problems = {
        'missing keys': [
            to_crd_key(k, arch) for k in target
            if k not in renamed and not k.endswith(BN_COUNTER)
        ],
        'unexpected keys':
        [k for k in weights if to_mmpretrain_key(k, arch) not in target],
        'shape mismatches': [
            f'{to_crd_key(k, arch)}: {tuple(renamed[k].shape)} in the '
            f'checkpoint, {tuple(v.shape)} in {arch}'
            for k, v in target.items()
            if k in renamed and renamed[k].shape != v.shape
        ],
    }
    return {kind: items for kind, items in problems.items() if items}


def _fitting_archs(weights: Mapping[str, torch.Tensor]) -> List[str]:
    return [arch for arch in sorted(CIFAR_ARCHS)
            if not fit_problems(weights, arch)]


def _fits_hint(weights: Mapping[str, torch.Tensor]) -> str:
    fitting = _fitting_archs(weights)
    return (f'fits --arch {" / ".join(fitting)}' if fitting else
            'fits no known arch')


def select_sub_network(
        weights: Mapping[str, torch.Tensor],
        arch: str,
        prefix: Optional[str] = None
) -> Tuple[Dict[str, torch.Tensor], List[str]]:
    """Take one network out of weights that hold several under name
    prefixes, as mdistiller's training checkpoints do (``student.*``,
    ``teacher.*`` and the distillation method's own modules).

    With ``prefix`` (e.g. ``'student'``), the tensors under ``prefix.`` are
    taken, whatever the layout. Without it, weights that hold ``student.*``
    or ``teacher.*`` tensors give the one of those sub-networks that fits
    ``arch``; other weights are returned unchanged.

    Args:
        weights: a state dict, already unwrapped by
            :func:`extract_state_dict`.
        arch: the model to convert to.
        prefix: the sub-network to take. Defaults to None: decide by fit.

    Returns:
        The sub-network's weights (prefix removed), and a line saying which
        was taken and what was dropped (none when nothing was).

    Raises:
        ValueError: when ``prefix`` holds no tensors (naming the top-level
            names there are), or when no sub-network or more than one fits
            ``arch`` (naming them, what each fits, and ``--prefix``).
    """
    top_level = sorted({key.split('.', 1)[0] for key in weights})
    if prefix is None:
        found = [name for name in DISTILLER_SUBNETWORKS if name in top_level]
        if not found:
            return dict(weights), []
        fitting = [name for name in found
                   if not fit_problems(_under(weights, name), arch)]
        if len(fitting) > 1:
            raise ValueError(
                f'ambiguous checkpoint: its sub-networks {fitting} all fit '
                f'--arch {arch}; choose one with --prefix (e.g. --prefix '
                f'{fitting[0]})')
        if not fitting:
            fits = '; '.join(f'{name}.* {_fits_hint(_under(weights, name))}'
                             for name in found)
            raise ValueError(
                f'none of the checkpoint\'s sub-networks {found} fits --arch '
                f'{arch} ({fits}); pass the right --arch, or choose one with '
                f'--prefix (e.g. --prefix {found[0]}) to see what differs')
        prefix = fitting[0]
    prefix = prefix.rstrip('.')
    chosen = _under(weights, prefix)
    if not chosen:
        raise ValueError(f'no tensors under --prefix {prefix!r}; the '
                         f'checkpoint\'s top-level names are {top_level}')
    dropped = sorted({
        key.split('.', 1)[0]
        for key in weights if not key.startswith(prefix + '.')
    })
    note = f'took the {prefix}.* sub-network ({len(chosen)} tensors)'
    if dropped:
        note += (f'; dropped {len(weights) - len(chosen)} tensors under '
                 f'{dropped}')
    return chosen, [note]


def convert_cifar_teacher(
        checkpoint: Mapping[str, Any],
        arch: str,
        prefix: Optional[str] = None) -> 'OrderedDict[str, torch.Tensor]':
    """Convert a CIFAR checkpoint of model ``arch`` into an mmpretrain
    ``ImageClassifier`` state dict (``backbone.*``, ``head.fc.*``), in the
    classifier's key order.

    ``checkpoint`` is a state dict or anything :func:`extract_state_dict`
    unwraps; from a distiller's checkpoint, :func:`select_sub_network`
    takes the network (``prefix`` as there). The number of classes is read
    off the final Linear (100 for CIFAR-100 models, 10 for CIFAR-10 ones).
    What is ignored on the way is logged.

    Raises:
        ValueError: listing the keys the ``arch`` model needs but the
            checkpoint lacks, the keys it has that the model does not, and
            the tensors whose shapes differ, plus the archs the checkpoint
            does fit; or an unknown ``arch``; or what
            :func:`extract_state_dict` and :func:`select_sub_network`
            raise.
    """
    crd_head_name(arch)  # unknown arch: fail before reading anything
    weights, notes = extract_state_dict(checkpoint)
    weights, picked = select_sub_network(weights, arch, prefix)
    for note in notes + picked:
        print_log(note, logger='current')
    problems = fit_problems(weights, arch)
    if problems:
        raise ValueError(
            f'checkpoint does not fit --arch {arch} (names as in the '
            f'checkpoint): ' +
            '; '.join(f'{len(items)} {kind}: {items}'
                      for kind, items in problems.items()) +
            f'; the checkpoint {_fits_hint(weights)}')

    renamed = {to_mmpretrain_key(k, arch): v for k, v in weights.items()}
    target = _target_tensors(arch, _num_classes(weights, arch))
    converted: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for key, value in target.items():
        converted[key] = (renamed[key] if key in renamed else
                          torch.zeros_like(value, device='cpu'))
    return converted


def load_checkpoint_file(path: str | Path,
                         weights_only: bool = True) -> Mapping[str, Any]:
    """Load a checkpoint onto the CPU with
    :func:`mmkd_ccd.compat.load_checkpoint_file`.

    With ``weights_only`` (the default) only tensors and plain containers
    are unpickled, plus ``argparse.Namespace``: CRD's ``*_last.pth`` stores
    its command-line options under ``'opt'``, a plain attribute bag.

    Raises:
        FileNotFoundError: naming ``path``.
        ValueError: naming ``path``, when ``weights_only`` refuses an object
            in the file (with what it refused), or the file is empty,
            truncated or not a torch file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'source checkpoint not found: {path}')
    return compat.load_checkpoint_file(
        path, map_location='cpu', trusted=not weights_only,
        how_to_trust='If you trust the file, rerun with --no-weights-only.',
        safe_globals=[argparse.Namespace])


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='CIFAR checkpoint (.pth)')
    parser.add_argument('dst', help='mmpretrain checkpoint to write')
    parser.add_argument(
        '--arch',
        required=True,
        metavar='NAME',
        help='the model, by its name in this project\'s arch table: ' +
        ', '.join(sorted(CIFAR_ARCHS)))
    parser.add_argument(
        '--prefix',
        metavar='SUBNETWORK',
        help='convert the network under this name of a checkpoint holding '
        'several, e.g. student or teacher of an mdistiller training '
        'checkpoint (default: the one that fits --arch)')
    parser.add_argument(
        '--no-weights-only',
        dest='weights_only',
        action='store_false',
        help='unpickle arbitrary objects in SRC (runs code from the file: '
        'only for checkpoints you trust)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    if args.arch not in CIFAR_ARCHS:
        print(f'error: --arch: {unknown_arch_message(args.arch)}',
              file=sys.stderr)
        return 2
    try:
        checkpoint = load_checkpoint_file(args.src, args.weights_only)
        weights, notes = extract_state_dict(checkpoint)
        weights, picked = select_sub_network(weights, args.arch, args.prefix)
        notes += picked
        converted = convert_cifar_teacher(weights, args.arch)
    except (FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1

    num_classes = converted['head.fc.weight'].shape[0]
    dst = Path(args.dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            'state_dict': converted,
            'meta': {
                'converted_from': 'CIFAR model-zoo checkpoint',
                'source': str(args.src),
                'arch': args.arch,
                'model': cifar_classifier_cfg(args.arch, num_classes),
                'ignored': notes,
            }
        }, dst)
    for note in notes:
        print(note)
    print(f'converted {len(weights)} tensors of {args.arch} '
          f'({num_classes} classes) from {args.src}')
    print(f'saved {len(converted)} tensors to {dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
