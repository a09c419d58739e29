from __future__ import annotations

import re

import pytest
import pytesseract
from PIL import Image

from grader import ocr
from grader.render import PageImage

from .conftest import EXPECTED_TOKENS, scanned


def _missing_tokens(text: str) -> list[str]:
    flat = re.sub(r"\s+", " ", text)
    return [token for token in EXPECTED_TOKENS if token not in flat]


def _page(image: Image.Image, number: int = 1) -> PageImage:
    return PageImage(number=number, image=image, dpi=ocr.OCR_DPI)


# ---------------------------------------------------------------- deskew (no tesseract needed)


@pytest.mark.parametrize("angle", [3.0, -3.0, 1.2, -4.6])
def test_deskew_recovers_the_skew_angle(clean_page, angle):
    skewed = scanned(clean_page.image, angle=angle, noise=15, seed=1)
    straight, found = ocr.deskew(skewed)
    assert abs(found - angle) <= 0.5
    assert straight.size == skewed.size
    # Levelled: a second pass finds (almost) nothing left to correct.
    assert abs(ocr.estimate_skew(straight)) <= 0.3


def test_deskew_leaves_a_straight_page_alone(clean_page):
    image, angle = ocr.deskew(clean_page.image)
    assert angle == 0.0
    assert image is clean_page.image


def test_deskew_of_a_blank_page_is_zero():
    blank = Image.new("L", (2480, 3508), 255)
    assert ocr.deskew(blank) == (blank, 0.0)


# ---------------------------------------------------------------- span confidence (pure)


# ---------------------------------------------------------------- OCR with tesseract


def test_ocr_page_reads_typed_answers_with_lines_and_confidences(clean_page):
    page = ocr.ocr_page(clean_page.image, page_number=4)
    assert page.number == 4 and page.source == "ocr"
    assert _missing_tokens(page.text) == []
    lines = [line for line in page.text.splitlines() if line.strip()]
    assert lines.index("Question 1") < lines.index("1 4 7 6") < lines.index("5 17 27 20")
    assert all(0.0 <= c <= 1.0 for _, c in page.words)
    assert 0.0 <= page.confidence <= 1.0 and page.confidence > 0.8
    assert [w for w, _ in page.words] == page.text.split()


@pytest.mark.parametrize("angle", [3.0, -3.0])
def test_scanned_page_is_straightened_and_read(clean_page, angle):
    noisy = scanned(clean_page.image, angle=angle, noise=15, seed=2)
    page = ocr.read_scanned_page(_page(noisy, 2), timeout_s=60).text
    assert _missing_tokens(page.text) == []
    assert page.number == 2 and 0.8 < page.confidence <= 1.0


def test_upside_down_page_is_detected_and_read(clean_page):
    upside_down = scanned(clean_page.image, angle=183.0, noise=10, seed=3)
    assert ocr.detect_orientation(upside_down) == 180
    page = ocr.read_scanned_page(_page(upside_down), timeout_s=60).text
    assert _missing_tokens(page.text) == []


def test_orientation_fallback_without_osd(clean_page, monkeypatch):
    monkeypatch.setattr(ocr, "osd_available", lambda: False)
    assert ocr.detect_orientation(clean_page.image.rotate(180)) == 180
    assert ocr.detect_orientation(clean_page.image) == 0


def test_prepare_scan_reports_turn_and_skew(clean_page):
    image, report = ocr.prepare_scan(scanned(clean_page.image, angle=183.0))
    assert report["rotation"] == 180
    assert abs(report["skew"] - 3.0) <= 0.5
    assert image.size == clean_page.image.size


def test_blurred_page_has_lower_confidence(clean_page):
    clean = ocr.ocr_page(clean_page.image, page_number=1)
    blurred = ocr.ocr_page(scanned(clean_page.image, blur=4.5), page_number=1)
    assert 0.0 <= blurred.confidence < clean.confidence - 0.1
    assert dict(clean.words)["15x15"] > 0.8


def test_timeout_raises_ocr_timeout(clean_page):
    big = clean_page.image.resize((clean_page.image.width * 2, clean_page.image.height * 2))
    with pytest.raises(ocr.OcrTimeout, match=r"page 9 took longer than 0.05 s"):
        ocr.ocr_page(big, page_number=9, timeout_s=0.05)
    assert issubclass(ocr.OcrTimeout, ocr.OcrError)


def test_missing_tesseract_binary_raises_ocr_error(clean_page, monkeypatch):
    monkeypatch.setattr(pytesseract.pytesseract, "tesseract_cmd", "/nonexistent/tesseract")
    with pytest.raises(ocr.OcrError, match="tesseract is not installed"):
        ocr.ocr_page(clean_page.image, page_number=1, engine="command")


def test_blank_page_reads_nothing_with_zero_confidence():
    page = ocr.ocr_page(Image.new("L", (1240, 1754), 255), page_number=1, dpi=150)
    assert page.text == "" and page.words == () and page.confidence == 0.0


