"""No submission is lost: a broker outage at upload time, and a worker SIGKILLed in the middle
of a page (real Redis, real PostgreSQL, real worker processes started by the test); and no
redelivery or regrade ever duplicates answers."""
from __future__ import annotations

import json
import os
import signal

import pytest

from tests.hardening.workers import (
    db, held_page_tasks, hold_page_count, release_page_count, wait_for, wait_ready,
)
from tests.integration.realservices import (
    ROOT, celery_workers, manage, postgres_database, project_env, redis_url,
)

TUM = ROOT / "samples" / "tum_endterm"
AI6126 = ROOT / "samples" / "ai6126_a2"
FINAL = ("graded", "needs_review", "failed")

CREATE = ("from pathlib import Path; from exams import services; from exams.models import Exam;"
          "s = services.submission_create(exam=Exam.objects.get(code={code!r}), student='s1',"
          " content=Path({path!r}).read_bytes()); s.refresh_from_db(); print(s.pk, s.status)")


def create_submission(env, code: str, path) -> tuple[int, str]:
    out = manage(env, "shell", "-c", CREATE.format(code=code, path=str(path))).stdout
    pk, status = out.strip().splitlines()[-1].split()
    return int(pk), status


def status_of(url: str, pk: int) -> tuple:
    with db(url) as conn:
        return conn.execute("SELECT status, error, attempts, score FROM exams_submission WHERE id=%s",
                            (pk,)).fetchone()


def answer_rows(url: str, pk: int) -> list[tuple]:
    with db(url) as conn:
        return conn.execute(
            "SELECT q.label, a.parsed, a.score FROM exams_answer a JOIN exams_question q "
            "ON q.id = a.question_id WHERE a.submission_id=%s ORDER BY q.label", (pk,)).fetchall()


@pytest.mark.redis
@pytest.mark.postgres
def test_broker_down_at_upload_then_sweep_grades(tmp_path):
    with postgres_database() as url:
        # Nothing listens on 6390: the upload must still be saved, `received`.
        down = project_env(tmp_path, DATABASE_URL=url, CELERY_BROKER_URL="redis://127.0.0.1:6390/0")
        manage(down, "migrate", "--noinput")
        manage(down, "load_exam", str(AI6126 / "exam.yaml"))
        pk, status = create_submission(down, "AI6126-A2", AI6126 / "submissions" / "seed001_student.pdf")
        assert status == "received"
        assert status_of(url, pk)[0] == "received"

        up = project_env(tmp_path, DATABASE_URL=url, CELERY_BROKER_URL=redis_url(db=14))
        # The sweep re-enqueues `received` older than 30 s; age the row instead of waiting.
        with db(url) as conn:
            conn.execute("UPDATE exams_submission SET created_at = created_at - interval '1 hour' "
                         "WHERE id=%s", (pk,))
        log = tmp_path / "worker.log"
        with celery_workers(up, concurrency=2, log=log) as proc:
            wait_ready(proc, log)
            swept = manage(up, "sweep").stdout
            assert "1 stale submissions, 1 enqueued" in swept, swept
            row = wait_for(lambda: (r := status_of(url, pk))[0] in FINAL and r, 120, "grading")
        assert row[0] == "needs_review" and row[3] == 12.0, row
        assert len(answer_rows(url, pk)) == 6


