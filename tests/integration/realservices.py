"""Helpers for tests that run the project against the machine's real PostgreSQL and Redis,
as separate processes (manage.py commands and Celery workers), like a deployment does."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST = "127.0.0.1"
# Developers running several checkouts' suites at once give each its own Redis server.
REDIS_PORT = int(os.environ.get("GRADER_TEST_REDIS_PORT", "6379"))


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# Opt-out for a machine without the services, named on purpose: by default a missing
# PostgreSQL or Redis is a failure, never a silent skip of the deployment-path tests.
WITHOUT_SERVICES = "GRADER_TESTS_WITHOUT_SERVICES"


def require(host: str, port: int, what: str) -> None:
    if reachable(host, port):
        return
    if os.environ.get(WITHOUT_SERVICES) == "1":
        pytest.skip(f"{what} tests skipped on request ({WITHOUT_SERVICES}=1): nothing listens "
                    f"on {host}:{port}")
    pytest.fail(f"{what} is not reachable on {host}:{port}: start it, or run the tests with "
                f"{WITHOUT_SERVICES}=1 to skip the tests that need it")


@contextmanager
def postgres_database():
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    require(PG_HOST, PG_PORT, "PostgreSQL")
    name = f"grader_it_{uuid.uuid4().hex[:10]}"
    admin = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://postgres@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def project_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DJANGO_", "CELERY_", "DATABASE_", "REDIS_"))}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "MEDIA_ROOT": str(tmp_path / "media"),
                "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "OMP_THREAD_LIMIT": "1",
                "PYTHONPATH": str(ROOT)})
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


@contextmanager
def celery_workers(env: dict[str, str], concurrency: int = 2, log: Path | None = None):
    """A real Celery worker (prefork, ``concurrency`` processes) for the duration."""
    log_file = open(log or os.devnull, "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "worker", "worker", "--loglevel=INFO",
         f"--concurrency={concurrency}", "--pool=prefork", "--without-gossip", "--without-mingle",
         f"--hostname=test-{uuid.uuid4().hex[:6]}@%h"],
        env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield proc
    finally:
        terminate(proc, grace=20)
        log_file.close()


def terminate(proc: subprocess.Popen, grace: float) -> None:
    """SIGTERM, then SIGKILL if still running after ``grace`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def redis_url(db: int) -> str:
    require(REDIS_HOST, REDIS_PORT, "Redis")
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
    client.flushdb()
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


def grade_through_workers(tmp_path: Path, exam_yaml: Path, code: str, pdfs: list[str], *,
                          redis_db: int, timeout: int = 300) -> tuple[str, str]:
    """Fresh PostgreSQL DB + Redis broker + 2 worker processes: load the exam, grade the PDFs
    with `grade --json`; returns (stdout, worker log)."""
    with postgres_database() as url:
        env = project_env(tmp_path, DATABASE_URL=url, CELERY_BROKER_URL=redis_url(db=redis_db))
        manage(env, "migrate", "--noinput")
        manage(env, "load_exam", str(exam_yaml))
        with celery_workers(env, concurrency=2, log=tmp_path / "worker.log"):
            result = manage(env, "grade", code, *pdfs, "--json", "--timeout", str(timeout))
        return result.stdout, (tmp_path / "worker.log").read_text()
