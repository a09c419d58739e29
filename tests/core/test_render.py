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


# ---------------------------------------------------------------- resolution from the page size

@pytest.mark.parametrize("size,dpi", [
    ((2480, 3508), 300.0), ((3508, 2480), 300.0),     # A4 at 300 dpi, portrait and landscape
    ((1654, 2339), 200.0), ((1240, 1754), 150.0),     # A4 at 200 and 150 dpi
    ((2550, 3300), 300.0), ((3300, 2550), 300.0),     # Letter at 300 dpi, both ways
    ((1744, 2480), 300.0),                            # A5 at 300 dpi (AMC's 0assoc scan)
    ((930, 1240), 111.1),                             # a phone photo (3:4): nearest is Letter
])
def test_an_image_is_measured_as_the_nearest_sheet(size, dpi):
    assert render.sheet_dpi(*size) == pytest.approx(dpi, rel=0.005)


def _image_file(tmp_path, size, dpi=None, name="scan.png", frames=1):
    img = _scan(size=size)
    path = tmp_path / name
    extra = {} if dpi is None else {"dpi": (dpi, dpi)}
    if frames > 1:
        img.save(path, save_all=True, append_images=[img.rotate(180)] * (frames - 1), **extra)
    else:
        img.save(path, **extra)
    return path


@pytest.mark.parametrize("meta,expected", [
    (None, 200.0),      # no metadata: a 1654 x 2339 image is an A4 sheet at 200 dpi
    (72, 200.0),        # a phone's or an editor's default: no scanner writes it
    (96, 200.0),
    (200, 200.0),       # the scanner's own
    (150, 150.0),       # trusted as long as the page it makes is paper-sized (28 x 40 cm)
    (30, 200.0),        # a "page" 1.4 m long
])
def test_image_files_take_plausible_metadata_else_the_sheet(tmp_path, meta, expected):
    page = render.load_image_file(_image_file(tmp_path, (1654, 2339), meta))
    assert page.dpi == pytest.approx(expected, rel=0.005)


def test_every_frame_of_a_multi_page_tiff_is_a_page(tmp_path):
    pages = render.load_document_pages(_image_file(tmp_path, (1744, 2480), 300, "copies.tif", 3))
    assert [(p.number, round(p.dpi)) for p in pages] == [(1, 300), (2, 300), (3, 300)]
    assert render.load_image_file(tmp_path / "copies.tif").number == 1


def test_a_photo_wrapped_into_a_pdf_at_72_dpi_is_drawn_as_the_sheet_it_shows(tmp_path):
    """A 930 x 1240 px photo placed on a page of its own pixel size at 72 dpi makes a
    33 x 44 cm page; read as the sheet its aspect ratio says (3:4 is nearest Letter), a page
    image of that sheet at the asked resolution comes out, and millimetres on it are the
    sheet's."""
    photo = _scan(size=(930, 1240))
    path = _pdf(tmp_path, photo, dpi=72)
    page = render.render_pdf_page(path, 0, dpi=300)
    assert page.dpi == pytest.approx(300.0)
    width_mm, height_mm = (v / page.dpi * 25.4 for v in page.image.size)
    assert width_mm * height_mm == pytest.approx(215.9 * 279.4, rel=0.01)
    assert height_mm / width_mm == pytest.approx(1240 / 930, rel=0.01)
    # the scanner's own PDF of an A4 page stays as it is
    page = render.render_pdf_page(_pdf(tmp_path, _scan(size=(1654, 2339)), dpi=200, name="a4.pdf"),
                                  0, dpi=300)
    assert page.dpi == 300 and abs(page.image.width / 300 * 25.4 - 210) < 0.5
