"""Thin tasks: take ids, load rows, call one service. Late-acknowledged (settings), so a worker
killed mid-task has its task redelivered; the conditional claim makes redelivery safe."""
from __future__ import annotations

import logging

from celery import chord, shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import OperationalError

log = logging.getLogger(__name__)
RETRYABLE = (OperationalError, ConnectionError)


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
        services.submission_fail(submission=submission, error=str(exc))
        return "failed"
    if all(text is not None for text in texts):
        # Typed PDFs: extraction is cheap, a fan-out would cost more than it saves.
        pages = [grading.extract_page(submission, n, texts[n - 1]) for n in range(1, count + 1)]
        return grading.assemble(submission, pages).status
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
    except SoftTimeLimitExceeded:
        raise grading.PageExtractionError(f"page {number} took too long to read") from None


@shared_task(bind=True, autoretry_for=RETRYABLE, retry_backoff=True, max_retries=3)
def assemble_submission(self, pages: list[dict], submission_id: int) -> str:
    from exams import grading
    from exams.models import Submission

    submission = Submission.objects.select_related("exam").get(pk=submission_id)
    if submission.status != Submission.Status.PROCESSING:
        return "already finished"
    return grading.assemble(submission, pages).status


@shared_task
def fail_submission(request, exc, traceback, submission_id: int) -> None:
    """Chord error callback: a page failed after its retries -> the submission fails, readably."""
    from exams import services
    from exams.models import Submission

    submission = Submission.objects.get(pk=submission_id)
    if submission.status == Submission.Status.PROCESSING:
        services.submission_fail(submission=submission, error=str(exc) or type(exc).__name__)


@shared_task
def sweep_submissions() -> int:
    """Re-enqueue submissions that were never picked up (broker down at upload) or abandoned."""
    from exams import services

    ids = services.stale_submissions()
    for submission_id in ids:
        services.submission_enqueue(submission_id=submission_id)
    return len(ids)
