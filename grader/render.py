"""Turning PDF pages and image files into grayscale page images (pypdfium2 for PDFs)."""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
from PIL import Image

from grader.pdfium import open_document

log = logging.getLogger(__name__)

# An image whose resolution is unknown (no DPI metadata, or metadata no scan has: a phone
# photo's 72, a screenshot's 96, a photo wrapped into a PDF at 72 dpi making a 33 x 44 cm
# "page") is measured as a sheet of paper: the sheet whose aspect ratio is nearest (A4 and
# Letter, each portrait or landscape). A5 has A4's aspect ratio, so the size alone cannot
# tell them apart: a sheet is taken as A5 only when that gives a scanner's resolution and A4
# does not (an A5 page scanned at 300 dpi is 1748 x 2480 px, which as A4 would be 211 dpi).
SHEETS_MM = {"A4": (210.0, 297.0), "Letter": (215.9, 279.4), "A5": (148.0, 210.0)}
SCANNER_DPIS = (100.0, 150.0, 200.0, 240.0, 300.0, 400.0, 600.0, 1200.0)
# Metadata is trusted when it is a scan's resolution and makes a page of paper size: at least
# 100 dpi (72 and 96 are software defaults), and a long side from 100 mm (A6 is 148) to
# 450 mm (A3 is 420).
MIN_METADATA_DPI = 100.0
PAGE_LONG_SIDE_MM = (100.0, 450.0)

# Pixel budget of one rendered page, checked from the page size BEFORE rendering: PDFium
# allocates the whole bitmap up front (a 30,000 pt square page at 300 dpi would be 15.6
# gigapixels; PDFium fails or the process is killed). 40 Mpx is A2 at 300 dpi (~160 MB as
# BGRA). A larger page is rendered at a lower resolution that fits, down to MIN_RENDER_DPI
# (below it small print no longer OCRs: 150 dpi still reads 0.82-0.93 of words); a page that
# does not fit even then (larger than about A0) is refused with a message.
MAX_RENDER_PIXELS = 40_000_000
MIN_RENDER_DPI = 150.0


class RenderError(Exception):
    """A page could not be rendered (broken, encrypted or hostile file)."""


@dataclass(frozen=True)
class PageImage:
    number: int          # 1-based page number
    image: Image.Image   # mode "L"
    dpi: float

    @cached_property
    def array(self) -> np.ndarray:
        """The pixels (computed once: a 300 dpi page takes ~10 ms to copy out)."""
        return np.asarray(self.image, dtype=np.uint8)


def render_pdf_page(path: str | Path, index: int, dpi: float = 300.0, *,
                    upscale: bool = True) -> PageImage:
    """Render page ``index`` (0-based) of a PDF to a grayscale image at ``dpi``.

    ``upscale=False``: a scanned page stored at a lower resolution is returned as it is
    (its own resolution), for work that does not need ``dpi`` (checkboxes, alignment)."""
    with open_document(path, error=_cannot_open) as pdf:
        if not 0 <= index < len(pdf):
            raise RenderError(f"page {index + 1} does not exist (the file has {len(pdf)})")
        page = pdf[index]
        # A photo placed on a page of its own pixel size (at 72 dpi: a 33 x 44 cm "page") is
        # drawn as the sheet it shows: rendered at ``render_dpi``, it is as many pixels as
        # that sheet at ``dpi``, and the page image says ``dpi``, so millimetres are the
        # sheet's.
        scale = _sheet_scale(page)
        render_dpi = fit_dpi(page.get_size(), dpi * scale)
        dpi = render_dpi / scale
        try:
            scanned = _scanned_image(page, render_dpi, upscale)
            if scanned is not None:
                return PageImage(number=index + 1, image=scanned[0], dpi=scanned[1] / scale)
        except (pdfium.PdfiumError, ValueError, OSError) as exc:
            log.info("page %d: reading its image directly failed (%s); rendering it", index + 1, exc)
        try:
            # An 8-bit grey bitmap straight from PDFium: the same pixels as grey-rendered BGRx
            # converted afterwards, 5 ms less per 300 dpi A4 page (measured).
            bitmap = page.render(scale=render_dpi / 72.0, grayscale=True,
                                 force_bitmap_format=pdfium.raw.FPDFBitmap_Gray)
            image = bitmap.to_pil()
            if image.mode != "L":
                image = image.convert("L")
        except (pdfium.PdfiumError, ValueError, MemoryError, OSError) as exc:
            # PdfiumError is not a RenderError: without this a hostile page would surface as
            # an "internal error" instead of a message naming the page.
            raise RenderError(f"the renderer could not draw it ({exc})") from exc
        return PageImage(number=index + 1, image=image, dpi=dpi)


