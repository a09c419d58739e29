"""Limits that hold across web processes (issue 18, findings 5 and 6): two gunicorn servers on
one PostgreSQL database and one Redis, requests alternating between them, as a load balancer
in front of several web processes sends them.

* The upload throttle (3 a minute here) counts in the shared Redis cache: 3 of 8 uploads are
  accepted, not 3 per process.
* Failed logins (limit 4 here) count across processes: the 4th wrong password is refused
  with 429 and so is the right one after it.
"""
from __future__ import annotations

import http.client
import json
import tempfile
from pathlib import Path

import pytest

from bench.api_load import (
    HOST, TYPED_CODE, TYPED_EXAM, TYPED_PDF, USERS_SCRIPT, gunicorn, multipart, project, shell,
    upload_once,
)
from tests.integration.realservices import manage

pytestmark = [pytest.mark.redis, pytest.mark.postgres]
PASSWORD = "correct horse battery"


def token_status(port: int, username: str, password: str) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        body = json.dumps({"username": username, "password": password})
        conn.request("POST", "/api/auth/token/", body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_throttle_and_login_lockout_count_across_processes():
    with tempfile.TemporaryDirectory(prefix="shared-limits-") as tmp_name:
        tmp = Path(tmp_name)
        with project(tmp, redis_db=8, SUBMISSION_UPLOAD_RATE="3/min", LOGIN_FAILURE_LIMIT="4") as env:
            manage(env, "create_demo_course", "--exam", str(TYPED_EXAM))
            token = json.loads(shell(env, USERS_SCRIPT.format(count=1)))[0]
            shell(env, "from django.contrib.auth.models import User; u = User.objects.get("
                       f"username='load-student-000'); u.set_password({PASSWORD!r}); u.save(); print('ok')")
            pdf = TYPED_PDF.read_bytes()
            with gunicorn(env, log=tmp / "a.log", workers=1) as a, gunicorn(env, log=tmp / "b.log", workers=1) as b:
                uploads = []
                for i, port in enumerate((a, b) * 4):
                    # Distinct bytes (a PDF comment after the end): the same file twice is one
                    # submission (200), not a second upload.
                    body, content_type = multipart("pdf", "answers.pdf", pdf + f"\n% {i}\n".encode())
                    uploads.append(upload_once(port, token, TYPED_CODE, body, content_type, 0).status)
                logins = [token_status(port, "load-student-000", "wrong") for port in (a, b, a, b)]
                after = token_status(a, "load-student-000", PASSWORD)
    assert uploads.count(202) == 3 and uploads.count(429) == 5, uploads
    assert logins == [400, 400, 400, 429], logins
    assert after == 429
