"""Grading one submission: per-page extraction (text layer, or OCR + checkboxes for scans)
and the join that segments, parses, scores and stores. Celery tasks call these; so does the
in-process path of the embedded default."""
from __future__ import annotations

import logging
import math
from dataclasses import asdict
from typing import Any

from django.conf import settings
from django.db.models import F
from django.db.models.functions import Least

from exams import services
from exams.files import local_path
from exams.models import Submission
from grader.pdf import PdfError, read_pdf_pages
from grader.types import (
    FLAG_AMBIGUOUS, FLAG_REGISTRATION, FLAG_UNCERTAIN_BOX, PageText, Parsed,
)

log = logging.getLogger(__name__)
SCAN_DPI = 300


class PageExtractionError(Exception):
    """A page could not be read; the message is shown to the student/TA."""


def page_plan(submission: Submission) -> tuple[int, list[str | None]]:
    """Page count and text layers (None = needs OCR). Raises PdfError for a bad file."""
    pdf = read_pdf_pages(local_path(submission.file), max_pages=settings.MAX_PDF_PAGES)
    Submission.objects.filter(pk=submission.pk).update(pages_total=pdf.count)
    return pdf.count, list(pdf.texts)


def _text_layer_page(number: int, text: str) -> dict[str, Any]:
    return {"number": number, "text": text, "source": "text_layer", "confidence": 1.0,
            "words": [], "info": {}}


def extract_page(submission: Submission, number: int, text_layer: str | None) -> dict[str, Any]:
    """One page as a JSON-able dict (so it can travel between Celery tasks)."""
    if text_layer is not None:
        page = _text_layer_page(number, text_layer)
    else:
        page = _extract_scanned_page(submission, number)
    # Capped: a page task redelivered after a worker was killed counts its page again.
    Submission.objects.filter(pk=submission.pk).update(
        pages_done=Least(F("pages_done") + 1, F("pages_total")))
    return page


def extract_all_pages(submission: Submission, texts: list[str | None]) -> list[dict[str, Any]]:
    """Every page in this process. Scans report progress page by page; text-layer pages take
    milliseconds and are counted when the results are stored (an UPDATE per page was most of
    a typed submission's database time)."""
    return [_text_layer_page(n, t) if t is not None else extract_page(submission, n, None)
            for n, t in enumerate(texts, start=1)]


def _extract_scanned_page(submission: Submission, number: int) -> dict[str, Any]:
    from grader.ocr import OcrError, OcrTimeout, read_scanned_page
    from grader.render import RenderError, render_pdf_page

    try:
        image = render_pdf_page(local_path(submission.file), number - 1, dpi=SCAN_DPI)
    except RenderError as exc:
        raise PageExtractionError(f"page {number} cannot be rendered: {exc}") from exc
    info: dict[str, Any] = {}
    template_pages = _template_pages(submission.exam.omr_template or {})
    rotation = None
    if number in template_pages:
        info["boxes"] = _read_boxes(image, template_pages, expected_page=number)
        fit = info["boxes"]["registration"]
        if fit["ok"]:
            # The page fitted the blank exam: its orientation is known, no need to guess it.
            rotation = fit.get("upright_turn_cw", 180 if fit["upside_down"] else 0)
    try:
        read = read_scanned_page(image, timeout_s=settings.GRADER_OCR_TIMEOUT_S,
                                 known_rotation=rotation)
    except OcrTimeout as exc:
        # Tesseract is stopped at the per-page limit (pytesseract kills it): the page is
        # abnormal (dense print, heavy noise, not a scan of the exam), so say what to do.
        raise PageExtractionError(
            f"page {number} could not be read within {settings.GRADER_OCR_TIMEOUT_S} s "
            f"(the scan may be very dense, noisy or not an exam page); scan it again at "
            f"300 dpi and upload the new file") from exc
    except OcrError as exc:
        raise PageExtractionError(f"page {number}: {exc}") from exc
    # The words' boxes place an answer on its page for the review queue's crop, and
    # checkboxes without a template beside their options.
    mm = 25.4 / image.dpi
    info["word_boxes"] = [[round(v * mm, 2) for v in w.box] for w in read.words]
    info["ocr_turn_cw"] = read.turned_cw
    if _untemplated_choices(submission.exam):
        info["marks"] = _marks(read, number, image.dpi)
    text = read.text
    return {"number": number, "text": text.text, "source": "ocr", "confidence": text.confidence,
            "words": [list(w) for w in text.words], "info": info}


