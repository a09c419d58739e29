"""Turning PDF pages and image files into grayscale page images (pypdfium2 for PDFs)."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

DEFAULT_IMAGE_DPI = 300.0  # an image without dpi metadata is taken as a 300 dpi scan
# PDFium is not thread-safe: a threaded web server rendering two pages at once crashes with a
# double free. Processes (Celery workers) do not share it, so the lock costs them nothing.
_PDFIUM_LOCK = threading.Lock()

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

    @property
    def array(self) -> np.ndarray:
        return np.asarray(self.image, dtype=np.uint8)


def render_pdf_page(path: str | Path, index: int, dpi: float = 300.0) -> PageImage:
    """Render page ``index`` (0-based) of a PDF to a grayscale image at ``dpi``."""
    with _PDFIUM_LOCK:
        return _render_locked(path, index, dpi)


def _render_locked(path: str | Path, index: int, dpi: float) -> PageImage:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise RenderError(f"cannot open PDF: {exc}") from exc
    try:
        if not 0 <= index < len(pdf):
            raise RenderError(f"page {index + 1} does not exist (the file has {len(pdf)})")
        page = pdf[index]
        dpi = fit_dpi(page.get_size(), dpi)
        try:
            # An 8-bit grey bitmap straight from PDFium: the same pixels as grey-rendered BGRx
            # converted afterwards, 5 ms less per 300 dpi A4 page (measured).
            bitmap = page.render(scale=dpi / 72.0, grayscale=True,
                                 force_bitmap_format=pdfium.raw.FPDFBitmap_Gray)
            image = bitmap.to_pil()
            if image.mode != "L":
                image = image.convert("L")
        except (pdfium.PdfiumError, ValueError, MemoryError, OSError) as exc:
            # PdfiumError is not a RenderError: without this a hostile page would surface as
            # an "internal error" instead of a message naming the page.
            raise RenderError(f"the renderer could not draw it ({exc})") from exc
        return PageImage(number=index + 1, image=image, dpi=dpi)
    finally:
        pdf.close()


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
    import pypdfium2 as pdfium

    with _PDFIUM_LOCK:
        return _count_locked(pdfium, path)


def _count_locked(pdfium, path: str | Path) -> int:
    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        raise RenderError(f"cannot open PDF: {exc}") from exc
    try:
        return len(pdf)
    finally:
        pdf.close()


def load_image_file(path: str | Path) -> PageImage:
    """Load a PNG/JPEG/TIFF scan; its dpi comes from metadata, else ``DEFAULT_IMAGE_DPI``."""
    with Image.open(path) as img:
        dpi_info = img.info.get("dpi")
        dpi = float(dpi_info[0]) if dpi_info and dpi_info[0] else DEFAULT_IMAGE_DPI
        return PageImage(number=1, image=img.convert("L"), dpi=dpi)


def load_document_pages(path: str | Path, dpi: float = 300.0) -> list[PageImage]:
    """Every page of a PDF (rendered) or a single image file."""
    path = Path(path)
    with open(path, "rb") as fh:
        magic = fh.read(5)
    if magic.startswith(b"%PDF"):
        return [render_pdf_page(path, i, dpi) for i in range(pdf_page_count(path))]
    return [load_image_file(path)]
