"""The JDA ops, pixel-exact with the reference's PIL ops and fast.

The paper's reference code (Li, Shao et al., ACCV 2022) applies its ops with
PIL: ``ImageOps`` for the point ops, ``ImageEnhance`` for the enhance ops,
``Image.rotate``/``Image.transform`` for the geometric ones. Every op here
gives exactly PIL's pixels (tests/datasets/transforms/test_jda.py compares
them for every magnitude bin and sign on real photos); a chain of them costs
less than the reference's:

- a chain works on an :class:`RGBImage`, which keeps the pixels in whichever
  form the last op produced (a PIL image or a numpy array) and converts only
  when an op needs the other form;
- point ops (autocontrast, brightness, contrast, equalize, invert, posterize,
  solarize) only compose per-channel lookup tables; a run of them costs one
  pass over the pixels. Equalize and autocontrast build their table from the
  histogram of the image they see, which is the histogram of the image before
  the run pushed through the tables composed so far;
- sharpness blurs with OpenCV (PIL's 3x3 float filter is ~6x slower; its
  result, the rounded ``sum / 13``, is exact in either) and blends with PIL;
- rotate fills grey directly instead of the reference's RGBA composite,
  which gives the same pixels with nearest resampling;
- the other ops are PIL itself, where nothing exact was faster (a numpy
  replica of PIL's bicubic shear, exact, measured no faster than PIL).

Each op is ``image_func(image, magnitude, sign) -> image`` on
:class:`RGBImage`; :func:`apply_op` (or the op's ``func``) applies one to an
array, :func:`run_chain` several.
"""
import numbers
from functools import lru_cache, partial
from typing import Callable, Dict, NamedTuple, Optional, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image, ImageEnhance

#: Fill colour of the area a geometric op uncovers, as in the reference.
FILL_RGB = (128, 128, 128)

_LEVELS = np.arange(256)

# Offsets that turn a (3, 256) table into indices of a flat 768-bin histogram.
_CHANNEL_OFFSETS = (np.arange(3) * 256)[:, None]


class RGBImage:
    """An RGB image part-way through a JDA chain.

    It holds the pixels as a PIL image and/or an (H, W, 3) uint8 array --
    whichever the last op produced; the other is made when an op asks for it
    (PIL keeps RGB as 4 bytes a pixel, so every conversion is a copy) -- plus
    a per-channel lookup table not yet applied to them: :meth:`point` only
    composes tables, and the table is applied in one pass when an op needs
    the pixels.

    Args:
        array (np.ndarray, optional): (H, W, 3) uint8 RGB pixels, never
            written to. Defaults to None.
        pil (PIL.Image.Image, optional): The same pixels as an 'RGB' image.
            Defaults to None.
    """

    __slots__ = ('_array', '_pil', '_table', '_histogram')

    def __init__(self,
                 array: Optional[np.ndarray] = None,
                 pil: Optional[Image.Image] = None) -> None:
        if array is None and pil is None:
            raise ValueError('RGBImage needs an array or a PIL image')
        self._array = array
        self._pil = pil
        # (3, 256) uint8 table still to apply, and the per-channel histogram
        # of the pixels before it.
        self._table: Optional[np.ndarray] = None
        self._histogram: Optional[np.ndarray] = None

    def _lut(self) -> np.ndarray:
        """The pending table in OpenCV's form: (256,) when the channels share
        it (twice as fast), else (256, 1, 3)."""
        table = self._table
        if (table[0] == table[1]).all() and (table[0] == table[2]).all():
            return np.ascontiguousarray(table[0])
        return np.ascontiguousarray(table.T)[:, None]

    @property
    def size(self) -> Tuple[int, int]:
        """(width, height), as PIL gives it."""
        if self._pil is not None:
            return self._pil.size
        return self._array.shape[1], self._array.shape[0]

    @property
    def array(self) -> np.ndarray:
        """(H, W, 3) uint8 RGB pixels; possibly read-only, never to be
        written to."""
        if self._table is not None:
            # cv2.LUT, even after a conversion: PIL's point() first rounds
            # all 768 entries in Python.
            source = self._array if self._array is not None else np.asarray(
                self._pil)
            self._array, self._pil = cv2.LUT(source, self._lut()), None
            self._table = self._histogram = None
        elif self._array is None:
            self._array = np.asarray(self._pil)
        return self._array

    @property
    def pil(self) -> Image.Image:
        """The pixels as a PIL 'RGB' image, never to be modified in place."""
        if self._table is not None and self._pil is not None:
            self._pil = self._pil.point(self._table.ravel().tolist())
            self._array = self._table = self._histogram = None
        if self._pil is None:
            self._pil = Image.fromarray(self.array)
        return self._pil

    def histogram(self) -> np.ndarray:
        """(3, 256) int64 histogram of each channel of the image."""
        if self._histogram is None:
            if self._pil is not None:
                histogram = np.array(self._pil.histogram()).reshape(3, 256)
            else:
                histogram = np.stack([
                    cv2.calcHist([self._array], [c], None, [256],
                                 [0, 256])[:, 0] for c in range(3)
                ]).astype(np.int64)
            self._histogram = histogram
        if self._table is None:
            return self._histogram
        # Every pixel of level i in channel c becomes table[c, i].
        pushed = np.bincount((self._table + _CHANNEL_OFFSETS).ravel(),
                             weights=self._histogram.ravel(),
                             minlength=3 * 256)
        return pushed.reshape(3, 256).astype(np.int64)

    def point(self, table: np.ndarray) -> 'RGBImage':
        """The image mapped through a per-channel lookup table (lazily).

        Args:
            table (np.ndarray): (3, 256) uint8; channel c of level i becomes
                ``table[c, i]``.

        Returns:
            RGBImage: The mapped image; ``self`` is unchanged.
        """
        mapped = RGBImage(self._array, self._pil)
        mapped._histogram = self._histogram
        mapped._table = (
            table if self._table is None else np.take_along_axis(
                table, self._table.astype(np.intp), axis=1))
        return mapped


