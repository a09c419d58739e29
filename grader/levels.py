"""Percentiles of grey levels from their histogram.

Scans are uint8: a percentile of a page or a region is the same number from a 256-bin
histogram as from sorting (``np.percentile``'s default 'linear' method), without the
partition of every pixel (a 300 dpi page: ~7 ms against < 1 ms; the page reader takes
dozens of them).
"""
from __future__ import annotations

import math

import numpy as np


def percentile_of_counts(counts: np.ndarray, q: float) -> float:
    """The ``q``-th percentile of values ``0..len(counts)-1`` occurring ``counts[v]`` times,
    as ``np.percentile`` computes it on the values themselves (linear interpolation,
    numpy's lerp)."""
    cum = np.cumsum(counts)
    n = int(cum[-1])
    if n == 0:
        raise ValueError("percentile of no values")
    virtual = (n - 1) * (q / 100.0)
    lo = math.floor(virtual)
    below, above = np.searchsorted(cum, [lo, min(lo + 1, n - 1)], side="right")
    a, b = float(below), float(above)
    gamma = virtual - lo
    diff = b - a
    return b - diff * (1.0 - gamma) if gamma >= 0.5 else a + diff * gamma


# Histograms of fewer values than this are counted by OpenCV, in float32 bins (exact below
# 2**24): 3-15x faster than NumPy's bincount, which widens every value to an intp first.
EXACT_FLOAT32_COUNT = 2 ** 24


def histogram_u8(values: np.ndarray) -> np.ndarray:
    """``np.bincount(values.reshape(-1), minlength=256)`` for uint8 ``values`` (int64)."""
    import cv2

    if values.size >= EXACT_FLOAT32_COUNT:
        return np.bincount(values.reshape(-1), minlength=256)
    flat = values if values.ndim <= 2 else values.reshape(-1)
    return cv2.calcHist([flat], [0], None, [256], [0, 256]).reshape(-1).astype(np.int64)


def percentile_u8(values: np.ndarray, q: float) -> float:
    """``float(np.percentile(values, q))`` for uint8 ``values``."""
    return percentile_of_counts(histogram_u8(values), q)


def median_abs_deviation_of_counts(counts: np.ndarray) -> float:
    """``median(|v - median(v)|)`` of values ``0..len(counts)-1`` occurring ``counts[v]``
    times. The deviations are counted from the histogram itself (doubled: the median of an
    even count may fall between two values), never from the values again."""
    median = percentile_of_counts(counts, 50)
    values = np.arange(len(counts))
    twice = np.abs(values * 2 - int(round(2 * median)))
    return percentile_of_counts(np.bincount(twice, weights=counts, minlength=2 * len(counts)),
                                50) / 2.0


def otsu_of_counts(counts: np.ndarray) -> int:
    """Otsu's split of grey levels ``0..255`` occurring ``counts[v]`` times: the level that
    separates ink from paper best (128 when there are none)."""
    hist = counts.astype(np.float64)
    total = hist.sum()
    if total == 0:
        return 128
    levels = np.arange(256, dtype=np.float64)
    weight_bg = np.cumsum(hist)
    mean_cum = np.cumsum(hist * levels)
    weight_fg = total - weight_bg
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mean_cum[-1] * weight_bg - mean_cum * total) ** 2 / (weight_bg * weight_fg)
    between[~np.isfinite(between)] = 0.0
    return int(np.argmax(between))