def _untemplated_choices(exam) -> list[str]:
    """Multiple-choice questions whose boxes the exam does not locate (no blank PDF, no
    ``boxes:``): on scans they are read from the boxes beside their printed options."""
    template = exam.omr_template or {}
    return [label for label in exam.questions.filter(kind="multiple_choice")
            .order_by("order").values_list("label", flat=True) if label not in template]


def _marks(read, number: int, dpi: float) -> list[list]:
    """Every checkbox on the page as read, in mm on the straightened page the OCR words were
    read on (``omr.by_text`` matches them up with the words later)."""
    import numpy as np

    from grader.omr.by_text import read_marks

    marks = read_marks(np.asarray(read.image.convert("L"), dtype=np.uint8), dpi, number)
    return [[m.cx, m.cy, m.side, m.mark, m.checked, m.confidence, m.uncertain, m.predicted]
            for m in marks]


def _template_pages(template: dict) -> dict[int, list[dict]]:
    """The exam's checkboxes by page of the blank exam: label, option and mm box."""
    pages: dict[int, list[dict]] = {}
    for label, entries in template.items():
        for option, (page, x, y, w, h) in enumerate(entries, start=1):
            pages.setdefault(int(page), []).append(
                {"label": label, "option": option, "x": x, "y": y, "w": w, "h": h})
    return pages


def _read_boxes(image, template_pages: dict[int, list[dict]],
                expected_page: int | None) -> dict[str, Any] | None:
    """The page's checkboxes read against the blank page it fits (its own first; see
    ``omr.read_matching_template_page``), or None when there is none to try."""
    from grader import omr

    boxes = {page: [omr.TemplateBox(page=page, x=b["x"], y=b["y"], w=b["w"], h=b["h"])
                    for b in entries] for page, entries in template_pages.items()}
    match = omr.read_matching_template_page(image.array, image.dpi, boxes, expected_page)
    if match is None:
        return None
    page, registration, readings = match
    fit_error = registration.fit_error_mm
    # Where each box is on the upright page (mm from its top), for the review queue's crop.
    # The readings are in the frame the fit was made in (turned a quarter turn for a sheet fed
    # sideways), which is upright or upside down.
    height = image.array.shape[1 if registration.quarter_turns % 2 else 0]
    mm = 25.4 / image.dpi

    def upright_y(box) -> float | None:
        if not registration.ok:
            return None
        return round((height - box.cy if registration.upside_down else box.cy) * mm, 1)

    return {
        "template_page": page,
        # JSON has no infinity: a page where nothing matched has no fit error to show.
        "registration": {"ok": registration.ok,
                         "fit_error_mm": fit_error if math.isfinite(fit_error) else None,
                         "upside_down": bool(registration.upside_down),
                         "upright_turn_cw": registration.upright_turn_cw},
        "readings": [{"label": b["label"], "option": b["option"], "mark": r.mark,
                      "checked": r.checked, "confidence": r.confidence, "uncertain": r.uncertain,
                      "y_mm": upright_y(r.box)}
                     for b, r in zip(template_pages[page], readings)],
    }


