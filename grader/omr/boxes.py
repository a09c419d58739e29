"""Finding printed square checkboxes on a page image, without a template."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from grader.omr._image import (PATCH_RES, U_RANGE, V_RANGE, box_patch, components, dilate_1d,
                               ink_mask, open_1d, px_per_mm)
from grader.omr._reduce import box_reduce

MIN_SIDE_MM = 3.0
MAX_SIDE_MM = 7.0
INK = 0.3              # darkness above which a pixel is ink (paper = 0, black = 1)
WORK_DPI = 150.0       # detection runs at about this resolution (outlines stay >= 1.5 px)
RETRY_MIN_DEG = 0.5    # page rotation from which failed candidates are retried at that angle
RETRY_SIDE = (0.8, 1.5)  # candidate side / median found side for such a retry


class Centred:
    """The centre of an upright ``x, y, w, h`` rectangle (pixels for Box, mm for TemplateBox)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class Box(Centred):
    """A square checkbox in pixel coordinates of one page image (top-left origin).

    ``x, y, w, h`` describe the box as if upright (``w == h`` up to measurement); ``angle``
    (degrees, positive = clockwise on screen, 180 for an upside-down page) is the rotation
    about its centre. Outline centre-lines are at the box edges.
    """

    x: float
    y: float
    w: float
    h: float
    angle: float = 0.0

    @classmethod
    def from_center(cls, cx: float, cy: float, side: float, angle: float = 0.0) -> "Box":
        return cls(x=cx - side / 2, y=cy - side / 2, w=side, h=side, angle=angle)

    @property
    def side(self) -> float:
        return (self.w + self.h) / 2

    def to_mm(self, dpi: float) -> tuple[float, float, float, float]:
        """(x, y, w, h) in millimetres from the image's top-left corner."""
        k = 25.4 / dpi
        return (self.x * k, self.y * k, self.w * k, self.h * k)

    def center_mm(self, dpi: float) -> tuple[float, float]:
        k = 25.4 / dpi
        return (self.cx * k, self.cy * k)


def find_boxes(gray: np.ndarray, dpi: float) -> list[Box]:
    """Square printed checkboxes (3–7 mm side) on a grayscale page, in reading order.

    Candidates are connected components of *straight* ink (horizontal and vertical line
    openings, after a slight perpendicular dilation so boxes rotated by a few degrees keep
    long runs): text, pen strokes and diagonals vanish, outlines and solid fills survive.
    Each candidate is then verified on an upright patch: four outline edges, a square shape
    and mostly light paper just outside the outline. Candidates are found on the page
    reduced to ~WORK_DPI and verified at full resolution; on a turned page, those that fail
    are tried once more from the rotation of the boxes found.
    """
    gray = np.asarray(gray)
    work, factor = reduce_to_work_dpi(gray, dpi)
    wdpi = dpi / factor
    p = px_per_mm(wdpi)
    ink = ink_mask(work, wdpi, INK)
    r = 1
    # 2.6 mm: every edge of a 3 mm box is longer, a thick pen stroke steeper than ~30° is not.
    length = max(3, int(round(2.6 * p)))
    lines = open_1d(dilate_1d(ink, r, axis=0), length, axis=1)
    lines |= open_1d(dilate_1d(ink, r, axis=1), length, axis=0)
    comps = components(lines)
    if len(comps) == 0:
        return []
    hgt = comps[:, 2] - comps[:, 0] + 1 - 2 * r
    wid = comps[:, 3] - comps[:, 1] + 1 - 2 * r
    lo, hi = MIN_SIDE_MM * 0.85 * p, MAX_SIDE_MM * 1.45 * p   # 1.45: cos+sin of 5° and spill
    fits_h = (hgt >= lo) & (hgt <= hi)
    fits_w = (wid >= lo) & (wid <= hi)
    candidates = []
    for (y0, x0, y1, x1, _), hh, ww, fh, fw in zip(comps, hgt, wid, fits_h, fits_w):
        if fh and fw and max(hh, ww) <= 1.35 * min(hh, ww):
            candidates.append(((x0 + x1 + 1) / 2, (y0 + y1 + 1) / 2, (hh + ww) / 2))
        elif min(hh, ww) >= lo and max(hh, ww) < 2.5 * hi:
            # A box merged with a pen stroke (a shallow heavy cross arm, the re-cross left of
            # a filled box): try squares at the corners and the middle; refinement decides.
            sd = min(hh, ww, hi)
            xs = (x0 + r + sd / 2, (x0 + x1 + 1) / 2, x1 + 1 - r - sd / 2)
            ys = (y0 + r + sd / 2, (y0 + y1 + 1) / 2, y1 + 1 - r - sd / 2)
            candidates += [(x, y, sd) for x in xs for y in ys]
    # A component as tall (or wide) as the square gives three equal squares per column (row);
    # refining the same start again gives the same box, which _drop_overlaps would drop.
    # On a scanned page with pen strokes, 69 candidates -> 39.
    candidates = list(dict.fromkeys(candidates))
    found: list[Box] = []
    failed: list[tuple[float, float, float]] = []
    for cx, cy, side in candidates:
        box = refine_box(gray, cx * factor, cy * factor, side * factor, 0.0, dpi)
        if box is not None:
            found.append(box)
        else:
            failed.append((cx * factor, cy * factor, side * factor))
    found += _retry_at_page_angle(gray, dpi, failed, found)
    found = _drop_overlaps(found)
    if len(found) >= 3:
        # One page has one rotation; the median is steadier than each box's own estimate.
        med = float(np.median([b.angle for b in found]))
        found = [Box(b.x, b.y, b.w, b.h, med) for b in found]
    return sorted(found, key=lambda b: (round(b.cy / (dpi / 25.4 * 2.5)), b.cx))


