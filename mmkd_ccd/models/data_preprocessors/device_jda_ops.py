"""JDA's ops on a batch of images on any torch device.

The ops of :data:`mmkd_ccd.datasets.transforms.jda.OPS` (Li, Shao et al.,
ACCV 2022), rewritten for padded batches so that the augmented views' op
chain can run on the model's device (see
:mod:`mmkd_ccd.models.data_preprocessors.device_jda`). Each op reproduces the
arithmetic of the PIL function the CPU op calls, step by step in the same
precision, so that its pixels match the CPU op's:

- point ops (autocontrast, equalize, invert, posterize, solarize) build PIL's
  per-channel lookup tables from each image's own histogram;
- enhance ops (color, contrast, brightness, sharpness) blend with PIL's
  ``ImageEnhance`` degenerate images on RGB, in float32 with truncation as
  ``Image.blend``; grey is PIL's ``L = (19595 R + 38470 G + 7471 B +
  0x8000) >> 16``, contrast's grey level is the rounded mean of ``L``,
  sharpness uses PIL's 3x3 ``SMOOTH`` kernel and keeps the 1-pixel border;
- geometric ops sample on PIL's affine grid (pixel centres): rotate and
  translate nearest (rotate in PIL's 16.16 fixed point), shear bicubic
  (PIL's ``a = -1`` kernel, in float64, along the sheared axis only, which
  is what PIL's 4x4 kernel computes for a shear); pixels whose source falls
  outside the image get the grey fill (128, 128, 128).

A batch is ``images`` (N, 3, H, W) uint8 RGB with ``sizes`` (N, 2) int64:
row i is an image of ``sizes[i] = (h_i, w_i)`` in ``images[i, :, :h_i,
:w_i]``; the rest is padding, which no op reads (histograms, means and
samples see the valid region only) and whose output values are unspecified.
"""
from __future__ import annotations

import math
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import Tensor

#: Fill value of the area a geometric op uncovers, as the CPU ops.
FILL = 128

#: Rows are (h, w) of each image.
Sizes = Tensor

RowParams = Callable[[Optional[float], int, int, int], Tuple[float, ...]]
ApplyFunc = Callable[[Tensor, Sizes, Optional[float], Optional[Tensor]],
                     Tensor]


class DeviceOp(NamedTuple):
    """One entry of :data:`DEVICE_OPS`.

    Attributes:
        row_params: ``row_params(magnitude, sign, h, w)`` -> the numbers the
            op needs for one image (its enhance factor, affine coefficients,
            ...), computed on the host in float64 like the CPU op; None for
            ops that need none.
        apply: ``apply(images, sizes, magnitude, params)`` with ``params``
            the (N, K) float64 stack of ``row_params`` on the images' device
            (None when ``row_params`` is None); returns the (N, 3, H, W)
            uint8 result.
    """
    row_params: Optional[RowParams]
    apply: ApplyFunc


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def host_to_device(data: object, dtype: torch.dtype,
                   device: torch.device) -> Tensor:
    """A tensor of host data (nested lists, numpy) on ``device``.

    On CUDA the copy goes through pinned memory without blocking, so the
    host keeps queueing kernels instead of waiting for the GPU to drain.
    """
    tensor = torch.as_tensor(data, dtype=dtype)
    if torch.device(device).type != 'cuda':
        return tensor.to(device)
    return tensor.pin_memory().to(device, non_blocking=True)


def valid_mask(sizes: Sizes, height: int, width: int) -> Tensor:
    """(N, 1, H, W) bool, True on each row's valid region."""
    device = sizes.device
    rows = torch.arange(height, device=device) < sizes[:, :1]
    cols = torch.arange(width, device=device) < sizes[:, 1:]
    return (rows[:, :, None] & cols[:, None, :])[:, None]


