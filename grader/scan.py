"""Reading one page of a submission into a ``PageRead``: its text layer as it is, or for a
scanned page the render, its checkboxes against the blank exam, and OCR.

The document is reached only through a ``render`` callable (page number -> ``PageImage``), so
this module never opens files itself and its rules can be tested on any image. Errors a
student or TA can act on are ``PageReadError`` with a message naming the page.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from grader import omr
from grader.exam import Checkbox, ExamSpec
from grader.ocr import OcrError, OcrTimeout, ScannedRead, ocr_line, read_scanned_page
from grader.omr.by_text import PlacedMark, PlacedWord, read_labels, read_marks
from grader.pages import BoxRead, PageRead, TemplateFit, text_layer_page
from grader.render import PageImage, RenderError, render_pdf_page
from grader.tesseract import Engine
from grader.types import Marking, Source

# Scanned pages are rendered at this resolution for checkboxes and OCR (see grader.ocr.OCR_DPI).
SCAN_DPI = 300

Render = Callable[[int], PageImage]       # 1-based page number -> the page's image


class PageReadError(Exception):
    """A page could not be read; the message is shown to the student and TA."""


def pdf_renderer(path: str | Path) -> Render:
    """The pages of the PDF at ``path``, rendered at ``SCAN_DPI`` for reading."""
    return partial(_render_pdf_page, str(path))


def _render_pdf_page(path: str, number: int) -> PageImage:
    return render_pdf_page(path, number - 1, dpi=SCAN_DPI)


@dataclass(frozen=True)
class OcrOptions:
    timeout_s: float = 60
    engine: Engine = Engine.AUTO


def read_page(number: int, text_layer: str | None, exam: ExamSpec, render: Render,
              ocr: OcrOptions = OcrOptions()) -> PageRead:
    """The page as read: its text layer when it has one, else the scan read (see
    ``read_scanned``)."""
    if text_layer is not None:
        return text_layer_page(number, text_layer)
    return read_scanned(number, exam, render, ocr)


def read_scanned(number: int, exam: ExamSpec, render: Render, ocr: OcrOptions) -> PageRead:
    """Render, read the checkboxes against the blank page they fit (only when the blank exam
    has boxes on this page), then OCR the page, turned upright by the fit when there is one.
    Every checkbox on the page is also read without a template when the exam has multiple-
    choice questions the template does not place."""
    image = _render(render, number)
    template = exam.template_pages()
    fit = _fit(image, template, expected_page=number, marking=exam.marking) \
        if number in template else None
    # A page that fitted the blank exam has a known orientation: no need to guess it.
    rotation = fit.upright_turn_cw if fit is not None and fit.ok else None
    try:
        scanned = read_scanned_page(image, timeout_s=ocr.timeout_s, known_rotation=rotation,
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
        turned_cw=scanned.turned_cw, fit=fit, marks=marks)


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
        if unmatched and page.source == Source.OCR and page.fit is None:
            try:
                image = render(page.number)
            except RenderError:
                out.append(page)
                continue
            fit = _fit(image, unmatched, expected_page=None, marking=exam.marking)
            if fit is not None:
                page = page.with_fit(fit)
                unmatched.pop(fit.template_page)
        out.append(page)
    return tuple(out)


def _render(render: Render, number: int) -> PageImage:
    try:
        return render(number)
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
         expected_page: int | None, marking: Marking) -> TemplateFit | None:
    """The page's checkboxes read against the blank page it fits (its own first; see
    ``omr.read_matching_template_page``), or None when there is none to try."""
    boxes = {page: [c.box for c in checkboxes] for page, checkboxes in template.items()}
    match = omr.read_matching_template_page(image.array, image.dpi, boxes, expected_page,
                                            marking=marking)
    if match is None:
        return None
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
    return TemplateFit(
        template_page=page, ok=registration.ok,
        fit_error_mm=error if math.isfinite(error) else None,
        upside_down=bool(registration.upside_down),
        upright_turn_cw=registration.upright_turn_cw,
        readings=tuple(BoxRead(c.label, c.option, r.mark, bool(r.checked), float(r.confidence),
                               bool(r.uncertain), upright_y(r.box))
                       for c, r in zip(template[page], readings)))

