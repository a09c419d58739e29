"""The HTTP API under load, against the real services, like a deployment.

    python -m bench.api_load --uploads 200 --clients 20

Starts, for this run only: a fresh PostgreSQL database (127.0.0.1:5432), a flushed Redis
database number as the broker (127.0.0.1:6379), gunicorn serving config.wsgi on a free
127.0.0.1 port and a Celery worker with 2 pool processes. Creates one student (with an API
token) per client, then ``--clients`` threads POST the typed sample PDF to
/api/exams/AI6126-A2/submissions/ until ``--uploads`` uploads are done, and waits until every
submission is in a final status. Reports upload latency (p50/p95/max), upload and grading
throughput, and from the database: rows, statuses, none lost. The upload throttle is set out
of the way (SUBMISSION_UPLOAD_RATE) for the run. Everything started is stopped at the end,
also on failure or Ctrl-C; all traffic stays on 127.0.0.1.

This module also holds the small harness the other service benches (bench.redis_typed,
bench.worker_memory) and tests/load use: fresh database + broker, Celery workers with their
pool pids, gunicorn, waiting for final statuses.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.integration.realservices import (  # noqa: E402  (after the path is set)
    PG_HOST, PG_PORT, REDIS_HOST, REDIS_PORT, manage, postgres_database, project_env, reachable,
)

HOST = "127.0.0.1"
TYPED_EXAM = ROOT / "samples/ai6126_a2/exam.yaml"
TYPED_CODE = "AI6126-A2"
TYPED_PDF = ROOT / "samples/ai6126_a2/submissions/seed001_student.pdf"
FINAL = ("graded", "needs_review", "failed")
GRADED = ("graded", "needs_review")   # graded by the machine (needs_review = a TA looks too)
# Redis database numbers (flushed at start and end). Tests use 11 and 12; keep apart so a
# bench and the test suite can run at the same time.
REDIS_DB_API_BENCH, REDIS_DB_LOAD_TEST, REDIS_DB_TYPED, REDIS_DB_MEMORY = 13, 14, 15, 10


# ------------------------------------------------------------------------------------------
# Harness: services, processes, database polling


class ServiceUnavailable(RuntimeError):
    """PostgreSQL or Redis is not running on 127.0.0.1."""


def check_services() -> None:
    for host, port, what in ((PG_HOST, PG_PORT, "PostgreSQL"), (REDIS_HOST, REDIS_PORT, "Redis")):
        if not reachable(host, port):
            raise ServiceUnavailable(f"{what} is not reachable on {host}:{port}; start it first")


def flush_redis(db: int) -> str:
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=db)
    try:
        client.flushdb()
    finally:
        client.close()
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


@contextmanager
def project(tmp: Path, *, redis_db: int, **extra: str) -> Iterator[dict[str, str]]:
    """A fresh, migrated PostgreSQL database and a flushed Redis database number as broker;
    yields the environment for the project's processes (manage.py, workers, gunicorn).
    The database is dropped and the Redis database flushed afterwards."""
    check_services()
    with _sigterm_as_interrupt(), postgres_database() as url:
        broker = flush_redis(redis_db)
        # A real key, as a deployment has (gunicorn refuses the embedded one without DEBUG).
        extra.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
        env = project_env(tmp, DATABASE_URL=url, CELERY_BROKER_URL=broker, LOG_LEVEL="WARNING",
                          **extra)
        try:
            manage(env, "migrate", "--noinput")
            yield env
        finally:
            flush_redis(redis_db)


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While inside: a SIGTERM (e.g. a CI timeout) unwinds like Ctrl-C, so the finally blocks
    stop what was started and drop the database. The previous handler is restored after."""
    def handler(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def shell(env: dict[str, str], code: str, timeout: float = 300) -> str:
    """Run Python in `manage.py shell -c` (Django set up with ``env``); returns the last line."""
    out = manage(env, "shell", "-c", code, timeout=timeout).stdout.strip().splitlines()
    return out[-1] if out else ""


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc; the Celery prefork pool processes)."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may contain spaces, so split after the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry))
    return sorted(children)


