"""Expression answers that cheat or stall, through a real Celery worker (Redis broker,
PostgreSQL), and the worker's own time limits (issue 18, findings 1 and 2).

* The adversarial corpus as typed PDFs, the slowest first, with good submissions among them:
  every submission ends graded (none failed), no adversarial answer earns credit, the good
  ones get full marks, and the worker is still serving afterwards.
* The task time limits are the worker's: a worker started with a 2 s soft limit stops a
  submission after 2 s although the process that enqueued it (``manage.py grade``) has the
  default 300 s; the stop passes through the grading core's ``except`` blocks and fails the
  submission with the worker's limit in the message.
"""
from __future__ import annotations

import json

import pytest

from tests.hardening.expression_corpus import ADVERSARIAL, EXAM_YAML, GOOD, write_pdf
from tests.hardening.workers import wait_ready, worker_alive
from tests.integration.realservices import (
    celery_workers, manage, postgres_database, project_env, redis_url,
)

SLOW_FIRST = ("slow_trig", "slow_radicals")


def _load(env, tmp_path) -> None:
    exam = tmp_path / "exam.yaml"
    exam.write_text(EXAM_YAML)
    manage(env, "migrate", "--noinput")
    manage(env, "load_exam", str(exam))


@pytest.mark.redis
@pytest.mark.postgres
def test_adversarial_expressions_through_real_worker(tmp_path):
    pdfs = tmp_path / "pdfs"
    pdfs.mkdir()
    order = list(SLOW_FIRST) + sorted(set(ADVERSARIAL) - set(SLOW_FIRST))
    files = [write_pdf(pdfs, name, ADVERSARIAL[name]) for name in order]
    for i, (name, answer) in enumerate(sorted(GOOD.items())):
        files.insert(1 + 5 * i, write_pdf(pdfs, name, answer))
    with postgres_database() as url:
        env = project_env(tmp_path, DATABASE_URL=url, CELERY_BROKER_URL=redis_url(db=11))
        _load(env, tmp_path)
        log = tmp_path / "worker.log"
        with celery_workers(env, concurrency=2, log=log) as proc:
            wait_ready(proc, log)
            # Before the fix the first file alone held a worker process for the 360 s hard
            # limit, three times: this deadline is far below that.
            result = manage(env, "grade", "EXPR-HARD", *map(str, files), "--json", "--timeout", "180")
            alive = worker_alive(proc)
            after = manage(env, "grade", "EXPR-HARD", str(files[1]), "--student", "after",
                           "--json", "--timeout", "60")
    objs = {o["student"]: o for o in map(json.loads, result.stdout.splitlines())}
    assert set(objs) == set(ADVERSARIAL) | set(GOOD)
    for name, obj in objs.items():
        assert obj["status"] in ("graded", "needs_review") and not obj["error"], (name, obj)
        expression, control = obj["answers"]
        assert control["score"] == 1.0, (name, control)
        if name in GOOD:
            assert (expression["score"], expression["status"]) == (3.0, "auto"), (name, expression)
        else:
            assert expression["score"] == 0.0, (name, expression)
    for name in SLOW_FIRST:
        assert "too_complex" in objs[name]["answers"][0]["flags"], objs[name]
    assert "not_finite" in objs["overflow_exp"]["answers"][0]["flags"]
    assert json.loads(after.stdout)["score"] == 4.0
    assert alive, "the worker died while grading the corpus"


@pytest.mark.redis
@pytest.mark.postgres
def test_time_limits_come_from_the_worker(tmp_path):
    pdf = write_pdf(tmp_path, "slow", ADVERSARIAL["slow_trig"])   # > 20 s of SymPy work
    with postgres_database() as url:
        env = project_env(tmp_path, DATABASE_URL=url, CELERY_BROKER_URL=redis_url(db=12))
        _load(env, tmp_path)
        worker_env = dict(env, CELERY_TASK_SOFT_TIME_LIMIT="2", CELERY_TASK_TIME_LIMIT="60",
                          GRADER_EXPRESSION_BUDGET_S="120")
        log = tmp_path / "worker.log"
        with celery_workers(worker_env, concurrency=1, log=log) as proc:
            wait_ready(proc, log)
            # The enqueuing process has the defaults (300 s soft, 360 s hard).
            result = manage(env, "grade", "EXPR-HARD", str(pdf), "--json", "--timeout", "90")
    obj = json.loads(result.stdout)
    assert obj["status"] == "failed", obj
    assert obj["error"].startswith("grading took longer than the 2 s limit"), obj["error"]
