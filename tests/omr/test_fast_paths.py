"""The fast paths of box finding against plain references: 1-D morphology, the ink mask, the
patch percentile and connected components against their definitions; the reduced-resolution
box search against a full-resolution one; boxes on turned sample scans."""
from __future__ import annotations

from collections import deque
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import grader.omr.boxes as boxes_module
from grader.omr import find_boxes, read_template_boxes, template_from_pdf
from grader.omr._image import (components, darkness, dilate_1d, ink_mask,
                               open_1d)
from grader.omr.boxes import reduce_to_work_dpi
from grader.render import render_pdf_page
from tools.scansim import render_student_page
from tools.scansim_marks import ScanParams

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tum_endterm"


def _window(mask: np.ndarray, start: int, length: int, axis: int, reduce) -> np.ndarray:
    """reduce(mask[i+start : i+start+length]) along ``axis``, False outside: the definition."""
    m = np.moveaxis(mask, axis, -1)
    n = m.shape[-1]
    out = np.zeros_like(m)
    for i in range(n):
        idx = np.arange(i + start, i + start + length)
        inside = (idx >= 0) & (idx < n)
        vals = m[..., idx[inside]]
        pad = np.zeros(m.shape[:-1] + (int((~inside).sum()),), dtype=bool)
        out[..., i] = reduce(np.concatenate([vals, pad], axis=-1), axis=-1)
    return np.moveaxis(out, -1, axis)


@pytest.mark.parametrize("seed", range(4))
def test_dilate_and_open_match_their_definition(seed):
    rng = np.random.default_rng(seed)
    for _ in range(25):
        mask = rng.random((int(rng.integers(1, 25)), int(rng.integers(1, 25)))) < rng.random()
        axis, radius = int(rng.integers(0, 2)), int(rng.integers(0, 5))
        length = int(rng.integers(1, 30))
        want = _window(mask, -radius, 2 * radius + 1, axis, np.any)
        assert np.array_equal(dilate_1d(mask, radius, axis), want)
        starts = _window(mask, 0, length, axis, np.all)
        want = _window(starts, -(length - 1), length, axis, np.any)
        assert np.array_equal(open_1d(mask, length, axis), want)


def _shaded_page(blank_pdf: Path, dpi: float) -> np.ndarray:
    """A rendered page with a shadow gradient and noise: the paper white varies."""
    page = render_pdf_page(blank_pdf, 0, dpi).array.astype(np.float32)
    rng = np.random.default_rng(0)
    ramp = np.linspace(1.0, 0.6, page.shape[1], dtype=np.float32)[None, :]
    return np.clip(page * ramp + rng.normal(0, 6, page.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("darken", [1.0, 0.45])     # 0.45: most pixels are candidates (dense path)
def test_ink_mask_equals_thresholded_darkness(blank_pdf, darken):
    gray = (_shaded_page(blank_pdf, 150) * darken).astype(np.uint8)
    for level in (0.3, 0.35):
        want = darkness(gray, 150) > level
        assert want.any()
        assert np.array_equal(ink_mask(gray, 150, level), want)
        assert np.array_equal(ink_mask(gray.astype(np.float32), 150, level), want)
    strided = gray[::2, ::2]                          # as text_side_upside_down samples a page
    assert np.array_equal(ink_mask(strided, 75, 0.3), darkness(strided, 75) > 0.3)


def _flood_components(mask: np.ndarray) -> set[tuple[int, int, int, int, int]]:
    h, w = mask.shape
    seen = np.zeros_like(mask)
    out = set()
    for y, x in zip(*np.nonzero(mask)):
        if seen[y, x]:
            continue
        seen[y, x] = True
        queue, pts = deque([(y, x)]), []
        while queue:
            cy, cx = queue.popleft()
            pts.append((cy, cx))
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    ny, nx = cy + dy, cx + dx
                    if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
        ys, xs = zip(*pts)
        out.add((min(ys), min(xs), max(ys), max(xs), len(pts)))
    return out


def test_components_match_flood_fill():
    rng = np.random.default_rng(4)
    for _ in range(60):
        mask = rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 30)))) < rng.random() * 0.7
        assert {tuple(int(v) for v in row) for row in components(mask)} == _flood_components(mask)


def test_work_resolution():
    gray = np.full((3508, 2481), 200, dtype=np.uint8)
    work, factor = reduce_to_work_dpi(gray, 300)
    assert work.shape == (1754, 1240) and factor == 2481 / 1240
    assert reduce_to_work_dpi(gray[:1754, :1240], 150)[1] == 1.0   # already there
    assert reduce_to_work_dpi(gray[:2339, :1654], 200)[0].shape == (1754, 1240)