def _cannot_open(exc: Exception) -> RenderError:
    return RenderError(f"cannot open PDF: {exc}")


# Colour spaces whose decoded pixels PDFium hands over as grey or RGB (others are rendered).
_PLAIN_COLOURSPACES = ("FPDF_COLORSPACE_DEVICEGRAY", "FPDF_COLORSPACE_DEVICERGB",
                       "FPDF_COLORSPACE_CALGRAY", "FPDF_COLORSPACE_CALRGB", "FPDF_COLORSPACE_ICCBASED")


def _scanned_image(page, dpi: float, upscale: bool = True) -> tuple[Image.Image, float] | None:
    """The page's pixels decoded rather than rendered, for the usual scanner output: a page
    whose only content is one upright image covering it exactly.

    Stored at the resolution asked for (within a pixel), the decoded image IS the rendered
    page: identical pixels on the benchmark's 300 dpi scans, in 17 ms instead of 91 ms. At
    another resolution it is resized with Pillow's bilinear filter to the size PDFium would
    render, which is how PDFium resamples it too (within 2 grey levels, mean 0.15, on the
    sample scans) at half the time: a 150 dpi A4 scan brought to 300 dpi in 29 ms instead of
    61 ms (measured). Anything else (other content, annotations, a turned page, a mask-only or
    1-bit image, an image to be reduced) returns None and is rendered. Returns the image and
    its resolution: ``dpi``, or its own when lower and ``upscale`` is False.
    """
    raw = pdfium.raw
    obj = _sole_image(page)
    if obj is None:
        return None
    left, bottom, right, top = page.get_cropbox()
    metadata = obj.get_metadata()
    plain = {getattr(raw, name) for name in _PLAIN_COLOURSPACES}
    if metadata.colorspace not in plain or metadata.bits_per_pixel not in (8, 24):
        return None
    width, height = obj.get_px_size()
    if width * height > MAX_RENDER_PIXELS:   # decoded whole, unlike PDFium's scaled decode
        return None
    image = obj.get_bitmap(render=False).to_pil()
    image = image if image.mode == "L" else image.convert("L")
    # Rendering maps the image onto (points x scale) pixels a side: within a pixel of the
    # image's own size, that is the image itself (a 300 dpi scan's page often works out at
    # 2481.0000001 px, rendered as 2482, a needless 1-px stretch).
    scale = dpi / 72.0
    if abs(image.width - (right - left) * scale) <= 1 and abs(image.height - (top - bottom) * scale) <= 1:
        return image, dpi
    own = image.width / ((right - left) / 72.0)
    if not upscale and own < dpi:
        return image, own
    # The bitmap is the page's extent in pixels rounded up (pypdfium2), and PDFium stretches
    # the image over all of it, except where the extent is a whole number give or take float
    # error (a scanner's 150 dpi page drawn at 300 dpi): there PDFium's pixels differ from any
    # bilinear enlargement (up to 100 grey levels at strokes), so such a page is rendered.
    extent = ((right - left) * scale, (top - bottom) * scale)
    if any(abs(e - round(e)) < 0.01 for e in extent):
        return None
    size = (math.ceil(extent[0]), math.ceil(extent[1]))
    if image.width > size[0] or image.height > size[1]:
        # Reducing, PDFium filters differently (up to 50 grey levels apart at strokes on a
        # 600 dpi scan brought to 300): left to PDFium, whose rendering the OCR was tuned on.
        return None
    return image.resize(size, Image.Resampling.BILINEAR), dpi


def _sole_image(page):
    """The page's one content object when it is an upright image covering the page exactly
    (a scanner's or a phone's page), else None."""
    raw = pdfium.raw
    if page.get_rotation() % 360 or raw.FPDFPage_CountObjects(page.raw) != 1 \
            or raw.FPDFPage_GetAnnotCount(page.raw) != 0:
        return None
    obj = next(iter(page.get_objects(max_depth=0)), None)
    if obj is None or obj.type != raw.FPDF_PAGEOBJ_IMAGE:
        return None
    a, b, c, d, e, f = obj.get_matrix().get()
    left, bottom, right, top = page.get_cropbox()
    if abs(b) > 1e-6 or abs(c) > 1e-6 or a <= 0 or d <= 0 or max(
            abs(e - left), abs(f - bottom), abs(e + a - right), abs(f + d - top)) > 0.5:
        return None
    return obj


