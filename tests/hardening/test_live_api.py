"""Issue 18, findings 8 and 10, over HTTP against gunicorn (3 worker processes, as in
docker-compose) and a real PostgreSQL database, with the broker's port closed:
two instructors racing for a new exam code, and an upload while the broker is down."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.hardening.workers import db, wait_for
from tests.integration.realservices import ROOT, manage, postgres_database, project_env

pytestmark = pytest.mark.postgres

AI6126 = ROOT / "samples" / "ai6126_a2"
INSTRUCTORS = ("prof1", "prof2")
STUDENT = "student1"
SETUP = ("from django.contrib.auth import get_user_model; from django.core.management import "
         "call_command; from exams import roles; call_command('load_exam', {exam!r})\n"
         "U = get_user_model(); group = roles.groups_ensure()[roles.INSTRUCTOR]\n"
         "for name in {instructors!r}: U.objects.create_user(name, password='pw-' + name + "
         "'-Xk39!').groups.add(group)\n"
         "U.objects.create_user({student!r}, password='pw-' + {student!r} + '-Xk39!')")
EXAM = """\
code: {code}
title: Raced
questions:
  - number: "1"
    kind: numeric
    points: 2
    answer: 11
"""


def free_port() -> int:
    """A port nothing listens on (bound once by the OS, then released)."""
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Live:
    base: str
    db_url: str
    tokens: dict[str, str]

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Token {self.tokens[user]}"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live")
    with postgres_database() as url:
        env = project_env(tmp, DATABASE_URL=url, SECRET_KEY=f"live-test-{uuid.uuid4().hex}",
                          GRADER_EMBEDDED="1", DEBUG="0", ALLOWED_HOSTS="127.0.0.1",
                          CELERY_BROKER_URL=f"redis://127.0.0.1:{free_port()}/0")
        manage(env, "migrate", "--noinput")
        manage(env, "shell", "-c", SETUP.format(exam=str(AI6126 / "exam.yaml"),
                                                instructors=INSTRUCTORS, student=STUDENT))
        port = free_port()
        log = open(tmp / "gunicorn.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--workers", "3",
             "--preload", "--bind", f"127.0.0.1:{port}", "--timeout", "120"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            def up():
                if proc.poll() is not None:
                    raise AssertionError((tmp / "gunicorn.log").read_text()[-3000:])
                try:     # any answer will do: 401 without a token
                    return requests.get(f"{base}/api/submissions/1/", timeout=30).status_code
                except requests.RequestException:
                    return False
            wait_for(up, 90, "gunicorn to answer")
            tokens = {}
            for user in (*INSTRUCTORS, STUDENT):
                r = requests.post(f"{base}/api/auth/token/", timeout=30,
                                  data={"username": user, "password": f"pw-{user}-Xk39!"})
                assert r.status_code == 200, r.text
                tokens[user] = r.json()["token"]
            yield Live(base=base, db_url=url, tokens=tokens)
        finally:
            os.killpg(proc.pid, 15)
            proc.wait(timeout=30)
            log.close()


def test_two_instructors_racing_for_a_new_code_one_wins(live):
    """Both post the same new code at the same moment, three times: exactly one becomes its
    instructor (201), the other is refused with a message (403), every time."""
    for round_ in range(3):
        code = f"RACE-{round_}"
        start = threading.Barrier(len(INSTRUCTORS))
        answers: dict[str, requests.Response] = {}

        def post(user: str) -> None:
            start.wait()
            answers[user] = requests.post(
                f"{live.base}/api/exams/", headers=live.auth(user), timeout=120,
                files={"definition": ("exam.yaml", EXAM.format(code=code))})

        threads = [threading.Thread(target=post, args=(user,)) for user in INSTRUCTORS]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = {user: r.status_code for user, r in answers.items()}
        assert sorted(codes.values()) == [201, 403], {u: r.text for u, r in answers.items()}
        winner = next(user for user, status in codes.items() if status == 201)
        loser = next(user for user, status in codes.items() if status == 403)
        assert "not its instructor" in answers[loser].json()["error"]
        with db(live.db_url) as conn:
            instructors = conn.execute(
                "SELECT u.username FROM exams_examrole r JOIN auth_user u ON u.id = r.user_id "
                "JOIN exams_exam e ON e.id = r.exam_id WHERE e.code = %s AND r.role = 'instructor'",
                (code,)).fetchall()
        assert instructors == [(winner,)], (round_, instructors)


def test_an_upload_with_the_broker_down_answers_at_once(live):
    """The broker's port is closed: the upload is saved `received` (the sweep enqueues it
    later) and answered at once, not after ~20 s in Celery's reconnect loops."""
    pdf = (AI6126 / "submissions" / "seed001_student.pdf").read_bytes()
    took = []
    for n in range(2):
        started = time.monotonic()
        r = requests.post(f"{live.base}/api/exams/AI6126-A2/submissions/",
                          headers=live.auth(STUDENT), timeout=120,
                          # distinct bytes: the same file twice is one submission (200)
                          files={"pdf": (f"answers-{n}.pdf", pdf + f"\n% {n}\n".encode(),
                                         "application/pdf")})
        took.append(time.monotonic() - started)
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "received"
        with db(live.db_url) as conn:
            assert conn.execute("SELECT status FROM exams_submission WHERE id = %s",
                                (r.json()["id"],)).fetchone() == ("received",)
    # A bound on a hang, not a performance check: before, each upload took ~20 s.
    assert max(took) < 5, took