def _params(**kw) -> ScanParams:
    base = dict(dpi=300.0, scale=1.0, rotation=0.0, shift_mm=(0.0, 0.0), upside_down=False,
                blur=0.5, noise=3.0, jpeg=70, shadow=0.1)
    return ScanParams(**{**base, **kw})


def _find_at_full_resolution(monkeypatch, gray: np.ndarray, dpi: float):
    with monkeypatch.context() as m:
        m.setattr(boxes_module, "WORK_DPI", float(dpi))
        return find_boxes(gray, dpi)


def _assert_same_boxes(reduced, full, dpi: float) -> None:
    """Same boxes; the measures agree within what refinement resolves from two different
    starting guesses (its patch has 40 px per box side: ~1.5 px of a 5 mm box at 300 dpi)."""
    assert len(reduced) == len(full)
    mm = 25.4 / dpi
    for a in reduced:
        b = min(full, key=lambda b: np.hypot(a.cx - b.cx, a.cy - b.cy))
        assert np.hypot(a.cx - b.cx, a.cy - b.cy) * mm < 0.2
        assert abs(a.side - b.side) * mm < 0.25
        assert abs(a.angle - b.angle) < 0.6


@pytest.mark.parametrize("params", [
    _params(),
    _params(rotation=4.2, shift_mm=(5.0, -4.0), scale=1.02),
    _params(rotation=-3.1, shift_mm=(-3.0, 2.0), upside_down=True),
])
def test_reduced_search_finds_the_boxes_of_a_full_resolution_search(blank_pdf, layout, params,
                                                                    monkeypatch):
    rng = np.random.default_rng(2)
    for page in sorted({b.page for b in layout.boxes}):
        gray = np.asarray(render_student_page(blank_pdf, layout, page, [], params, rng))
        reduced = find_boxes(gray, params.dpi)
        assert len(reduced) == len(layout.boxes_on(page))
        _assert_same_boxes(reduced, _find_at_full_resolution(monkeypatch, gray, params.dpi),
                           params.dpi)


def test_boxes_near_the_size_limits(monkeypatch):
    """3.1 mm and 6.9 mm boxes (limits 3 and 7 mm), turned by 3°, at 300 dpi."""
    dpi = 300.0
    ppm = dpi / 25.4
    img = Image.new("L", (int(90 * ppm), int(40 * ppm)), 255)
    draw = ImageDraw.Draw(img)
    truth = [(12.0, 12.0, 3.1), (30.0, 12.0, 6.9), (50.0, 25.0, 3.1), (70.0, 25.0, 6.9)]
    t = np.radians(3.0)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    for cx, cy, side in truth:
        corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1], [-1, -1]]) * side / 2 @ rot.T
        draw.line([((cx + x) * ppm, (cy + y) * ppm) for x, y in corners], fill=0,
                  width=max(2, round(0.25 * ppm)), joint="curve")
    draw.text((int(58 * ppm), int(8 * ppm)), "option text beside no box", fill=0)
    gray = np.asarray(img)
    reduced = find_boxes(gray, dpi)
    got = sorted((b.cx / ppm, b.cy / ppm, b.side / ppm) for b in reduced)
    assert len(got) == len(truth)
    for (gx, gy, gs), (tx, ty, ts) in zip(got, sorted(truth)):
        assert abs(gx - tx) < 0.2 and abs(gy - ty) < 0.2 and abs(gs - ts) < 0.4
    _assert_same_boxes(reduced, _find_at_full_resolution(monkeypatch, gray, dpi), dpi)


@pytest.fixture(scope="module")
def sample_template():
    return template_from_pdf(SAMPLES / "blank.pdf")


@pytest.mark.parametrize("student", ["student_01", "student_03"])
def test_every_box_of_a_turned_sample_scan_is_found(sample_template, student):
    """Page 1 of these scans is turned by ~4.6°: one box each used to be lost because its
    first angle estimate went the wrong way; the retry at the page's angle finds it."""
    image = render_pdf_page(SAMPLES / f"{student}.pdf", 0, dpi=300)
    template = [b for b in sample_template if b.page == 1]
    found = find_boxes(image.array, image.dpi)
    assert len(found) == len(template) == 16
    assert abs(np.median([b.angle for b in found])) > 4.0
    registration, _ = read_template_boxes(image.array, image.dpi, template)
    assert registration.ok and registration.matched == 16
