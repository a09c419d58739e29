"""A deployment without a shared disk: the web process (gunicorn) and two Celery worker
processes each have their own, empty MEDIA_ROOT; files live in S3 (a real S3 API server,
moto's, over HTTP), the database is PostgreSQL and the broker Redis. A typed and a scanned
sample submission uploaded through the API are graded as recorded in samples/…/expected/, the
TA's answer crops and the PDF download are served from S3, and no local media folder is ever
written."""
import http.client
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.api_load import (
    celery_workers, gunicorn, multipart, shell, upload_once, wait_final,
)
from tests.integration.realservices import manage, postgres_database, project_env, redis_url

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
TYPED = SAMPLES / "ai6126_a2"
SCANNED = SAMPLES / "tum_endterm"
UPLOADS = [("AI6126-A2", TYPED / "submissions" / "seed001_student.pdf", TYPED),
           ("IN2346-ENDTERM", SCANNED / "student_01.pdf", SCANNED)]
REDIS_DB = 7

USERS = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.contrib.sessions.backends.db import SessionStore
from rest_framework.authtoken.models import Token
User = get_user_model()
student = User.objects.create_user("s3-student")
admin = User.objects.create_superuser("s3-admin", password="not-used-here")
session = SessionStore()
session.update({SESSION_KEY: str(admin.pk), HASH_SESSION_KEY: admin.get_session_auth_hash(),
                BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend"})
session.create()
print(json.dumps({"token": Token.objects.create(user=student).key, "session": session.session_key}))
"""
RESULTS = """
import json
from exams.models import Submission
from exams.results import submission_result
from exams.review import answer_crop_pages
out = {{}}
for s in Submission.objects.filter(pk__in={ids!r}):
    answers = s.answers.select_related("question", "submission").order_by("question__order")
    out[s.pk] = {{"result": submission_result(s), "file": s.file.name,
                 "crops": [[a.pk, answer_crop_pages(a)] for a in answers]}}
print(json.dumps(out))
"""


def get(port: int, path: str, session: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path, headers={"Cookie": f"sessionid={session}"})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


def test_web_and_two_workers_without_a_shared_disk(tmp_path, s3_server):
    from PIL import Image

    bucket = s3_server.create_bucket()
    names = ("web", "worker1", "worker2")
    media = {name: tmp_path / name / "media" for name in names}
    for name in names:
        media[name].mkdir(parents=True)
        (tmp_path / name / "tmp").mkdir()
    with postgres_database() as url:
        base = project_env(tmp_path, DATABASE_URL=url, CELERY_BROKER_URL=redis_url(db=REDIS_DB),
                           SECRET_KEY="deploy-test-" + "k" * 50, **s3_server.env(bucket))

        def env(name: str) -> dict[str, str]:
            return {**base, "MEDIA_ROOT": str(media[name]), "TMPDIR": str(tmp_path / name / "tmp")}

        manage(env("web"), "migrate", "--noinput")
        for _, _, folder in UPLOADS:
            manage(env("web"), "load_exam", str(folder / "exam.yaml"))
        users = json.loads(shell(env("web"), USERS))
        with gunicorn(env("web"), log=tmp_path / "web.log", workers=2) as port, \
                celery_workers(env("worker1"), concurrency=1, log=tmp_path / "w1.log") as w1, \
                celery_workers(env("worker2"), concurrency=1, log=tmp_path / "w2.log") as w2:
            ids = []
            for code, pdf, _ in UPLOADS:
                body, content_type = multipart("pdf", pdf.name, pdf.read_bytes())
                upload = upload_once(port, users["token"], code, body, content_type, client=0)
                assert upload.status == 202, upload.error
                ids.append(upload.submission_id)
            rows, _ = wait_final(env("web"), ids, expected=len(ids), timeout=240)
            assert [r["status"] for r in rows] != [] and all(
                r["status"] in ("graded", "needs_review") for r in rows), rows
            graded = json.loads(shell(env("web"), RESULTS.format(ids=ids)))

            # The results are the recorded ones, read from S3 by workers with empty disks.
            for submission_id, (_, pdf, folder) in zip(ids, UPLOADS):
                got = graded[str(submission_id)]["result"]
                expected = json.loads((folder / "expected" / f"{pdf.stem}.json").read_text())
                for obj in (got, expected):
                    obj.pop("submission", None), obj.pop("student")
                assert got == expected, pdf.name

            # Readiness of each worker (its own environment), and of the web process.
            for workers, name in ((w1, "worker1"), (w2, "worker2")):
                ready = manage(env(name), "worker_health", "--node", workers.node)
                assert json.loads(ready.stdout)["status"] == "ok"
            absent = subprocess.run(
                [sys.executable, "manage.py", "worker_health", "--node", "absent@nowhere",
                 "--timeout", "1"], env=env("worker1"), cwd=ROOT, capture_output=True, text=True,
                timeout=120)
            assert absent.returncode != 0
            assert json.loads(absent.stdout)["checks"]["worker"]["ok"] is False
            status, _, body = get(port, "/health/", "")
            health = json.loads(body)
            assert status == 200 and health["checks"]["storage"]["detail"] == "S3Storage", health
            assert health["checks"]["broker"]["detail"] == "redis"

            # The TA's views, served by the web process from S3: each submission's first
            # placed answer's crop (a band of the page), and the PDF itself.
            for submission_id, (_, pdf, _) in zip(ids, UPLOADS):
                answer_id, pages = next((a, p) for a, p in graded[str(submission_id)]["crops"] if p)
                status, content_type, png = get(
                    port, f"/admin/exams/answer/{answer_id}/crop/{pages[0]}.png", users["session"])
                assert (status, content_type) == (200, "image/png"), png[:300]
                crop = Image.open(io.BytesIO(png))
                assert crop.width > 1000 and 40 < crop.height < crop.width, crop.size  # a band
                status, content_type, content = get(
                    port, f"/admin/exams/submission/{submission_id}/pdf/", users["session"])
                assert status == 200 and content == pdf.read_bytes()

        logs = (tmp_path / "w1.log").read_text() + (tmp_path / "w2.log").read_text()
        assert "exams.read_page" in logs and "succeeded" in logs

    keys = s3_server.keys(bucket)
    assert "blank/IN2346-ENDTERM.pdf" in keys
    assert {graded[str(i)]["file"] for i in ids} <= set(keys)
    for name in names:
        assert list(media[name].iterdir()) == [], f"{name} wrote to its local media folder"
