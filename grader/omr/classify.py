"""Reading one checkbox: empty, cross, filled, or filled with a cross to its left; and what
that mark means under the exam's marking convention (``grader.types.Marking``).

The mark is what is on the paper, whatever the convention: the measures and their bands are
the same for both. The convention decides ``checked`` and which marks it does not sanction:

| mark               | cross (default)   | bubble                      |
|--------------------|-------------------|-----------------------------|
| empty              | not checked       | not checked                 |
| cross (X, tick, /) | checked           | checked, flagged (uncertain)|
| filled             | not checked       | checked                     |
| filled_recrossed   | checked           | (read as filled) checked    |

A measure inside its uncertain band is flagged under both.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from grader.omr._image import PATCH_RES, U_RANGE, V_RANGE, box_patch, dilate_1d
from grader.omr.boxes import Box
from grader.types import Marking

MARKS = ("empty", "cross", "filled", "filled_recrossed")
CHECKED = {"empty": False, "cross": True, "filled": False, "filled_recrossed": True}
CHECKED_BY: dict[Marking, dict[str, bool]] = {
    Marking.CROSS: CHECKED,
    Marking.BUBBLE: {"empty": False, "cross": True, "filled": True, "filled_recrossed": True},
}
# Marks a convention does not ask for: read as checked (the student meant something), but a
# TA decides. On a bubble sheet a cross or tick in a bubble is such a mark: OMRChecker counts
# a partial mark as the student's intent, AMC's fill-the-box layouts (threshold 0.5) do not.
UNSANCTIONED: dict[Marking, frozenset[str]] = {
    Marking.CROSS: frozenset(),
    Marking.BUBBLE: frozenset({"cross"}),
}

PEN = 0.35           # darkness above which a patch pixel counts as pen ink
INNER = 0.33         # inner half-size (box units): outline (~0.06) + registration slack removed
# Decision bands (low, high): below low -> no, above high -> yes, between -> uncertain.
MARKED = (0.018, 0.04)    # inner ink fraction: empty vs some pen mark
FILLED = (0.60, 0.85)     # 2nd-emptiest of 4×4 inner cells after closing: a cross leaves empty wedges
RECROSS = (0.015, 0.04)   # ink fraction of the strip left of a filled box
CLOSE_PX = 4              # closing radius in patch px (0.1 box side ≈ 0.5 mm on a 5 mm box)
STRIP_U = (-1.9, -0.7)    # the strip left of the box (box units); spill stays right of -0.62
STRIP_V = (-0.7, 0.7)
OUTLINE_U = 0.08          # the outline's half-width and slack (box units)
SPILL_COLUMN = 0.35       # a column this inked over the strip's rows is a blob, not strokes


@dataclass(frozen=True)
class BoxFeatures:
    ink: float        # fraction of the inner box covered by pen ink
    filled: float     # coverage of the 2nd-emptiest inner cell (high only for blacked boxes)
    left: float       # ink fraction of the strip to the left of the box


@dataclass(frozen=True)
class BoxReading:
    box: Box
    mark: str                 # one of MARKS (the best guess when uncertain)
    checked: bool             # by the marking rule: cross / filled_recrossed -> True
    confidence: float         # 0..1: distance of the deciding measures from their bands
    uncertain: bool           # a measure fell inside its band: flag for review
    features: BoxFeatures


def _grid(u0: float, u1: float, v0: float, v1: float) -> tuple[slice, slice]:
    cols = slice(int(round((u0 - U_RANGE[0]) * PATCH_RES)), int(round((u1 - U_RANGE[0]) * PATCH_RES)))
    rows = slice(int(round((v0 - V_RANGE[0]) * PATCH_RES)), int(round((v1 - V_RANGE[0]) * PATCH_RES)))
    return rows, cols


def strip_limit(box: Box, others: Sequence[Box]) -> float:
    """Left end (box units) of the strip searched for a re-cross, stopping short of any
    neighbouring box whose row overlaps it: a neighbour's own marks must not leak in."""
    limit = STRIP_U[0]
    t = math.radians(box.angle)
    c, s = math.cos(t), math.sin(t)
    for o in others:
        dx, dy = o.cx - box.cx, o.cy - box.cy
        u = (c * dx + s * dy) / box.side
        v = (-s * dx + c * dy) / box.side
        half = o.side / box.side / 2
        # only neighbours beside the strip (rows overlap) and wholly left of this box
        if abs(v) < STRIP_V[1] + half and u + half < -0.5 and u + half > STRIP_U[0] - 0.5:
            # right outline of the neighbour + room for marks spilling from it
            limit = max(limit, u + half + 0.35)
    return limit


def _close(mask: np.ndarray, r: int) -> np.ndarray:
    grown = dilate_1d(dilate_1d(mask, r, axis=0), r, axis=1)
    return ~dilate_1d(dilate_1d(~grown, r, axis=0), r, axis=1)


