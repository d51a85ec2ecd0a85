"""The CIFAR-100 networks of the CRD / mdistiller / HSAKD line of work.

Tian et al., "Contrastive Representation Distillation" (ICLR 2020) fixed a
CIFAR-100 model zoo (repository HobbitLong/RepDistiller): WRN-d-w, ResNet-d
(and the wider x4 variants), VGG-d with BN, MobileNetV2 at width 0.5
("mobile_half"), ShuffleNetV1 and ShuffleNetV2. mdistiller copies it
unchanged. HSAKD (winycg/HSAKD) and the code of the CCD paper
(shaoshitong/CCD, built on HSAKD's) keep the same WRN, ResNet, VGG and
ShuffleNet networks (some write the final global average with another
layer that computes the same), but define another MobileNetV2 under the
name ``mobilenetV2``: its stem convolution has stride 1 instead of 2, so
every later feature map is twice as large (4x4 at the end instead of 2x2),
and its classifier is a plain ``nn.Linear`` instead of CRD's
``nn.Sequential(nn.Linear)``. Both are here
(``MobileNetV2CIFAR(stem_stride=...)``): ``mobilenet-v2`` in the arch table
is HSAKD's and CCD's (the paper's student), ``mobilenet-v2-crd`` is CRD's.
The arch table (:data:`CIFAR_ARCHS`) names every model in this project's one
spelling, the one the config file names use (``wrn-40-2``,
``shufflenet-v1``, ...); :attr:`CifarArch.source_names` lists what the
repositories call it (``wrn_40_2``, ``ShuffleV1``, ...).

The networks are written as mmpretrain backbones: ``forward(x)`` returns a
1-tuple with the last feature map, and mmpretrain's
``GlobalAveragePooling`` neck plus a ``LinearClsHead`` complete the
classifier. That split is exact: every one of these models ends in a
global average (``avg_pool2d(8)``, ``AvgPool2d(8)``,
``AdaptiveAvgPool2d(1)``, ``avg_pool2d(4)`` or ``AvgPool2d(2, ceil_mode)``,
each the whole map at 32x32 input) followed by one ``nn.Linear``.

Module names mirror the CRD state-dict keys (``block1.layer.0.convShortcut``,
``blocks.3.0.conv.6``, ...), so a CRD checkpoint maps onto these backbones by
prefixing ``backbone.`` and renaming the final Linear to ``head.fc``
(``tools/convert/cifar_teacher_to_mmpretrain.py``); HSAKD's and CCD's
checkpoints use the same names.

Why not mmpretrain's or MMRazor's modules: mmpretrain's ``ResNet_CIFAR`` is
the 4-stage ImageNet ResNet with a 3x3 stem (64..512 channels), not CRD's
3-stage 16/32/64 ResNet; its ``MobileNetV2`` drops the expansion conv of the
t=1 block and uses ImageNet strides; its ShuffleNets have a 3x3 stride-2 stem
and a max-pool; its VGG max-pools after every stage. MMRazor's
``WideResNet`` computes the same function as CRD's WRN (the tests check
this), but under other key names and only in MMRazor's registry scope.
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.utils import channel_shuffle

from mmkd_ccd.registry import MODELS

__all__ = [
    'CIFAR_ARCHS', 'CifarArch', 'MobileNetV2CIFAR', 'ResNetCIFARKD',
    'ShuffleNetV1CIFAR', 'ShuffleNetV2CIFAR', 'VGGCIFAR', 'WideResNetCIFAR',
    'arch_named', 'cifar_classifier_cfg', 'unknown_arch_message'
]

InitCfg = Optional[Union[dict, List[dict]]]

# CRD initialises convs with N(0, sqrt(2 / (k*k*out_channels))) -- which is
# Kaiming-normal, fan_out, ReLU gain -- zero conv biases, and BN to (1, 0),
# in wrn.py, resnet.py, vgg.py and mobilenetv2.py (its ShuffleNets keep
# PyTorch's defaults). Students trained from scratch should start the same.
CRD_INIT: List[dict] = [
    dict(type='Kaiming', layer='Conv2d', mode='fan_out',
         nonlinearity='relu', distribution='normal', bias=0),
    dict(type='Constant', layer='_BatchNorm', val=1, bias=0),
]


def _conv3x3(in_channels: int, out_channels: int, stride: int = 1,
             bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=stride,
                     padding=1, bias=bias)


def _conv1x1(in_channels: int, out_channels: int, stride: int = 1,
             groups: int = 1) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride,
                     groups=groups, bias=False)


# --------------------------------------------------------------------------
# Wide ResNet (Zagoruyko & Komodakis), CRD's wrn.py
# --------------------------------------------------------------------------
class WRNBasicBlock(nn.Module):
    """Pre-activation block ``BN-ReLU-conv3x3-BN-ReLU-conv3x3``.

    When the channels change, the 1x1 projection (``convShortcut``) reads the
    *pre-activated* input, not the raw one; that is the WRN paper's and CRD's
    layout and changes the function, not only the keys.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the first conv and of the projection.
        drop_rate: dropout between the two convs. Defaults to 0 (CRD).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 drop_rate: float = 0.0) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = _conv3x3(in_channels, out_channels, stride)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.drop_rate = drop_rate
        # camelCase on purpose: the CRD state-dict key is 'convShortcut'.
        # CRD projects exactly when the channels differ (never only the
        # stride), and so must we for its checkpoints to fit.
        self.convShortcut: Optional[nn.Conv2d] = (
            _conv1x1(in_channels, out_channels, stride)
            if in_channels != out_channels else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H / stride, W / stride)."""
        preact = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(preact)))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        out = self.conv2(out)
        shortcut = x if self.convShortcut is None else self.convShortcut(
            preact)
        return shortcut + out


class WRNStage(nn.Module):
    """``num_blocks`` WRN blocks in ``self.layer`` (CRD's ``NetworkBlock``;
    the extra ``.layer`` level is in CRD's keys)."""

    def __init__(self, num_blocks: int, in_channels: int, out_channels: int,
                 stride: int, drop_rate: float = 0.0) -> None:
        super().__init__()
        self.layer = nn.Sequential(*[
            WRNBasicBlock(in_channels if i == 0 else out_channels,
                          out_channels, stride if i == 0 else 1, drop_rate)
            for i in range(num_blocks)
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


@MODELS.register_module()
class WideResNetCIFAR(BaseBackbone):
    """WRN-depth-widen_factor for 32x32 images (CRD's ``wrn_{d}_{w}``).

    Stem conv3x3 (16 ch), three stages of ``(depth - 4) / 6`` pre-activation
    blocks with ``16w, 32w, 64w`` channels and strides 1, 2, 2, then the
    final BN-ReLU (``bn1``) that pre-activation networks need before pooling.

    Args:
        depth: 6n + 4, e.g. 16 or 40.
        widen_factor: channel multiplier w, e.g. 1 or 2.
        drop_rate: dropout inside the blocks. Defaults to 0 (CRD).
        init_cfg: mmengine init config. Defaults to CRD's initialisation.

    Shapes: (N, 3, 32, 32) -> ((N, 64w, 8, 8),).
    """

    def __init__(self, depth: int, widen_factor: int = 1,
                 drop_rate: float = 0.0,
                 init_cfg: InitCfg = CRD_INIT) -> None:
        super().__init__(init_cfg)
        if depth < 10 or (depth - 4) % 6 != 0:
            raise ValueError(f'WideResNetCIFAR depth must be 6n+4 with n >= '
                             f'1 (e.g. 16, 40), got {depth}')
        if widen_factor < 1:
            raise ValueError(f'WideResNetCIFAR widen_factor must be >= 1, '
                             f'got {widen_factor}')
        num_blocks = (depth - 4) // 6
        channels = [16, 16 * widen_factor, 32 * widen_factor,
                    64 * widen_factor]
        self.out_channels = channels[3]
        self.conv1 = _conv3x3(3, channels[0])
        self.block1 = WRNStage(num_blocks, channels[0], channels[1], 1,
                               drop_rate)
        self.block2 = WRNStage(num_blocks, channels[1], channels[2], 2,
                               drop_rate)
        self.block3 = WRNStage(num_blocks, channels[2], channels[3], 2,
                               drop_rate)
        self.bn1 = nn.BatchNorm2d(channels[3])
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """(N, 3, H, W) -> ((N, 64w, H / 4, W / 4),)."""
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        return (self.relu(self.bn1(out)), )


# --------------------------------------------------------------------------
# ResNet for CIFAR (He et al.), CRD's resnet.py
# --------------------------------------------------------------------------
class ResNetBasicBlock(nn.Module):
    """Post-activation basic block ``conv-BN-ReLU-conv-BN (+ shortcut)
    -ReLU`` with an optional 1x1-conv + BN ``downsample`` projection.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the first conv.
        downsample: projection for the shortcut, or None for identity.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 downsample: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.conv1 = _conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H / stride, W / stride)."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


@MODELS.register_module()
class ResNetCIFARKD(BaseBackbone):
    """CRD's CIFAR ResNet-depth (``resnet8`` ... ``resnet110``,
    ``resnet8x4``, ``resnet32x4``).

    Stem conv3x3-BN-ReLU with ``num_filters[0]`` channels, then three stages
    of ``(depth - 2) / 6`` basic blocks with ``num_filters[1:]`` channels and
    strides 1, 2, 2. A stage's first block gets a 1x1-conv + BN projection
    whenever its stride or channels change ("option B"), so unlike the
    original ResNet-20/56 paper models, ``layer2.0``, ``layer3.0`` (and for
    x4, ``layer1.0``) carry ``downsample`` weights.

    Args:
        depth: 6n + 2, e.g. 8, 20, 32, 56, 110.
        num_filters: stem and stage channels. Defaults to ``(16, 16, 32, 64)``
            (resnet8..resnet110); the x4 models use ``X4_FILTERS``.
        init_cfg: mmengine init config. Defaults to CRD's initialisation.

    Shapes: (N, 3, 32, 32) -> ((N, num_filters[3], 8, 8),).
    """

    DEFAULT_FILTERS: Tuple[int, int, int, int] = (16, 16, 32, 64)
    # CRD's "x4" ResNets quadruple the stages but only double the stem
    X4_FILTERS: Tuple[int, int, int, int] = (32, 64, 128, 256)

    def __init__(self, depth: int,
                 num_filters: Sequence[int] = DEFAULT_FILTERS,
                 init_cfg: InitCfg = CRD_INIT) -> None:
        super().__init__(init_cfg)
        if depth < 8 or (depth - 2) % 6 != 0:
            raise ValueError(f'ResNetCIFARKD depth must be 6n+2 with n >= 1 '
                             f'(e.g. 8, 20, 32, 56, 110), got {depth}')
        if len(num_filters) != 4:
            raise ValueError(f'ResNetCIFARKD num_filters must be 4 channel '
                             f'counts (stem, stage 1-3), got {num_filters}')
        num_blocks = (depth - 2) // 6
        self.out_channels = num_filters[3]
        self.conv1 = _conv3x3(3, num_filters[0])
        self.bn1 = nn.BatchNorm2d(num_filters[0])
        self.relu = nn.ReLU(inplace=True)
        in_channels = num_filters[0]
        for index, (channels, stride) in enumerate(
                zip(num_filters[1:], (1, 2, 2)), start=1):
            self.add_module(
                f'layer{index}',
                self._make_stage(in_channels, channels, num_blocks, stride))
            in_channels = channels

    @staticmethod
    def _make_stage(in_channels: int, out_channels: int, num_blocks: int,
                    stride: int) -> nn.Sequential:
        downsample = None
        if stride != 1 or in_channels != out_channels:
            downsample = nn.Sequential(
                _conv1x1(in_channels, out_channels, stride),
                nn.BatchNorm2d(out_channels))
        blocks = [
            ResNetBasicBlock(in_channels, out_channels, stride, downsample)
        ]
        blocks += [
            ResNetBasicBlock(out_channels, out_channels)
            for _ in range(1, num_blocks)
        ]
        return nn.Sequential(*blocks)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """(N, 3, H, W) -> ((N, num_filters[3], H / 4, W / 4),)."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return (out, )


# --------------------------------------------------------------------------
# VGG with BN (Simonyan & Zisserman), CRD's vgg.py
# --------------------------------------------------------------------------
@MODELS.register_module()
class VGGCIFAR(BaseBackbone):
    """CRD's ``vgg{depth}_bn``: five conv blocks, no FC layers.

    Pooling layout (CRD's, and not torchvision's): max-pool 2x2 after blocks
    0, 1 and 2; after block 3 only when the input is 64 pixels high
    (Tiny-ImageNet), so at 32x32 blocks 3 and 4 both run at 4x4; after
    block 4 a global *average* pool (the neck) replaces VGG's FC stack.
    Each block is ``(conv3x3 with bias, BN, ReLU) x k`` whose last ReLU is
    applied in ``forward`` (CRD's key indices, ``block0.0/1/3/4``, follow
    from that).

    Args:
        depth: 8, 11, 13, 16 or 19 (weight layers, counting the classifier).
        init_cfg: mmengine init config. Defaults to CRD's initialisation.

    Shapes: (N, 3, 32, 32) -> ((N, 512, 4, 4),).
    """

    ARCH_SETTINGS: Dict[int, Tuple[Tuple[int, ...], ...]] = {
        8: ((64, ), (128, ), (256, ), (512, ), (512, )),
        11: ((64, ), (128, ), (256, 256), (512, 512), (512, 512)),
        13: ((64, 64), (128, 128), (256, 256), (512, 512), (512, 512)),
        16: ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512),
             (512, 512, 512)),
        19: ((64, 64), (128, 128), (256, 256, 256, 256),
             (512, 512, 512, 512), (512, 512, 512, 512)),
    }
    # CRD's forward applies pool3 only for inputs of this height
    POOL3_INPUT_HEIGHT = 64

    def __init__(self, depth: int, init_cfg: InitCfg = CRD_INIT) -> None:
        super().__init__(init_cfg)
        if depth not in self.ARCH_SETTINGS:
            raise ValueError(f'VGGCIFAR depth must be one of '
                             f'{sorted(self.ARCH_SETTINGS)}, got {depth}')
        in_channels = 3
        for index, widths in enumerate(self.ARCH_SETTINGS[depth]):
            layers: List[nn.Module] = []
            for width in widths:
                layers += [
                    _conv3x3(in_channels, width, bias=True),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True)
                ]
                in_channels = width
            self.add_module(f'block{index}', nn.Sequential(*layers[:-1]))
        for index in range(4):
            self.add_module(f'pool{index}', nn.MaxPool2d(2, stride=2))
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """(N, 3, H, W) -> ((N, 512, H / 8, W / 8),), or H / 16 for H = 64."""
        apply_pool3 = x.shape[2] == self.POOL3_INPUT_HEIGHT
        out = x
        for index in range(5):
            out = F.relu(getattr(self, f'block{index}')(out))
            if index < 3 or (index == 3 and apply_pool3):
                out = getattr(self, f'pool{index}')(out)
        return (out, )