@pytest.mark.redis
@pytest.mark.postgres
def test_worker_sigkilled_mid_page_then_completes_exactly_once(tmp_path):
    truth = json.loads((TUM / "truth.json").read_text())["submissions"][0]
    correct = json.loads((TUM / "truth.json").read_text())["correct"]
    with postgres_database() as url:
        env = project_env(tmp_path, DATABASE_URL=url, CELERY_BROKER_URL=redis_url(db=15))
        manage(env, "migrate", "--noinput")
        manage(env, "load_exam", str(TUM / "exam.yaml"))
        # Hold every page task inside its page (a page is read in ~0.1 s, faster than a
        # test can watch for it): the database makes counting a page wait.
        hold_page_count(url, seconds=600)
        first_log = tmp_path / "worker1.log"
        with celery_workers(env, concurrency=2, log=first_log) as proc:
            wait_ready(proc, first_log)
            pk, _ = create_submission(env, "IN2346-ENDTERM", TUM / truth["file"])
            # A page task is in a pool process, mid-page: kill the whole worker (main
            # process, pool children and their tesseract) like a machine that loses power.
            wait_for(lambda: held_page_tasks(url), 60, "a page task to be held mid-page")
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # The killed worker's database sessions end (as a lost connection ends them).
        release_page_count(url)
        status, _, attempts, _ = status_of(url, pk)
        assert status == "processing" and attempts == 1, (status, attempts)
        assert answer_rows(url, pk) == []

        # Its unacked page tasks would come back after the Redis visibility timeout (>= 60 s);
        # the sweep takes over a submission stuck in `processing` (GRADER_STALE_AFTER_S, 900 s
        # by default) — age it instead of waiting.
        with db(url) as conn:
            conn.execute("UPDATE exams_submission SET started_at = started_at - interval '1 hour' "
                         "WHERE id=%s", (pk,))
        second_log = tmp_path / "worker2.log"
        with celery_workers(env, concurrency=2, log=second_log) as proc:
            wait_ready(proc, second_log)
            swept = manage(env, "sweep").stdout
            assert "1 stale submissions, 1 enqueued" in swept, swept
            row = wait_for(lambda: (r := status_of(url, pk))[0] in FINAL and r, 180, "grading")
            # A second sweep and a redelivered grade task find nothing to do.
            assert "0 stale submissions" in manage(env, "sweep").stdout
        assert row[0] == "graded" and row[2] == 2, row
        rows = answer_rows(url, pk)
        labels = [label for label, _, _ in rows]
        assert len(labels) == len(set(labels)) == 9, labels      # one set of answers
        for label, parsed, score in rows:
            chosen = sorted(truth["selection"][label])
            assert parsed == chosen, (label, parsed, chosen)
            assert score == (2.0 if chosen == sorted(correct[label.split(".")[1]]) else 0.0), label


@pytest.mark.django_db(transaction=True)
def test_redelivery_and_regrade_never_duplicate_answers(ai6126_exam):
    """In-process: the join run twice (a redelivered assemble), the grade task redelivered
    after success, and two regrades leave exactly one answer per question."""
    from exams import grading, services
    from exams.models import Answer, Submission
    from exams.tasks import assemble_submission, grade_submission

    content = (AI6126 / "submissions" / "seed001_student.pdf").read_bytes()
    submission = services.submission_create(exam=ai6126_exam, student="s", content=content)
    submission.refresh_from_db()
    n = ai6126_exam.questions.count()
    assert submission.status == "needs_review" and submission.answers.count() == n

    # A redelivered grade task: the conditional claim refuses it.
    assert grade_submission.apply(args=[submission.pk]).get() == "not claimable"
    # A redelivered join after the submission finished: refused too.
    Submission.objects.filter(pk=submission.pk).update(status="processing")
    pages = [grading.page_read(submission_id=submission.pk, number=i, text_layer=text)
             for i, text in enumerate(grading.read_pdf_pages(submission.file.path).texts, 1)]
    Submission.objects.filter(pk=submission.pk).update(status="needs_review")
    assert assemble_submission.apply(args=[pages, submission.pk]).get() == "already finished"
    # The join itself run twice while processing (two deliveries racing): answers replaced.
    for _ in range(2):
        Submission.objects.filter(pk=submission.pk).update(status="processing")
        grading.submission_assemble(submission_id=submission.pk, pages=pages)
    assert Answer.objects.filter(submission=submission).count() == n
    for _ in range(2):
        submission.refresh_from_db()
        services.submission_regrade(submission=submission)
    submission.refresh_from_db()
    assert submission.status == "needs_review" and submission.score == 12.0
    assert Answer.objects.filter(submission=submission).count() == n
