"""Celery tasks: take ids, call one service in ``exams.grading`` or ``exams.services``.

Late-acknowledged (settings), so a worker killed mid-task has its task redelivered; the
conditional claim makes redelivery safe. Only infrastructure errors are retried here (a
database or broker outage); a document's own faults are decided by the services, which fail
the submission with a readable message instead of raising.
"""
from __future__ import annotations

from celery import shared_task
from django.db import OperationalError

from exams import grading, services

RETRYABLE = (OperationalError, ConnectionError)


@shared_task(name=services.GRADE_TASK, autoretry_for=RETRYABLE, retry_backoff=True,
             max_retries=3)
def grade_submission(submission_id: int) -> str:
    return grading.submission_grade(submission_id=submission_id)


@shared_task(name=grading.READ_PAGE_TASK, autoretry_for=RETRYABLE, retry_backoff=True,
             max_retries=2)
def read_page(submission_id: int, number: int, text_layer: str | None) -> dict | None:
    return grading.page_read(submission_id=submission_id, number=number, text_layer=text_layer)


@shared_task(name=grading.ASSEMBLE_TASK, autoretry_for=RETRYABLE, retry_backoff=True,
             max_retries=3)
def assemble_submission(pages: list[dict | None], submission_id: int) -> str:
    return grading.submission_assemble(submission_id=submission_id, pages=pages)


@shared_task(name=grading.FAIL_TASK)
def fail_submission(request, exc, traceback, submission_id: int) -> str:
    """Chord error callback: a page task raised after its retries (an outage that outlasted
    them, a lost task). Pages that cannot be read never raise: they fail the submission
    themselves with their own message."""
    return grading.submission_fail_unless_finished(
        submission_id=submission_id,
        error="a page could not be read because the grading service had a problem; "
              "the file will be graded again when it is uploaded again")


@shared_task(name="exams.sweep_submissions")
def sweep_submissions() -> int:
    """Re-enqueue submissions that were never picked up (broker down at upload) or abandoned."""
    return services.submissions_sweep()[1]