def channel_histograms(images: Tensor, sizes: Sizes) -> Tensor:
    """(N, 3, 256) int64: each row's per-channel histogram of its valid
    region, as PIL's ``Image.histogram``."""
    num, channels, height, width = images.shape
    bins = num * channels * 256
    offsets = torch.arange(
        num * channels, device=images.device, dtype=torch.int32) * 256
    index = images.int() + offsets.view(num, channels, 1, 1)
    # Padding pixels count in one extra bin that is dropped.
    index = torch.where(valid_mask(sizes, height, width), index,
                        bins).flatten()
    if images.is_cuda:
        # CUDA's bincount reads the input's range back to the host.
        counts = torch.zeros(bins + 1, dtype=torch.int64,
                             device=images.device)
        counts.index_add_(0, index, torch.ones_like(index, dtype=torch.int64))
    else:
        counts = torch.bincount(index, minlength=bins + 1)
    return counts[:bins].view(num, channels, 256)


def apply_luts(images: Tensor, luts: Tensor) -> Tensor:
    """Map every pixel of channel c of row i through ``luts[i, c]``.

    Args:
        images (Tensor): (N, 3, H, W) uint8.
        luts (Tensor): (N, 3, 256) integer tables with values in [0, 255].

    Returns:
        Tensor: (N, 3, H, W) uint8.
    """
    num, channels, height, width = images.shape
    flat = luts.to(torch.uint8).view(num * channels, 256)
    index = images.reshape(num * channels, height * width).long()
    return flat.gather(1, index).view(num, channels, height, width)


def _first_last_nonzero(hist: Tensor) -> Tuple[Tensor, Tensor]:
    """Indices of the first and last non-empty bin of (..., 256)
    histograms (0 and 255 for an empty one)."""
    nonzero = hist > 0
    first = nonzero.int().argmax(-1)
    last = 255 - nonzero.flip(-1).int().argmax(-1)
    return first, last


def _identity_lut(like: Tensor) -> Tensor:
    return torch.arange(256, device=like.device).expand(*like.shape[:-1], 256)


def grey(images: Tensor) -> Tensor:
    """(N, 1, H, W) int32: PIL's RGB -> L conversion."""
    rgb = images.int()
    return (rgb[:, 0:1] * 19595 + rgb[:, 1:2] * 38470 + rgb[:, 2:3] * 7471
            + 0x8000) >> 16


def blend(degenerate: Tensor, images: Tensor, factors: Tensor) -> Tensor:
    """PIL's ``Image.blend(degenerate, image, factor)`` per row.

    ``out = degenerate + factor * (image - degenerate)`` in float32, clipped
    to [0, 255] and truncated, as PIL's C code.

    Args:
        degenerate (Tensor): uint8 or int tensor broadcastable to
            ``images``.
        images (Tensor): (N, 3, H, W) uint8.
        factors (Tensor): (N,) blend factors (float64; used as float32, as
            PIL does).

    Returns:
        Tensor: (N, 3, H, W) uint8.
    """
    alpha = factors.float().view(-1, 1, 1, 1)
    start = degenerate.float()
    mixed = start + alpha * (images.float() - start)
    return mixed.clamp(0, 255).trunc().to(torch.uint8)


def _factor(magnitude: Optional[float], sign: int, height: int,
            width: int) -> Tuple[float, ...]:
    return (1 + sign * magnitude, )


def _sample_nearest(images: Tensor, sizes: Sizes, src_y: Tensor,
                    src_x: Tensor) -> Tensor:
    """Output pixel (y, x) of row i takes ``images[i, :, src_y, src_x]``,
    or the fill where that is outside row i's image.

    Args:
        images (Tensor): (N, 3, H, W) uint8.
        sizes (Tensor): (N, 2) int64.
        src_y, src_x (Tensor): (N, H, W) int64 source coordinates.

    Returns:
        Tensor: (N, 3, H, W) uint8.
    """
    num, channels, height, width = images.shape
    inside = ((src_x >= 0) & (src_x < sizes[:, 1, None, None]) & (src_y >= 0)
              & (src_y < sizes[:, 0, None, None]))
    flat = (src_y.clamp(0, height - 1) * width + src_x.clamp(0, width - 1))
    flat = flat.view(num, 1, height * width).expand(num, channels, -1)
    picked = images.reshape(num, channels, -1).gather(2, flat)
    picked = picked.view(num, channels, height, width)
    return torch.where(inside[:, None], picked, FILL).to(torch.uint8)


