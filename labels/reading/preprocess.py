"""Preprocessed variants of a grey page for zbar, cheapest and most promising first.

1. the grey image as it is;
2. small modules (low resolution, blur): scaled up x2 and x3 with a Lanczos filter, then binarised at
   several thresholds (zbar needs about 2 pixels per module and sharp edges);
3. the image turned to the dominant direction of its edges (labels photographed or scanned askew; zbar
   itself reads 1D codes only within about 10-20 degrees of its scan lines);
4. contrast stretched (dark, low contrast), and a local threshold (uneven light);
5. scaled: up (sharpened) and down (noise and blur average out);
6. fixed turns in steps of 30 degrees, as a last resort.

Passes whose linear reads may be invented bars (upscaled, thresholded) are marked `checked`: their reads
count only as validated carrier formats (`labels.reading.zbar.validated`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

import numpy as np
from PIL import Image, ImageFilter, ImageOps


def dominant_angle(grey: Image.Image, max_side: int = 700) -> float | None:
    """The dominant edge direction modulo 90 degrees, in [-45, 45), from the strongest gradients.

    Labels carry their text, frames and bars along two perpendicular axes: the peak of the gradient
    orientation histogram (doubled-angle, weighted by magnitude, over quarter turns) is how far the label
    is turned. None if the image has no clear direction.
    """
    scale = max_side / max(grey.size)
    small = grey.reduce(max(1, math.floor(1 / scale))) if scale < 1 else grey
    a = np.asarray(small, dtype=np.float32)
    if a.shape[0] < 8 or a.shape[1] < 8:
        return None
    gx = a[1:-1, 2:] - a[1:-1, :-2]
    gy = a[2:, 1:-1] - a[:-2, 1:-1]
    mag = np.hypot(gx, gy)
    strong = mag > max(20.0, float(np.percentile(mag, 90)))
    if strong.sum() < 50:
        return None
    # Angle modulo 90 degrees, as a 4x-angle vector so that 0/90/180/270 coincide
    theta = np.arctan2(gy[strong], gx[strong]) * 4.0
    weights = mag[strong]
    hist, edges = np.histogram(theta, bins=180, range=(-math.pi, math.pi), weights=weights)
    # Circular smoothing over 5 bins
    kernel = np.array([1, 2, 3, 2, 1], dtype=np.float64)
    padded = np.concatenate([hist[-2:], hist, hist[:2]])
    smooth = np.convolve(padded, kernel, mode="valid")
    peak = int(np.argmax(smooth))
    if smooth[peak] < 2.0 * float(np.mean(smooth)):
        return None
    angle4 = (edges[peak] + edges[peak + 1]) / 2
    return math.degrees(angle4) / 4.0


def noise_level(grey: Image.Image, crop: int = 400) -> float:
    """Estimated standard deviation of pixel noise (Immerkær's fast method, on a central crop)."""
    w, h = grey.size
    left, top = max(0, (w - crop) // 2), max(0, (h - crop) // 2)
    a = np.asarray(grey.crop((left, top, min(w, left + crop), min(h, top + crop))), dtype=np.float32)
    if a.shape[0] < 3 or a.shape[1] < 3:
        return 0.0
    lap = (
        a[:-2, :-2] - 2 * a[:-2, 1:-1] + a[:-2, 2:]
        - 2 * a[1:-1, :-2] + 4 * a[1:-1, 1:-1] - 2 * a[1:-1, 2:]
        + a[2:, :-2] - 2 * a[2:, 1:-1] + a[2:, 2:]
    )  # fmt: skip
    return float(math.sqrt(math.pi / 2) * np.abs(lap).mean() / 6)


def _rotate(grey: Image.Image, angle: float) -> Image.Image:
    return grey.rotate(angle, Image.Resampling.BILINEAR, expand=True, fillcolor=255)


def _stretch(grey: Image.Image) -> Image.Image:
    return ImageOps.autocontrast(grey, cutoff=1)


def _local_threshold(grey: Image.Image, radius: int = 8, offset: int = 4) -> Image.Image:
    """Binarise against the local mean (uneven light, shadows, low contrast)."""
    mean = np.asarray(grey.filter(ImageFilter.BoxBlur(radius)), dtype=np.int16)
    a = np.asarray(grey, dtype=np.int16)
    return Image.fromarray(np.where(a < mean - offset, 0, 255).astype(np.uint8), "L")


def _scale(grey: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(grey.width * factor)), max(1, round(grey.height * factor)))
    if factor < 1:
        return grey.resize(size, Image.Resampling.BOX)
    return grey.resize(size, Image.Resampling.BICUBIC)


def _smooth(grey: Image.Image, radius: float = 1.0) -> Image.Image:
    return grey.filter(ImageFilter.GaussianBlur(radius))


def _rotate_smoothed(grey: Image.Image, angle: float) -> Image.Image:
    return _rotate(_smooth(grey), angle)


def _sharpen(grey: Image.Image) -> Image.Image:
    return grey.filter(ImageFilter.UnsharpMask(radius=3, percent=150, threshold=2))


NOISY = 4.0  # noise level above which the plain image is not worth a pass (zbar is slow and blind on noise)
LARGE = 2_500_000  # pixels above which the upscaled passes are skipped and turned copies are made at half size


def _low_contrast(grey: Image.Image) -> bool:
    """Dark or flat: the 1st and 99th percentile of the grey values are less than half the range apart."""
    hist = grey.histogram()
    total = sum(hist)
    lo = hi = acc = 0
    for value, count in enumerate(hist):
        acc += count
        if acc <= total * 0.01:
            lo = value
        if acc < total * 0.99:
            hi = value
    return hi - lo < 128


BLANK_RANGE = 24  # grey levels between the darkest and the lightest 0.1 % below which a page is blank


def blank(grey: Image.Image, max_side: int = 1000) -> bool:
    """Nothing printed on the page (blank paper, an empty PDF page, a uniform image): no pass can find a code.

    A code covers well over 0.1 % of any page it is readable on, so the 0.1 % darkest pixels of a page
    with a code are ink; on blank paper they are only a little darker than the paper.
    """
    factor = max(1, math.ceil(max(grey.size) / max_side))
    small = np.asarray(grey.reduce(factor) if factor > 1 else grey)
    low, high = np.percentile(small, [0.1, 99.9])
    return bool(high - low < BLANK_RANGE)


UPSCALE_MAX_PIXELS = 1_500_000  # pages up to this size get the upscaling passes (x3: 13.5 MP at most)


def _upscale(grey: Image.Image, factor: int) -> Image.Image:
    """Scaled up with a Lanczos filter: a bar module of 1.3-2 pixels becomes 3-6 pixels with sharp edges
    (bicubic rings less but blurs more; zbar needs about 2 pixels per module and a clear edge)."""
    return grey.resize((grey.width * factor, grey.height * factor), Image.Resampling.LANCZOS)


def otsu_threshold(grey: Image.Image) -> int:
    """The grey level that best separates ink and paper (Otsu's method on the histogram)."""
    hist = np.asarray(grey.histogram()[:256], dtype=np.float64)
    total = hist.sum()
    if total == 0:
        return 128
    levels = np.arange(256, dtype=np.float64)
    weight = np.cumsum(hist) / total
    mean = np.cumsum(hist * levels) / total
    between = (mean[-1] * weight - mean) ** 2 / (weight * (1 - weight) + 1e-12)
    return int(np.argmax(between))


def _binarise(grey: Image.Image, offset: int) -> Image.Image:
    """Black below Otsu's threshold + `offset` (a negative offset thins bars that blur has widened)."""
    threshold = otsu_threshold(grey) + offset
    return grey.point(lambda value: 0 if value < threshold else 255)


@dataclass(frozen=True)
class Pass:
    make: Callable[[], Image.Image]
    checked: bool = False  # its linear reads count only as known formats with a valid check digit


def passes(grey: Image.Image) -> Iterator[Pass]:
    """Preprocessed variants of the image, cheapest and most promising first (computed lazily)."""
    if _low_contrast(grey):
        grey = _stretch(grey)
    noise = noise_level(grey)
    noisy = noise > NOISY
    if not noisy:
        yield Pass(lambda: grey)
    # Smoothing as strong as the noise asks for: 1 pixel for slight noise, up to 2 for heavy noise
    radius = 1.0 + min(1.0, max(0.0, (noise - NOISY) / 16))
    angle = dominant_angle(_smooth(grey, radius) if noisy else grey)
    base = _rotate(grey, angle) if angle is not None and abs(angle) > 4 else grey
    if base is not grey and not noisy:
        yield Pass(lambda: base)
    small = base.width * base.height <= UPSCALE_MAX_PIXELS
    if small:  # small modules at low resolution (a Code 128 printed small, scanned at 120-160 dpi)
        yield Pass(lambda: _upscale(base, 2), checked=True)
        yield Pass(lambda: _binarise(_upscale(base, 2), -15), checked=True)
    yield Pass(lambda: _smooth(base, radius))
    if noisy:
        yield Pass(lambda: _smooth(base, radius + 0.5))
        yield Pass(lambda: base.filter(ImageFilter.MedianFilter(3)))  # noise on a blurred image: keep the edges
    yield Pass(lambda: _local_threshold(_scale(base, 0.5)))
    yield Pass(lambda: _local_threshold(_smooth(base)))
    yield Pass(lambda: _sharpen(base))
    yield Pass(lambda: _sharpen(base.filter(ImageFilter.MedianFilter(3))))
    yield Pass(lambda: _stretch(_scale(base, 1 / 3)))
    if base.width * base.height < LARGE:
        yield Pass(lambda: _local_threshold(_scale(_smooth(base, 0.7), 2.0), radius=12, offset=1))
        yield Pass(lambda: _sharpen(_scale(_smooth(base), 2.0)))
    if small:
        yield Pass(lambda: _upscale(base, 3), checked=True)
        yield Pass(lambda: _binarise(_upscale(base, 3), -30), checked=True)
        yield Pass(lambda: _binarise(_upscale(base, 2), 0), checked=True)
    # Turned copies grow by up to 2x and zbar is slowest on them: a large page is turned at half its size
    # (its modules stay readable: a page that large was scanned at a high resolution).
    turned = base if base.width * base.height < LARGE else _scale(base, 0.5)
    for step in (30, 60, -30, -60):
        yield Pass(partial(_rotate_smoothed, turned, step))