def _retry_at_page_angle(gray: np.ndarray, dpi: float, failed: list[tuple[float, float, float]],
                         found: list[Box]) -> list[Box]:
    """Failed candidates refined again from the page's rotation instead of 0°.

    On a page turned by a few degrees the first angle estimate of a box with ink close
    above or below it can go the wrong way (+5.3° measured for a box at -4.5°), and the box
    is lost; started at the angle the other boxes agree on, it is found (sample scans turned
    by ~4.6°: 15 -> 16 of 16 boxes; 40 simulated pages: 715 -> 718 of 720). Candidates on
    an already found box are not retried (the other squares tried on a box merged with a pen
    stroke), so an upright page costs nothing and a turned one a few refinements.
    """
    if len(found) < 3 or not failed:
        return []
    angle = float(np.median([b.angle for b in found]))
    if abs(angle) < RETRY_MIN_DEG:
        return []
    typical = float(np.median([b.side for b in found]))
    out = []
    for cx, cy, side in failed:
        # Only candidates sized like the boxes found (a turned box's component is up to
        # ~1.3x its side): pen strokes and text bits merged into small squares are not.
        if not RETRY_SIDE[0] <= side / typical <= RETRY_SIDE[1]:
            continue
        if any(math.hypot(cx - b.cx, cy - b.cy) < 0.5 * b.side for b in found):
            continue
        box = refine_box(gray, cx, cy, side, angle, dpi)
        if box is not None:
            out.append(box)
    return out


def reduce_to_work_dpi(gray: np.ndarray, dpi: float) -> tuple[np.ndarray, float]:
    """(image at ~WORK_DPI, source px per work px): detection is cheaper there, and its
    morphology is tuned in pixels at that resolution.

    Kept as a ``BOX`` resize to round(w / factor) (~15 ms on a 300 dpi A4 page). Pillow's
    ``reduce(2)`` takes ~4 ms, but its exact factor 2 (against 2481 / 1240 = 2.0008) moves
    the candidates by up to 1 px, refinement follows its start by about as much, and on the
    bench pages one borderline heavy cross became uncertain: not worth 11 ms for readings
    that are no longer the same as before. A reduction by about 2 (a 300 dpi scan) is
    Pillow's BOX resize computed in NumPy (``_reduce.box_reduce``: the same pixels, ~19 ->
    ~7 ms); other factors stay with Pillow, which is as fast or faster there.
    """
    factor = max(1.0, dpi / WORK_DPI)
    if factor <= 1.2:
        return gray, 1.0
    h, w = gray.shape
    size = (max(1, int(round(w / factor))), max(1, int(round(h / factor))))
    if abs(w / size[0] - 2) < 0.01 and abs(h / size[1] - 2) < 0.01:
        return box_reduce(gray, size), w / size[0]
    work = np.asarray(Image.fromarray(np.asarray(gray, dtype=np.uint8)).resize(size, Image.BOX))
    return work, w / size[0]


def _drop_overlaps(boxes: list[Box]) -> list[Box]:
    kept: list[Box] = []
    for b in sorted(boxes, key=lambda b: -b.side):
        if all(math.hypot(b.cx - k.cx, b.cy - k.cy) > 0.5 * min(b.side, k.side) for k in kept):
            kept.append(b)
    return kept