def proc_status_kib(pid: int, key: str) -> int | None:
    """A memory figure from /proc/<pid>/status in KiB (VmHWM = peak RSS, VmRSS = now)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def stop_process_group(proc: subprocess.Popen, grace: float = 20) -> None:
    """SIGTERM the leader (warm shutdown), then SIGKILL whatever is left of its group.
    Only for processes started with ``start_new_session=True`` (their group is ours alone)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass


def _wait_until(check, *, timeout: float, proc: subprocess.Popen, log: Path, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout:g} s:\n{_tail(log)}")
        time.sleep(0.1)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Workers:
    proc: subprocess.Popen
    log: Path
    concurrency: int
    node: str = ""       # the worker's node name (celery -n), for control commands

    def pool_pids(self) -> list[int]:
        return child_pids(self.proc.pid)


@contextmanager
def celery_workers(env: dict[str, str], *, concurrency: int, log: Path,
                   ready_timeout: float = 90) -> Iterator[Workers]:
    """A Celery worker with ``concurrency`` prefork pool processes, ready when yielded
    (its log says "ready" and every pool process exists); stopped, with its group, after."""
    node = f"bench-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "worker", "worker", "--loglevel=INFO",
             f"--concurrency={concurrency}", "--pool=prefork", "--without-gossip",
             "--without-mingle", "--without-heartbeat", f"--hostname={node}"],
            env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        workers = Workers(proc, log, concurrency, node)
        _wait_until(lambda: " ready." in log.read_text(errors="replace")
                    and len(workers.pool_pids()) >= concurrency,
                    timeout=ready_timeout, proc=proc, log=log, what="celery worker")
        yield workers
    finally:
        stop_process_group(proc)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], *, log: Path, workers: int = 4, threads: int = 1,
             ready_timeout: float = 60) -> Iterator[int]:
    """gunicorn serving config.wsgi on a free 127.0.0.1 port; yields the port once it answers."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{HOST}:{port}",
           "--workers", str(workers), "--timeout", "120", "--graceful-timeout", "10",
           "--log-level", "warning"]
    if threads > 1:
        cmd += ["--worker-class", "gthread", "--threads", str(threads)]
    with open(log, "w") as log_file:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        def answers() -> bool:
            try:
                conn = http.client.HTTPConnection(HOST, port, timeout=2)
                conn.request("GET", "/api/submissions/0/")
                conn.getresponse().read()
                conn.close()
                return True
            except OSError:
                return False
        _wait_until(answers, timeout=ready_timeout, proc=proc, log=log, what="gunicorn")
        yield port
    finally:
        stop_process_group(proc)


def db_url(env: dict[str, str]) -> str:
    return env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)


def submission_rows(env: dict[str, str], ids: list[int] | None = None) -> list[dict]:
    """Submission rows straight from PostgreSQL (this process never sets up Django)."""
    import psycopg
    from psycopg.rows import dict_row

    sql = ("SELECT id, status, error, created_at, started_at, finished_at, pages_total "
           "FROM exams_submission")
    with psycopg.connect(db_url(env), row_factory=dict_row) as conn:
        if ids is None:
            return conn.execute(sql + " ORDER BY id").fetchall()
        return conn.execute(sql + " WHERE id = ANY(%s) ORDER BY id", (list(ids),)).fetchall()


def wait_final(env: dict[str, str], ids: list[int] | None, *, expected: int,
               timeout: float) -> tuple[list[dict], float]:
    """Poll until ``expected`` rows (of ``ids``, or all) are in a final status, or timeout.
    Returns the rows and the seconds waited."""
    start = time.monotonic()
    while True:
        rows = submission_rows(env, ids)
        done = sum(r["status"] in FINAL for r in rows)
        if done >= expected or time.monotonic() - start > timeout:
            return rows, time.monotonic() - start
        time.sleep(0.25)


def status_counts(rows: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    return dict(sorted(counts.items()))


def grading_window(rows: list[dict]) -> float | None:
    """Seconds from the first claim (started_at) to the last result stored (finished_at)."""
    starts = [r["started_at"] for r in rows if r["started_at"]]
    ends = [r["finished_at"] for r in rows if r["finished_at"]]
    if not starts or not ends:
        return None
    return (max(ends) - min(starts)).total_seconds()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))   # ceil(n * q / 100), at least 1
    return ordered[int(rank) - 1]


def load_note() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min) {five:.2f} (5 min) on {os.cpu_count()} CPUs"


# ------------------------------------------------------------------------------------------
# The load test


USERS_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
User = get_user_model()
tokens = []
for i in range({count}):
    user, _ = User.objects.get_or_create(username="load-student-%03d" % i)
    tokens.append(Token.objects.get_or_create(user=user)[0].key)
print(json.dumps(tokens))
"""


