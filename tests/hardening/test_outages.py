"""Issue 18, finding 4: an outage (database, broker, file storage) is retried with backoff for
minutes and never becomes a student-facing failure; only the document's own faults fail a
submission. The last test cuts a real worker's PostgreSQL database in the middle of a scan."""
from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError
from django.utils import timezone
from redis.exceptions import ConnectionError as RedisConnectionError

from exams import grading, services
from exams.models import Submission
from exams.tasks import grade_submission, pages_failed, retry_delay
from tests.hardening.workers import db, held_page_tasks, hold_page_count, wait_for, wait_ready
from tests.integration.realservices import (
    PG_HOST, PG_PORT, ROOT, celery_workers, manage, postgres_database, project_env, redis_url,
)

AI6126 = ROOT / "samples" / "ai6126_a2"
TUM = ROOT / "samples" / "tum_endterm"


def upload(exam, name="seed001_student.pdf", **kwargs) -> Submission:
    content = (AI6126 / "submissions" / name).read_bytes()
    return services.submission_create(exam=exam, student="s", content=content, **kwargs)


def test_retries_keep_going_for_minutes_and_are_bounded(settings):
    settings.GRADER_RETRY_BACKOFF_MAX_S = 60
    delays = [retry_delay(n) for n in range(10)]
    ceilings = [min(60, 2 ** n) for n in range(10)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings))
    assert sum(c / 2 for c in ceilings) >= 150          # at least 2.5 minutes of retrying
    assert max(retry_delay(n) for n in range(10, 40)) <= 60


@pytest.mark.django_db(transaction=True)
def test_an_outage_after_the_claim_is_retried_by_the_same_task(ai6126_exam, monkeypatch):
    """The database drops while a typed submission is stored: the task retries, takes its own
    claim back (no attempt counted) and the submission is graded, not stranded."""
    store = services.submission_store_results
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return store(**kwargs)

    monkeypatch.setattr(services, "submission_store_results", flaky)
    s = upload(ai6126_exam, enqueue=False)
    # throw=False: an eager task runs its retry at once, as a worker would after the countdown.
    grade_submission.apply(args=[s.pk], throw=False)
    s.refresh_from_db()
    assert len(calls) == 2
    assert (s.status, s.score, s.attempts, s.error) == ("needs_review", 12.0, 1, "")


@pytest.mark.django_db(transaction=True)
def test_outages_propagate_and_document_faults_fail(ai6126_exam):
    s = upload(ai6126_exam, enqueue=False)
    assert services.submission_claim(submission_id=s.pk)
    for outage in (OperationalError("the database system is starting up"),
                   RedisConnectionError("Error 111 connecting to 127.0.0.1:6379"),
                   ConnectionResetError(104, "Connection reset by peer"), TimeoutError()):
        def step(outage=outage):
            raise outage
        with pytest.raises(type(outage)):
            grading._guarded(s, step)
        s.refresh_from_db()
        assert s.status == "processing" and s.error == ""

    # The chord's error callback: a page task raised past its retries. Left for the sweep.
    assert pages_failed.apply(args=[None, OperationalError("down"), None, s.pk]).get() == \
        "left for the sweep"
    s.refresh_from_db()
    assert s.status == "processing"

    def damaged():
        raise grading.PdfError("the PDF is damaged and cannot be read")
    assert grading._guarded(s, damaged) is None
    s.refresh_from_db()
    assert s.status == "failed" and "damaged" in s.error


@pytest.mark.django_db(transaction=True)
def test_only_a_later_try_of_the_claiming_task_takes_the_claim_back(ai6126_exam, settings):
    """A retry re-enters; a redelivered copy of the same try (a worker crash) does not, so
    GRADER_MAX_ATTEMPTS still bounds a submission that crashes workers."""
    settings.GRADER_MAX_ATTEMPTS = 2
    s = upload(ai6126_exam, enqueue=False)

    def age():
        Submission.objects.filter(pk=s.pk).update(
            started_at=timezone.now() - timedelta(seconds=settings.GRADER_STALE_AFTER_S + 5))

    assert services.submission_claim(submission_id=s.pk, run=("task-a", 0))
    assert not services.submission_claim(submission_id=s.pk, run=("task-a", 0))   # redelivered
    assert not services.submission_claim(submission_id=s.pk, run=("task-b", 1))   # not its claim
    assert services.submission_claim(submission_id=s.pk, run=("task-a", 1))       # its retry
    assert services.submission_claim(submission_id=s.pk, run=("task-a", 3))
    s.refresh_from_db()
    assert (s.attempts, s.claimed_by) == (1, "task-a#3")
    age()                                            # the worker died: the sweep takes over
    assert services.submission_claim(submission_id=s.pk, run=("sweep-1", 0))
    assert not services.submission_claim(submission_id=s.pk, run=("task-a", 4))   # claim lost
    age()
    assert not services.submission_claim(submission_id=s.pk, run=("sweep-2", 0))
    s.refresh_from_db()
    assert s.status == "failed" and "interrupted 2 times" in s.error and s.attempts == 2


