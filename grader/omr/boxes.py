"""Finding printed square checkboxes on a page image, without a template."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from grader.omr._image import (PATCH_RES, U_RANGE, V_RANGE, box_patch, components, darkness,
                               dilate_1d, open_1d, px_per_mm)

MIN_SIDE_MM = 3.0
MAX_SIDE_MM = 7.0
INK = 0.3              # darkness above which a pixel is ink (paper = 0, black = 1)
WORK_DPI = 150.0       # detection runs at about this resolution (outlines stay >= 1.5 px)


@dataclass(frozen=True)
class Box:
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
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

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
    and mostly light paper just outside the outline.
    """
    gray = np.asarray(gray)
    # Detect at ~WORK_DPI: cheaper, and the morphology below is tuned in pixels there.
    factor = max(1.0, dpi / WORK_DPI)
    if factor > 1.2:
        h, w = gray.shape
        size = (max(1, int(round(w / factor))), max(1, int(round(h / factor))))
        work = np.asarray(Image.fromarray(gray.astype(np.uint8)).resize(size, Image.BOX))
        factor = w / size[0]
    else:
        work, factor = gray, 1.0
    wdpi = dpi / factor
    p = px_per_mm(wdpi)
    ink = darkness(work, wdpi) > INK
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
    found: list[Box] = []
    for cx, cy, side in candidates:
        box = refine_box(gray, cx * factor, cy * factor, side * factor, 0.0, dpi)
        if box is not None:
            found.append(box)
    found = _drop_overlaps(found)
    if len(found) >= 3:
        # One page has one rotation; the median is steadier than each box's own estimate.
        med = float(np.median([b.angle for b in found]))
        found = [Box(b.x, b.y, b.w, b.h, med) for b in found]
    return sorted(found, key=lambda b: (round(b.cy / (dpi / 25.4 * 2.5)), b.cx))


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
    estimates = []
    cols = range(_u_index(-0.3), _u_index(0.3))
    rows = range(_v_index(-0.3), _v_index(0.3))
    for edge in ("top", "bottom", "left", "right"):
        pts = []
        if edge in ("top", "bottom"):
            a, b = _v_index(-0.85), _v_index(-0.2)
            if edge == "bottom":
                a, b = _v_index(0.2), _v_index(0.85)
            for c in cols:
                seg = np.nonzero(ink[a:b, c])[0]
                if len(seg):
                    pts.append((c, a + (seg[0] if edge == "top" else seg[-1])))
        else:
            a, b = _u_index(-0.85), _u_index(-0.2)
            if edge == "right":
                a, b = _u_index(0.2), _u_index(0.85)
            for rr in rows:
                seg = np.nonzero(ink[rr, a:b])[0]
                if len(seg):
                    pts.append((rr, a + (seg[0] if edge == "left" else seg[-1])))
        if len(pts) < 0.6 * len(cols):
            continue
        t, s = np.array(pts, dtype=float).T
        slope = np.polyfit(t, s, 1)[0]
        # top/bottom: d(row)/d(col) = tan(angle); left/right: d(col)/d(row) = -tan(angle)
        ang = math.degrees(math.atan(slope))
        estimates.append(ang if edge in ("top", "bottom") else -ang)
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
    """Ink just outside the outline (the darkest side's middle); the left side counts less
    because the re-cross of a filled box is drawn right there."""
    h, w = ink.shape
    us = (np.arange(w) + 0.5) / PATCH_RES + U_RANGE[0] - u_c
    vs = (np.arange(h) + 0.5) / PATCH_RES + V_RANGE[0] - v_c
    au, av = np.abs(us)[None, :] / s_u, np.abs(vs)[:, None] / s_u
    cheb = np.maximum(au, av)
    ring = (cheb >= 0.64) & (cheb <= 0.8)
    # Middle of each side only: crosses leave through the corners, spill-over stays inside.
    mid_v, mid_u = av <= 0.35, au <= 0.35
    sides = [ring & mid_v & (us[None, :] < 0), ring & mid_v & (us[None, :] > 0),
             ring & mid_u & (vs[:, None] < 0), ring & mid_u & (vs[:, None] > 0)]
    left, right, top, bottom = (float(ink[m].mean()) if m.any() else 1.0 for m in sides)
    return max(0.6 * left, right, top, bottom)


def text_side_upside_down(gray: np.ndarray, dpi: float, boxes: list[Box]) -> bool:
    """Whether the page looks upside down: checkboxes precede their option text, so on an
    upright page there is more ink right of the boxes than left of them. A page with no
    text near its boxes stays as it is (no evidence, no flip)."""
    if not boxes:
        return False
    px = dpi / 25.4
    step = max(1, int(dpi // 75))
    dark = darkness(gray[::step, ::step], dpi / step) > 0.3
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
