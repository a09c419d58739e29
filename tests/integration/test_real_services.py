"""Grading through the real services: PostgreSQL as the database, Redis as the broker with
real worker processes. Each test runs the project as separate processes, like a deployment."""
import json
from pathlib import Path

import pytest

from tests.integration.realservices import (
    grade_through_workers, manage, postgres_database, project_env,
)

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "ai6126_a2"
PDFS = [str(SAMPLES / "submissions" / "seed001_student.pdf"),
        str(SAMPLES / "submissions" / "seed000_junyu_yin.pdf")]


def check_results(stdout: str) -> None:
    objs = [json.loads(line) for line in stdout.strip().splitlines()]
    assert [o["student"] for o in objs] == ["seed001_student", "seed000_junyu_yin"]
    by_q = {a["question"]: a for a in objs[0]["answers"]}
    assert by_q["1.ii"]["score"] == 2 and by_q["1.iv"]["score"] == 2
    assert "ambiguous" in {a["question"]: a for a in objs[1]["answers"]}["1.ii"]["flags"]
    assert all(o["status"] == "needs_review" for o in objs)


@pytest.mark.postgres
def test_grading_on_postgresql(tmp_path):
    with postgres_database() as url:
        env = project_env(tmp_path, DATABASE_URL=url)
        manage(env, "migrate", "--noinput")
        manage(env, "load_exam", str(SAMPLES / "exam.yaml"))
        result = manage(env, "grade", "AI6126-A2", *PDFS, "--json")
        check_results(result.stdout)
        csv = manage(env, "export_results", "AI6126-A2").stdout
        assert csv.count("\n") == 3


@pytest.mark.redis
@pytest.mark.postgres
def test_grading_through_redis_and_two_worker_processes(tmp_path):
    stdout, log = grade_through_workers(tmp_path, SAMPLES / "exam.yaml", "AI6126-A2", PDFS,
                                        redis_db=11, timeout=120)
    check_results(stdout)
    assert "succeeded" in log


@pytest.mark.redis
@pytest.mark.postgres
def test_worker_replaces_a_database_connection_the_server_killed(tmp_path):
    """Workers keep their PostgreSQL connection from task to task (a new one per task was ~4 %
    of a typed submission's time); one the server has dropped since (restart, idle timeout)
    is noticed and replaced before the next task uses it, not a failed submission."""
    import psycopg

    from tests.integration.realservices import PG_HOST, PG_PORT, celery_workers, redis_url

    with postgres_database() as url:
        env = project_env(tmp_path, DATABASE_URL=url, CELERY_BROKER_URL=redis_url(db=9))
        manage(env, "migrate", "--noinput")
        manage(env, "load_exam", str(SAMPLES / "exam.yaml"))
        with celery_workers(env, concurrency=1, log=tmp_path / "worker.log"):
            first = manage(env, "grade", "AI6126-A2", PDFS[0], "--json", "--timeout", "120")
            name = url.rsplit("/", 1)[1]
            with psycopg.connect(f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres",
                                 autocommit=True) as admin:
                killed = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()", (name,)).fetchone()[0]
            second = manage(env, "grade", "AI6126-A2", PDFS[1], "--json", "--timeout", "120")
    assert killed >= 1, "the worker did not keep its connection between tasks"
    assert json.loads(first.stdout)["status"] == "needs_review"
    assert json.loads(second.stdout)["status"] == "needs_review", second.stdout
