"""Grading a submission: load what the core needs, call it, store what it returns.

The path of one submission, in module order: ``exams.tasks`` (thin Celery tasks) ->
``submission_grade`` here (claims it and decides the route: typed files and the embedded
default in this process, scans one task per page) -> ``grader.scan.read_page`` per page ->
``submission_assemble`` -> ``grader.pipeline.grade_document`` -> ``services``' store.

Failures: a document's own fault (unreadable PDF, a page that cannot be rendered or OCRed in
time) fails the submission with a message the student can act on; a database outage
propagates (the task retries it, the sweep picks the submission up later); anything else is a
bug and fails this one submission with an internal-error message, never the worker.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import chord, current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError
from django.db.models import F
from django.db.models.functions import Least

from exams import services
from exams.models import Exam, Submission
from grader.exam import ExamSpec
from grader.pages import PageRead
from grader.pdf import PdfError, read_pdf_pages
from grader.pipeline import expression_checker, grade_document
from grader.scan import OcrOptions, PageReadError, Render, pdf_renderer, read_page
from rubrics.keys import recompute_with

log = logging.getLogger(__name__)
S = Submission.Status

# Celery task names (``exams.tasks`` registers them under these names; this module builds the
# per-page fan-out by name and so never imports the task module).
READ_PAGE_TASK = "exams.read_page"
ASSEMBLE_TASK = "exams.assemble_submission"
FAIL_TASK = "exams.fail_submission"


def warm_up() -> None:
    """Load what grading loads lazily (SymPy), so a worker's pool processes share it."""
    expression_checker()


def exam_spec(exam: Exam) -> ExamSpec:
    """The exam as the core needs it: questions with keys, the checkbox template and the
    marking convention."""
    return ExamSpec.build(services.question_specs(exam), exam.omr_template,
                          marking=exam.marking)


def _document(submission: Submission) -> str:
    return submission.file.path


def _renderer(submission: Submission) -> Render:
    return pdf_renderer(_document(submission))


def _ocr_options() -> OcrOptions:
    return OcrOptions(timeout_s=settings.GRADER_OCR_TIMEOUT_S, engine=settings.GRADER_OCR_ENGINE)


# ---------------------------------------------------------------- the route

def submission_grade(*, submission_id: int) -> str:
    """Claim the submission and grade it: in this process (typed files, and everything when
    tasks run in-process), or one task per page for scans, joined by ``submission_assemble``.
    Returns what happened, for the task's log."""
    if not services.submission_claim(submission_id=submission_id):
        return "not claimable"
    submission = Submission.objects.select_related("exam").get(pk=submission_id)
    texts = _guarded(submission, lambda: _page_plan(submission))
    if texts is None:
        return submission.status
    if settings.CELERY_TASK_ALWAYS_EAGER or all(t is not None for t in texts):
        # Typed PDFs: extraction is cheap, a fan-out would cost more than it saves.
        return grade_in_process(submission, texts).status
    header = [current_app.signature(READ_PAGE_TASK, args=(submission_id, n, text))
              for n, text in enumerate(texts, start=1)]
    callback = current_app.signature(ASSEMBLE_TASK, args=(submission_id,))
    chord(header)(callback.on_error(current_app.signature(FAIL_TASK, args=(submission_id,))))
    return "dispatched"


def grade_in_process(submission: Submission, texts: list[str | None] | None = None) -> Submission:
    """The whole path in this process. ``texts``: the page text layers, when read already."""
    def run() -> Submission:
        layers = texts if texts is not None else _page_plan(submission)
        exam, render = exam_spec(submission.exam), _renderer(submission)
        pages = []
        for number, text in enumerate(layers, start=1):
            pages.append(read_page(number, text, exam, render, _ocr_options()))
            if text is None:      # scans report progress page by page
                _count_page(submission)
        return _store(submission, pages, exam)

    result = _guarded(submission, run)
    return result if result is not None else submission


def page_read(*, submission_id: int, number: int, text_layer: str | None) -> dict[str, Any] | None:
    """One page of a scan, read in a page task: the ``PageRead`` as JSON for the join, or None
    when the page cannot be read (the submission is failed with the page's message)."""
    submission = Submission.objects.select_related("exam").get(pk=submission_id)
    if submission.status != S.PROCESSING:
        return None
    page = _guarded(submission, lambda: read_page(
        number, text_layer, exam_spec(submission.exam), _renderer(submission), _ocr_options()),
        what=f"reading page {number}")
    if page is None:
        return None
    _count_page(submission)
    return page.to_json()


def submission_assemble(*, submission_id: int, pages: list[dict[str, Any] | None]) -> str:
    """The join of a scan's page tasks: grade the pages read and store the results."""
    submission = Submission.objects.select_related("exam").get(pk=submission_id)
    if submission.status != S.PROCESSING:
        return "already finished"    # a page failed it, or another run finished it
    if any(p is None for p in pages):
        return "a page failed"
    reads = [PageRead.from_json(p) for p in pages]
    done = _guarded(submission, lambda: _store(submission, reads, exam_spec(submission.exam)))
    return (done or submission).status


def submission_fail_unless_finished(*, submission_id: int, error: str) -> str:
    """Fail the submission readably unless a run already finished it (also the page tasks'
    error callback: a page task that ended in an error its retries could not fix)."""
    submission = Submission.objects.get(pk=submission_id)
    if submission.status in Submission.FINISHED:
        return submission.status
    return services.submission_fail(submission=submission, error=error).status


# ---------------------------------------------------------------- steps

def _page_plan(submission: Submission) -> list[str | None]:
    """Each page's text layer (None = needs OCR); PdfError for a file that is not usable."""
    pdf = read_pdf_pages(_document(submission), max_pages=settings.MAX_PDF_PAGES)
    Submission.objects.filter(pk=submission.pk).update(pages_total=pdf.count)
    return list(pdf.texts)


def _count_page(submission: Submission) -> None:
    # Capped: a page task redelivered after a worker was killed counts its page again.
    Submission.objects.filter(pk=submission.pk).update(
        pages_done=Least(F("pages_done") + 1, F("pages_total")))


def _store(submission: Submission, pages: list[PageRead], exam: ExamSpec) -> Submission:
    graded = grade_document(pages, exam, render=_renderer(submission), recompute=recompute_with)
    return services.submission_store_results(submission=submission, pages=graded.pages,
                                             results=graded.answers)


def _guarded(submission: Submission, step: Callable[[], Any], what: str = "grading") -> Any:
    """``step()``, or None after failing the submission with a message fit for the student:
    the document's own faults with their own message, a time limit with advice, a bug as an
    internal error (logged). A database outage is not the document's fault: it propagates."""
    try:
        return step()
    except (PdfError, PageReadError) as exc:
        error = str(exc)
    except OperationalError:
        raise
    except SoftTimeLimitExceeded:
        error = (f"{what} took longer than the {settings.CELERY_TASK_SOFT_TIME_LIMIT} s limit "
                 f"and was stopped; the file may be unusually large or complex, export or scan "
                 f"it again")
    except Exception as exc:  # noqa: BLE001 - one bad submission must not take the caller down
        log.exception("%s submission %s failed", what, submission.pk)
        error = (f"internal error while {what} ({type(exc).__name__}); a TA has been notified "
                 f"via the failed status")
    submission_fail_unless_finished(submission_id=submission.pk, error=error)
    return None
