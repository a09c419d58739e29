"""Operations: is this process able to do its work?

- ``health_report()``: database, broker and file storage reachable (the web process's
  ``/health/``, answered by ``HealthCheckMiddleware``).
- ``worker_readiness(node)``: the same checks from a worker's environment, plus the worker
  node itself answering a ping over the broker (``manage.py worker_health``: compose's and
  Kubernetes' readiness probe for a worker container).

Reports say what failed (component, exception type, a one-line message), never a secret: no
URLs with credentials, no keys (known secret values are blanked out of messages).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEALTH_PATH = "/health/"
BROKER_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    ms: float
    detail: str = ""


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def as_dict(self) -> dict:
        return {"status": "ok" if self.ok else "unavailable",
                "checks": {c.name: {k: v for k, v in asdict(c).items() if k != "name" and v != ""}
                           for c in self.checks}}


def _timed(name: str, probe: Callable[[], str]) -> Check:
    start = time.perf_counter()
    try:
        detail, ok = probe(), True
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, not a crash
        detail, ok = f"{type(exc).__name__}: {_scrub(str(exc))}", False
    return Check(name, ok, round((time.perf_counter() - start) * 1000, 1), detail)


def _scrub(message: str) -> str:
    """First line, shortened, with every configured secret blanked out."""
    line = (message.strip().splitlines() or [""])[0][:200]
    for secret in _secrets():
        line = line.replace(secret, "***")
    return line


def _secrets() -> list[str]:
    values = [settings.SECRET_KEY, os.environ.get("AWS_SECRET_ACCESS_KEY", ""),
              os.environ.get("AWS_ACCESS_KEY_ID", ""),
              settings.DATABASES["default"].get("PASSWORD", "")]
    for url in (settings.CELERY_BROKER_URL, settings.CELERY_RESULT_BACKEND or ""):
        try:
            values.append(urlsplit(url).password or "")
        except ValueError:
            continue
    return [v for v in values if v and len(v) >= 3]


# ---------------------------------------------------------------- the checks

def _database() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _broker() -> str:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return "none: tasks run in-process"
    from kombu import Connection

    with Connection(settings.CELERY_BROKER_URL, connect_timeout=BROKER_TIMEOUT_S,
                    transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0,
                               timeout=BROKER_TIMEOUT_S)
        return str(conn.transport_cls)


def _storage() -> str:
    """The default storage answers: object storage lists its top level (bucket there,
    credentials accepted); a local folder exists and is writable, or can be created."""
    from django.core.files.storage import storages

    storage = storages["default"]
    backend = type(storage).__name__
    try:
        folder = storage.path("")
    except NotImplementedError:
        storage.listdir("")
        return backend
    existing = folder
    while not os.path.exists(existing):   # not created yet: the first upload will create it
        existing = os.path.dirname(existing)
    what = "the media folder" if existing == folder else "the media folder's parent"
    if not os.path.isdir(existing):
        raise NotADirectoryError(f"{what} is not a folder")
    if not os.access(existing, os.W_OK):
        raise PermissionError(f"{what} is not writable")
    return backend


def health_report() -> Report:
    return Report((_timed("database", _database), _timed("broker", _broker),
                   _timed("storage", _storage)))


def worker_readiness(node: str, timeout: float = 5.0) -> Report:
    """The worker's own dependencies, and the worker ``node`` answering a broker ping (its
    main loop is alive and consuming control messages)."""
    def ping() -> str:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise RuntimeError("no broker configured (CELERY_BROKER_URL): a worker has nothing to serve")
        from worker.celery import app

        replies = app.control.ping(destination=[node], timeout=timeout)
        if not any(node in reply for reply in replies):
            raise TimeoutError(f"{node} did not answer within {timeout:g} s")
        return node

    base = health_report()
    return Report(base.checks + (_timed("worker", ping),))


# ---------------------------------------------------------------- HTTP

class HealthCheckMiddleware:
    """Answers ``GET/HEAD /health/`` before anything else: load balancers and probes send
    the pod's or container's address as Host (not in ALLOWED_HOSTS) and plain HTTP (not
    redirected to HTTPS), and the answer must not need a session or the database to render.
    200 when every check passes, else 503; JSON either way, never cached."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info != HEALTH_PATH or request.method not in ("GET", "HEAD"):
            return self.get_response(request)
        report = health_report()
        response = HttpResponse(json.dumps(report.as_dict()), content_type="application/json",
                                status=200 if report.ok else 503)
        response["Cache-Control"] = "no-store"
        return response