def _cut_database(name: str, seconds: float) -> None:
    """No connection to database ``name`` for ``seconds`` (existing ones are ended), as when
    the database server restarts; other databases on the server are not touched."""
    import psycopg

    admin = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            time.sleep(seconds)
        finally:
            conn.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


@pytest.mark.redis
@pytest.mark.postgres
def test_a_database_outage_during_a_scan_ends_graded(tmp_path):
    truth = json.loads((TUM / "truth.json").read_text())["submissions"][0]
    with postgres_database() as url:
        # Backoff capped at 4 s so the test does not wait minutes; the outage (12 s) still
        # outlasts the whole retry budget tasks had before (2 retries, at most 3 s).
        env = project_env(tmp_path, DATABASE_URL=url, CELERY_BROKER_URL=redis_url(db=7),
                          GRADER_RETRY_BACKOFF_MAX_S="4")
        manage(env, "migrate", "--noinput")
        manage(env, "load_exam", str(TUM / "exam.yaml"))
        # Each page task waits 3 s in the database when it counts its page, so that the cut
        # surely comes while page tasks are running (a page of this scan is read in ~0.1 s).
        hold_page_count(url, seconds=3)
        log = tmp_path / "worker.log"
        with celery_workers(env, concurrency=2, log=log) as proc:
            wait_ready(proc, log)
            code = ("from pathlib import Path; from exams import services; "
                    "from exams.models import Exam; s = services.submission_create("
                    "exam=Exam.objects.get(code='IN2346-ENDTERM'), student='s1', "
                    f"content=Path({str(TUM / truth['file'])!r}).read_bytes()); print(s.pk)")
            pk = int(manage(env, "shell", "-c", code).stdout.split()[-1])
            # A page task is in the middle of its page: the database goes away.
            wait_for(lambda: held_page_tasks(url), 180, "a page task in the middle of its page")
            _cut_database(url.rsplit("/", 1)[1], seconds=12)

            def finished():
                if "ChordError" in log.read_text():     # a page task gave up (the old budget)
                    raise AssertionError(f"a page task gave up:\n{log.read_text()[-3000:]}")
                with db(url) as conn:
                    row = conn.execute("SELECT status, error, attempts FROM exams_submission "
                                       "WHERE id=%s", (pk,)).fetchone()
                return row if row[0] in Submission.FINISHED else None

            status, error, attempts = wait_for(finished, 240, "grading to finish", interval=1)
        text = log.read_text()
    assert "retry: Retry in" in text, "the outage did not reach a task: nothing was tested"
    assert (status, error, attempts) == ("graded", "", 1), (status, error, text[-3000:])


@pytest.mark.django_db(transaction=True)
def test_the_sweep_stops_at_the_first_submission_the_broker_refuses(ai6126_exam, monkeypatch):
    """With the broker down each publish fails fast; the sweep does not try the rest of a
    backlog one by one, and the next sweep picks them all up."""
    for _ in range(3):
        upload(ai6126_exam, enqueue=False)
    Submission.objects.update(created_at=timezone.now() - timedelta(minutes=5))
    tried = []
    monkeypatch.setattr(services, "submission_enqueue",
                        lambda submission_id: tried.append(submission_id) and False)
    assert services.submissions_sweep() == (3, 0) and len(tried) == 1
    monkeypatch.setattr(services, "submission_enqueue",
                        lambda submission_id: tried.append(submission_id) or True)
    assert services.submissions_sweep() == (3, 3)