@dataclass
class Upload:
    client: int
    status: int            # HTTP status; 0 = no answer (connection error, timeout)
    latency_s: float
    submission_id: int | None = None
    error: str = ""


def multipart(field_name: str, filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = f"bench{uuid.uuid4().hex}"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field_name}\"; "
            f"filename=\"{filename}\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload_once(port: int, token: str, code: str, body: bytes, content_type: str,
                client: int, timeout: float = 60) -> Upload:
    start = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
        try:
            conn.request("POST", f"/api/exams/{code}/submissions/", body=body, headers={
                "Authorization": f"Token {token}", "Content-Type": content_type,
                "Content-Length": str(len(body)), "Accept": "application/json"})
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
    except OSError as exc:
        return Upload(client, 0, time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}")
    latency = time.perf_counter() - start
    if response.status != 202:
        return Upload(client, response.status, latency, error=data[:200].decode(errors="replace"))
    return Upload(client, 202, latency, submission_id=int(json.loads(data)["id"]))


def warm_up(port: int, tokens: list[str], code: str) -> None:
    """One authenticated GET per client, all at once, so every gunicorn worker has loaded the
    URLconf, DRF and a database connection before the clock starts (not part of the numbers)."""
    def get(token: str) -> None:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
            conn.request("GET", f"/api/exams/{code}/submissions/",
                         headers={"Authorization": f"Token {token}"})
            conn.getresponse().read()
            conn.close()
        except OSError:
            pass
    threads = [threading.Thread(target=get, args=(t,), daemon=True) for t in tokens * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=35)


def run_clients(port: int, tokens: list[str], code: str, pdf: bytes, uploads: int,
                time_budget: float) -> tuple[list[Upload], float]:
    """``len(tokens)`` client threads (one student each) share ``uploads`` uploads; bounded by
    the count and by ``time_budget`` seconds. Returns the uploads and the wall time."""
    clients = len(tokens)
    per_client = [uploads // clients + (1 if i < uploads % clients else 0) for i in range(clients)]
    results: list[Upload] = []
    lock = threading.Lock()
    start_together = threading.Barrier(clients + 1)
    deadline = time.monotonic() + time_budget

    def client(i: int) -> None:
        start_together.wait()
        for n in range(per_client[i]):
            if time.monotonic() > deadline:
                break
            # Each upload a different file, as real resubmissions are: the same bytes from the
            # same student are the submission made before (exams.courses.submission_submit). A
            # comment line after %%EOF changes the bytes, not the document.
            body, content_type = multipart("pdf", f"answers-{i}.pdf", pdf + f"%upload {n}\n".encode())
            result = upload_once(port, tokens[i], code, body, content_type, i)
            with lock:
                results.append(result)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    start_together.wait()
    start = time.perf_counter()
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()) + 70)
    return results, time.perf_counter() - start


