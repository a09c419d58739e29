from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from grader.omr import CHECKED, Box, classify_box, find_boxes
from tools.scansim_marks import draw_mark

DPI = 200
PPM = DPI / 25.4


def _sheet(marks, pitch=(0.0, 7.5), seed=0):
    """Boxes of 5 mm laid out along ``pitch`` (mm) with the given truth marks drawn in."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (int(80 * PPM), int(30 + 7.5 * len(marks)) * int(PPM) + 40), 255)
    d = ImageDraw.Draw(img)
    centres = []
    for i, (mark, style) in enumerate(marks):
        cx, cy = 30 + pitch[0] * i, 12 + pitch[1] * i
        d.rectangle([(cx - 2.5) * PPM, (cy - 2.5) * PPM, (cx + 2.5) * PPM, (cy + 2.5) * PPM],
                    outline=0, width=2)
        centres.append((cx, cy))
        draw_mark(d, mark, cx, cy, 5.0, PPM, rng, style)
    return np.asarray(img), centres


def _read(gray, centres, known=False):
    """Read the boxes at ``centres`` (mm): found on the image, or at the known positions
    (as the template path does after registration)."""
    if known:
        boxes = [Box.from_center(cx * PPM, cy * PPM, 5.0 * PPM) for cx, cy in centres]
        return [classify_box(gray, b, DPI, others=[o for o in boxes if o is not b]) for b in boxes]
    boxes = find_boxes(gray, DPI)
    out = []
    for cx, cy in centres:
        b = min(boxes, key=lambda b: np.hypot(b.center_mm(DPI)[0] - cx, b.center_mm(DPI)[1] - cy))
        assert np.hypot(b.center_mm(DPI)[0] - cx, b.center_mm(DPI)[1] - cy) < 0.6
        out.append(classify_box(gray, b, DPI, others=[o for o in boxes if o is not b]))
    return out


@pytest.mark.parametrize("mark,style,checked", [
    ("empty", "-", False), ("cross", "x", True), ("cross", "tick", True),
    ("cross", "slash", True), ("filled", "-", False), ("filled_recrossed", "-", True)])
@pytest.mark.parametrize("seed", range(6))
def test_each_mark_type(mark, style, checked, seed):
    gray, centres = _sheet([(mark, style)], seed=seed)
    (reading,) = _read(gray, centres)
    assert (reading.mark, reading.checked, reading.uncertain) == (mark, checked, False)
    assert CHECKED[reading.mark] == checked
    assert 0.5 <= reading.confidence <= 1.0


def test_neighbour_ink_does_not_leak_in_a_row():
    """Boxes side by side (order options printed in a row): a big cross on the left box and
    its spill must not make the filled box to its right look re-crossed."""
    rng = np.random.default_rng(3)
    img = Image.new("L", (int(60 * PPM), int(20 * PPM)), 255)
    d = ImageDraw.Draw(img)
    for cx in (20.0, 32.0):
        d.rectangle([(cx - 2.5) * PPM, 7.5 * PPM, (cx + 2.5) * PPM, 12.5 * PPM], outline=0, width=2)
    # an oversized heavy cross on the left box, reaching 1.2 mm past its outline
    for a, b in (((16.3, 6.3), (23.7, 13.7)), ((23.7, 6.3), (16.3, 13.7))):
        d.line([a[0] * PPM, a[1] * PPM, b[0] * PPM, b[1] * PPM], fill=15, width=int(0.9 * PPM))
    draw_mark(d, "filled", 32.0, 10.0, 5.0, PPM, rng)
    gray = np.asarray(img)
    left, right = _read(gray, [(20.0, 10.0), (32.0, 10.0)])
    assert left.mark == "cross"
    assert right.mark == "filled" and not right.checked and not right.uncertain


def test_neighbour_in_a_column_does_not_leak():
    """A re-crossed box above, a crossed box below: the filled and the empty box in between
    keep their own reading."""
    marks = [("filled_recrossed", "-"), ("filled", "-"), ("empty", "-"), ("cross", "x")]
    for seed in range(4):
        gray, centres = _sheet(marks, seed=seed)
        assert [r.mark for r in _read(gray, centres, known=True)] == [m for m, _ in marks]


def test_uncertain_band_is_flagged_not_decided():
    """A box with a speck that is neither clearly empty nor clearly marked."""
    img = Image.new("L", (int(40 * PPM), int(20 * PPM)), 255)
    d = ImageDraw.Draw(img)
    d.rectangle([17.5 * PPM, 7.5 * PPM, 22.5 * PPM, 12.5 * PPM], outline=0, width=2)
    r = 0.25 * PPM   # a dot covering ~3 % of the inner box (after blur-free rendering): inside the uncertain band
    d.ellipse([20 * PPM - r, 10 * PPM - r, 20 * PPM + r, 10 * PPM + r], fill=0)
    gray = np.asarray(img)
    (reading,) = _read(gray, [(20.0, 10.0)])
    assert reading.uncertain and reading.confidence < 0.5


@pytest.mark.parametrize("shape", [(30, 40), (3, 20), (1, 1), (9, 2)])
def test_paper_max_filter_is_a_window_maximum_cut_off_at_the_edges(shape):
    """The paper estimate's 9×9-cell maximum: equal to the brute-force window maximum, and a
    bright right edge does not leak round onto the left edge (it used to wrap)."""
    from grader.omr._image import _max_filter2d

    a = np.random.default_rng(sum(shape)).random(shape).astype(np.float32)
    a[:, -1] = 2.0
    got = _max_filter2d(a, 4)
    h, w = shape
    want = np.array([[a[max(0, i - 4):i + 5, max(0, j - 4):j + 5].max() for j in range(w)]
                     for i in range(h)], dtype=np.float32)
    assert np.array_equal(got, want)
    if w > 9:
        assert (got[:, 0] < 2.0).all()
