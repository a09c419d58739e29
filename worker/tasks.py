"""Thin tasks: take ids, load rows, call one service. Late-acknowledged (settings), so a worker
killed mid-task has its task redelivered; the conditional claim makes redelivery safe."""
from __future__ import annotations

import logging
import re

from celery import chord, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError

log = logging.getLogger(__name__)
RETRYABLE = (OperationalError, ConnectionError)
# Celery's ChordError text: "Dependency <task id> raised PageExtractionError('<message>')".
_CHORD_ERROR = re.compile(r"""raised \w+\((['"])(.*)\1\)\s*$""", re.DOTALL)


def _fail_if_processing(submission_id: int, error: str) -> str:
    """Fail the submission readably unless another run already finished it.

    Used for errors that a retry cannot fix (a hostile file, a bug): without it the task ends
    with an exception, the submission stays `processing`, the sweep re-runs it after
    GRADER_STALE_AFTER_S, and it fails the same way again, forever.
    """
    from exams import services
    from exams.models import Submission

    submission = Submission.objects.get(pk=submission_id)
    if submission.status != Submission.Status.PROCESSING:
        return submission.status
    return services.submission_fail(submission=submission, error=error).status


@shared_task(bind=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=3)
def grade_submission(self, submission_id: int) -> str:
    from exams import grading, services
    from exams.models import Submission
    from grader.pdf import PdfError

    if not services.submission_claim(submission_id=submission_id):
        return "not claimable"
    submission = Submission.objects.select_related("exam").get(pk=submission_id)
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return grading.grade_in_process(submission).status
    try:
        count, texts = grading.page_plan(submission)
    except PdfError as exc:
        return services.submission_fail(submission=submission, error=str(exc)).status
    if all(text is not None for text in texts):
        # Typed PDFs: extraction is cheap, a fan-out would cost more than it saves.
        return grading.grade_in_process(submission, texts).status
    # Scans: one task per page (OCR + checkboxes), joined by `assemble_submission`.
    header = [extract_page.s(submission_id, n, texts[n - 1]) for n in range(1, count + 1)]
    chord(header)(assemble_submission.s(submission_id).on_error(fail_submission.s(submission_id)))
    return "dispatched"


@shared_task(bind=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=2)
def extract_page(self, submission_id: int, number: int, text_layer: str | None) -> dict:
    from exams import grading
    from exams.models import Submission

    submission = Submission.objects.select_related("exam").get(pk=submission_id)
    try:
        return grading.extract_page(submission, number, text_layer)
    except RETRYABLE:
        raise
    except grading.PageExtractionError as exc:
        error = str(exc)
    except SoftTimeLimitExceeded:
        error = grading.time_limit_message(f"reading page {number}")
    except Exception as exc:  # noqa: BLE001 - one hostile page must not crash the chord silently
        log.exception("extracting page %s of submission %s failed", number, submission_id)
        error = f"page {number}: {grading.internal_error_message(exc)}"
    # Fail the submission here, with this page's message: the chord errback only receives a
    # ChordError ("Dependency <uuid> raised PageExtractionError('...')"), not fit for students.
    _fail_if_processing(submission_id, error)
    raise grading.PageExtractionError(error)


@shared_task(bind=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=3)
def assemble_submission(self, pages: list[dict], submission_id: int) -> str:
    from exams import grading
    from exams.models import Submission

    submission = Submission.objects.select_related("exam").get(pk=submission_id)
    if submission.status != Submission.Status.PROCESSING:
        return "already finished"
    try:
        return grading.assemble(submission, pages).status
    except RETRYABLE:
        raise
    except SoftTimeLimitExceeded:
        return _fail_if_processing(submission_id, grading.time_limit_message("grading"))
    except Exception as exc:  # noqa: BLE001 - see _fail_if_processing
        log.exception("assembling submission %s failed", submission_id)
        return _fail_if_processing(submission_id, grading.internal_error_message(exc))


@shared_task
def fail_submission(request, exc, traceback, submission_id: int) -> None:
    """Chord error callback: a page failed after its retries -> the submission fails, readably."""
    from exams import services
    from exams.models import Submission

    submission = Submission.objects.get(pk=submission_id)
    if submission.status == Submission.Status.PROCESSING:
        # Normally extract_page has failed the submission already with the page's message;
        # this is the fallback (e.g. the header task was lost), so unwrap Celery's ChordError.
        match = _CHORD_ERROR.search(str(exc))
        error = match.group(2) if match else "a page could not be read; upload the file again"
        services.submission_fail(submission=submission, error=error)


@shared_task
def sweep_submissions() -> int:
    """Re-enqueue submissions that were never picked up (broker down at upload) or abandoned."""
    from exams import services

    ids = services.stale_submissions()
    for submission_id in ids:
        services.submission_enqueue(submission_id=submission_id)
    return len(ids)
