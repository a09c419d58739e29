"""Reading one page of a submission into a ``PageRead``: its text layer as it is, or for a
scanned page the render, its checkboxes against the blank exam, and OCR.

The document is reached only through a ``render`` callable (page number -> ``PageImage``), so
this module never opens files itself and its rules can be tested on any image. Errors a
student or TA can act on are ``PageReadError`` with a message naming the page.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import cache, partial
from pathlib import Path

import numpy as np

from grader import limits, omr, tesseract
from grader.align import (Alignment, BlankPages, ScanPrint, align_page, confirm_page,
                          from_box_fit, guess_page)
from grader.exam import Checkbox, ExamSpec
from grader.ink import INK_CONTRAST, paper_level, region_ink
from grader.levels import percentile_u8
from grader.ocr import OcrError, OcrOptions, OcrTimeout, ScannedRead, ocr_line, read_scanned_page
from grader.omr.by_text import PlacedMark, PlacedWord, read_labels, read_marks
from grader.pages import BoxRead, PageRead, RegionRead, TemplateFit, text_layer_page
from grader.regions import read_region
from grader.render import PageImage, RenderError, render_pdf_page
from grader.types import Marking, Source

# Scanned pages are rendered at this resolution for checkboxes and OCR (see grader.ocr.OCR_DPI).
SCAN_DPI = 300
BLANK_INK_DPI = 200.0        # the blank page subtracted from a region's crop
UNREAD_INK_DPI = 75.0
UNREAD_INK_MIN_MM2 = 2.0     # a mark smaller than this is a speck, not writing

# 1-based page number -> the page's image at SCAN_DPI; with upscale=False a scan stored at
# a lower resolution comes at its own (enough for checkboxes, alignment and ink).
Render = Callable[..., PageImage]


class PageReadError(Exception):
    """A page could not be read; the message is shown to the student and TA."""


def pdf_renderer(path: str | Path) -> Render:
    """The pages of the PDF at ``path``, rendered at ``SCAN_DPI`` for reading."""
    return partial(_render_pdf_page, str(path))


def _render_pdf_page(path: str, number: int, upscale: bool = True) -> PageImage:
    return render_pdf_page(path, number - 1, dpi=SCAN_DPI, upscale=upscale)


def read_page(number: int, text_layer: str | None, exam: ExamSpec, render: Render,
              ocr: OcrOptions = OcrOptions(), blank: BlankPages | None = None, *,
              expression_budget_s: float = limits.DEFAULT_ANSWER_BUDGET_S) -> PageRead:
    """The page as read: its text layer when it has one, else the scan read (see
    ``read_scanned``). ``blank``: the blank exam's pages, when the exam has a blank PDF.
    ``expression_budget_s``: the symbolic-work budget of one answer (``grader.limits``), which
    verifying a written answer against its key shares."""
    if text_layer is not None:
        return text_layer_page(number, text_layer)
    return read_scanned(number, exam, render, ocr, blank, expression_budget_s=expression_budget_s)


def read_scanned(number: int, exam: ExamSpec, render: Render, ocr: OcrOptions,
                 blank: BlankPages | None = None, *,
                 expression_budget_s: float = limits.DEFAULT_ANSWER_BUDGET_S) -> PageRead:
    """A scanned page: which blank page it is and where it sits (its checkboxes' fit, else
    its printed content), its checkboxes read there, the ink of each answer region on it read;
    and, only where an answer's place is not known from the blank exam, the whole page OCRed
    (turned upright by the fit when there is one). Every checkbox on the page is also read
    without a template when the exam has multiple-choice questions the template does not
    place."""
    _one_thread_per_process()
    _reuse_freed_memory()
    # Pages that will not be OCRed whole are read at the scan's own resolution.
    image = _render(render, number, upscale=exam.reads_page_text())
    template = exam.template_pages()
    found: dict = {}      # the boxes found on this page, searched for once
    fit = alignment = hint = scan_print = None
    fits: dict = {}       # its print's fits to blank pages, each made once
    if blank is not None and exam.layout is not None:
        pages = range(1, len(exam.layout.page_sizes) + 1)
        # Which blank page this is, from a thumbnail of its print (~2 ms), where that can
        # save work: a box search on a page that has no boxes, a match of its features
        # against a page it is not (pages out of order). Only a page the match confirms is
        # taken on the guess's word; else the page is read as if no guess had been made.
        if number in template and _guess_before_boxes(exam, template) \
                or number not in template and len(pages) > 1:
            scan_print = ScanPrint.of(image)
            hint = guess_page(scan_print, blank, pages)
        if hint is not None and hint != number and hint not in template:
            alignment = confirm_page(scan_print, blank, hint, fits)
    if alignment is None and number in template:
        fit, alignment = _fit(image, template, expected_page=number, marking=exam.marking,
                              found=found)
    if alignment is None and blank is not None and exam.layout is not None:
        alignment = align_page(scan_print or image, blank,
                               range(1, len(exam.layout.page_sizes) + 1), expected_page=number,
                               hint=hint, fits=fits)
        if alignment is not None and alignment.template_page in template \
                and (fit is None or not fit.ok):
            # Found by its print at another position: read its boxes as that page's.
            page = alignment.template_page
            fit, box_alignment = _fit(image, {page: template[page]}, expected_page=page,
                                      marking=exam.marking, found=found)
            alignment = box_alignment or alignment
    regions = _regions(image, alignment, exam, blank, ocr, number, expression_budget_s)
    if alignment is not None and not exam.reads_page_text():
        return PageRead(number=number, source=Source.SCAN, text="", confidence=1.0,
                        turned_cw=alignment.upright_turn_cw, fit=fit, alignment=alignment,
                        regions=regions)
    # A page that fitted the blank exam has a known orientation: no need to guess it.
    rotation = alignment.upright_turn_cw if alignment is not None else None
    if image.dpi < SCAN_DPI:
        image = _render(render, number)
    scanned = _ocr(image, number, rotation, ocr)
    marks = _marks(scanned, number, image.dpi, exam.marking, ocr) \
        if exam.untemplated_choices() else None
    mm = 25.4 / image.dpi
    text = scanned.text
    return PageRead(
        number=number, source=Source.OCR, text=text.text, confidence=text.confidence,
        words=text.words,
        # The words' boxes place an answer on its page for the review crop, and checkboxes
        # without a template beside their options.
        word_boxes=tuple(tuple(round(v * mm, 2) for v in w.box) for w in scanned.words),
        turned_cw=scanned.turned_cw, fit=fit, marks=marks, alignment=alignment,
        regions=regions,
        unread_ink=() if exam.layout is not None else unread_ink(scanned, image.dpi))


# Freed blocks up to MALLOC_REUSE_BYTES (glibc's largest on 64 bits) are kept for reuse by
# malloc while a process holds no more than MALLOC_KEEP_BYTES of them free (see
# ``_reuse_freed_memory``).
MALLOC_REUSE_BYTES = 32 << 20
MALLOC_KEEP_BYTES = 64 << 20
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3          # mallopt's parameter numbers


@cache
def _reuse_freed_memory() -> None:
    """Arrays a page is read with (a page at ALIGN_DPI, a region's crops, masks and labels:
    0.1-30 MB each) come from memory freed by the pages before, not from the system anew:
    glibc's malloc maps such blocks on their own and unmaps them when freed (from 128 kB,
    or as large as the last one freed), and trims the free top of its heap, so pages of
    other sizes than the last were faulted in 4 kB at a time again (~4,000 page faults,
    ~12 ms of system CPU per written page of the bench; after this, ~5). The peak RSS is
    the same; the process keeps it while idle. Once per process; a C library without
    ``mallopt`` is left as it is."""
    import ctypes

    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, MALLOC_REUSE_BYTES)
        mallopt(_M_TRIM_THRESHOLD, MALLOC_KEEP_BYTES)


def warm_up(lang: str = "eng") -> None:
    """Load in this process what reading scans loads once in a process's life, so that its
    first page is not the one to pay for it: libtesseract with ``lang``'s model (~50 ms) and
    with the orientation model (``osd``, for pages fed the wrong way), the handwriting recogniser and the character classifier (~0.2 s), each run once on a
    drawn stroke (the recogniser's first run sets up its kernels), and the process's memory
    and thread settings. A worker's pool process calls it when it starts
    (``worker.celery``); nothing here depends on an exam."""
    from PIL import Image

    from grader import glyphs
    from grader.handwriting import recognise_line

    _reuse_freed_memory()
    _one_thread_per_process()
    line = np.full((48, 96), 255, dtype=np.uint8)
    line[10:38, 44:49] = 0                      # one stroke, a "1"
    recognise_line(line)
    glyphs.model()
    ocr_line(Image.fromarray(line), dpi=SCAN_DPI, lang=lang)
    tesseract.load("osd")


def _one_thread_per_process() -> None:
    """OpenCV on one thread, as Tesseract (OMP_THREAD_LIMIT=1) and the recogniser are: pages
    are read in parallel by processes, and OpenCV's own threads only added work (measured on
    the written bench pages: 331-337 -> 300-307 ms of CPU per page, a page as fast alone)."""
    import cv2

    if cv2.getNumThreads() != 1:
        cv2.setNumThreads(1)


def _guess_before_boxes(exam: ExamSpec, template: Mapping[int, Sequence[Checkbox]]) -> bool:
    """Whether a page at a position with checkboxes is worth placing by its print before its
    boxes are searched for: when the exam has pages without boxes whose written answers
    need the page placed (a sheet of only checkboxes is read by its boxes alone)."""
    layout = exam.layout
    return layout is not None and any(
        page not in template and layout.regions_on(page)
        for page in range(1, len(layout.page_sizes) + 1))


def _ocr(image: PageImage, number: int, rotation: int | None, ocr: OcrOptions) -> ScannedRead:
    try:
        return read_scanned_page(image, timeout_s=ocr.timeout_s, known_rotation=rotation,
                                 engine=ocr.engine)
    except OcrTimeout as exc:
        # Tesseract is stopped at the per-page limit: the page is abnormal (dense print,
        # heavy noise, not a scan of the exam), so say what to do.
        raise PageReadError(
            f"page {number} could not be read within {ocr.timeout_s:g} s (the scan may be very "
            f"dense, noisy or not an exam page); scan it again at 300 dpi and upload the new "
            f"file") from exc
    except OcrError as exc:
        raise PageReadError(f"page {number}: {exc}") from exc


def _regions(image: PageImage, alignment: Alignment | None, exam: ExamSpec,
             blank: BlankPages | None, ocr: OcrOptions, number: int,
             expression_budget_s: float) -> tuple[RegionRead, ...]:
    """The answer regions of the blank page this scan is, each with its ink read."""
    if alignment is None or blank is None or exam.layout is None:
        return ()
    regions = exam.layout.regions_on(alignment.template_page)
    if not regions:
        return ()
    reference = blank.image(alignment.template_page, BLANK_INK_DPI)
    paper = paper_level(image)
    questions = {q.label: q for q in exam.questions}
    # The scan's own resolution weighs how sure a reading is; a page rendered up for OCR no
    # longer says what it was.
    scan_dpi = None if exam.reads_page_text() else image.dpi
    out = []
    for label, region in regions.items():
        ink = region_ink(image, alignment, region, reference, paper)
        try:
            out.append(read_region(label, ink, ocr, questions.get(label), scan_dpi,
                                   expression_budget_s))
        except OcrTimeout:
            out.append(RegionRead(label, ink.ink_mm2, ink.fraction))
        except OcrError as exc:
            raise PageReadError(f"page {number}: {exc}") from exc
    return tuple(out)


def unread_ink(scanned: ScannedRead, dpi: float) -> tuple[tuple[float, float, float, float], ...]:
    """Marks on the upright page that no OCR word covers and that are no ruled line (mm
    boxes): what a reader could not read, for the rule that an answer whose place holds ink
    is never taken for no answer."""
    import cv2

    factor = max(1, int(round(dpi / UNREAD_INK_DPI)))
    small = np.asarray(scanned.image.convert("L").reduce(factor), dtype=np.uint8)
    px = dpi / factor / 25.4
    dark = (small < INK_CONTRAST * max(percentile_u8(small, 90), 64.0)).astype(np.uint8)
    words = np.zeros_like(dark)
    for word in scanned.words:
        x, y, w, h = (int(round(v / factor)) for v in word.box)
        pad = int(round(1.0 * px))
        words[max(0, y - pad):y + h + pad, max(0, x - pad):x + w + pad] = 1
    count, _, stats, _ = cv2.connectedComponentsWithStats(dark & (words == 0), connectivity=8)
    found = []
    for x, y, w, h, area in stats[1:count]:
        size_mm = (w / px, h / px)
        # Specks, and long thin rules (underlines, frames) of the printed page, are no ink.
        if area / (px * px) < UNREAD_INK_MIN_MM2 or min(size_mm) < 0.8 and max(size_mm) > 15:
            continue
        found.append((round(x / px, 1), round(y / px, 1), round(w / px, 1), round(h / px, 1)))
    return tuple(found)


def place_unexamined(pages: Sequence[PageRead], exam: ExamSpec, render: Render
                     ) -> tuple[PageRead, ...]:
    """Give the blank pages that no scanned page fitted a second chance.

    A page is read against the template only where the blank exam has boxes on its page
    number, so a box page that arrived at another position (an extra sheet in front, pages out
    of order) is found here: the scanned pages never examined are fitted to the blank pages
    still unmatched. Costs nothing when every box page fitted where expected. Returns the
    pages, those newly fitted replaced.
    """
    template = exam.template_pages()
    fitted = {p.fit.template_page for p in pages if p.fit is not None and p.fit.ok}
    unmatched = {n: boxes for n, boxes in template.items() if n not in fitted}
    out = []
    for page in pages:
        if unmatched and page.source != Source.TEXT_LAYER and page.fit is None:
            try:
                image = render(page.number)
            except RenderError:
                out.append(page)
                continue
            fit, alignment = _fit(image, unmatched, expected_page=None, marking=exam.marking)
            if fit is not None:
                page = replace(page, fit=fit, alignment=alignment or page.alignment)
                unmatched.pop(fit.template_page)
        out.append(page)
    return tuple(out)


def _render(render: Render, number: int, upscale: bool = True) -> PageImage:
    try:
        return render(number, upscale=upscale)
    except RenderError as exc:
        raise PageReadError(f"page {number} cannot be rendered: {exc}") from exc


def _marks(scanned: ScannedRead, number: int, dpi: float, marking: Marking,
           ocr: OcrOptions) -> tuple[PlacedMark, ...]:
    """Every checkbox on the page as read, in mm on the straightened page the OCR words were
    read on (``omr.by_text`` matches them up with the words later), with the text beside the
    boxes where the page's OCR read none (``omr.by_text.read_labels``)."""
    gray = np.asarray(scanned.image.convert("L"), dtype=np.uint8)
    mm = 25.4 / dpi
    words = [PlacedWord(number, w.text, *(v * mm for v in w.box)) for w in scanned.words]
    read_line = partial(ocr_line, dpi=dpi, timeout_s=ocr.timeout_s, engine=ocr.engine)
    return tuple(read_labels(gray, dpi, read_marks(gray, dpi, number, marking), words,
                             read_line))


