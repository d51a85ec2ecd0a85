"""Convert a CIFAR teacher checkpoint of the CRD / mdistiller / HSAKD model
zoo into an mmpretrain ImageClassifier checkpoint (backbone from
``mmkd_ccd.models.backbones.cifar``, neck ``GlobalAveragePooling``, head
``LinearClsHead``).

Usage:
    python tools/convert/cifar_teacher_to_mmpretrain.py SRC DST --arch NAME
        [--no-weights-only]

NAME is a CRD model name (``wrn_40_2``, ``resnet32x4``, ``vgg13``,
``MobileNetV2`` / ``mobile_half``, ``ShuffleV1``, ...; see ``CIFAR_ARCHS``).

SRC may be what any of these repositories saves:

- CRD / RepDistiller and mdistiller: ``{'model': state_dict, 'epoch',
  'best_acc' or 'accuracy', 'optimizer'}``, or ``{'opt', 'model',
  'optimizer'}`` for ``*_last.pth``;
- HSAKD: ``{'net': state_dict, 'acc', 'epoch', ...}``; its ``*_aux``
  teachers nest the classifier under ``backbone.`` next to
  ``auxiliary_classifier.*``, the self-supervised heads used only in
  HSAKD's training, which are dropped (and reported);
- ``{'state_dict': state_dict}`` or a raw state dict;

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

Why renaming is enough: the backbones mirror CRD's module names, so a CRD key
``k`` becomes ``backbone.k``, and CRD's final Linear (``fc``, ``classifier``,
``classifier.0`` or ``linear``) becomes ``head.fc``. CRD's global average
pool is the ``GlobalAveragePooling`` neck (no parameters).
"""
from __future__ import annotations

import argparse
import pickle
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from mmengine.logging import print_log

from mmkd_ccd.compat import load_weights_only
from mmkd_ccd.models.backbones import CIFAR_ARCHS, cifar_classifier_cfg

__all__ = [
    'CRD_HEADS', 'convert_cifar_teacher', 'crd_head_name',
    'extract_state_dict', 'load_checkpoint_file', 'to_crd_key',
    'to_mmpretrain_key', 'main'
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
DEFAULT_NUM_CLASSES = 100
BN_COUNTER = 'num_batches_tracked'


def crd_head_name(arch: str) -> str:
    """CRD's module name of ``arch``'s final Linear (``fc``, ...).

    Raises:
        ValueError: naming ``arch`` and the known names.
    """
    if arch not in CIFAR_ARCHS:
        raise ValueError(f'unknown --arch {arch!r}; known: '
                         f'{sorted(CIFAR_ARCHS)}')
    return CRD_HEADS[CIFAR_ARCHS[arch].backbone['type']]


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


def _build_classifier(arch: str, num_classes: int) -> torch.nn.Module:
    from mmpretrain.registry import MODELS
    return MODELS.build(cifar_classifier_cfg(arch, num_classes))


def _num_classes(weights: Mapping[str, torch.Tensor], arch: str) -> int:
    head_weight = weights.get(crd_head_name(arch) + '.weight')
    # a checkpoint without its head is reported as missing that key below
    if head_weight is None or head_weight.dim() != 2:
        return DEFAULT_NUM_CLASSES
    return head_weight.shape[0]


def convert_cifar_teacher(checkpoint: Mapping[str, Any],
                          arch: str) -> 'OrderedDict[str, torch.Tensor]':
    """Convert a CRD-layout CIFAR checkpoint of model ``arch`` into an
    mmpretrain ``ImageClassifier`` state dict (``backbone.*``,
    ``head.fc.*``), in the classifier's key order.

    ``checkpoint`` is a state dict or anything :func:`extract_state_dict`
    unwraps. The number of classes is read off the final Linear (100 for
    CIFAR-100 teachers, 10 for CIFAR-10 ones). What is ignored on the way is
    logged.

    Raises:
        ValueError: listing the CRD keys the ``arch`` model needs but the
            checkpoint lacks, the keys it has that the model does not, and
            the tensors whose shapes differ; or an unknown ``arch``.
    """
    crd_head_name(arch)  # unknown arch: fail before reading anything
    weights, notes = extract_state_dict(checkpoint)
    for note in notes:
        print_log(note, logger='current')
    target = _build_classifier(arch, _num_classes(weights, arch)).state_dict()

    renamed = {to_mmpretrain_key(k, arch): v for k, v in weights.items()}
    unexpected = [k for k in weights
                  if to_mmpretrain_key(k, arch) not in target]
    missing = [to_crd_key(k, arch) for k in target
               if k not in renamed and not k.endswith(BN_COUNTER)]
    mismatched = [
        f'{to_crd_key(k, arch)}: {tuple(renamed[k].shape)} in the checkpoint'
        f', {tuple(v.shape)} in {arch}' for k, v in target.items()
        if k in renamed and renamed[k].shape != v.shape
    ]
    if missing or unexpected or mismatched:
        problems = [
            f'{len(items)} {what}: {items}'
            for what, items in (('missing keys', missing),
                                ('unexpected keys', unexpected),
                                ('shape mismatches', mismatched)) if items
        ]
        raise ValueError(f'checkpoint does not fit --arch {arch} (CRD key '
                         f'names): ' + '; '.join(problems))

    converted: 'OrderedDict[str, torch.Tensor]' = OrderedDict()
    for key, value in target.items():
        converted[key] = (renamed[key]
                          if key in renamed else torch.zeros_like(value))
    return converted


def load_checkpoint_file(path: str | Path,
                         weights_only: bool = True) -> Mapping[str, Any]:
    """``torch.load`` a checkpoint onto the CPU.

    With ``weights_only`` (the default) only tensors and plain containers
    are unpickled, plus ``argparse.Namespace``: CRD's ``*_last.pth`` stores
    its command-line options under ``'opt'``, a plain attribute bag.

    Raises:
        FileNotFoundError: naming ``path``.
        ValueError: when ``weights_only`` refuses an object in the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'source checkpoint not found: {path}')
    if not weights_only:
        return torch.load(path, map_location='cpu', weights_only=False)
    try:
        return load_weights_only(str(path), [argparse.Namespace])
    except pickle.UnpicklingError as error:
        raise ValueError(
            f'{path} holds objects that torch.load(weights_only=True) '
            f'refuses to unpickle ({_unpickler_reason(error)}); if you trust '
            f'the file, rerun with --no-weights-only') from error


def _unpickler_reason(error: Exception) -> str:
    """The one line of torch's long weights-only message that names the
    refused object (``Unsupported global: GLOBAL module.Class ...``)."""
    lines = str(error).splitlines() or ['']
    reason = next((line for line in lines if 'WeightsUnpickler error' in line),
                  lines[0])
    return reason.split(' Please use')[0].strip()


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='CIFAR teacher checkpoint (.pth)')
    parser.add_argument('dst', help='mmpretrain checkpoint to write')
    parser.add_argument(
        '--arch',
        required=True,
        choices=sorted(CIFAR_ARCHS),
        metavar='NAME',
        help='CRD model name of the checkpoint: ' +
        ', '.join(sorted(CIFAR_ARCHS)))
    parser.add_argument(
        '--no-weights-only',
        dest='weights_only',
        action='store_false',
        help='unpickle arbitrary objects in SRC (runs code from the file: '
        'only for checkpoints you trust)')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        checkpoint = load_checkpoint_file(args.src, args.weights_only)
        weights, notes = extract_state_dict(checkpoint)
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
                'converted_from': 'CRD-layout CIFAR checkpoint',
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