def place_unexamined_pages(submission: Submission, pages: list[dict]) -> None:
    """Give the blank pages that no scanned page fitted a second chance.

    A page task reads checkboxes only on pages where the blank exam has some, so a box page
    that arrived at another position (an extra sheet in front, pages out of order) is found
    here: the scanned pages never examined are fitted to the blank pages still unmatched.
    Costs nothing when every box page fitted where expected.
    """
    from grader.render import RenderError, render_pdf_page

    template_pages = _template_pages(submission.exam.omr_template or {})
    fitted = {p["info"]["boxes"].get("template_page", p["number"]) for p in pages
              if p.get("info", {}).get("boxes") and p["info"]["boxes"]["registration"]["ok"]}
    unmatched = {n: template_pages[n] for n in template_pages if n not in fitted}
    for page in pages:
        if not unmatched:
            return
        if page["source"] != "ocr" or page.get("info", {}).get("boxes"):
            continue
        try:
            image = render_pdf_page(local_path(submission.file), page["number"] - 1, dpi=SCAN_DPI)
        except RenderError:
            continue
        boxes = _read_boxes(image, unmatched, expected_page=None)
        if boxes is not None:
            page.setdefault("info", {})["boxes"] = boxes
            unmatched.pop(boxes["template_page"])


def box_answers_from_pages(pages: list[dict]) -> dict[str, Parsed]:
    """Multiple-choice selections read from checkboxes, with flags where unsure."""
    by_template: dict[int, list[dict]] = {}
    for page in pages:
        boxes = page.get("info", {}).get("boxes")
        if boxes:
            by_template.setdefault(boxes.get("template_page", page["number"]), []).append(boxes)
    by_label: dict[str, list[tuple[int, dict, bool]]] = {}
    disagree: set[str] = set()
    for entries in by_template.values():
        # A blank page fitted by one scanned page is read from it; fitted by none, from the
        # page at its position (flagged); fitted by two (scanned twice), from the first, and
        # where the two readings differ the question is flagged.
        fitted = [e for e in entries if e["registration"]["ok"]]
        for first, other in zip(fitted, fitted[1:]):
            disagree |= {a["label"] for a, b in zip(first["readings"], other["readings"])
                         if a["checked"] != b["checked"]}
        chosen = (fitted or entries)[0]
        for reading in chosen["readings"]:
            by_label.setdefault(reading["label"], []).append(
                (reading["option"], reading, chosen["registration"]["ok"]))
    return {label: _choice_answer([(option, r) for option, r, _ in readings], "boxes",
                                  unplaced=not all(fitted for _, _, fitted in readings),
                                  ambiguous=label in disagree)
            for label, readings in by_label.items()}


def _choice_answer(readings: list[tuple[int, dict | None]], evidence: str, *,
                   unplaced: bool = False, ambiguous: bool = False) -> Parsed:
    """A multiple-choice selection from its boxes' readings, (option, reading) with None for a
    box not found; flagged where a box is missing or its page did not fit, where two scans
    disagree, and where a box is in the uncertain band."""
    found = [(option, r) for option, r in readings if r is not None]
    flags: list[str] = []
    if unplaced or len(found) < len(readings):
        flags.append(FLAG_REGISTRATION)
    if ambiguous:
        flags.append(FLAG_AMBIGUOUS)
    if any(r["uncertain"] for _, r in found):
        flags.append(FLAG_UNCERTAIN_BOX)
    marks = ", ".join(f"{o}:{r['mark'] if r else 'not found'}"
                      for o, r in sorted(readings, key=lambda t: t[0]))
    return Parsed(sorted(o for o, r in found if r["checked"]), evidence=f"{evidence} {marks}",
                  confidence=min((r["confidence"] for _, r in found), default=1.0),
                  flags=tuple(flags))


