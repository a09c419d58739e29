"""The page reader's faster paths read exactly what the plain computations read (issue 14)."""
from __future__ import annotations

import numpy as np
import pytest

from grader.ink import (INK_CONTRAST, MIN_SPECK_MM2, PRINT_GROWTH_MM, SHADOW_FLOOR, STRONG_MIN,
                        STRONG_NOISE, WEAK_MIN, WEAK_NOISE, _median_abs_deviation, ink_of,
                        paper_background)
from grader.layout import Region


def _dense_ink_of(crop, blank, region, dpi, paper, margin):
    """``ink_of`` as it was computed over every pixel (connected components with their
    statistics), the reference the sparse computation must equal bit for bit."""
    import cv2

    px = dpi / 25.4
    background = paper_background(crop, dpi, floor=SHADOW_FLOOR * paper)
    darker = background - crop.astype(np.float32)
    noise = 1.4826 * _median_abs_deviation(darker[::2, ::2])
    weak = darker > max(WEAK_MIN, WEAK_NOISE * noise)
    strong = (darker > max(STRONG_MIN, STRONG_NOISE * noise)) \
        & (crop < INK_CONTRAST * np.maximum(background, 64.0))
    grow = max(1, int(round(PRINT_GROWTH_MM * px)))
    printed = cv2.dilate((blank < 200).astype(np.uint8),
                         cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    weak &= printed == 0
    strong &= printed == 0
    even = np.clip(crop.astype(np.float32) * (255.0 / background), 0, 255).astype(np.uint8)
    if margin:
        inner = (slice(margin, -margin), slice(margin, -margin))
        even, printed, weak, strong = even[inner], printed[inner], weak[inner], strong[inner]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    keep &= stats[:, cv2.CC_STAT_AREA] >= MIN_SPECK_MM2 * px * px
    ink = keep[labels]
    shown = cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return np.where(shown & (printed == 0), even, 255).astype(np.uint8), float(ink.sum()) / (px * px)


@pytest.mark.parametrize("seed, margin, noise, shade", [
    (1, 0, 4.0, 0.0), (2, 12, 8.0, 0.3), (3, 12, 15.0, 0.1), (4, 5, 2.0, 0.45)])
def test_sparse_ink_equals_the_dense_computation(seed, margin, noise, shade):
    """Strokes (dark and faint), specks, a printed frame and prompt, shading and noise: the
    ink image and its area are the same bit for bit as over every pixel."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = 320, 900
    paper = 235.0
    blank = np.full((h, w), 255, np.uint8)
    cv2.rectangle(blank, (margin + 3, margin + 3), (w - margin - 4, h - margin - 4), 0, 3)
    cv2.putText(blank, "Answer:", (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 2)
    scan = blank.astype(np.float32) * (paper / 255.0)
    for k in range(12):      # strokes, some faint
        x0, y0 = int(rng.integers(60, w - 120)), int(rng.integers(100, h - 60))
        cv2.line(scan, (x0, y0), (x0 + int(rng.integers(-60, 60)), y0 + int(rng.integers(-40, 40))),
                 float(rng.choice([30.0, 120.0, 180.0])), int(rng.integers(1, 5)))
    for _ in range(40):      # specks of one or two pixels
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        scan[y:y + 2, x:x + 1] = 90.0
    light = 1.0 - shade * np.linspace(0, 1, w, dtype=np.float32)[None, :]
    scan = np.clip(scan * light + rng.normal(0, noise, (h, w)), 0, 255).astype(np.uint8)
    region = Region(1, 10.0, 10.0, (w - 2 * margin) * 25.4 / 200, (h - 2 * margin) * 25.4 / 200)
    got = ink_of(scan, blank, region, dpi=200.0, paper=paper, margin=margin)
    image, ink_mm2 = _dense_ink_of(scan, blank, region, 200.0, paper, margin)
    assert got.ink_mm2 == round(ink_mm2, 3) and got.ink_mm2 > 5
    assert np.array_equal(got.image, image)


def test_boxes_found_on_a_page_are_searched_for_once(monkeypatch):
    """A page read against one template page and then against another (its print placed it
    elsewhere) reuses the boxes found on it, the turned page's too: the same readings as
    searching again."""
    from pathlib import Path

    from grader.omr import boxes as boxes_module
    from grader.omr import register, template_from_pdf
    from grader.render import render_pdf_page

    samples = Path(__file__).resolve().parents[2] / "samples" / "tum_endterm"
    template = template_from_pdf(samples / "blank.pdf")
    pages = {p: [b for b in template if b.page == p] for p in sorted({b.page for b in template})}
    scan = render_pdf_page(samples / "student_01.pdf", 1, dpi=150).array   # its page 2
    turned = np.ascontiguousarray(np.rot90(scan))
    calls = []

    def counted(gray, dpi):
        calls.append(gray.shape)
        return boxes_module.find_boxes(gray, dpi)

    monkeypatch.setattr(register, "find_boxes", counted)
    # Turned a quarter and expected as page 1: page 1, the other pages, then the turn.
    plain = register.read_matching_template_page(turned, 150, {1: pages[1]}, 1)
    assert len(calls) == 2 and not plain[1].ok
    found: dict = {}
    first = register.read_matching_template_page(turned, 150, {1: pages[1]}, 1, found_boxes=found)
    assert len(calls) == 4 and set(found) == {0, 1}
    again = register.read_matching_template_page(turned, 150, {2: pages[2]}, 2, found_boxes=found)
    assert len(calls) == 4                        # nothing searched again
    fresh = register.read_matching_template_page(turned, 150, {2: pages[2]}, 2)
    assert again[0] == fresh[0] == 2 and again[1] == fresh[1] and again[1].ok
    assert again[1].quarter_turns == 1
    assert [r.checked for r in again[2]] == [r.checked for r in fresh[2]]
    assert first[1] == plain[1]
