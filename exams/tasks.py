"""Celery tasks: take ids, call one service in ``exams.grading`` or ``exams.services``.

Late-acknowledged (settings), so a worker killed mid-task has its task redelivered; the
conditional claim makes redelivery safe. Only outages are retried here (``grading.OUTAGES``:
the database, the broker, the file storage), with exponential backoff for minutes
(``GRADER_TASK_MAX_RETRIES``, ``GRADER_RETRY_BACKOFF_MAX_S``); a document's own faults are
decided by the services, which fail the submission with a readable message instead of raising.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from exams import grading, services


def retry_delay(retries: int) -> float:
    """Seconds before try ``retries + 1``: doubling from 1 s up to the cap, each drawn from
    its upper half (jitter spreads the workers' retries; the half keeps the total retry time
    at least half of the bound: with 10 retries capped at 60 s, 2.5 to 5 minutes)."""
    ceiling = min(float(settings.GRADER_RETRY_BACKOFF_MAX_S), 2.0 ** min(retries, 30))
    return random.uniform(ceiling / 2, ceiling)


def _retrying_outages(task: Task, call: Callable[[], Any]) -> Any:
    """``call()``; an outage schedules a retry of the task (the settings are read when it
    happens, in the worker), and past the last retry the outage propagates."""
    try:
        return call()
    except grading.OUTAGES as exc:
        raise task.retry(exc=exc, countdown=retry_delay(task.request.retries),
                         max_retries=settings.GRADER_TASK_MAX_RETRIES) from exc


@shared_task(bind=True, name=services.GRADE_TASK, ignore_result=True)
def grade_submission(self: Task, submission_id: int) -> str:
    return _retrying_outages(self, lambda: grading.submission_grade(
        submission_id=submission_id, run=(self.request.id or "", self.request.retries)))


@shared_task(bind=True, name=grading.READ_PAGE_TASK)
def read_page(self: Task, submission_id: int, number: int, text_layer: str | None) -> dict | None:
    return _retrying_outages(self, lambda: grading.page_read(
        submission_id=submission_id, number=number, text_layer=text_layer))


@shared_task(bind=True, name=grading.ASSEMBLE_TASK)
def assemble_submission(self: Task, pages: list[dict | None], submission_id: int) -> str:
    return _retrying_outages(self, lambda: grading.submission_assemble(
        submission_id=submission_id, pages=pages))


@shared_task(name=grading.PAGES_FAILED_TASK, ignore_result=True)
def pages_failed(request, exc, traceback, submission_id: int) -> str:
    """Chord error callback: a page task raised past its retries. Not the document's fault
    (those fail the submission in the page task, with their own message): left for the sweep."""
    return grading.submission_pages_failed(submission_id=submission_id, error=exc)


@shared_task(name="exams.sweep_submissions", ignore_result=True)
def sweep_submissions() -> int:
    """Re-enqueue submissions that were never picked up (broker down at upload) or abandoned."""
    return services.submissions_sweep()[1]