def _sheet_scale(page) -> float:
    """Sheet size / page size for a page that is one image whose placement makes no sense as
    a sheet of paper (a resolution no scan has, or a page far from paper size): the image is
    measured as a sheet (``sheet_dpi``). 1.0 for every other page."""
    try:
        obj = _sole_image(page)
        if obj is None:
            return 1.0
        width_px, height_px = obj.get_px_size()
    except (pdfium.PdfiumError, ValueError, OSError):
        return 1.0
    left, bottom, right, top = page.get_cropbox()
    if width_px <= 0 or height_px <= 0 or right <= left or top <= bottom:
        return 1.0
    placed = math.sqrt(width_px * height_px / ((right - left) * (top - bottom))) * 72.0
    if plausible_dpi(placed, width_px, height_px):
        return 1.0
    return placed / sheet_dpi(width_px, height_px)


def fit_dpi(size_pt: tuple[float, float], dpi: float) -> float:
    """``dpi``, lowered so the page fits MAX_RENDER_PIXELS; RenderError if it cannot."""
    width_pt, height_pt = (abs(float(v)) for v in size_pt)
    pixels = width_pt * height_pt * (dpi / 72.0) ** 2
    if pixels <= MAX_RENDER_PIXELS:
        return dpi
    fitted = dpi * (MAX_RENDER_PIXELS / pixels) ** 0.5
    if fitted >= MIN_RENDER_DPI:
        return fitted
    cm = 2.54 / 72.0
    raise RenderError(
        f"it is {width_pt * cm:,.0f} x {height_pt * cm:,.0f} cm, far larger than "
        f"an exam page (the largest readable is about A0); scan or export it at A4 size")


def pdf_page_count(path: str | Path) -> int:
    with open_document(path, error=_cannot_open) as pdf:
        return len(pdf)


def sheet_dpi(width_px: int, height_px: int) -> float:
    """The resolution of an image of a whole sheet of paper, from its size alone: the sheet
    (A4 or Letter, portrait or landscape) whose aspect ratio is nearest, or A5 where that
    gives a scanner's resolution and A4 does not (see ``SHEETS_MM``)."""
    short_px, long_px = sorted((max(1, int(width_px)), max(1, int(height_px))))
    aspect = short_px / long_px

    def dpi_as(name: str) -> float:
        short_mm, long_mm = SHEETS_MM[name]
        # Both sides count: a sheet trimmed or padded on one side is still measured sensibly.
        return math.sqrt(short_px * long_px / (short_mm * long_mm)) * 25.4

    nearest = min(("A4", "Letter"), key=lambda n: abs(aspect - SHEETS_MM[n][0] / SHEETS_MM[n][1]))
    if nearest == "A4" and not _scanner_dpi(dpi_as("A4")) and _scanner_dpi(dpi_as("A5")):
        nearest = "A5"
    return round(dpi_as(nearest), 3)


def _scanner_dpi(dpi: float) -> bool:
    return any(abs(dpi - d) <= 0.01 * d for d in SCANNER_DPIS)


def plausible_dpi(dpi: float | None, width_px: int, height_px: int) -> bool:
    """Whether ``dpi`` (from metadata) is a scan's resolution and makes a page of paper size."""
    if dpi is None or not math.isfinite(dpi) or dpi < MIN_METADATA_DPI:
        return False
    long_mm = max(width_px, height_px) / dpi * 25.4
    return PAGE_LONG_SIDE_MM[0] <= long_mm <= PAGE_LONG_SIDE_MM[1]


def image_dpi(image: Image.Image) -> float:
    """An image file's resolution: its metadata when plausible, else measured as a sheet."""
    dpi_info = image.info.get("dpi")
    try:
        meta = float(dpi_info[0]) if dpi_info and dpi_info[0] else None
    except (TypeError, ValueError, ZeroDivisionError):
        meta = None
    if plausible_dpi(meta, image.width, image.height):
        return meta
    return sheet_dpi(image.width, image.height)


def load_image_file(path: str | Path) -> PageImage:
    """The first page of a PNG/JPEG/TIFF scan (see ``load_image_pages``)."""
    return load_image_pages(path)[0]


def load_image_pages(path: str | Path) -> list[PageImage]:
    """Every page (frame) of a PNG/JPEG/TIFF scan; the resolution of each from its metadata
    when plausible, else from its size as a sheet of paper (``sheet_dpi``)."""
    pages = []
    with Image.open(path) as img:
        for index in range(getattr(img, "n_frames", 1)):
            img.seek(index)
            pages.append(PageImage(number=index + 1, image=img.convert("L"), dpi=image_dpi(img)))
    return pages


def load_document_pages(path: str | Path, dpi: float = 300.0) -> list[PageImage]:
    """Every page of a PDF (rendered) or an image file (every frame of a TIFF)."""
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(5)
    if magic.startswith(b"%PDF"):
        return [render_pdf_page(path, i, dpi) for i in range(pdf_page_count(path))]
    return load_image_pages(path)
