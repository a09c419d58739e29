"""Knowing where each answer is on a scan: answer regions from the blank PDF, alignment of a
scanned page to its blank page by its print, and the ink in a region (scan − blank)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from grader.align import BlankPages, align_page
from grader.ink import INK_DPI, MIN_INK_MM2, region_ink
from grader.layout import Region, blank_layout
from grader.render import PageImage, render_pdf_page
from rubrics.definition import DefinitionError, parse_definition_text
from rubrics.keys import check_keys
from tools import written_exam


@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    folder = tmp_path_factory.mktemp("written")
    truth = written_exam.generate(folder)
    keyed, _ = check_keys(parse_definition_text((folder / "exam.yaml").read_text()))
    return folder, truth, keyed


def _blank_pages(path) -> BlankPages:
    return BlankPages(lambda page, dpi: render_pdf_page(path, page - 1, dpi=dpi), 2,
                      key=("test", str(path)))


def test_regions_are_the_drawn_frames_or_the_room_below_a_prompt(exam):
    folder, truth, keyed = exam
    layout = blank_layout(folder / "blank.pdf", keyed.questions)
    assert set(layout.regions) == {"1.a", "1.b", "1.c", "2.a", "2.b"}   # not the choices
    for label, space in truth["spaces"].items():
        region = layout.regions[label]
        assert region.page == space["page"]
        if space["frame"]:
            assert region.source == "frame"
            # The frame's inside: within a millimetre of the drawn outline, never on it.
            assert space["x"] < region.x < space["x"] + 1.5
            assert space["y"] < region.y < space["y"] + 1.5
            assert space["w"] - 3 < region.w < space["w"]
            assert space["h"] - 3 < region.h < space["h"]
        else:
            # No frame: from the end of the prompt down to the next thing printed.
            assert region.source == "labels"
            assert region.y <= space["y"] + 1 and region.y + region.h >= space["y"] + space["h"]
    assert layout.page_sizes == ((210.0, 297.0), (210.0, 297.0))


def test_a_region_in_the_exam_file_wins(exam):
    folder, _, keyed = exam
    given = {"1.a": Region(1, 30, 40, 100, 20)}
    layout = blank_layout(folder / "blank.pdf", keyed.questions, given)
    assert layout.regions["1.a"] == Region(1, 30, 40, 100, 20, "yaml")


@pytest.mark.parametrize("region, message", [
    ({"page": 1, "x": 1, "y": 2, "w": 3}, "a mapping with page, x, y, w, h"),
    ({"page": 0, "x": 1, "y": 2, "w": 3, "h": 4}, "page number from 1"),
    ({"page": 1, "x": -1, "y": 2, "w": 3, "h": 4}, r"region'.x: a number >= 0"),
    ({"page": 1, "x": 1, "y": 2, "w": 0, "h": 4}, "w and h must be > 0"),
    ({"page": 1.5, "x": 1, "y": 2, "w": 3, "h": 4}, "page number from 1"),
])
def test_bad_regions_are_refused_naming_the_field(region, message):
    text = ("code: R\nblank_pdf: blank.pdf\nquestions:\n  - number: '1'\n    kind: numeric\n"
            f"    points: 1\n    answer: 3\n    region: {json.dumps(region)}\n")
    with pytest.raises(DefinitionError, match=message):
        parse_definition_text(text)


def test_a_region_needs_the_blank_pdf():
    text = ("code: R\nquestions:\n  - number: '1'\n    kind: numeric\n    points: 1\n"
            "    answer: 3\n    region: {page: 1, x: 1, y: 2, w: 30, h: 14}\n")
    with pytest.raises(DefinitionError, match="needs the exam's blank_pdf"):
        parse_definition_text(text)


def _scanned(page: PageImage, *, dpi: float, turn: int, angle: float, scale: float,
             shift_mm=(3.0, -2.0), noise: float = 8.0, seed: int = 1) -> PageImage:
    """The blank page printed at ``scale``, turned by ``angle`` (clockwise) and a quarter
    ``turn``s, scanned at ``dpi`` with noise."""
    rng = np.random.default_rng(seed)
    size = (round(page.image.width * dpi / page.dpi), round(page.image.height * dpi / page.dpi))
    image = page.image.resize(size, Image.Resampling.BILINEAR)
    centre = (size[0] / 2, size[1] / 2)
    t = math.radians(angle)
    c, s = math.cos(t) / scale, math.sin(t) / scale
    sx, sy = (v * dpi / 25.4 for v in shift_mm)
    # out = centre + scale R (in - centre) + shift; PIL wants in = f(out).
    coeffs = (c, s, centre[0] - c * (centre[0] + sx) - s * (centre[1] + sy),
              -s, c, centre[1] + s * (centre[0] + sx) - c * (centre[1] + sy))
    image = image.transform(size, Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR,
                            fillcolor=255)
    image = image.rotate(-turn, expand=True, fillcolor=255) if turn else image
    noisy = np.asarray(image, dtype=np.float32) + rng.normal(0, noise, (image.height, image.width))
    return PageImage(1, Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), dpi)


@pytest.mark.parametrize("dpi, turn, angle, scale", [
    (300, 0, 0.0, 1.0), (150, 0, 2.5, 0.94), (100, 0, -1.5, 1.0), (200, 180, 1.0, 0.97),
    (200, 90, 0.5, 1.0), (150, 270, -0.7, 0.96),
])
def test_a_scanned_page_is_aligned_to_its_blank_page_by_its_print(exam, dpi, turn, angle, scale):
    """Rotation (any quarter turn and a skew), scale (shrink-to-fit), 100-300 dpi: the blank
    page is recognised and each point of it lands within a millimetre of where it is."""
    folder, _, _ = exam
    blank = _blank_pages(folder / "blank.pdf")
    page = render_pdf_page(folder / "blank.pdf", 1, dpi=300)      # blank page 2
    scan = _scanned(page, dpi=dpi, turn=turn, angle=angle, scale=scale)
    fit = align_page(scan, blank, [1, 2], expected_page=1)         # arrived first: out of order
    assert fit is not None and fit.template_page == 2
    # Where the blank's corners went, computed independently of the fit.
    w_mm, h_mm = 210.0, 297.0
    t = math.radians(angle)
    for x, y in ((20.0, 20.0), (190.0, 30.0), (30.0, 280.0)):
        cx, cy = w_mm / 2, h_mm / 2
        px = cx + scale * (math.cos(t) * (x - cx) - math.sin(t) * (y - cy)) + 3.0
        py = cy + scale * (math.sin(t) * (x - cx) + math.cos(t) * (y - cy)) - 2.0
        if turn == 90:
            px, py = h_mm - py, px
        elif turn == 180:
            px, py = w_mm - px, h_mm - py
        elif turn == 270:
            px, py = py, w_mm - px
        got = fit.to_scan(x, y)
        assert math.dist(got, (px, py)) < 1.0, (turn, (x, y), got, (px, py))
    assert fit.upright_turn_cw == (360 - turn) % 360


def test_a_page_of_another_exam_or_a_white_page_fits_no_blank_page(exam):
    folder, _, _ = exam
    blank = _blank_pages(folder / "blank.pdf")
    white = PageImage(1, Image.new("L", (1654, 2339), 250), 200)
    assert align_page(white, blank, [1, 2], expected_page=1) is None
    from tools.scansim_layout import exam_layout, write_blank_pdf

    write_blank_pdf(exam_layout(), folder / "other.pdf")
    other = render_pdf_page(folder / "other.pdf", 0, dpi=200)
    assert align_page(other, blank, [1, 2], expected_page=1) is None


def test_ink_is_what_the_blank_does_not_have(exam):
    """The printed frame and prompt are not ink; a written answer is; an empty region has
    none (noise, JPEG-like specks and the registration error included)."""
    folder, truth, keyed = exam
    layout = blank_layout(folder / "blank.pdf", keyed.questions)
    blank = _blank_pages(folder / "blank.pdf")
    page = render_pdf_page(folder / "blank.pdf", 0, dpi=200)
    written = page.image.copy()
    from PIL import ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 40)
    region = layout.regions["1.b"]
    ImageDraw.Draw(written).text(((region.x + 10) * 200 / 25.4, (region.y + 6) * 200 / 25.4),
                                 "8 x 8 x 5", font=font, fill=20)
    scan = _scanned(PageImage(1, written, 200), dpi=200, turn=180, angle=0.8, scale=0.98)
    fit = align_page(scan, blank, [1, 2], expected_page=1)
    reference = blank.image(1, 200)
    empty = region_ink(scan, fit, layout.regions["1.a"], reference)
    inked = region_ink(scan, fit, region, reference)
    below = region_ink(scan, fit, layout.regions["1.c"], reference)
    assert empty.ink_mm2 < MIN_INK_MM2 and not empty.has_ink
    assert below.ink_mm2 < MIN_INK_MM2
    assert inked.has_ink and inked.ink_mm2 > 20
    # Upright in the crop, where it was written: the ink starts ~10 mm in from the left.
    x, y, w, h = inked.bounds()
    mm = 25.4 / INK_DPI
    assert 8 < x * mm < 13 and w * mm > 15


def _shaded(page: PageImage, darkest: float, seed: int = 2) -> PageImage:
    """Uneven lighting as scanners and books make it: the page darkening towards its right
    edge (by ``darkest`` there) and the shadow of a binding along its left edge."""
    rng = np.random.default_rng(seed)
    gray = np.asarray(page.image, dtype=np.float32)
    h, w = gray.shape
    xx = np.arange(w, dtype=np.float32)[None, :]
    binding = np.exp(-xx / (10 * page.dpi / 25.4))
    light = 1.0 - darkest * np.clip(xx / w + 0.5 * binding, 0, 1)
    noisy = gray * light + rng.normal(0, 3, gray.shape)
    return PageImage(page.number, Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)), page.dpi)


@pytest.mark.parametrize("darkest", [0.0, 0.2, 0.35])
def test_shade_is_not_ink_and_a_blacked_out_answer_is(exam, darkest):
    """Paper darkened by a shadow is paper (a page-wide paper level took a shaded region for
    one big stroke: 3,688 mm² of "ink" read as nothing, a silent zero), while an answer the
    student blacked out completely is still ink, not shade."""
    from PIL import ImageDraw, ImageFont

    folder, _, keyed = exam
    layout = blank_layout(folder / "blank.pdf", keyed.questions)
    blank = _blank_pages(folder / "blank.pdf")
    page = render_pdf_page(folder / "blank.pdf", 0, dpi=200)
    written = page.image.copy()
    draw = ImageDraw.Draw(written)
    px = 200 / 25.4
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 40)
    stroke = layout.regions["1.b"]
    draw.text(((stroke.x + 10) * px, (stroke.y + 6) * px), "8 x 8 x 5", font=font, fill=60)
    solid = layout.regions["1.c"]
    draw.rectangle(((solid.x + 5) * px, (solid.y + 2) * px, (solid.x + 45) * px,
                    (solid.y + solid.h - 2) * px), fill=40)
    scan = _shaded(_scanned(PageImage(1, written, 200), dpi=200, turn=0, angle=0.6, scale=0.98,
                            noise=4.0), darkest)
    fit = align_page(scan, blank, [1, 2], expected_page=1)
    reference = blank.image(1, 200)
    from grader.ink import paper_level

    paper = paper_level(scan)
    empty = region_ink(scan, fit, layout.regions["1.a"], reference, paper)
    inked = region_ink(scan, fit, stroke, reference, paper)
    blacked = region_ink(scan, fit, solid, reference, paper)
    assert not empty.has_ink, empty.ink_mm2
    assert 20 < inked.ink_mm2 < 150, inked.ink_mm2
    area = 40 * (solid.h - 4)
    assert blacked.ink_mm2 > 0.8 * area, (blacked.ink_mm2, area)
    # The readers see the strokes on even, white paper.
    assert (inked.image == 255).mean() > 0.8
