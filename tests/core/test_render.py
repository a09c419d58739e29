"""Rendering scanned pages: a page that is exactly one image is decoded rather than rendered
(as is at the asked resolution, enlarged with the filter PDFium uses below it) and must give
the pixels rendering gives; anything else is rendered."""
from __future__ import annotations

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image, ImageDraw

from grader import render

A4_300DPI = (2481, 3508)   # ceil(595.28 pt x 300/72), ceil(841.89 pt x 300/72)


def _scan(mode: str = "L", size=A4_300DPI) -> Image.Image:
    rng = np.random.default_rng(3)
    image = Image.fromarray((235 + rng.integers(0, 20, (size[1], size[0]))).astype("uint8"), "L")
    draw = ImageDraw.Draw(image)
    for n in range(40):
        draw.text((200, 150 + 80 * n), f"Question {n}: the answer is {n * 7}", fill=20)
    return image.convert(mode)


def _pdf(tmp_path, image: Image.Image, dpi: float = 300, name: str = "scan.pdf"):
    """As scanners write them: the page is the image's size at ``dpi``."""
    path = tmp_path / name
    image.save(path, "PDF", resolution=dpi)
    return path


def _a4_pdf(tmp_path, image: Image.Image, name: str = "a4.pdf"):
    """As the scan simulator writes them: the image stretched onto an A4 page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    path = tmp_path / name
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawImage(ImageReader(image), 0, 0, width=A4[0], height=A4[1])
    c.save()
    return path


def _rendered(path, index: int = 0, dpi: float = 300) -> np.ndarray:
    pdf = pdfium.PdfDocument(str(path))
    try:
        bitmap = pdf[index].render(scale=dpi / 72, grayscale=True,
                                   force_bitmap_format=pdfium.raw.FPDFBitmap_Gray)
        return np.asarray(bitmap.to_pil().convert("L")).astype(int)
    finally:
        pdf.close()


def _taken(path, dpi: float = 300) -> bool:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return render._scanned_image(pdf[0], dpi) is not None
    finally:
        pdf.close()


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_a_300_dpi_scan_is_read_as_is_with_the_rendered_pixels(tmp_path, mode):
    path = _a4_pdf(tmp_path, _scan(mode))
    assert _taken(path)
    page = render.render_pdf_page(path, 0, dpi=300)
    assert page.image.mode == "L" and page.image.size == A4_300DPI
    difference = np.abs(np.asarray(page.image).astype(int) - _rendered(path))
    assert difference.max() <= (0 if mode == "L" else 1)   # RGB -> grey rounding only


def test_a_scan_whose_page_is_a_hair_larger_is_its_own_pixels(tmp_path):
    """PIL makes the page 595.44 pt wide: rendered at 300 dpi that is 2482 px, a 1-px stretch
    of the 2481-px scan. The scan's own pixels are used instead."""
    scan = _scan()
    path = _pdf(tmp_path, scan)
    assert _taken(path)
    page = render.render_pdf_page(path, 0, dpi=300)
    assert page.image.size == scan.size and _rendered(path).shape == (3508, 2482)
    # PIL stored the scan as JPEG: the pixels are that JPEG's, decoded (PDFium's and PIL's
    # decoders round a few pixels differently).
    from pypdf import PdfReader

    stored = PdfReader(str(path)).pages[0].images[0].image.convert("L")
    difference = np.abs(np.asarray(page.image).astype(int) - np.asarray(stored).astype(int))
    assert difference.mean() < 0.2


@pytest.mark.parametrize("dpi", [150, 200, 240])
def test_a_scan_at_a_lower_resolution_is_enlarged_as_pdfium_would(tmp_path, dpi):
    path = _a4_pdf(tmp_path, _scan(size=(round(8.27 * dpi), round(11.69 * dpi))))
    assert _taken(path)
    page = render.render_pdf_page(path, 0, dpi=300)
    rendered = _rendered(path)
    assert np.asarray(page.image).shape == rendered.shape
    difference = np.abs(np.asarray(page.image).astype(int) - rendered)
    assert difference.max() <= 2 and difference.mean() < 1.5


@pytest.mark.parametrize("dpi", [150, 200])
def test_a_scan_whose_page_is_a_whole_number_of_pixels_is_rendered(tmp_path, dpi):
    """A scanner's page is its image at its dpi: 150 dpi drawn at 300 covers exactly 2x the
    pixels, where PDFium resamples in its own way. Rendered, so the pixels are PDFium's."""
    path = _pdf(tmp_path, _scan(size=(round(8.27 * dpi), round(11.69 * dpi))), dpi=dpi)
    assert not _taken(path)
    assert np.array_equal(np.asarray(render.render_pdf_page(path, 0).image).astype(int),
                          _rendered(path))


@pytest.mark.parametrize("dpi", [400, 600])
def test_a_scan_at_a_higher_resolution_is_rendered(tmp_path, dpi):
    path = _a4_pdf(tmp_path, _scan(size=(round(8.27 * dpi), round(11.69 * dpi))))
    assert not _taken(path)
    page = render.render_pdf_page(path, 0, dpi=300)
    assert np.array_equal(np.asarray(page.image).astype(int), _rendered(path))


def test_an_image_past_the_pixel_budget_is_left_to_the_renderer(tmp_path, monkeypatch):
    path = _a4_pdf(tmp_path, _scan(size=(1241, 1754)))
    assert _taken(path)
    monkeypatch.setattr(render, "MAX_RENDER_PIXELS", 1241 * 1754 - 1)
    assert not _taken(path)


def test_a_scan_with_anything_else_on_the_page_is_rendered(tmp_path):
    from pypdf import PdfReader, PdfWriter
    from reportlab.pdfgen import canvas

    scan = _a4_pdf(tmp_path, _scan())
    overlay = tmp_path / "overlay.pdf"
    c = canvas.Canvas(str(overlay), pagesize=(595.2756, 841.8898))
    c.drawString(100, 100, "Stamped: received 2026-11-23")
    c.save()
    writer = PdfWriter(clone_from=PdfReader(str(scan)))
    writer.pages[0].merge_page(PdfReader(str(overlay)).pages[0])
    stamped = tmp_path / "stamped.pdf"
    writer.write(str(stamped))
    assert not _taken(stamped)
    assert np.array_equal(np.asarray(render.render_pdf_page(stamped, 0).image).astype(int),
                          _rendered(stamped))

    writer = PdfWriter(clone_from=PdfReader(str(scan)))
    writer.pages[0].rotate(180)
    turned = tmp_path / "turned.pdf"
    writer.write(str(turned))
    assert not _taken(turned)
    assert np.array_equal(np.asarray(render.render_pdf_page(turned, 0).image).astype(int),
                          _rendered(turned))
