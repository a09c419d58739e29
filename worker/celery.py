"""The Celery app. Redis is the broker in deployments; with no broker configured, settings make
tasks run eagerly in-process (the embedded default). The tasks live in their Django app
(``exams.tasks``), found by autodiscovery."""
from __future__ import annotations

import os

from celery import Celery
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import before_task_publish, task_prerun, worker_init, worker_process_init

from grader import limits

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("grader")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {
    "sweep-stale-submissions": {"task": "exams.sweep_submissions", "schedule": 60.0},
}
# The soft time limit derives from Exception: the grading core lets it through its broad
# `except Exception` blocks (a hostile file must not crash the worker) instead of swallowing it.
limits.register_interrupts(SoftTimeLimitExceeded)


@before_task_publish.connect
def leave_time_limits_to_the_worker(headers=None, **_: object) -> None:
    """Publish tasks without time limits, so the worker's own CELERY_TASK_SOFT_TIME_LIMIT and
    CELERY_TASK_TIME_LIMIT apply.

    Celery copies a task's limits into every message it sends, and those were the *sending*
    process's settings (the web server's, or the beat's): a worker configured for 60 s still
    ran a task for the 300 s the web process had. A message without limits makes the worker
    fall back to its own configuration. Nothing here sets per-call limits.
    """
    if headers is not None and "timelimit" in headers:
        headers["timelimit"] = (None, None)


@worker_init.connect
def warm_up_grading(**_: object) -> None:
    """Load the grading path's lazy imports in the worker's parent before it forks its pool.

    Django's set-up (which Celery runs first) has imported the task module and with it the
    grading path; what it leaves to first use (SymPy, ~0.5 s) would otherwise be paid by every
    new pool process on its first task, again after each ``--max-tasks-per-child`` recycle.
    """
    from exams.grading import warm_up

    warm_up()


@worker_process_init.connect
def warm_up_page_reading(**_: object) -> None:
    """Load in each new pool process what reading a scanned page loads once in a process's
    life (libtesseract, the handwriting recogniser and character classifier: ~0.3 s), so
    that no student's first page after a start or a ``--max-tasks-per-child`` recycle waits
    for it. Done in the child: neither library's state survives a fork."""
    from exams.grading import warm_up_process

    warm_up_process()


@task_prerun.connect
def reuse_healthy_db_connections(task=None, **_: object) -> None:
    """What Django does at the start of a request: drop a connection that is broken or past
    DB_CONN_MAX_AGE, and health-check the kept one on first use.

    Celery's own Django fixup closes every connection before and after each task unless
    CELERY_DB_REUSE_MAX is set (settings set it), and a new PostgreSQL connection per task
    was ~4 % of a typed submission's time. Eager tasks run inside the caller's transaction
    (tests, the embedded default): their connection is the caller's and is left alone.
    """
    if task is not None and getattr(task.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
