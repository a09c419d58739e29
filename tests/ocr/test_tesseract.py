"""The two ways of running Tesseract (libtesseract in-process, the command via pytesseract)
must read a page identically and fail the same readable ways."""
from __future__ import annotations

import pytest
from PIL import Image

from grader import ocr, tesseract

from .conftest import scanned


def _words(engine: str, image: Image.Image, **kwargs) -> list[ocr.OcrWord]:
    return ocr.ocr_words(image, engine=engine, **kwargs)


@pytest.mark.parametrize("variant", ["clean", "scanned"])
def test_library_and_command_read_the_same_words(clean_page, monkeypatch, variant):
    image = clean_page.image if variant == "clean" else scanned(
        clean_page.image, angle=1.5, noise=12, blur=0.8, seed=4)
    library = _words("library", image)
    command = _words("command", image)
    assert len(library) > 40
    assert library == command      # text, confidence, box and line of every word


def test_library_is_loaded_once_per_process(clean_page):
    ocr.ocr_words(clean_page.image.crop((0, 0, 1200, 600)), engine="library")
    first = tesseract._library("eng")
    ocr.ocr_words(clean_page.image.crop((0, 0, 1200, 600)), engine="library")
    assert first is not None and tesseract._library("eng") is first


def test_library_timeout_is_an_ocr_timeout(clean_page):
    big = clean_page.image.resize((clean_page.image.width * 2, clean_page.image.height * 2))
    with pytest.raises(ocr.OcrTimeout, match=r"page 3 took longer than 0.05 s"):
        ocr.ocr_page(big, page_number=3, timeout_s=0.05, engine="library")
    # The stopped run leaves nothing behind: the next page reads normally.
    assert "Question" in ocr.ocr_page(clean_page.image, page_number=4, engine="library").text


def test_unknown_engine_fails_loudly(clean_page):
    with pytest.raises(ocr.OcrError, match=r"OCR engine 'gpu' is not one of auto, library"):
        ocr.ocr_words(clean_page.image, engine="gpu")


def test_missing_library_falls_back_to_the_command_or_fails_when_required(clean_page, monkeypatch):
    monkeypatch.setattr(tesseract, "_LIBRARY_NAMES", ("libtesseract-missing.so.99",))
    monkeypatch.setattr(tesseract.ctypes.util, "find_library", lambda name: None)
    monkeypatch.setattr(tesseract, "_LIBRARIES", {})
    crop = clean_page.image.crop((0, 0, 1600, 500))
    assert "Student" in ocr.ocr_page(crop, page_number=1, engine="auto").text
    with pytest.raises(ocr.OcrError, match="libtesseract could not be loaded"):
        ocr.ocr_page(crop, page_number=1, engine="library")


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_library_and_command_report_the_same_orientation(clean_page, turn):
    """Orientation detection in-process (libtesseract with its osd model) reports what the
    command reports: the same rotation and confidence, whichever way the page was fed."""
    page = scanned(clean_page.image, angle=0.8, noise=10, blur=0.6, seed=7)
    small = page.convert("L").rotate(turn, expand=True).reduce(2)
    reports = [tesseract.run_osd(small, dpi=150, timeout_s=60, engine=engine)
               for engine in ("library", "command")]

    def fields(report: str) -> tuple[str, str]:
        lines = dict(line.split(":", 1) for line in report.splitlines() if ":" in line)
        return lines["Rotate"].strip(), lines["Orientation confidence"].strip()

    assert fields(reports[0]) == fields(reports[1])
    # PIL turns counter-clockwise: the page is upright again turned as far clockwise.
    assert fields(reports[0])[0] == str(turn)
    assert ocr.detect_orientation(page.rotate(turn, expand=True), engine="library") == turn


def test_orientation_without_enough_text_is_no_guess(clean_page):
    white = Image.new("L", (1240, 1754), 255)
    with pytest.raises(ocr.OcrError, match="too few characters"):
        tesseract.run_osd(white, dpi=150, timeout_s=60, engine="library")
    assert ocr._osd_orientation(white, 60, "library") is None


def test_library_memory_does_not_grow_page_after_page(clean_page):
    """The model stays loaded for the life of a worker process; each page's image and results
    must be freed (TessBaseAPIClear), or a worker would grow with every page it reads."""

    def resident_mib() -> float:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

    crop = clean_page.image.crop((0, 0, 2400, 1400))
    for _ in range(3):
        ocr.ocr_words(crop, engine="library")
    settled = resident_mib()
    for _ in range(25):
        ocr.ocr_words(crop, engine="library")
    assert resident_mib() - settled < 8
