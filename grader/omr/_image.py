"""Low-level image helpers for OMR: background normalisation, 1-D morphology, connected
components and upright box-local patches. NumPy + Pillow only (no SciPy/OpenCV dependency:
the few operations needed are cheap with cumulative sums and run-length labelling)."""
from __future__ import annotations

import math

import numpy as np
from PIL import Image

MM_PER_INCH = 25.4


def px_per_mm(dpi: float) -> float:
    return float(dpi) / MM_PER_INCH


def darkness(gray: np.ndarray, dpi: float) -> np.ndarray:
    """Ink darkness in 0..1 relative to the local paper white.

    Scans have shadow gradients and uneven exposure, so a global threshold fails; the paper
    white is estimated as the maximum of ~1 mm block means over an ~8 mm neighbourhood
    (text and marks are thin, so some paper is always nearby), then divided out.
    """
    g = np.asarray(gray, dtype=np.float32)
    h, w = g.shape
    cell = max(1, int(round(px_per_mm(dpi))))
    hc, wc = -(-h // cell), -(-w // cell)
    padded = np.pad(g, ((0, hc * cell - h), (0, wc * cell - w)), mode="edge")
    means = padded.reshape(hc, cell, wc, cell).mean(axis=(1, 3))
    bg_cells = _max_filter2d(means, 4)                       # 9×9 cells ≈ 9 mm window
    bg = np.asarray(Image.fromarray(bg_cells).resize((w, h), Image.BILINEAR), dtype=np.float32)
    bg = np.maximum(bg, 40.0)                                # never divide by a black area
    return np.clip(1.0 - g / bg, 0.0, 1.0)


def _max_filter2d(a: np.ndarray, r: int) -> np.ndarray:
    out = a.copy()
    for axis in (0, 1):
        src = out
        acc = src.copy()
        for k in range(1, r + 1):
            acc = np.maximum(acc, np.roll(src, k, axis=axis))
            acc = np.maximum(acc, np.roll(src, -k, axis=axis))
        out = acc
    return out


def _window_sum(mask: np.ndarray, start: int, length: int, axis: int) -> np.ndarray:
    """Sum of ``mask`` over [i+start, i+start+length) along ``axis`` (zero outside)."""
    m = np.moveaxis(mask.astype(np.int32), axis, -1)
    n = m.shape[-1]
    c = np.zeros(m.shape[:-1] + (n + 1,), dtype=np.int32)
    np.cumsum(m, axis=-1, out=c[..., 1:])
    idx = np.arange(n)
    lo = np.clip(idx + start, 0, n)
    hi = np.clip(idx + start + length, 0, n)
    return np.moveaxis(c[..., hi] - c[..., lo], -1, axis)


def dilate_1d(mask: np.ndarray, radius: int, axis: int) -> np.ndarray:
    if radius <= 0:
        return mask.copy()
    return _window_sum(mask, -radius, 2 * radius + 1, axis) > 0


def open_1d(mask: np.ndarray, length: int, axis: int) -> np.ndarray:
    """Morphological opening with a line of ``length`` pixels: keeps only straight runs."""
    starts = _window_sum(mask, 0, length, axis) == length      # window [i, i+L) all ink
    return _window_sum(starts, -(length - 1), length, axis) > 0  # covered by such a window


def components(mask: np.ndarray) -> np.ndarray:
    """8-connected components as rows (y0, x0, y1, x1, area) with inclusive bounds.

    Run-length labelling: runs of each row are joined to overlapping runs of the row above,
    then labels are merged by min-propagation with pointer jumping (all in NumPy).
    """
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)
    rs, cs = np.nonzero(d == 1)
    _, ce = np.nonzero(d == -1)
    n = len(rs)
    if n == 0:
        return np.zeros((0, 5), dtype=np.int64)
    ce = ce - 1                                   # inclusive end
    stride = w + 4
    start_key = rs.astype(np.int64) * stride + cs
    end_key = rs.astype(np.int64) * stride + ce
    # For each run b (row r>0) find runs a in row r-1 with a.s <= b.e+1 and a.e >= b.s-1.
    prev = rs.astype(np.int64) - 1
    lo = np.searchsorted(end_key, prev * stride + cs - 1, side="left")
    hi = np.searchsorted(start_key, prev * stride + ce + 1, side="right")
    counts = np.maximum(hi - lo, 0)
    b_idx = np.repeat(np.arange(n), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    a_idx = np.repeat(lo, counts) + offsets
    valid = rs[a_idx] == rs[b_idx] - 1 if len(a_idx) else np.zeros(0, bool)
    a_idx, b_idx = a_idx[valid], b_idx[valid]
    labels = np.arange(n)
    while True:
        m = np.minimum(labels[a_idx], labels[b_idx])
        new = labels.copy()
        np.minimum.at(new, a_idx, m)
        np.minimum.at(new, b_idx, m)
        new = new[new]
        new = new[new]
        if np.array_equal(new, labels):
            break
        labels = new
    uniq, inv = np.unique(labels, return_inverse=True)
    k = len(uniq)
    y0 = np.full(k, h, np.int64); x0 = np.full(k, w, np.int64)
    y1 = np.full(k, -1, np.int64); x1 = np.full(k, -1, np.int64)
    np.minimum.at(y0, inv, rs); np.maximum.at(y1, inv, rs)
    np.minimum.at(x0, inv, cs); np.maximum.at(x1, inv, ce)
    area = np.bincount(inv, weights=ce - cs + 1, minlength=k).astype(np.int64)
    return np.stack([y0, x0, y1, x1, area], axis=1)


# Upright box-local patch: the box occupies [-0.5, 0.5] box units around its centre; the
# patch spans U_RANGE × V_RANGE box units at PATCH_RES pixels per box side.
PATCH_RES = 40
U_RANGE = (-2.2, 1.0)
V_RANGE = (-1.0, 1.0)


def box_patch(gray: np.ndarray, cx: float, cy: float, side: float, angle_deg: float) -> np.ndarray:
    """Darkness (0..1) resampled upright around a (possibly rotated) box.

    Rotation is undone here so every measure downstream works on an axis-aligned box, and
    the left strip is on the left *of the printed page* even for upside-down scans.
    """
    out_w = int(round((U_RANGE[1] - U_RANGE[0]) * PATCH_RES))
    out_h = int(round((V_RANGE[1] - V_RANGE[0]) * PATCH_RES))
    k = side / PATCH_RES                                  # source px per patch px
    t = math.radians(angle_deg)
    c, s = math.cos(t), math.sin(t)
    # Crop a generous window first: transforming a small image is far cheaper than the page.
    reach = side * 2.6
    x0 = int(max(0, math.floor(cx - reach))); y0 = int(max(0, math.floor(cy - reach)))
    x1 = int(min(gray.shape[1], math.ceil(cx + reach))); y1 = int(min(gray.shape[0], math.ceil(cy + reach)))
    crop = np.asarray(gray[y0:y1, x0:x1], dtype=np.uint8)
    if crop.size == 0:
        return np.zeros((out_h, out_w), np.float32)
    # PIL maps output pixel centres (X+0.5, Y+0.5) through the affine to continuous input
    # coordinates; box coordinates are continuous too (pixel i spans [i, i+1]).
    # input = centre + R(angle) @ (k * (X+0.5, Y+0.5) + side * (u0, v0))
    ox, oy = U_RANGE[0] * side, V_RANGE[0] * side
    coeffs = (c * k, -s * k, cx - x0 + c * ox - s * oy,
              s * k, c * k, cy - y0 + s * ox + c * oy)
    img = Image.fromarray(crop)
    patch = img.transform((out_w, out_h), Image.AFFINE, coeffs,
                          resample=Image.BILINEAR, fillcolor=255)
    p = np.asarray(patch, dtype=np.float32)
    paper = float(np.percentile(p, 90))
    paper = max(paper, 60.0)
    return np.clip(1.0 - p / paper, 0.0, 1.0)
