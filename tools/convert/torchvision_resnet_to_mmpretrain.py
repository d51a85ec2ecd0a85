"""Convert a torchvision ResNet checkpoint into an mmpretrain ImageClassifier
checkpoint (backbone ``ResNet`` / ``ResNeXt``, neck ``GlobalAveragePooling``,
head ``LinearClsHead``).

Usage:
    python tools/convert/torchvision_resnet_to_mmpretrain.py SRC DST
        [--verify-depth {18,34,50,101,152}] [--atol ATOL] [--no-weights-only]

SRC is a torchvision state dict as downloaded (e.g. ``resnet50-0676ba61.pth``)
or a dict wrapping one under ``'state_dict'`` or ``'model'`` (what
torchvision's reference training script saves). Supported: resnet18/34/50/
101/152, wide_resnet50_2/101_2 and resnext50_32x4d/101_32x8d/101_64x4d.

DST receives ``{'state_dict': ..., 'meta': {...}}``; ``meta['backbone']`` is
the mmpretrain backbone config that the weights fit, to paste into a config.
``--verify-depth D`` rebuilds both models (depth D, random input) and exits
non-zero unless their logits agree within ``--atol``. SRC is read with the
safe unpickler (tensors, plain containers, ``argparse.Namespace``) unless
``--no-weights-only`` says the file is trusted.

Why a pure renaming is exact: torchvision's Bottleneck puts the stride on the
3x3 conv ("ResNet v1.5"), and so does mmpretrain's with its default
``style='pytorch'`` (``conv1_stride=1, conv2_stride=stride``); both add a
1x1-conv + BN downsample exactly when ``stride != 1`` or the channels change,
and both compute ``conv -> BN -> ReLU`` in the same order. Only the prefixes
differ (``backbone.`` and ``head.``), and the logits come out bit-identical
(checked for all ten variants above with mmpretrain 1.2.0, torchvision 0.28).
``style='caffe'`` would still load strictly, yet give different logits.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import OrderedDict
from pathlib import Path
from typing import (Any, Dict, List, Mapping, NamedTuple, Optional, Sequence,
                    Tuple)

import torch

from mmkd_ccd import compat

__all__ = [
    'ResNetArch', 'convert_torchvision_resnet', 'infer_arch',
    'load_source_state_dict', 'mmpretrain_backbone_cfg', 'verify_conversion',
    'main'
]

_BN = r'(weight|bias|running_mean|running_var|num_batches_tracked)'
_BLOCK = r'(layer[1-4]\.\d+)'

# torchvision key pattern -> mmpretrain key template, tried in order; a
# source key matching none of them is an error, never dropped.
KEY_RULES: Tuple[Tuple[str, str], ...] = (
    (r'conv1\.weight', r'backbone.conv1.weight'),
    (rf'bn1\.{_BN}', r'backbone.bn1.\1'),
    (rf'{_BLOCK}\.(conv[1-3])\.weight', r'backbone.\1.\2.weight'),
    (rf'{_BLOCK}\.(bn[1-3])\.{_BN}', r'backbone.\1.\2.\3'),
    (rf'{_BLOCK}\.downsample\.0\.weight', r'backbone.\1.downsample.0.weight'),
    (rf'{_BLOCK}\.downsample\.1\.{_BN}', r'backbone.\1.downsample.1.\2'),
    (r'fc\.(weight|bias)', r'head.fc.\1'),
)
_COMPILED_RULES = [(re.compile(p), t) for p, t in KEY_RULES]

BN_TENSORS = ('weight', 'bias', 'running_mean', 'running_var',
              'num_batches_tracked')

# (block type, blocks per stage) -> depth; the table both libraries share.
DEPTHS: Dict[Tuple[str, Tuple[int, ...]], int] = {
    ('basic', (2, 2, 2, 2)): 18,
    ('basic', (3, 4, 6, 3)): 34,
    ('bottleneck', (3, 4, 6, 3)): 50,
    ('bottleneck', (3, 4, 23, 3)): 101,
    ('bottleneck', (3, 8, 36, 3)): 152,
}


class ResNetArch(NamedTuple):
    """Architecture read off a torchvision ResNet state dict.

    ``width`` is the output channels of ``layer1.0.conv1`` (64 for ResNet,
    128 for wide_resnet50_2 and resnext50_32x4d); ``out_channels`` those of
    ``layer1.0``'s last conv (64 for basic blocks, 256 for bottlenecks).
    """
    block: str
    num_blocks: Tuple[int, ...]
    width: int
    out_channels: int
    groups: int
    num_classes: int
    feat_channels: int

    @property
    def depth(self) -> Optional[int]:
        return DEPTHS.get((self.block, self.num_blocks))


def _require(state_dict: Mapping[str, torch.Tensor], key: str) -> torch.Tensor:
    if key not in state_dict:
        raise ValueError(f'not a torchvision ResNet state dict: missing '
                         f'{key!r}')
    return state_dict[key]


def infer_arch(state_dict: Mapping[str, torch.Tensor]) -> ResNetArch:
    """Read block type, blocks per stage, widths and groups from tensor
    names and shapes of a torchvision ResNet state dict."""
    counts = [0, 0, 0, 0]
    for key in state_dict:
        match = re.match(r'layer([1-4])\.(\d+)\.', key)
        if match:
            stage, index = int(match.group(1)), int(match.group(2))
            counts[stage - 1] = max(counts[stage - 1], index + 1)
    block = ('bottleneck'
             if 'layer1.0.conv3.weight' in state_dict else 'basic')
    last_conv = 'conv3' if block == 'bottleneck' else 'conv2'
    conv1 = _require(state_dict, 'layer1.0.conv1.weight')
    conv2 = _require(state_dict, 'layer1.0.conv2.weight')
    fc = _require(state_dict, 'fc.weight')
    return ResNetArch(
        block=block,
        num_blocks=tuple(counts),
        width=conv1.shape[0],
        out_channels=_require(state_dict,
                              f'layer1.0.{last_conv}.weight').shape[0],
        # a grouped 3x3 conv sees width / groups input channels per filter
        groups=conv2.shape[0] // conv2.shape[1],
        num_classes=fc.shape[0],
        feat_channels=fc.shape[1])


def _expected_target_keys(arch: ResNetArch) -> List[str]:
    """Every key an mmpretrain classifier of ``arch`` has in its state
    dict, so that a truncated source is caught here, not at load time."""
    num_convs = 3 if arch.block == 'bottleneck' else 2
    keys = ['backbone.conv1.weight']
    keys += [f'backbone.bn1.{t}' for t in BN_TENSORS]
    in_channels = 64  # the stem's width, fixed in both libraries
    for stage, num_blocks in enumerate(arch.num_blocks, start=1):
        out_channels = arch.out_channels * 2**(stage - 1)
        for index in range(num_blocks):
            prefix = f'backbone.layer{stage}.{index}'
            for i in range(1, num_convs + 1):
                keys.append(f'{prefix}.conv{i}.weight')
                keys += [f'{prefix}.bn{i}.{t}' for t in BN_TENSORS]
            # same rule in both libraries: project the identity when the
            # first block of a stage changes resolution or channels
            if index == 0 and (stage > 1 or in_channels != out_channels):
                keys.append(f'{prefix}.downsample.0.weight')
                keys += [f'{prefix}.downsample.1.{t}' for t in BN_TENSORS]
        in_channels = out_channels
    keys += ['head.fc.weight', 'head.fc.bias']
    return keys


def _rename(key: str) -> Optional[str]:
    for pattern, template in _COMPILED_RULES:
        match = pattern.fullmatch(key)
        if match:
            return match.expand(template)
    return None


def convert_torchvision_resnet(
        state_dict: Mapping[str, torch.Tensor]) -> 'OrderedDict[str, Any]':
    """Rename a torchvision ResNet/ResNeXt/Wide-ResNet state dict to the
    keys of an mmpretrain ``ImageClassifier`` (``backbone.*``, ``head.fc.*``).

    Every source key is consumed and every target key produced exactly once
    (the renaming only swaps prefixes, so no two keys can collide).
    ``num_batches_tracked`` is carried over; checkpoints saved before PyTorch
    0.4.1 lack it, and it is then set to 0 (what BN would start from) so the
    result still has every key a strict load asks for.

    Raises:
        ValueError: naming the source keys no rule matches, or the target
            keys the source does not provide.
    """
    converted: 'OrderedDict[str, Any]' = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        target = _rename(key)
        if target is None:
            unknown.append(key)
        else:
            converted[target] = value
    if unknown:
        raise ValueError(f'{len(unknown)} source keys match no torchvision '
                         f'ResNet parameter: {unknown}')

    arch = infer_arch(state_dict)
    expected = _expected_target_keys(arch)
    leftover = sorted(set(converted) - set(expected))
    if leftover:
        raise ValueError(
            f'{len(leftover)} keys do not fit a {arch.block} ResNet with '
            f'blocks {arch.num_blocks}: {leftover}')
    ordered: 'OrderedDict[str, Any]' = OrderedDict()
    missing = []
    for key in expected:
        if key in converted:
            ordered[key] = converted[key]
        elif key.endswith('.num_batches_tracked'):
            ordered[key] = torch.tensor(0, dtype=torch.long)
        else:
            missing.append(key)
    if missing:
        raise ValueError(f'{len(missing)} mmpretrain keys have no source '
                         f'tensor: {missing}')
    return ordered


def load_source_state_dict(
        path: str | Path,
        weights_only: bool = True) -> Dict[str, torch.Tensor]:
    """Load a raw torchvision state dict, or one wrapped under
    ``'state_dict'`` or ``'model'``, onto the CPU.

    With ``weights_only`` (the default) the file is read by the safe
    unpickler (:func:`mmkd_ccd.compat.load_checkpoint_file`), which also
    accepts ``argparse.Namespace``: torchvision's reference ``train.py``
    stores its options under ``'args'``.

    Raises:
        FileNotFoundError: naming ``path``.
        ValueError: naming ``path``: the safe unpickler refused it (with
            what it refused), the file is not a checkpoint, it is already an
            mmpretrain checkpoint, or it holds entries that are not tensors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f'source checkpoint not found: {path}')
    checkpoint = compat.load_checkpoint_file(
        path, map_location='cpu', trusted=not weights_only,
        how_to_trust='If you trust the file, rerun with --no-weights-only.',
        safe_globals=[argparse.Namespace])
    if not isinstance(checkpoint, Mapping):
        raise ValueError(f'{path} holds a {type(checkpoint).__name__}, '
                         'expected a state dict')
    for wrapper in ('state_dict', 'model'):
        if isinstance(checkpoint.get(wrapper), Mapping):
            checkpoint = checkpoint[wrapper]
            break
    if any(key.startswith(('backbone.', 'architecture.'))
           for key in checkpoint):
        raise ValueError(
            f'{path} is already an mmpretrain/MMRazor checkpoint (keys '
            'under backbone. or architecture.), not a torchvision state '
            'dict: use it as it is (load_from, teacher_ckpt, init_cfg), or '
            'tools/export_student.py for a distillation checkpoint')
    not_tensors = [
        k for k, v in checkpoint.items() if not isinstance(v, torch.Tensor)
    ]
    if not_tensors:
        raise ValueError(f'{path} is not a state dict: entries {not_tensors} '
                         "are not tensors (expected the weights at the top "
                         "level or under 'state_dict' / 'model')")
    return dict(checkpoint)


