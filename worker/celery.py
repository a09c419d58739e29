"""The Celery app. Redis is the broker in deployments; with no broker configured, settings make
tasks run eagerly in-process (the embedded default)."""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Tesseract: one thread per process; parallelism comes from worker processes.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

app = Celery("grader")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["worker"])
app.conf.beat_schedule = {
    "sweep-stale-submissions": {"task": "worker.tasks.sweep_submissions", "schedule": 60.0},
}