# --------------------------------------------------------------------------
# MobileNetV2 (Sandler et al.), CRD's and HSAKD's mobilenetv2.py (from RCO)
# --------------------------------------------------------------------------
def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int,
                  stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride,
                  kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class InvertedResidualCIFAR(nn.Module):
    """``conv1x1-BN-ReLU, dw-conv3x3-BN-ReLU, conv1x1-BN`` in ``self.conv``,
    plus the input when stride is 1 and the channels stay.

    Unlike torchvision and mmpretrain, the expansion conv is kept even when
    ``expand_ratio`` is 1 (CRD's first block has it).

    Args:
        in_channels: input channels.
        out_channels: output channels.
        stride: stride of the depthwise conv, 1 or 2.
        expand_ratio: hidden channels = ``in_channels * expand_ratio``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 expand_ratio: int) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        self.conv = nn.Sequential(
            _conv1x1(in_channels, hidden), nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden,
                      bias=False), nn.BatchNorm2d(hidden),
            nn.ReLU(inplace=True), _conv1x1(hidden, out_channels),
            nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out, H / stride, W / stride)."""
        out = self.conv(x)
        return x + out if self.use_residual else out


@MODELS.register_module()
class MobileNetV2CIFAR(BaseBackbone):
    """The MobileNetV2 of CRD (``mobilenetv2_T_w``; ``mobile_half`` is
    ``expand_ratio=6, width_mult=0.5``) and, with ``stem_stride=1``, of
    HSAKD and the CCD paper's code (their ``mobilenetV2``, same T and
    width).

    Stem conv3x3-BN-ReLU with stride ``stem_stride``; seven stages
    ``(t, c, n, s)`` = (1, 16, 1, 1), (T, 24, 2, 1), (T, 32, 3, 2),
    (T, 64, 4, 2), (T, 96, 3, 1), (T, 160, 3, 2), (T, 320, 1, 1) with ``c``
    scaled by ``width_mult``; final conv1x1 to 1280 channels
    (``1280 * width_mult`` only when ``width_mult > 1``). The stem stride is
    the one difference between the two backbones (HSAKD's classifier is a
    plain Linear where CRD's is ``Sequential(Linear)``, which only renames
    its checkpoint keys); it sets every feature map's size and so the
    function, but no parameter.

    Args:
        expand_ratio: T, the expansion of every stage but the first.
            Defaults to 6.
        width_mult: channel multiplier. Defaults to 0.5 (``mobile_half``).
        stem_stride: stride of the stem conv: 2 for CRD / mdistiller, 1 for
            HSAKD / CCD. Defaults to 2.
        init_cfg: mmengine init config. Defaults to CRD's initialisation
            (HSAKD's is the same).

    Shapes: (N, 3, 32, 32) -> ((N, 1280, 2, 2),) with ``stem_stride=2``,
    ((N, 1280, 4, 4),) with ``stem_stride=1``.
    """

    STAGES: Tuple[Tuple[Optional[int], int, int, int], ...] = (
        # (expansion, channels, blocks, stride); None -> expand_ratio
        (1, 16, 1, 1),
        (None, 24, 2, 1),
        (None, 32, 3, 2),
        (None, 64, 4, 2),
        (None, 96, 3, 1),
        (None, 160, 3, 2),
        (None, 320, 1, 1),
    )

    def __init__(self, expand_ratio: int = 6, width_mult: float = 0.5,
                 stem_stride: int = 2,
                 init_cfg: InitCfg = CRD_INIT) -> None:
        super().__init__(init_cfg)
        if width_mult <= 0:
            raise ValueError(f'MobileNetV2CIFAR width_mult must be > 0, got '
                             f'{width_mult}')
        if stem_stride not in (1, 2):
            raise ValueError(f'MobileNetV2CIFAR stem_stride must be 1 '
                             f'(HSAKD / CCD) or 2 (CRD), got {stem_stride}')
        in_channels = int(32 * width_mult)
        self.conv1 = _conv_bn_relu(3, in_channels, 3, stride=stem_stride)
        self.blocks = nn.ModuleList()
        for expansion, channels, num_blocks, stride in self.STAGES:
            out_channels = int(channels * width_mult)
            stage = []
            for index in range(num_blocks):
                stage.append(
                    InvertedResidualCIFAR(in_channels, out_channels,
                                          stride if index == 0 else 1,
                                          expansion or expand_ratio))
                in_channels = out_channels
            self.blocks.append(nn.Sequential(*stage))
        self.out_channels = (int(1280 * width_mult)
                             if width_mult > 1.0 else 1280)
        self.conv2 = _conv_bn_relu(in_channels, self.out_channels, 1)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """(N, 3, H, W) -> ((N, 1280, H / s, W / s),) with total stride
        ``s = 8 * stem_stride``."""
        out = self.conv1(x)
        for stage in self.blocks:
            out = stage(out)
        return (self.conv2(out), )