def mmpretrain_backbone_cfg(arch: ResNetArch,
                            depth: Optional[int] = None) -> Dict[str, Any]:
    """The mmpretrain backbone config whose weights ``arch`` describes."""
    depth = depth or arch.depth
    if depth is None:
        raise ValueError(
            f'no ResNet depth has {arch.block} blocks {arch.num_blocks}; '
            f'known depths: {sorted(DEPTHS.values())}')
    cfg: Dict[str, Any] = dict(
        type='ResNet',
        depth=depth,
        num_stages=4,
        out_indices=(3, ),
        style='pytorch')
    if arch.groups > 1:
        # mmpretrain's ResNeXt scales its mid channels by
        # groups * width_per_group / 64, as torchvision does
        cfg.update(
            type='ResNeXt',
            groups=arch.groups,
            width_per_group=arch.width // arch.groups)
    elif arch.block == 'bottleneck' and arch.width != 64:
        # Wide ResNet: wider 3x3 convs, same output channels
        cfg.update(
            base_channels=arch.width,
            expansion=arch.out_channels // arch.width)
    return cfg


def _check_depth(arch: ResNetArch, depth: int) -> None:
    if arch.depth != depth:
        raise ValueError(f'verify depth {depth}, but the checkpoint has '
                         f'{arch.block} blocks {arch.num_blocks} '
                         f'(depth {arch.depth})')


def _build_torchvision(arch: ResNetArch) -> torch.nn.Module:
    from torchvision.models import resnet
    block = resnet.Bottleneck if arch.block == 'bottleneck' else (
        resnet.BasicBlock)
    return resnet.ResNet(
        block,
        list(arch.num_blocks),
        num_classes=arch.num_classes,
        groups=arch.groups,
        width_per_group=arch.width // arch.groups)


def verify_conversion(source: Mapping[str, torch.Tensor],
                      converted: Mapping[str, Any],
                      depth: int,
                      input_shape: Sequence[int] = (2, 3, 64, 64)) -> float:
    """Load ``source`` into torchvision and ``converted`` (strictly) into an
    mmpretrain classifier of ``depth``; return the max abs difference of
    their (N, num_classes) logits on one random input in eval mode."""
    from mmpretrain.registry import MODELS

    arch = infer_arch(source)
    _check_depth(arch, depth)
    reference = _build_torchvision(arch)
    reference.load_state_dict(source, strict=True)
    classifier = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=mmpretrain_backbone_cfg(arch, depth),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='LinearClsHead',
                num_classes=arch.num_classes,
                in_channels=arch.feat_channels)))
    classifier.load_state_dict(converted, strict=True)
    reference.eval()
    classifier.eval()
    inputs = torch.randn(
        *input_shape, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = reference(inputs)
        actual = classifier(inputs, mode='tensor')
    return (expected - actual).abs().max().item()


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src', help='torchvision ResNet checkpoint (.pth)')
    parser.add_argument('dst', help='mmpretrain checkpoint to write')
    parser.add_argument(
        '--verify-depth',
        type=int,
        choices=sorted(DEPTHS.values()),
        help='compare logits of torchvision and mmpretrain models of this '
        'depth on a random input; exit 1 when they differ')
    parser.add_argument(
        '--atol',
        type=float,
        default=1e-5,
        help='largest abs logit difference --verify-depth accepts')
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
        source = load_source_state_dict(args.src, args.weights_only)
        converted = convert_torchvision_resnet(source)
        arch = infer_arch(source)
        backbone = mmpretrain_backbone_cfg(arch)
        if args.verify_depth is not None:
            _check_depth(arch, args.verify_depth)
    except (FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1

    dst = Path(args.dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            'state_dict': converted,
            'meta': {
                'converted_from': 'torchvision',
                'source': str(args.src),
                'backbone': backbone,
            }
        }, dst)
    synthesized = len(converted) - len(source)
    print(f'converted {len(source)} tensors from {args.src}'
          + (f' (+{synthesized} num_batches_tracked set to 0)'
             if synthesized else ''))
    print(f'backbone: {backbone}')
    print(f'saved {len(converted)} tensors to {dst}')

    if args.verify_depth is not None:
        diff = verify_conversion(source, converted, args.verify_depth)
        ok = diff <= args.atol
        print(f'verify depth {args.verify_depth}: max abs logit diff '
              f'{diff:.3g} ({"OK" if ok else "MISMATCH"}, atol {args.atol})')
        if not ok:
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