def box_answers_by_option_text(pages: list[dict], specs: list, labels: list[str]
                               ) -> dict[str, Parsed]:
    """Multiple-choice selections for ``labels`` from the boxes beside their printed options
    (scans of an exam without a box template). An option whose box was not found is flagged
    ``registration_failed``; a question with no box found at all is left to its text. Where
    the boxes are is recorded in their page's info (``choice_boxes``) for the review crop."""
    from grader.omr.by_text import ChoiceQuestion, PlacedMark, PlacedWord, marks_by_option_text

    words, marks = [], []
    for page in pages:
        info = page.get("info", {})
        if "marks" not in info:
            continue
        words += [PlacedWord(page["number"], w[0], *box)
                  for w, box in zip(page["words"], info["word_boxes"])]
        marks += [PlacedMark(page["number"], *m) for m in info["marks"]]
    wanted = set(labels)
    questions = [ChoiceQuestion(s.label, s.title, s.options) for s in specs
                 if s.label in wanted and s.options]
    answers = {}
    infos = {page["number"]: page.setdefault("info", {}) for page in pages}
    for label, placed in marks_by_option_text(questions, words, marks).items():
        for m in placed:
            if m is not None:   # where the box is on the upright page, for the review crop
                infos[m.page].setdefault("choice_boxes", {}).setdefault(label, []).append(m.cy)
        answers[label] = _choice_answer(
            [(option, None if m is None else asdict(m)) for option, m in enumerate(placed, 1)],
            "boxes beside the options")
    return answers


def assemble(submission: Submission, pages: list[dict]) -> Submission:
    """Join: segment the text, parse, score, store; sets graded / needs_review."""
    from grader.pipeline import grade_pages
    from rubrics.keys import recompute_with

    pages = sorted(pages, key=lambda p: p["number"])
    place_unexamined_pages(submission, pages)
    page_texts = [PageText(number=p["number"], text=p["text"], source=p["source"],
                           confidence=p["confidence"], words=tuple(tuple(w) for w in p["words"]))
                  for p in pages]
    questions = list(submission.exam.questions.order_by("order"))
    specs = services.question_specs(submission.exam, questions)
    box_answers = box_answers_from_pages(pages)
    if any("marks" in p.get("info", {}) for p in pages):
        untemplated = [label for label in _untemplated_choices(submission.exam)
                       if label not in box_answers]
        box_answers.update(box_answers_by_option_text(pages, specs, untemplated))
    results = grade_pages(page_texts, specs, box_answers=box_answers, recompute=recompute_with)
    infos = {p["number"]: p.get("info", {}) for p in pages}
    return services.submission_store_results(submission=submission, pages=page_texts,
                                             results=results, page_infos=infos,
                                             questions=questions)


def internal_error_message(exc: BaseException) -> str:
    return (f"internal error while grading ({type(exc).__name__}); a TA has been notified via "
            f"the failed status")


def time_limit_message(what: str) -> str:
    return (f"{what} took longer than the {settings.CELERY_TASK_SOFT_TIME_LIMIT} s limit and "
            f"was stopped; the file may be unusually large or complex, export or scan it again")


def grade_in_process(submission: Submission, texts: list[str | None] | None = None) -> Submission:
    """The whole path in this process: the embedded default, and typed PDFs in a worker.

    ``texts`` are the page text layers when the caller has read them already. A database
    outage propagates (a Celery task retries it; the sweep picks the submission up later);
    anything else fails this one submission with a readable error.
    """
    from celery.exceptions import SoftTimeLimitExceeded
    from django.db import OperationalError

    try:
        if texts is None:
            _, texts = page_plan(submission)
        return assemble(submission, extract_all_pages(submission, texts))
    except (PdfError, PageExtractionError) as exc:
        return services.submission_fail(submission=submission, error=str(exc))
    except OperationalError:
        raise
    except SoftTimeLimitExceeded:
        return services.submission_fail(submission=submission, error=time_limit_message("grading"))
    except Exception as exc:  # noqa: BLE001 - one bad submission must not take the caller down
        log.exception("grading submission %s failed", submission.pk)
        return services.submission_fail(submission=submission, error=internal_error_message(exc))