def _pixel_grid(images: Tensor) -> Tuple[Tensor, Tensor]:
    """(1, H, 1) and (1, 1, W) float64 row and column indices y and x."""
    _, _, height, width = images.shape
    device = images.device
    ys = torch.arange(height, device=device, dtype=torch.float64)
    xs = torch.arange(width, device=device, dtype=torch.float64)
    return ys.view(1, height, 1), xs.view(1, 1, width)


def _cubic(v1: Tensor, v2: Tensor, v3: Tensor, v4: Tensor,
           d: Tensor) -> Tensor:
    """PIL's cubic interpolation (``a = -1``) of integer samples v1..v4 at
    offset ``d`` (float64) between v2 and v3.

    The polynomial's coefficients are exact integers (computed as such);
    its Horner evaluation follows PIL's order of float64 operations.
    """
    v1, v2, v3, v4 = (v.short() for v in (v1, v2, v3, v4))
    p2 = (v3 - v1).double()
    p3 = (2 * (v1 - v2) + v3 - v4).double()
    p4 = (v2 - v1 - v3 + v4).double()
    value = p4.mul_(d).add_(p3).mul_(d).add_(p2).mul_(d)
    return value.add_(v2)


def _sample_bicubic_along(images: Tensor, sizes: Sizes, position: Tensor,
                          axis: int) -> Tensor:
    """PIL's bicubic affine sampling where only one coordinate moves.

    Output pixel (y, x) samples the source at ``position`` along ``axis``
    (3: columns, 2: rows) and at its own pixel centre along the other axis.
    There PIL's fraction along the other axis is exactly 0, so its 4x4
    bicubic reduces exactly to the 4 taps along ``axis``. Points outside
    ``[0, side)`` get the fill; taps beyond the edge are clamped to it.

    Args:
        images (Tensor): (N, 3, H, W) uint8.
        sizes (Tensor): (N, 2) int64.
        position (Tensor): (N, H, W) float64 source coordinate along
            ``axis`` (pixel-centre convention).
        axis (int): 3 for a horizontal, 2 for a vertical displacement.

    Returns:
        Tensor: (N, 3, H, W) uint8.
    """
    num, channels, height, width = images.shape
    side = sizes[:, 1 if axis == 3 else 0, None, None]
    inside = (position >= 0) & (position < side)
    position = position - 0.5
    start = position.floor()
    frac = (position - start)[:, None]
    start = start.long() - 1
    ys = torch.arange(height, device=images.device).view(1, height, 1)
    xs = torch.arange(width, device=images.device).view(1, 1, width)
    source = images.reshape(num, channels, -1)
    taps = []
    for k in range(4):
        tap = torch.minimum((start + k).clamp(min=0), side - 1)
        flat = ys * width + tap if axis == 3 else tap * width + xs
        index = flat.view(num, 1, -1).expand(num, channels, -1)
        taps.append(source.gather(2, index).view(num, channels, height,
                                                 width))
    value = _cubic(*taps, frac).clamp(0, 255).trunc()
    return torch.where(inside[:, None], value, FILL).to(torch.uint8)


# ---------------------------------------------------------------------------
# Point ops
# ---------------------------------------------------------------------------
def _autocontrast(images: Tensor, sizes: Sizes, magnitude: Optional[float],
                  params: Optional[Tensor]) -> Tensor:
    hist = channel_histograms(images, sizes)
    low, high = _first_last_nonzero(hist)
    span = (high - low).double().clamp(min=1)
    # A true division as PIL's (``255.0 / span`` would multiply by the
    # reciprocal and round differently).
    scale = (torch.full_like(span, 255.0) / span)[..., None]
    offset = -low.double()[..., None] * scale
    levels = torch.arange(256, device=images.device, dtype=torch.float64)
    lut = (levels * scale + offset).trunc().clamp(0, 255).long()
    lut = torch.where((high > low)[..., None], lut, _identity_lut(lut))
    return apply_luts(images, lut)