ImageFunc = Callable[[RGBImage, Optional[float], int], RGBImage]


def _channels(table: np.ndarray) -> np.ndarray:
    """The same 256-entry table for the three channels, as (3, 256) uint8."""
    return np.tile(np.clip(table, 0, 255).astype(np.uint8), (3, 1))


def _blend(degenerate: np.ndarray, image: np.ndarray,
           factor: float) -> np.ndarray:
    """PIL's ``Image.blend(degenerate, image, factor)`` on uint8 values.

    PIL computes ``degenerate + alpha * (image - degenerate)`` in float32
    (``alpha`` is the factor cast to float32), truncates it and, when alpha
    is outside [0, 1], clips it to [0, 255] first.
    """
    alpha = np.float32(factor)
    degenerate = np.asarray(degenerate, np.int32)
    difference = (np.asarray(image, np.int32) - degenerate).astype(np.float32)
    blended = degenerate.astype(np.float32) + alpha * difference
    return np.clip(blended, 0, 255).astype(np.uint8)


# Point ops: each composes a (3, 256) table into the image.


def _autocontrast_table(histogram: np.ndarray) -> np.ndarray:
    # ImageOps.autocontrast with cutoff 0: stretch [lo, hi] to [0, 255].
    tables = []
    for channel in histogram:
        levels = np.flatnonzero(channel)
        low, high = int(levels[0]), int(levels[-1])
        if high <= low:
            tables.append(_LEVELS)
            continue
        scale = 255.0 / (high - low)
        tables.append(np.trunc(_LEVELS * scale + -low * scale))
    return np.clip(np.stack(tables), 0, 255).astype(np.uint8)