# --------------------------------------------------------------------------
# ShuffleNetV1 (Zhang et al.), CRD's ShuffleNetv1.py (from kuangliu)
# --------------------------------------------------------------------------
class ShuffleV1Bottleneck(nn.Module):
    """Grouped conv1x1-BN-ReLU, channel shuffle, dw-conv3x3-BN-ReLU, grouped
    conv1x1-BN; added to the input, or with stride 2 concatenated with the
    3x3 average-pooled input; then ReLU.

    Args:
        in_channels: input channels.
        out_channels: channels of the residual branch (the block outputs
            ``in_channels + out_channels`` when ``stride`` is 2).
        stride: 1 or 2.
        groups: groups of the 1x1 convs; the first 1x1 conv is ungrouped on
            the 24-channel stem output, as in CRD.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 groups: int) -> None:
        super().__init__()
        mid_channels = out_channels // 4
        first_groups = 1 if in_channels == 24 else groups
        self.stride = stride
        self.shuffle_groups = first_groups
        self.conv1 = _conv1x1(in_channels, mid_channels, groups=first_groups)
        self.bn1 = nn.BatchNorm2d(mid_channels)
        self.conv2 = nn.Conv2d(mid_channels, mid_channels, 3, stride, 1,
                               groups=mid_channels, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_channels)
        self.conv3 = _conv1x1(mid_channels, out_channels, groups=groups)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.shortcut = (nn.AvgPool2d(3, stride=2, padding=1)
                         if stride == 2 else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, C_out (+ C_in if stride 2), H/s, W/s)."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = channel_shuffle(out, self.shuffle_groups)
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        shortcut = self.shortcut(x)
        out = (torch.cat([out, shortcut], 1)
               if self.stride == 2 else out + shortcut)
        return F.relu(out)


@MODELS.register_module()
class ShuffleNetV1CIFAR(BaseBackbone):
    """CRD's ``ShuffleV1``: conv1x1 stem (24 ch, stride 1, no max-pool),
    three stages whose first block halves the resolution.

    Args:
        out_channels: output channels of the three stages.
            Defaults to ``(240, 480, 960)``.
        num_blocks: blocks per stage. Defaults to ``(4, 8, 4)``.
        groups: groups of the 1x1 convs. Defaults to 3.
        init_cfg: mmengine init config. Defaults to None: CRD keeps
            PyTorch's default initialisation for its ShuffleNets.

    Shapes: (N, 3, 32, 32) -> ((N, 960, 4, 4),).
    """

    def __init__(self, out_channels: Sequence[int] = (240, 480, 960),
                 num_blocks: Sequence[int] = (4, 8, 4), groups: int = 3,
                 init_cfg: InitCfg = None) -> None:
        super().__init__(init_cfg)
        if len(out_channels) != 3 or len(num_blocks) != 3:
            raise ValueError(
                f'ShuffleNetV1CIFAR needs 3 stages, got out_channels='
                f'{out_channels}, num_blocks={num_blocks}')
        self.conv1 = _conv1x1(3, 24)
        self.bn1 = nn.BatchNorm2d(24)
        in_channels = 24
        for index, (channels, blocks) in enumerate(
                zip(out_channels, num_blocks), start=1):
            stage = []
            for block in range(blocks):
                # the stride-2 block concatenates its input, so its own
                # branch only makes up the difference
                branch = channels - in_channels if block == 0 else channels
                stage.append(
                    ShuffleV1Bottleneck(in_channels, branch,
                                        2 if block == 0 else 1, groups))
                in_channels = channels
            self.add_module(f'layer{index}', nn.Sequential(*stage))
        self.out_channels = in_channels

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """(N, 3, H, W) -> ((N, out_channels[2], H / 8, W / 8),)."""
        out = F.relu(self.bn1(self.conv1(x)))
        return (self.layer3(self.layer2(self.layer1(out))), )


# --------------------------------------------------------------------------
# ShuffleNetV2 (Ma et al.), CRD's ShuffleNetv2.py (from kuangliu)
# --------------------------------------------------------------------------
class ShuffleV2BasicBlock(nn.Module):
    """Channel split in halves; the second half goes through
    ``conv1x1-BN-ReLU, dw-conv3x3-BN, conv1x1-BN-ReLU``; concat with the
    first half; shuffle with 2 groups. Channels and resolution stay.

    Args:
        channels: input (= output) channels.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.split = channels // 2
        branch = channels - self.split
        self.conv1 = _conv1x1(branch, branch)
        self.bn1 = nn.BatchNorm2d(branch)
        self.conv2 = nn.Conv2d(branch, branch, 3, 1, 1, groups=branch,
                               bias=False)
        self.bn2 = nn.BatchNorm2d(branch)
        self.conv3 = _conv1x1(branch, branch)
        self.bn3 = nn.BatchNorm2d(branch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, C, H, W)."""
        kept, branch = x[:, :self.split], x[:, self.split:]
        out = F.relu(self.bn1(self.conv1(branch)))
        out = self.bn2(self.conv2(out))
        out = F.relu(self.bn3(self.conv3(out)))
        return channel_shuffle(torch.cat([kept, out], 1), 2)


class ShuffleV2DownBlock(nn.Module):
    """Two stride-2 branches, concatenated and shuffled with 2 groups:
    left ``dw-conv3x3-BN, conv1x1-BN-ReLU`` (conv1/2), right ``conv1x1-BN-
    ReLU, dw-conv3x3-BN, conv1x1-BN-ReLU`` (conv3/4/5).

    Args:
        in_channels: input channels.
        out_channels: output channels (each branch gives half).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        mid = out_channels // 2
        self.conv1 = nn.Conv2d(in_channels, in_channels, 3, 2, 1,
                               groups=in_channels, bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv2 = _conv1x1(in_channels, mid)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = _conv1x1(in_channels, mid)
        self.bn3 = nn.BatchNorm2d(mid)
        self.conv4 = nn.Conv2d(mid, mid, 3, 2, 1, groups=mid, bias=False)
        self.bn4 = nn.BatchNorm2d(mid)
        self.conv5 = _conv1x1(mid, mid)
        self.bn5 = nn.BatchNorm2d(mid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C_in, H, W) -> (N, 2 * (C_out // 2), H / 2, W / 2)."""
        left = self.bn1(self.conv1(x))
        left = F.relu(self.bn2(self.conv2(left)))
        right = F.relu(self.bn3(self.conv3(x)))
        right = self.bn4(self.conv4(right))
        right = F.relu(self.bn5(self.conv5(right)))
        return channel_shuffle(torch.cat([left, right], 1), 2)


@MODELS.register_module()
class ShuffleNetV2CIFAR(BaseBackbone):
    """CRD's ``ShuffleV2`` (``net_size=1``): conv1x1 stem (24 ch, stride 1,
    no max-pool); three stages of one down block + ``num_blocks`` basic
    blocks; final conv1x1-BN-ReLU (``conv2``, ``bn2``).

    Args:
        net_size: a key of ``ARCH_SETTINGS``. Defaults to 1 (CRD's
            ``ShuffleV2``).
        init_cfg: mmengine init config. Defaults to None: CRD keeps
            PyTorch's default initialisation for its ShuffleNets.

    Shapes: (N, 3, 32, 32) -> ((N, 1024, 4, 4),) for ``net_size=1``.
    """

    # net_size -> (stage 1-3 and final channels, basic blocks per stage)
    ARCH_SETTINGS: Dict[float, Tuple[Tuple[int, ...], Tuple[int, ...]]] = {
        0.2: ((40, 80, 160, 512), (3, 3, 3)),
        0.3: ((40, 80, 160, 512), (3, 7, 3)),
        0.5: ((48, 96, 192, 1024), (3, 7, 3)),
        1: ((116, 232, 464, 1024), (3, 7, 3)),
        1.5: ((176, 352, 704, 1024), (3, 7, 3)),
        2: ((224, 488, 976, 2048), (3, 7, 3)),
    }

    def __init__(self, net_size: float = 1,
                 init_cfg: InitCfg = None) -> None:
        super().__init__(init_cfg)
        if net_size not in self.ARCH_SETTINGS:
            raise ValueError(f'ShuffleNetV2CIFAR net_size must be one of '
                             f'{sorted(self.ARCH_SETTINGS)}, got {net_size}')
        channels, num_blocks = self.ARCH_SETTINGS[net_size]
        self.conv1 = _conv1x1(3, 24)
        self.bn1 = nn.BatchNorm2d(24)
        in_channels = 24
        for index, (width, blocks) in enumerate(
                zip(channels[:3], num_blocks), start=1):
            stage = [ShuffleV2DownBlock(in_channels, width)]
            stage += [ShuffleV2BasicBlock(width) for _ in range(blocks)]
            self.add_module(f'layer{index}', nn.Sequential(*stage))
            in_channels = width
        self.conv2 = _conv1x1(in_channels, channels[3])
        self.bn2 = nn.BatchNorm2d(channels[3])
        self.out_channels = channels[3]

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """(N, 3, H, W) -> ((N, channels[3], H / 8, W / 8),)."""
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return (F.relu(self.bn2(self.conv2(out))), )


# --------------------------------------------------------------------------
# The zoo
# --------------------------------------------------------------------------
class CifarArch(NamedTuple):
    """A model of the zoo as mmpretrain pieces.

    Attributes:
        backbone: the backbone config.
        in_channels: the ``in_channels`` of its ``LinearClsHead``.
        source_names: what the repositories that define the model call it
            (CRD's ``model_dict`` keys, HSAKD's and CCD's model names), for
            messages and docs.
    """
    backbone: dict
    in_channels: int
    source_names: Tuple[str, ...]


def _resnet(depth: int, x4: bool = False) -> CifarArch:
    name = f'resnet{depth}' + ('x4' if x4 else '')
    if x4:
        return CifarArch(
            dict(type='ResNetCIFARKD', depth=depth,
                 num_filters=ResNetCIFARKD.X4_FILTERS), 256, (name, ))
    return CifarArch(dict(type='ResNetCIFARKD', depth=depth), 64, (name, ))


#: The zoo, keyed by this project's names (those of the config files).
CIFAR_ARCHS: Dict[str, CifarArch] = {
    **{
        f'wrn-{depth}-{width}': CifarArch(
            dict(type='WideResNetCIFAR', depth=depth, widen_factor=width),
            64 * width, (f'wrn_{depth}_{width}', ))
        for depth in (16, 40) for width in (1, 2)
    },
    **{
        f'resnet{depth}': _resnet(depth)
        for depth in (8, 14, 20, 32, 44, 56, 110)
    },
    'resnet8x4': _resnet(8, x4=True),
    'resnet32x4': _resnet(32, x4=True),
    **{
        f'vgg{depth}': CifarArch(
            dict(type='VGGCIFAR', depth=depth), 512,
            (f'vgg{depth}', f'vgg{depth}_bn'))
        for depth in (8, 11, 13, 16, 19)
    },
    # The paper's student (HSAKD's and CCD's): stem stride 1, last map 4x4.
    'mobilenet-v2': CifarArch(
        dict(type='MobileNetV2CIFAR', expand_ratio=6, width_mult=0.5,
             stem_stride=1), 1280, ('mobilenetV2', )),
    # CRD's and mdistiller's: stem stride 2, last map 2x2.
    'mobilenet-v2-crd': CifarArch(
        dict(type='MobileNetV2CIFAR', expand_ratio=6, width_mult=0.5,
             stem_stride=2), 1280, ('MobileNetV2', 'mobile_half')),
    'shufflenet-v1': CifarArch(
        dict(type='ShuffleNetV1CIFAR'), 960, ('ShuffleV1', )),
    'shufflenet-v2': CifarArch(
        dict(type='ShuffleNetV2CIFAR', net_size=1), 1024, ('ShuffleV2', )),
}


def arch_named(source_name: str) -> Optional[str]:
    """This project's name of the model a repository calls
    ``source_name``, or None."""
    for name, arch in CIFAR_ARCHS.items():
        if source_name in arch.source_names:
            return name
    return None


def unknown_arch_message(arch: str) -> str:
    """Why ``arch`` is not a key of :data:`CIFAR_ARCHS`, with the key to
    use when ``arch`` is a repository's name for one."""
    known = arch_named(arch)
    hint = (f' (the repositories call {known!r} {arch!r}: use {known!r})'
            if known else '')
    return f'unknown CIFAR arch {arch!r}{hint}; known: {sorted(CIFAR_ARCHS)}'


def cifar_classifier_cfg(arch: str, num_classes: int = 100) -> dict:
    """The mmpretrain ``ImageClassifier`` config of zoo model ``arch``:
    backbone, ``GlobalAveragePooling`` neck, ``LinearClsHead``.

    Raises:
        KeyError: naming ``arch`` and the known names.
    """
    if arch not in CIFAR_ARCHS:
        raise KeyError(unknown_arch_message(arch))
    spec = CIFAR_ARCHS[arch]
    return dict(
        type='ImageClassifier',
        backbone=dict(spec.backbone),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=spec.in_channels,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