def run_load(*, uploads: int, clients: int, redis_db: int, web_workers: int = 4,
             web_threads: int = 1, celery_concurrency: int = 2, grade_timeout: float = 300,
             pdf_path: Path = TYPED_PDF, keep_logs: Path | None = None) -> dict:
    """The whole load run (services up, upload, wait, check, services down). Returns numbers
    and the checks: ``all_graded`` and ``lost`` (accepted uploads missing from the DB)."""
    pdf = pdf_path.read_bytes()
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp_name:
        tmp = Path(tmp_name)
        logs = keep_logs or tmp
        logs.mkdir(parents=True, exist_ok=True)
        # The throttle must not shape the measurement: far above what the clients can send.
        with project(tmp, redis_db=redis_db, SUBMISSION_UPLOAD_RATE="1000000/min") as env:
            manage(env, "create_demo_course", "--exam", str(TYPED_EXAM))
            tokens = json.loads(shell(env, USERS_SCRIPT.format(count=clients)))
            with celery_workers(env, concurrency=celery_concurrency, log=logs / "worker.log"), \
                    gunicorn(env, log=logs / "gunicorn.log", workers=web_workers,
                             threads=web_threads) as port:
                print(f"  gunicorn on {HOST}:{port} ({web_workers} workers"
                      f"{f' x {web_threads} threads' if web_threads > 1 else ''}), "
                      f"celery {celery_concurrency} processes; {load_note()}", flush=True)
                warm_up(port, tokens, TYPED_CODE)
                t0 = time.monotonic()
                results, upload_wall = run_clients(port, tokens, TYPED_CODE, pdf, uploads,
                                                   time_budget=grade_timeout)
                accepted = [r.submission_id for r in results if r.status == 202]
                rows, waited = wait_final(env, None, expected=len(accepted), timeout=grade_timeout)
                end_to_end = time.monotonic() - t0
    by_id = {r["id"]: r for r in rows}
    latencies = [r.latency_s for r in results]
    errors: dict[str, int] = {}
    for r in results:
        if r.status != 202:
            key = f"{r.status}: {r.error[:80]}"
            errors[key] = errors.get(key, 0) + 1
    statuses = status_counts(rows)
    lost = [i for i in accepted if i not in by_id]
    graded = sum(by_id[i]["status"] in GRADED for i in accepted if i in by_id)
    window = grading_window(rows)
    return {
        "uploads": uploads, "clients": clients, "sent": len(results), "accepted": len(accepted),
        "errors": errors, "db_rows": len(rows), "statuses": statuses, "lost": len(lost),
        "graded": graded, "failed": statuses.get("failed", 0),
        "all_graded": len(accepted) == uploads and graded == uploads and not lost,
        "latency_p50_s": percentile(latencies, 50) if latencies else None,
        "latency_p95_s": percentile(latencies, 95) if latencies else None,
        "latency_max_s": max(latencies) if latencies else None,
        "upload_wall_s": upload_wall, "uploads_per_s": len(accepted) / upload_wall,
        "grading_window_s": window, "end_to_end_s": end_to_end,
        "graded_per_s": graded / end_to_end if end_to_end else None,
        "web_workers": web_workers, "web_threads": web_threads,
        "celery_concurrency": celery_concurrency, "load": load_note(),
    }


def report(row: dict) -> str:
    if not row["sent"]:
        return f"  no upload was sent; database statuses {row['statuses']}"
    lines = [
        f"  uploads: {row['sent']} sent, {row['accepted']} accepted (202) of {row['uploads']}"
        + (f"; errors {row['errors']}" if row["errors"] else ""),
        f"  upload latency p50 {row['latency_p50_s'] * 1000:.0f} ms, "
        f"p95 {row['latency_p95_s'] * 1000:.0f} ms, max {row['latency_max_s'] * 1000:.0f} ms",
        f"  upload throughput {row['uploads_per_s']:.1f} uploads/s "
        f"({row['upload_wall_s']:.1f} s for {row['accepted']})",
        f"  database: {row['db_rows']} rows, statuses {row['statuses']}, lost {row['lost']}",
        f"  end to end (first upload -> last graded): {row['end_to_end_s']:.1f} s, "
        f"{row['graded_per_s']:.1f} graded submissions/s",
        f"  all {row['uploads']} graded, none lost: {'YES' if row['all_graded'] else 'NO'}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--web-workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--web-threads", type=int, default=1, help=">1: gthread worker class")
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument("--redis-db", type=int, default=REDIS_DB_API_BENCH)
    parser.add_argument("--timeout", type=float, default=300, help="seconds for uploads, "
                        "and again for grading")
    parser.add_argument("--logs", type=Path, help="keep the gunicorn and worker logs here")
    args = parser.parse_args(argv)
    command = "python -m bench.api_load " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"API load: {args.uploads} uploads of {TYPED_PDF.name} from {args.clients} clients\n"
          f"  command: {command.strip()}", flush=True)
    row = run_load(uploads=args.uploads, clients=args.clients, redis_db=args.redis_db,
                   web_workers=args.web_workers, web_threads=args.web_threads,
                   celery_concurrency=args.celery_concurrency, grade_timeout=args.timeout,
                   keep_logs=args.logs)
    print(report(row), flush=True)
    return row


if __name__ == "__main__":
    sys.exit(0 if main()["all_graded"] else 1)