def _equalize_table(histogram: np.ndarray) -> np.ndarray:
    # ImageOps.equalize: level i -> (step // 2 + #pixels below i) // step,
    # the step leaving out the last used level; PIL clips to 255.
    tables = []
    for channel in histogram:
        used = channel[channel > 0]
        step = (int(used.sum()) - int(used[-1])) // 255 if len(used) > 1 else 0
        if not step:
            tables.append(_LEVELS)
            continue
        below = np.concatenate([[0], np.cumsum(channel)[:-1]])
        tables.append((step // 2 + below) // step)
    return np.clip(np.stack(tables), 0, 255).astype(np.uint8)


@lru_cache(maxsize=None)
def _static_table(name: str, magnitude: Optional[float],
                  sign: int) -> np.ndarray:
    """Table of a point op that does not look at the image."""
    if name == 'invert':
        table = 255 - _LEVELS
    elif name == 'posterize':
        table = _LEVELS & ~(2**(8 - magnitude) - 1)
    elif name == 'solarize':
        table = np.where(_LEVELS < magnitude, _LEVELS, 255 - _LEVELS)
    else:  # brightness blends with black
        table = _blend(0, _LEVELS, 1 + sign * magnitude)
    table = _channels(table)
    table.setflags(write=False)
    return table


def _static_point_op(name: str) -> ImageFunc:

    def op(image: RGBImage, magnitude: Optional[float],
           sign: int) -> RGBImage:
        return image.point(_static_table(name, magnitude, sign))

    return op


def _autocontrast(image: RGBImage, magnitude: Optional[float],
                  sign: int) -> RGBImage:
    return image.point(_autocontrast_table(image.histogram()))


def _equalize(image: RGBImage, magnitude: Optional[float],
              sign: int) -> RGBImage:
    return image.point(_equalize_table(image.histogram()))


def _contrast(image: RGBImage, magnitude: float, sign: int) -> RGBImage:
    # ImageEnhance.Contrast blends with the grey of the rounded mean of the
    # image's 'L' conversion, so it needs the pixels, not only histograms.
    grey = np.array(image.pil.convert('L').histogram())
    mean = int(int(grey @ _LEVELS) / int(grey.sum()) + 0.5)
    return image.point(_channels(_blend(mean, _LEVELS, 1 + sign * magnitude)))


# Enhance ops that blend with a per-pixel degenerate image.


def _color(image: RGBImage, magnitude: float, sign: int) -> RGBImage:
    pil = ImageEnhance.Color(image.pil).enhance(1 + sign * magnitude)
    return RGBImage(pil=pil)


#: PIL's ImageFilter.SMOOTH.
_SMOOTH_KERNEL = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / 13


def _sharpness(image: RGBImage, magnitude: float, sign: int) -> RGBImage:
    # ImageEnhance.Sharpness blends with ImageFilter.SMOOTH, which rounds
    # sum / 13 per pixel and leaves the 1-pixel border as it is. A sum of
    # integers over 13 is never within 1/26 of a rounding tie, so OpenCV's
    # float filter gives the same integers.
    array = image.array
    smooth = cv2.filter2D(array, -1, _SMOOTH_KERNEL)
    smooth[[0, -1]] = array[[0, -1]]
    smooth[:, [0, -1]] = array[:, [0, -1]]
    pil = Image.blend(Image.fromarray(smooth), image.pil, 1 + sign * magnitude)
    return RGBImage(pil=pil)


# Geometric ops: PIL's own warps. OpenCV's (behind mmcv.imrotate,
# imshear, imtranslate) sample at integer positions instead of pixel
# centres, quantise coordinates to 1/1024 px and have another bicubic
# kernel; mmcv.imrotate picks other nearest pixels for 8-17% of a photo at
# 10-30 degrees.


def _rotate(image: RGBImage, magnitude: float, sign: int) -> RGBImage:
    # With nearest resampling, a grey fillcolor equals the reference's
    # composite of an RGBA rotation onto grey, and costs several times less.
    return RGBImage(pil=image.pil.rotate(
        magnitude, resample=Image.Resampling.NEAREST, fillcolor=FILL_RGB))


def _affine(image: RGBImage, coeffs: Tuple[float, ...],
            resample: Image.Resampling) -> RGBImage:
    pil = image.pil
    return RGBImage(pil=pil.transform(pil.size, Image.Transform.AFFINE,
                                      coeffs, resample, fillcolor=FILL_RGB))


def _translate_x(image: RGBImage, magnitude: float, sign: int) -> RGBImage:
    width = image.size[0]
    return _affine(image, (1, 0, sign * magnitude * width, 0, 1, 0),
                   Image.Resampling.NEAREST)


def _translate_y(image: RGBImage, magnitude: float, sign: int) -> RGBImage:
    height = image.size[1]
    return _affine(image, (1, 0, 0, 0, 1, sign * magnitude * height),
                   Image.Resampling.NEAREST)


def _shear_x(image: RGBImage, magnitude: float, sign: int) -> RGBImage:
    return _affine(image, (1, sign * magnitude, 0, 0, 1, 0),
                   Image.Resampling.BICUBIC)


def _shear_y(image: RGBImage, magnitude: float, sign: int) -> RGBImage:
    return _affine(image, (1, 0, 0, sign * magnitude, 1, 0),
                   Image.Resampling.BICUBIC)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_bits(value: object) -> bool:
    return (isinstance(value, numbers.Integral)
            and not isinstance(value, bool) and 1 <= value <= 8)


def _is_threshold(value: object) -> bool:
    return _is_real(value) and 0 <= value <= 256


def _is_unit(value: object) -> bool:
    return _is_real(value) and 0 <= value <= 1


def _is_angle(value: object) -> bool:
    return _is_real(value) and 0 <= value < 360


def apply_op(name: str, img_rgb: np.ndarray, magnitude: Optional[float] = None,
             sign: int = 1) -> np.ndarray:
    """Apply one JDA op deterministically.

    Args:
        name (str): A key of :data:`OPS`.
        img_rgb (np.ndarray): (H, W, 3) uint8 image in RGB order.
        magnitude (float, optional): The op's magnitude; None for
            'autocontrast', 'equalize' and 'invert'. Defaults to None.
        sign (int): +1 or -1, the sign of the magnitude for signed ops;
            ignored by unsigned ones. Defaults to 1.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB image, exactly PIL's result.
    """
    if name not in OPS:
        raise ValueError(f'Unknown JDA op {name!r}; allowed: {sorted(OPS)}')
    if sign not in (1, -1):
        raise ValueError(f'sign must be +1 or -1, got {sign!r}')
    return run_chain(img_rgb, [(name, magnitude, sign)])


class Op(NamedTuple):
    """One entry of :data:`OPS`.

    Attributes:
        func: ``func(img_rgb, magnitude, sign)``; deterministic, (H, W, 3)
            uint8 RGB in and out (:func:`apply_op` for this op).
        signed: Whether the transform draws a random sign (+1/-1) for the
            magnitude; unsigned ops always get ``sign=1``.
        allowed: Human-readable magnitude range, or None for ops that take no
            magnitude.
        is_valid: Predicate for a magnitude; None for ops that take none.
        image_func: ``image_func(image, magnitude, sign) -> image``, the op
            on an :class:`RGBImage`, as chains apply it.
    """
    func: Callable[[np.ndarray, Optional[float], int], np.ndarray]
    signed: bool
    allowed: Optional[str]
    is_valid: Optional[Callable[[object], bool]]
    image_func: ImageFunc


def _op(name: str, image_func: ImageFunc, signed: bool,
        allowed: Optional[str] = None,
        is_valid: Optional[Callable[[object], bool]] = None) -> Op:
    return Op(partial(apply_op, name), signed, allowed, is_valid, image_func)


_UNIT = 'a number in [0, 1]'

#: Every JDA op by name. Enhance ops use factor ``1 + sign * m``; shear and
#: translate use ``sign * m`` (translate: a fraction of width/height); rotate
#: is always counter-clockwise by ``m`` degrees.
OPS: Dict[str, Op] = {
    'autocontrast': _op('autocontrast', _autocontrast, False),
    'equalize': _op('equalize', _equalize, False),
    'invert': _op('invert', _static_point_op('invert'), False),
    'posterize': _op('posterize', _static_point_op('posterize'), False,
                     'an int in [1, 8] (bits)', _is_bits),
    'solarize': _op('solarize', _static_point_op('solarize'), False,
                    'a number in [0, 256]', _is_threshold),
    'color': _op('color', _color, True, _UNIT, _is_unit),
    'contrast': _op('contrast', _contrast, True, _UNIT, _is_unit),
    'brightness': _op('brightness', _static_point_op('brightness'), True,
                      _UNIT, _is_unit),
    'sharpness': _op('sharpness', _sharpness, True, _UNIT, _is_unit),
    'rotate': _op('rotate', _rotate, False,
                  'a number in [0, 360) (degrees)', _is_angle),
    'shear_x': _op('shear_x', _shear_x, True, _UNIT, _is_unit),
    'shear_y': _op('shear_y', _shear_y, True, _UNIT, _is_unit),
    'translate_x': _op('translate_x', _translate_x, True,
                       _UNIT + ' (fraction of width)', _is_unit),
    'translate_y': _op('translate_y', _translate_y, True,
                       _UNIT + ' (fraction of height)', _is_unit),
}

#: One fired op of a chain: (name, magnitude or None, sign).
Step = Tuple[str, Optional[float], int]


def run_chain(img: np.ndarray, steps: Sequence[Step],
              channel_order: str = 'rgb') -> np.ndarray:
    """Apply ops one after the other, as PIL would, converting once.

    Args:
        img (np.ndarray): (H, W, 3) uint8 image in ``channel_order``.
        steps (Sequence[Step]): ``(name, magnitude, sign)`` per op, in order.
        channel_order (str): 'rgb' or 'bgr'; the ops work on RGB either way.
            Defaults to 'rgb'.

    Returns:
        np.ndarray: (H, W, 3) uint8 in ``channel_order``; ``img`` itself when
        ``steps`` is empty, else a new writable array.
    """
    if not steps:
        return img
    img = np.ascontiguousarray(img)
    to_rgb = channel_order == 'bgr'
    image = RGBImage(cv2.cvtColor(img, cv2.COLOR_BGR2RGB) if to_rgb else img)
    for name, magnitude, sign in steps:
        image = OPS[name].image_func(image, magnitude, sign)
    out = image.array
    if to_rgb:
        return cv2.cvtColor(out, cv2.COLOR_RGB2BGR)
    return out if out.flags.writeable and out is not img else out.copy()
