"""Grading a submission: load what the core needs, call it, store what it returns.

The path of one submission, in module order: ``exams.tasks`` (thin Celery tasks) ->
``submission_grade`` here (claims it and decides the route: typed files and the embedded
default in this process, scans one task per page) -> ``grader.scan.read_page`` per page ->
``submission_assemble`` -> ``grader.pipeline.grade_document`` -> ``services``' store.

Failures: a document's own fault (unreadable PDF, a page that cannot be rendered or OCRed in
time) fails the submission with a message the student can act on; an outage of the database,
the broker or the file storage (``OUTAGES``) propagates: the task retries it with backoff for
minutes, and what outlasts the retries is left `processing` for the sweep, never failed;
anything else is a bug and fails this one submission with an internal-error message, never
the worker.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import partial
from typing import Any

from celery import chord, current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.db.models import F
from django.db.models.functions import Least
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from exams import services
from exams.files import local_path
from exams.models import Exam, Submission
from grader.align import BlankPages
from grader.exam import ExamSpec
from grader.layout import BlankLayout
from grader.pages import PageRead
from grader.pdf import PdfError, read_pdf_pages
from grader.pipeline import expression_checker, grade_document
from grader.handwriting import HandwritingModelMissing
from grader.ocr import OcrError, OcrOptions
from grader.render import render_pdf_page
from grader.scan import PageReadError, Render, pdf_renderer, read_page
from grader.scan import warm_up as scan_warm_up
from rubrics.keys import recompute_with

log = logging.getLogger(__name__)
S = Submission.Status

# Celery task names (``exams.tasks`` registers them under these names; this module builds the
# per-page fan-out by name and so never imports the task module).
READ_PAGE_TASK = "exams.read_page"
ASSEMBLE_TASK = "exams.assemble_submission"
# The chord's error callback (the name is kept for chords in flight across an upgrade).
PAGES_FAILED_TASK = "exams.fail_submission"


def _storage_outages() -> tuple[type[BaseException], ...]:
    """Connection errors of S3-compatible storage (botocore), when it is installed."""
    try:
        from botocore.exceptions import ConnectionError as S3ConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:
        return ()
    return (S3ConnectionError, HTTPClientError)


# Infrastructure that is briefly unreachable: the database (down, restarting, refusing
# connections, a lock timeout), the broker or result backend (Redis), the file storage (a
# network connection). Never the document's fault: retried, never shown to the student.
OUTAGES: tuple[type[BaseException], ...] = (
    OperationalError, InterfaceError, BrokerError, RedisConnectionError, RedisTimeoutError,
    ConnectionError, TimeoutError, *_storage_outages())


def warm_up() -> None:
    """Load what grading loads lazily (SymPy), so a worker's pool processes share it."""
    expression_checker()


def warm_up_process() -> None:
    """Load what reading scans loads once per process (``grader.scan.warm_up``). A machine
    without Tesseract or the recogniser still serves typed submissions: what is missing is
    reported by the first page that needs it, as before."""
    try:
        scan_warm_up()
    except (HandwritingModelMissing, OcrError, OSError) as exc:
        log.warning("page reading not warmed up in this process: %s", exc)
        return
    log.debug("page reading warmed up in process %d", os.getpid())


def exam_spec(exam: Exam) -> ExamSpec:
    """The exam as the core needs it: questions with keys, the checkbox template and the
    blank exam's layout (answer regions) and its marking convention."""
    return ExamSpec.build(services.question_specs(exam), exam.omr_template,
                          BlankLayout.from_json(exam.layout), marking=exam.marking)


def _document(submission: Submission) -> str:
    return local_path(submission.file)


def _renderer(submission: Submission) -> Render:
    return pdf_renderer(_document(submission))


def _blank(exam: Exam, spec: ExamSpec) -> BlankPages | None:
    """The blank exam's pages, for aligning scans and subtracting the print (kept per process
    for the exam's current blank PDF)."""
    if spec.layout is None or not exam.blank_pdf:
        return None
    path = local_path(exam.blank_pdf)
    return BlankPages(partial(_render_blank, path), len(spec.layout.page_sizes),
                      key=(exam.pk, exam.blank_pdf.name, exam.updated_at.isoformat()))


def _render_blank(path: str, page: int, dpi: float):
    return render_pdf_page(path, page - 1, dpi=dpi)


def _ocr_options() -> OcrOptions:
    return OcrOptions(timeout_s=settings.GRADER_OCR_TIMEOUT_S, engine=settings.GRADER_OCR_ENGINE)


# ---------------------------------------------------------------- the route

def submission_grade(*, submission_id: int, run: tuple[str, int] | None = None) -> str:
    """Claim the submission and grade it: in this process (typed files, and everything when
    tasks run in-process), or one task per page for scans, joined by ``submission_assemble``.
    ``run``: the task's (id, try number), so a retry after an outage takes its claim back.
    Returns what happened, for the task's log."""
    if not services.submission_claim(submission_id=submission_id, run=run):
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
    on_error = current_app.signature(PAGES_FAILED_TASK, args=(submission_id,))
    chord(header)(callback.on_error(on_error))
    return "dispatched"


def grade_in_process(submission: Submission, texts: list[str | None] | None = None) -> Submission:
    """The whole path in this process. ``texts``: the page text layers, when read already."""
    def run() -> Submission:
        layers = texts if texts is not None else _page_plan(submission)
        exam, render = exam_spec(submission.exam), _renderer(submission)
        blank = _blank(submission.exam, exam)
        pages = []
        for number, text in enumerate(layers, start=1):
            pages.append(read_page(number, text, exam, render, _ocr_options(), blank,
                                   expression_budget_s=settings.GRADER_EXPRESSION_BUDGET_S))
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
    def read():
        exam = exam_spec(submission.exam)
        return read_page(number, text_layer, exam, _renderer(submission), _ocr_options(),
                         _blank(submission.exam, exam),
                         expression_budget_s=settings.GRADER_EXPRESSION_BUDGET_S)

    page = _guarded(submission, read, what=f"reading page {number}")
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
    """Fail the submission readably unless a run already finished it."""
    submission = Submission.objects.get(pk=submission_id)
    if submission.status in Submission.FINISHED:
        return submission.status
    return services.submission_fail(submission=submission, error=error).status


def submission_pages_failed(*, submission_id: int, error: BaseException | None) -> str:
    """The page tasks' error callback: a page task raised past its retries.

    Never the document's fault: a page that cannot be read fails the submission itself, with
    its own message (``_guarded``), and returns. What raises is an outage that outlasted the
    retries, a lost task or a worker killed by the hard time limit; the submission is left
    `processing`, and the sweep grades it again once it is stale (``GRADER_STALE_AFTER_S``),
    at most ``GRADER_MAX_ATTEMPTS`` times.
    """
    log.warning("submission %s: a page task failed (%r); left for the sweep", submission_id, error)
    return "left for the sweep"


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
    graded = grade_document(pages, exam, render=_renderer(submission), recompute=recompute_with,
                            expression_budget_s=settings.GRADER_EXPRESSION_BUDGET_S)
    return services.submission_store_results(submission=submission, pages=graded.pages,
                                             results=graded.answers, flags=graded.flags)


def _guarded(submission: Submission, step: Callable[[], Any], what: str = "grading") -> Any:
    """``step()``, or None after failing the submission with a message fit for the student:
    the document's own faults with their own message, a time limit with advice, a bug as an
    internal error (logged). An outage (``OUTAGES``) is not the document's fault: it propagates."""
    try:
        return step()
    except (PdfError, PageReadError) as exc:
        error = str(exc)
    except OUTAGES:
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
