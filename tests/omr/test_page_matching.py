"""A scanned page is read against the page of the blank exam it fits: its own when it fits
it, another one when it is out of order, none when two blank pages look alike or when it
is a page of another layout (the fit must explain the scan's boxes, too)."""
from __future__ import annotations

from pathlib import Path

import pytest

from grader.omr import read_matching_template_page, register_page, template_from_pdf
from grader.render import render_pdf_page

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "tum_endterm"


@pytest.fixture(scope="module")
def template_pages():
    boxes = template_from_pdf(SAMPLES / "blank.pdf")
    return {page: [b for b in boxes if b.page == page] for page in sorted({b.page for b in boxes})}


@pytest.fixture(scope="module")
def scan():
    return {n: render_pdf_page(SAMPLES / "student_01.pdf", n - 1, dpi=300) for n in (1, 2, 3)}


def test_a_page_that_fits_its_own_page_is_read_as_it(template_pages, scan):
    page, reg, readings = read_matching_template_page(scan[2].array, 300, template_pages, 2)
    assert page == 2 and reg.ok and len(readings) == len(template_pages[2])


def test_a_page_out_of_order_is_read_as_the_page_it_fits(template_pages, scan):
    page, reg, readings = read_matching_template_page(scan[2].array, 300, template_pages, 1)
    assert page == 2 and reg.ok
    expected = read_matching_template_page(scan[2].array, 300, template_pages, 2)[2]
    assert [r.checked for r in readings] == [r.checked for r in expected]


def test_a_page_of_another_layout_does_not_fit(template_pages, scan):
    """Page 2 of the sample (20 boxes) lands 14 of page 1's 16 template boxes on its own with a
    50 mm shift; the 6 boxes left over tell it apart."""
    reg = register_page(scan[2].array, 300, template_pages[1])
    assert not reg.ok and "not on this page" in reg.reason


def test_a_page_without_boxes_fits_nothing(template_pages, scan):
    assert read_matching_template_page(scan[3].array, 300, template_pages, None) is None
    page, reg, _ = read_matching_template_page(scan[3].array, 300, template_pages, 1)
    assert page == 1 and not reg.ok           # the expected page's failed fit, to be flagged


def test_two_alike_blank_pages_are_not_guessed_between(template_pages, scan):
    alike = {5: template_pages[1], 6: template_pages[1]}
    assert read_matching_template_page(scan[1].array, 300, alike, None) is None
    page, reg, _ = read_matching_template_page(scan[1].array, 300, {**alike, 2: template_pages[2]}, 2)
    assert page == 2 and not reg.ok


@pytest.mark.parametrize("ccw_turns, upright_turn_cw", [(1, 90), (3, 270), (2, 180), (0, 0)])
def test_a_page_fed_sideways_or_upside_down_is_read_turned_back(template_pages, scan, ccw_turns,
                                                               upright_turn_cw):
    """The scan as a scanner stores a sheet fed any way round: the fit says how far to turn
    it clockwise to read it upright, and the marks read are the upright page's."""
    import numpy as np

    upright = read_matching_template_page(scan[2].array, 300, template_pages, 2)
    turned = np.ascontiguousarray(np.rot90(scan[2].array, ccw_turns))
    page, reg, readings = read_matching_template_page(turned, 300, template_pages, 2)
    assert page == 2 and reg.ok and reg.upright_turn_cw == upright_turn_cw
    assert [r.checked for r in readings] == [r.checked for r in upright[2]]
    assert np.array_equal(np.rot90(turned, -upright_turn_cw // 90), scan[2].array)