def _u_index(u: float) -> int:
    return int(round((u - U_RANGE[0]) * PATCH_RES))


def _v_index(v: float) -> int:
    return int(round((v - V_RANGE[0]) * PATCH_RES))


def _edge_angle(ink: np.ndarray) -> float | None:
    """Rotation (degrees) of the outline seen in an upright-assumed patch, or None."""
    c0, c1 = _u_index(-0.3), _u_index(0.3)
    r0, r1 = _v_index(-0.3), _v_index(0.3)
    needed = 0.6 * (c1 - c0)
    estimates = []
    # (window across the edge, first/last ink pixel, is the edge horizontal on the patch)
    edges = ((ink[_v_index(-0.85):_v_index(-0.2), c0:c1], False, True),     # top
             (ink[_v_index(0.2):_v_index(0.85), c0:c1], True, True),        # bottom
             (ink[r0:r1, _u_index(-0.85):_u_index(-0.2)].T, False, False),  # left
             (ink[r0:r1, _u_index(0.2):_u_index(0.85)].T, True, False))     # right
    for window, last, horizontal in edges:
        # Per column of ``window`` (rows run across the edge): the outline's outer pixel.
        has = window.any(axis=0)
        if has.sum() < needed:
            continue
        first = np.argmax(window[::-1] if last else window, axis=0)
        s = first[has].astype(float)
        s = -s if last else s
        t = np.nonzero(has)[0].astype(float)
        t -= t.mean()
        # Least-squares slope (what np.polyfit(t, s, 1)[0] returns, ~10x cheaper in a loop).
        slope = float(t @ (s - s.mean()) / (t @ t))
        # top/bottom: d(row)/d(col) = tan(angle); left/right: d(col)/d(row) = -tan(angle)
        ang = math.degrees(math.atan(slope))
        estimates.append(ang if horizontal else -ang)
    if len(estimates) < 2:
        return None
    return float(np.median(estimates))


def _edge_positions(profile: np.ndarray, lo: int, hi: int, from_low: bool,
                    expect: float) -> float | None:
    """Centre of the outline in ``profile[lo:hi]``: of the runs of high coverage, the one
    whose outer boundary is nearest the expected edge (a neighbouring box's outline can be
    in the window too; a filled box is one long run whose outer boundary is the outline)."""
    high = profile[lo:hi] >= 0.8
    if not high.any():
        return None
    d = np.diff(np.concatenate([[0], high.astype(np.int8), [0]]))
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0] - 1
    outer = (starts if from_low else ends) + lo
    best = outer[np.argmin(np.abs(outer - expect))]
    # Outline centre = outer boundary + half a typical outline width; using the outer
    # boundary keeps filled boxes (no inner boundary) consistent with empty ones.
    half = 0.03 * PATCH_RES
    return float(best + half if from_low else best - half)


def refine_box(gray: np.ndarray, cx: float, cy: float, side: float, angle: float,
               dpi: float) -> Box | None:
    """Verify a candidate box and measure its centre, side and rotation, or None.

    Two passes: the first starts from a rough guess (a component's bounding box inflated by
    pen strokes, or a template prediction), the second measures on a patch scaled to the box.
    """
    first = _refine_once(gray, cx, cy, side, angle, dpi)
    if first is None:
        return None
    second = _refine_once(gray, first.cx, first.cy, first.side, first.angle, dpi)
    return second if second is not None else first