def box_features(gray: np.ndarray, box: Box, others: Sequence[Box] = ()) -> BoxFeatures:
    patch = box_patch(gray, box.cx, box.cy, box.side, box.angle)
    ink = patch > PEN
    inner = ink[_grid(-INNER, INNER, -INNER, INNER)]
    # Closing bridges the thin white streaks a scribbled fill leaves; the wide wedges between
    # the arms of even a heavy cross stay open, so the emptiest cells still tell them apart.
    solid = _close(ink, CLOSE_PX)[_grid(-INNER, INNER, -INNER, INNER)]
    n = solid.shape[0] // 4
    # 4×4 cells of n×n patch px; the per-cell means are exact (count / n²) either way.
    cells = np.sort(solid[:4 * n, :4 * n].reshape(4, n, 4, n).mean(axis=(1, 3)), axis=None)
    u_left = strip_limit(box, others)
    u_right = min(STRIP_U[1], _spill_end(ink))
    left = 0.0
    if u_left < u_right - 0.3:
        left = float(ink[_grid(u_left, u_right, *STRIP_V)].mean())
    return BoxFeatures(ink=float(inner.mean()), filled=float(cells[1]), left=left)


def _spill_end(ink: np.ndarray) -> float:
    """Where a fill spilling out of the box's left side ends (box units; the outline is at
    -0.5): the first column from the outline leftwards that is mostly paper over the strip's
    rows. A scribbled fill overflows as a solid blob, a re-cross is strokes with paper
    between them and the box, so the blob is no re-cross."""
    rows = _grid(0.0, 0.0, *STRIP_V)[0]
    u = -0.5 - OUTLINE_U
    while u > STRIP_U[0] and ink[rows, _column(u)].mean() >= SPILL_COLUMN:
        u -= 1 / PATCH_RES
    return u


def _column(u: float) -> int:
    return int(round((u - U_RANGE[0]) * PATCH_RES))


def _band(value: float, band: tuple[float, float]) -> tuple[bool | None, float]:
    """(decision or None if inside the band, margin 0..1 from the band)."""
    lo, hi = band
    width = hi - lo
    if value < lo:
        return False, min(1.0, (lo - value) / width)
    if value > hi:
        return True, min(1.0, (value - hi) / width)
    return None, min(value - lo, hi - value) / width


def decide(f: BoxFeatures, marking: Marking = Marking.CROSS) -> tuple[str, bool, float]:
    """(mark, uncertain, confidence) from the measures, under ``marking``. Uncertain readings
    have confidence < 0.5, decided ones >= 0.5."""
    filled, m_fill = _band(f.filled, FILLED)
    if filled is None:
        # Between a heavy cross and a blacked box: under ``cross`` the two mean opposite
        # things; under ``bubble`` a half-filled bubble is what the sheet calls a wrong method.
        return ("filled" if f.filled > sum(FILLED) / 2 else "cross"), True, 0.5 * (0.5 - m_fill)
    if filled and marking == Marking.BUBBLE:
        # A filled bubble is the answer; a mark beside it means nothing on a bubble sheet.
        return "filled", False, 0.5 + 0.5 * m_fill
    if filled:
        recross, m_left = _band(f.left, RECROSS)
        mark = "filled_recrossed" if (recross or (recross is None and f.left > sum(RECROSS) / 2)) else "filled"
        if recross is None:
            return mark, True, 0.5 * (0.5 - m_left)
        return mark, False, 0.5 + 0.5 * min(m_fill, m_left)
    marked, m_ink = _band(f.ink, MARKED)
    if marked is None:
        return ("cross" if f.ink > sum(MARKED) / 2 else "empty"), True, 0.5 * (0.5 - m_ink)
    if marked:
        if "cross" in UNSANCTIONED[marking]:
            return "cross", True, 0.45 * min(m_ink, m_fill)
        return "cross", False, 0.5 + 0.5 * min(m_ink, m_fill)
    return "empty", False, 0.5 + 0.5 * m_ink


def classify_box(gray: np.ndarray, box: Box, dpi: float, others: Sequence[Box] = (),
                 marking: Marking = Marking.CROSS) -> BoxReading:
    """Read one box. ``others``: the page's other boxes (limits the re-cross strip);
    ``marking``: the exam's convention, which decides ``checked``.

    ``dpi`` is part of the contract for callers; the measures are in box units (the patch is
    resampled to a fixed resolution per box side), so they do not depend on it.
    """
    f = box_features(gray, box, others)
    mark, uncertain, confidence = decide(f, marking)
    return BoxReading(box=box, mark=mark, checked=CHECKED_BY[marking][mark],
                      confidence=round(confidence, 3), uncertain=uncertain, features=f)
