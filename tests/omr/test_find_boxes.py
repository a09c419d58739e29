from __future__ import annotations

import numpy as np
import pytest

from grader.omr import Box, find_boxes
from grader.render import render_pdf_page
from tests.omr.conftest import centres_mm


@pytest.mark.parametrize("dpi", [150, 200, 300])
def test_finds_every_printed_box_and_nothing_else(blank_pdf, layout, dpi):
    for page in range(1, layout.pages + 1):
        image = render_pdf_page(blank_pdf, page - 1, dpi)
        found = find_boxes(image.array, dpi)
        expected = np.array([(b.cx, b.cy) for b in layout.boxes_on(page)]).reshape(-1, 2)
        assert len(found) == len(expected), f"page {page}"
        if len(expected):
            got = centres_mm(found, dpi)
            d = np.linalg.norm(got[:, None] - expected[None], axis=2).min(axis=1)
            assert d.max() < 0.3
            sides = [b.to_mm(dpi)[2] for b in found]
            assert 4.7 < min(sides) and max(sides) < 5.3


def test_filled_and_crossed_boxes_are_found(tmp_path):
    from PIL import Image, ImageDraw

    dpi, ppm = 200, 200 / 25.4
    img = Image.new("L", (int(60 * ppm), int(20 * ppm)), 255)
    d = ImageDraw.Draw(img)
    for i, x in enumerate((10, 25, 40)):
        box = [x * ppm, 8 * ppm, (x + 5) * ppm, 13 * ppm]
        d.rectangle(box, outline=0, width=3)
        if i == 1:
            d.rectangle(box, fill=20)                        # blacked out
        if i == 2:
            d.line([(x - 1) * ppm, 7 * ppm, (x + 6) * ppm, 14 * ppm], fill=30, width=5)
            d.line([(x + 6) * ppm, 7 * ppm, (x - 1) * ppm, 14 * ppm], fill=30, width=5)
    d.text((5, 5), "Text 12 mm wide, not a box", fill=0)
    found = find_boxes(np.asarray(img), dpi)
    assert np.allclose([b.center_mm(dpi)[0] for b in found], [12.5, 27.5, 42.5], atol=0.3)


def test_box_mm_helpers():
    b = Box(x=100, y=200, w=59.06, h=59.06)
    x, y, w, h = b.to_mm(300)
    assert (round(x, 2), round(y, 2), round(w, 1)) == (8.47, 16.93, 5.0)
    assert Box.from_center(10, 20, 4).to_mm(25.4) == (8.0, 18.0, 4.0, 4.0)