def _refine_once(gray: np.ndarray, cx: float, cy: float, side: float, angle: float,
                 dpi: float) -> Box | None:
    p = px_per_mm(dpi)
    if side < MIN_SIDE_MM * 0.8 * p or side > MAX_SIDE_MM * 1.3 * p:
        return None
    ink = box_patch(gray, cx, cy, side, angle) > INK
    est = _edge_angle(ink)
    if est is not None and 0.3 < abs(est) < 7.0:
        angle = angle + est
        ink = box_patch(gray, cx, cy, side, angle) > INK
    band_r = slice(_v_index(-0.35), _v_index(0.35))
    band_c = slice(_u_index(-0.35), _u_index(0.35))
    colcov = ink[band_r, :].mean(axis=0)
    rowcov = ink[:, band_c].mean(axis=1)
    left = _edge_positions(colcov, _u_index(-0.85), _u_index(-0.2), True, _u_index(-0.5))
    right = _edge_positions(colcov, _u_index(0.2), _u_index(0.85), False, _u_index(0.5))
    top = _edge_positions(rowcov, _v_index(-0.85), _v_index(-0.2), True, _v_index(-0.5))
    bottom = _edge_positions(rowcov, _v_index(0.2), _v_index(0.85), False, _v_index(0.5))
    if None in (left, right, top, bottom):
        return None
    w_u = (right - left) / PATCH_RES
    h_u = (bottom - top) / PATCH_RES
    if not (0.5 < w_u < 1.3 and 0.5 < h_u < 1.3) or abs(w_u - h_u) > 0.15 * max(w_u, h_u):
        return None
    # Paper just outside the outline must be mostly light: rules out big dark areas, text
    # blocks and table grids whose cells happen to be box-sized.
    u_c = ((left + right) / 2) / PATCH_RES + U_RANGE[0]
    v_c = ((top + bottom) / 2) / PATCH_RES + V_RANGE[0]
    s_u = (w_u + h_u) / 2
    ring = _ring_fraction(ink, u_c, v_c, s_u)
    if ring > 0.3:
        return None
    t = math.radians(angle)
    du, dv = u_c * side, v_c * side
    new_cx = cx + math.cos(t) * du - math.sin(t) * dv
    new_cy = cy + math.sin(t) * du + math.cos(t) * dv
    new_side = s_u * side
    if not (MIN_SIDE_MM * 0.95 * p <= new_side <= MAX_SIDE_MM * 1.1 * p):
        return None
    return Box.from_center(new_cx, new_cy, new_side, _wrap(angle))


def _wrap(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


def _ring_fraction(ink: np.ndarray, u_c: float, v_c: float, s_u: float) -> float:
    """Ink just outside the outline: the middle of its second-darkest side. One dark side is
    a neighbour's mark spilling over (a fill overflowing the box above or below, the re-cross
    left of a filled box); text blocks and dark areas are dark on more sides. The left side
    counts less because the re-cross of a filled box is drawn right there."""
    h, w = ink.shape
    us = (np.arange(w) + 0.5) / PATCH_RES + U_RANGE[0] - u_c
    vs = (np.arange(h) + 0.5) / PATCH_RES + V_RANGE[0] - v_c
    au, av = np.abs(us) / s_u, np.abs(vs) / s_u
    # The ring is 0.64 <= max(|u|, |v|) / s <= 0.8; in the middle of a side (the other
    # coordinate <= 0.35 < 0.64) that is a band of whole columns or rows, so each side is a
    # rectangle: indexed by row and column masks, ~4x cheaper than four full-patch masks.
    ring_u, ring_v = (au >= 0.64) & (au <= 0.8), (av >= 0.64) & (av <= 0.8)
    # Middle of each side only: crosses leave through the corners, spill-over stays inside.
    mid_v, mid_u = av <= 0.35, au <= 0.35
    sides = [(mid_v, ring_u & (us < 0)), (mid_v, ring_u & (us > 0)),
             (ring_v & (vs < 0), mid_u), (ring_v & (vs > 0), mid_u)]
    left, right, top, bottom = (_rect_mean(ink, rows, cols) for rows, cols in sides)
    return sorted((0.6 * left, right, top, bottom))[-2]


def _rect_mean(ink: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> float:
    """Mean of ``ink`` over contiguous row and column masks (1.0 if either is empty)."""
    r, c = np.flatnonzero(rows), np.flatnonzero(cols)
    if len(r) == 0 or len(c) == 0:
        return 1.0
    return float(ink[r[0]:r[-1] + 1, c[0]:c[-1] + 1].mean())


def text_side_upside_down(gray: np.ndarray, dpi: float, boxes: list[Box]) -> bool:
    """Whether the page looks upside down: checkboxes precede their option text, so on an
    upright page there is more ink right of the boxes than left of them. A page with no
    text near its boxes stays as it is (no evidence, no flip)."""
    if not boxes:
        return False
    px = dpi / 25.4
    step = max(1, int(dpi // 75))
    dark = ink_mask(gray[::step, ::step], dpi / step, 0.3)
    votes = 0
    for b in boxes:
        y0 = int(max(0, (b.cy - b.side / 2) / step))
        y1 = int(min(dark.shape[0], (b.cy + b.side / 2) / step))
        near, far = b.side * 0.9, b.side * 0.9 + 30 * px
        r0, r1 = int((b.cx + near) / step), int((b.cx + far) / step)
        l0, l1 = int((b.cx - far) / step), int((b.cx - near) / step)
        right = dark[y0:y1, max(0, r0):max(0, min(dark.shape[1], r1))].sum()
        left = dark[y0:y1, max(0, l0):max(0, min(dark.shape[1], l1))].sum()
        votes += int(np.sign(right - left))
    return votes < -max(1, len(boxes) // 4)