def _fit(image: PageImage, template: Mapping[int, Sequence[Checkbox]],
         expected_page: int | None, marking: Marking, found: dict | None = None
         ) -> tuple[TemplateFit | None, Alignment | None]:
    """The page's checkboxes read against the blank page it fits (its own first; see
    ``omr.read_matching_template_page``), with the fit as an Alignment when it holds; (None,
    None) when there is no page to try. ``found``: the boxes already found on this image
    (filled in for the next call)."""
    boxes = {page: [c.box for c in checkboxes] for page, checkboxes in template.items()}
    match = omr.read_matching_template_page(image.array, image.dpi, boxes, expected_page,
                                            marking=marking, found_boxes=found)
    if match is None:
        return None, None
    page, registration, readings = match
    # Where each box is on the upright page (mm from its top), for the review queue's crop.
    # The readings are in the frame the fit was made in (turned a quarter turn for a sheet fed
    # sideways), which is upright or upside down.
    height = image.array.shape[1 if registration.quarter_turns % 2 else 0]
    mm = 25.4 / image.dpi

    def upright_y(box) -> float | None:
        if not registration.ok:
            return None
        return round((height - box.cy if registration.upside_down else box.cy) * mm, 1)

    error = registration.fit_error_mm
    fit = TemplateFit(
        template_page=page, ok=registration.ok,
        fit_error_mm=error if math.isfinite(error) else None,
        upside_down=bool(registration.upside_down),
        upright_turn_cw=registration.upright_turn_cw,
        readings=tuple(BoxRead(c.label, c.option, r.mark, bool(r.checked), float(r.confidence),
                               bool(r.uncertain), upright_y(r.box))
                       for c, r in zip(template[page], readings)))
    if not registration.ok:
        return fit, None
    size = (image.image.width * mm, image.image.height * mm)
    return fit, from_box_fit(page, registration.scale, registration.rotation_deg,
                             registration.shift_x_mm, registration.shift_y_mm,
                             registration.quarter_turns, size, registration.matched)