def _equalize(images: Tensor, sizes: Sizes, magnitude: Optional[float],
              params: Optional[Tensor]) -> Tensor:
    hist = channel_histograms(images, sizes)
    _, last = _first_last_nonzero(hist)
    total = hist.sum(-1)
    step = (total - hist.gather(-1, last[..., None])[..., 0]) // 255
    used = (hist > 0).sum(-1)
    keep = (used <= 1) | (step == 0)
    safe_step = step.clamp(min=1)[..., None]
    before = hist.cumsum(-1) - hist  # pixels below each level
    lut = ((safe_step // 2 + before) // safe_step).clamp(max=255)
    lut = torch.where(keep[..., None], _identity_lut(lut), lut)
    return apply_luts(images, lut)


def _invert(images: Tensor, sizes: Sizes, magnitude: Optional[float],
            params: Optional[Tensor]) -> Tensor:
    return 255 - images


def _posterize(images: Tensor, sizes: Sizes, magnitude: int,
               params: Optional[Tensor]) -> Tensor:
    return images & ((0xff << (8 - magnitude)) & 0xff)


def _solarize(images: Tensor, sizes: Sizes, magnitude: float,
              params: Optional[Tensor]) -> Tensor:
    # For integer levels, level < threshold <=> level < ceil(threshold);
    # compared in int16, as a threshold of 256 does not fit in uint8.
    below = images.short() < math.ceil(magnitude)
    return torch.where(below, images, 255 - images)


# ---------------------------------------------------------------------------
# Enhance ops (PIL's ImageEnhance)
# ---------------------------------------------------------------------------
def _color(images: Tensor, sizes: Sizes, magnitude: float,
           params: Tensor) -> Tensor:
    return blend(grey(images), images, params[:, 0])


def _contrast(images: Tensor, sizes: Sizes, magnitude: float,
              params: Tensor) -> Tensor:
    valid = valid_mask(sizes, images.shape[2], images.shape[3])
    level_sum = torch.where(valid, grey(images), 0).sum((1, 2, 3))
    count = sizes[:, 0] * sizes[:, 1]
    mean = (level_sum.double() / count.double() + 0.5).floor()
    return blend(mean.view(-1, 1, 1, 1), images, params[:, 0])


def _brightness(images: Tensor, sizes: Sizes, magnitude: float,
                params: Tensor) -> Tensor:
    return blend(torch.zeros_like(images[:1, :1, :1, :1]), images,
                 params[:, 0])


# PIL's SMOOTH kernel, weights divided by 13 in float32 as PIL's C code
# (held as the Python floats of those float32 values).
_SMOOTH_EDGE = (torch.tensor(1.0) / torch.tensor(13.0)).item()
_SMOOTH_CENTRE = (torch.tensor(5.0) / torch.tensor(13.0)).item()


def _smooth(images: Tensor, sizes: Sizes) -> Tensor:
    """PIL's ``image.filter(ImageFilter.SMOOTH)``: the 3x3 kernel on the
    interior, the 1-pixel border of each image unchanged."""
    _, _, height, width = images.shape
    if height < 3 or width < 3:
        return images
    pixels = images.float()
    edge, centre = _SMOOTH_EDGE, _SMOOTH_CENTRE
    total = torch.full_like(pixels[:, :, 1:-1, 1:-1], 0.5)
    # PIL adds the row below first, then the row itself, then the row above;
    # each row's three products left to right.
    for dy, middle in ((2, edge), (1, centre), (0, edge)):
        row = pixels[:, :, dy:dy + height - 2]
        total = total + (row[..., :-2] * edge + row[..., 1:-1] * middle +
                         row[..., 2:] * edge)
    smooth = total.clamp(0, 255).trunc().to(torch.uint8)
    ys = torch.arange(1, height - 1, device=images.device)
    xs = torch.arange(1, width - 1, device=images.device)
    interior = ((ys < sizes[:, :1] - 1)[:, :, None]
                & (xs < sizes[:, 1:] - 1)[:, None, :])[:, None]
    out = images.clone()
    out[:, :, 1:-1, 1:-1] = torch.where(interior, smooth,
                                        images[:, :, 1:-1, 1:-1])
    return out


def _sharpness(images: Tensor, sizes: Sizes, magnitude: float,
               params: Tensor) -> Tensor:
    return blend(_smooth(images, sizes), images, params[:, 0])


# ---------------------------------------------------------------------------
# Geometric ops
# ---------------------------------------------------------------------------
def rotate_matrix(angle: float, height: int,
                  width: int) -> Tuple[float, ...]:
    """PIL's inverse affine matrix of ``Image.rotate(angle)`` about the
    centre of a ``width`` x ``height`` image (counter-clockwise degrees)."""
    centre_x, centre_y = width / 2, height / 2
    radians = -math.radians(angle)
    a, b = round(math.cos(radians), 15), round(math.sin(radians), 15)
    d, e = round(-math.sin(radians), 15), round(math.cos(radians), 15)
    c = a * -centre_x + b * -centre_y + 0.0 + centre_x
    f = d * -centre_x + e * -centre_y + 0.0 + centre_y
    return a, b, c, d, e, f


def _fixed(value: float) -> int:
    """PIL's 16.16 fixed-point conversion ``FLOOR(v * 65536 + 0.5)``."""
    return math.floor(value * 65536.0 + 0.5)


def _rotate_params(magnitude: float, sign: int, height: int,
                   width: int) -> Tuple[float, ...]:
    """16.16 fixed-point source-coordinate coefficients of PIL's nearest
    rotate: ``src_x = (c0 + x c1 + y c2) >> 16``, ``src_y = (c3 + x c4 +
    y c5) >> 16``."""
    one = 65536
    angle = magnitude % 360.0
    # PIL's exact-transpose shortcuts, written as integer affine maps.
    if angle == 0:
        return (0, one, 0, 0, 0, one)
    if angle == 180:
        return ((width - 1) * one, -one, 0, (height - 1) * one, 0, -one)
    if angle == 90 and width == height:
        return ((width - 1) * one, 0, -one, 0, one, 0)
    if angle == 270 and width == height:
        return (0, 0, one, (height - 1) * one, -one, 0)
    a, b, c, d, e, f = rotate_matrix(angle, height, width)
    corners = ((0, 0), (width, height), (0, height), (width, 0))
    if any(
            abs(x * a + y * b + c) >= 32768.0
            or abs(x * d + y * e + f) >= 32768.0 for x, y in corners):
        raise ValueError(
            f'device JDA rotate: a {width}x{height} image is beyond the '
            "16.16 fixed-point range of PIL's nearest rotate (about 27000 "
            'pixels a side); use the CPU JDA (PairedViews) for such images')
    return (_fixed(c + a * 0.5 + b * 0.5), _fixed(a), _fixed(b),
            _fixed(f + d * 0.5 + e * 0.5), _fixed(d), _fixed(e))


def _rotate(images: Tensor, sizes: Sizes, magnitude: float,
            params: Tensor) -> Tensor:
    _, _, height, width = images.shape
    coeffs = params.long()[:, :, None, None]
    ys = torch.arange(height, device=images.device).view(1, height, 1)
    xs = torch.arange(width, device=images.device).view(1, 1, width)
    src_x = (coeffs[:, 0] + xs * coeffs[:, 1] + ys * coeffs[:, 2]) >> 16
    src_y = (coeffs[:, 3] + xs * coeffs[:, 4] + ys * coeffs[:, 5]) >> 16
    return _sample_nearest(images, sizes, src_y, src_x)


def _translate_params(axis: int) -> RowParams:
    def params(magnitude: float, sign: int, height: int,
               width: int) -> Tuple[float, ...]:
        # The CPU op's offset: sign * magnitude of the side, in pixels.
        return (sign * magnitude * (width, height)[axis], )

    return params


def _translate(axis: int) -> ApplyFunc:
    # PIL samples an integer-scale affine map nearest (its ScaleAffine
    # path) at floor((offset + 0.5) + x), the shifted pixel centres.
    def apply(images: Tensor, sizes: Sizes, magnitude: float,
              params: Tensor) -> Tensor:
        ys, xs = _pixel_grid(images)
        start = params[:, 0, None, None] + 0.5
        if axis == 0:
            src_x, src_y = start + xs, ys
        else:
            src_x, src_y = xs, start + ys
        src_x, src_y = torch.broadcast_tensors(src_x, src_y)
        return _sample_nearest(images, sizes, src_y.floor().long(),
                               src_x.floor().long())

    return apply


def _shear_params(magnitude: float, sign: int, height: int,
                  width: int) -> Tuple[float, ...]:
    return (sign * magnitude, )


def _shear(axis: int) -> ApplyFunc:
    # PIL's affine_transform: x' = a0 (x + .5) + a1 (y + .5) + a2 in
    # float64, left to right; with a shear's coefficients only the sheared
    # coordinate moves off the pixel centres.
    def apply(images: Tensor, sizes: Sizes, magnitude: float,
              params: Tensor) -> Tensor:
        ys, xs = _pixel_grid(images)
        ys, xs = ys + 0.5, xs + 0.5
        shear = params[:, 0, None, None]
        if axis == 0:
            position = (xs + shear * ys) + 0.0
        else:
            position = (shear * xs + ys) + 0.0
        return _sample_bicubic_along(images, sizes, position, 3 - axis)

    return apply


#: Every JDA op by name, as in :data:`mmkd_ccd.datasets.transforms.jda.OPS`.
DEVICE_OPS: Dict[str, DeviceOp] = {
    'autocontrast': DeviceOp(None, _autocontrast),
    'equalize': DeviceOp(None, _equalize),
    'invert': DeviceOp(None, _invert),
    'posterize': DeviceOp(None, _posterize),
    'solarize': DeviceOp(None, _solarize),
    'color': DeviceOp(_factor, _color),
    'contrast': DeviceOp(_factor, _contrast),
    'brightness': DeviceOp(_factor, _brightness),
    'sharpness': DeviceOp(_factor, _sharpness),
    'rotate': DeviceOp(_rotate_params, _rotate),
    'shear_x': DeviceOp(_shear_params, _shear(0)),
    'shear_y': DeviceOp(_shear_params, _shear(1)),
    'translate_x': DeviceOp(_translate_params(0), _translate(0)),
    'translate_y': DeviceOp(_translate_params(1), _translate(1)),
}


def apply_device_op(name: str, images: Tensor,
                    sizes: Sequence[Tuple[int, int]],
                    magnitude: Optional[float],
                    signs: Sequence[int]) -> Tensor:
    """Apply one JDA op to every row of a padded batch.

    Args:
        name (str): A key of :data:`DEVICE_OPS`.
        images (Tensor): (N, 3, H, W) uint8 RGB.
        sizes (Sequence[tuple[int, int]]): Valid (h, w) of each row.
        magnitude (float, optional): The op's magnitude; None for ops that
            take none.
        signs (Sequence[int]): N signs (+1/-1), one per row; unsigned ops
            ignore them.

    Returns:
        Tensor: (N, 3, H, W) uint8 RGB; padding values unspecified.
    """
    op = DEVICE_OPS[name]
    rows = [list(size) for size in sizes]
    if op.row_params is not None:
        rows = [
            row + list(op.row_params(magnitude, sign, *row))
            for sign, row in zip(signs, rows)
        ]
    # One host-to-device copy for the sizes and the parameters.
    table = host_to_device(rows, torch.float64, images.device)
    params = table[:, 2:] if op.row_params is not None else None
    return op.apply(images, table[:, :2].long(), magnitude, params)
