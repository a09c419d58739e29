"""Exam upload, release gating, CSV export, statistics, regrade, schema and docs."""
import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from exams.models import Answer, Exam, ExamRole, Submission
from tests.api.factories import EXAM_YAML, as_user, make_world, pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(media_root):
    return make_world()


def post_exam(client, text: str, **files):
    data = {"definition": SimpleUploadedFile("exam.yaml", text.encode()), **files}
    return client.post("/api/exams/", data, format="multipart")


def test_instructor_creates_exam_and_becomes_its_instructor(world):
    instructor = world["users"]["instructor_other"]
    response = post_exam(as_user(instructor), EXAM_YAML.format(code="NEW-1"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["code"], body["published"], body["created"]) == ("NEW-1", True, True)
    assert [e["label"] for e in body["key_report"]] == ["1", "2"]
    assert ExamRole.objects.filter(exam__code="NEW-1", user=instructor, role="instructor").exists()
    detail = as_user(instructor).get("/api/exams/NEW-1/").json()
    assert [q["label"] for q in detail["questions"]] == ["1", "2"]
    assert detail["max_score"] == 4.0


def test_invalid_definition_is_a_400_naming_the_problem(world):
    bad = EXAM_YAML.format(code="NEW-1").replace("kind: numeric", "kind: essay")
    response = post_exam(as_user(world["users"]["instructor"]), bad)
    assert response.status_code == 400
    assert "essay" in response.json()["error"]
    assert not Exam.objects.filter(code="NEW-1").exists()


def test_definition_naming_a_server_path_needs_the_upload(world):
    text = EXAM_YAML.format(code="NEW-1").replace("questions:", "blank_pdf: /etc/passwd\nquestions:")
    response = post_exam(as_user(world["users"]["instructor"]), text)
    assert response.status_code == 400
    assert "upload that file as blank_pdf" in response.json()["error"]


def test_blank_pdf_upload(world):
    text = EXAM_YAML.format(code="NEW-1").replace("questions:", "blank_pdf: blank.pdf\nquestions:")
    not_pdf = SimpleUploadedFile("blank.pdf", b"hello")
    response = post_exam(as_user(world["users"]["instructor"]), text, blank_pdf=not_pdf)
    assert response.status_code == 400 and "not a PDF" in response.json()["error"]
    blank = SimpleUploadedFile("blank.pdf", pdf_bytes(), content_type="application/pdf")
    response = post_exam(as_user(world["users"]["instructor"]), text, blank_pdf=blank)
    assert response.status_code == 201
    assert Exam.objects.get(code="NEW-1").blank_pdf.read().startswith(b"%PDF-")


def test_results_are_released_to_students_only_when_the_instructor_says_so(world):
    student = as_user(world["users"]["student_owner"])
    url = f"/api/submissions/{world['submission'].pk}/"
    before = student.get(url).json()
    assert before["status"] == "needs_review" and before["results"] is None
    assert before["progress"] == {"pages_done": 1, "pages_total": 1}
    # Staff see results before release.
    staff = as_user(world["users"]["ta"]).get(url).json()
    assert staff["results"]["score"] == 3.0
    assert as_user(world["users"]["ta"]).post(
        f"/api/exams/{world['exam'].code}/release/", {}, format="json").status_code == 403
    instructor = as_user(world["users"]["instructor"])
    # Answer 2 is flagged and not reviewed: the release is refused, saying how many.
    refused = instructor.post(f"/api/exams/{world['exam'].code}/release/", {"released": True},
                              format="json")
    assert refused.status_code == 409
    assert refused.json()["unreviewed"] == 1 and "1 flagged answer" in refused.json()["error"]
    assert student.get(url).json()["results"] is None
    released = instructor.post(f"/api/exams/{world['exam'].code}/release/",
                               {"released": True, "force": True}, format="json").json()
    assert (released["released"], released["forced"], released["unreviewed"],
            released["by"]) == (True, True, 1, "instr_a")
    results = student.get(url).json()["results"]
    assert results["score"] == 3.0 and results["max_score"] == 6.0 and results["provisional"]
    assert [q["label"] for q in results["questions"]] == ["1.ii", "1.iv", "2"]
    assert results["questions"][1]["state"] == "unanswered"
    assert results["questions"][2]["state"] == "provisional"
    # Students read sentences, never the internal flag or status names.
    text = json.dumps(results)
    for internal in ("flagged", "free_text", "unanswered\"]", '"flags"', "needs_review"):
        assert internal not in text, internal
    assert "Written answers are marked by a person." in results["questions"][2]["notes"]
    # Withdrawn again: hidden again.
    instructor.post(f"/api/exams/{world['exam'].code}/release/", {"released": False}, format="json")
    assert student.get(url).json()["results"] is None
    records = list(world["exam"].releases.order_by("id").values_list("released", "forced", "by__username"))
    assert records == [(True, True, "instr_a"), (False, False, "instr_a")]


def test_results_csv(world):
    response = as_user(world["users"]["ta"]).get(f"/api/exams/{world['exam'].code}/results.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="EX-A-results.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["submission", "student", "status", "1.ii", "1.iv", "2", "total", "max_score",
                       "submissions"]
    assert rows[1] == [str(world["submission"].pk), "owner", "needs_review", "2", "", "1", "3", "6",
                       "1"]
    assert len(rows) == 2


def test_results_csv_with_accept_text_csv(world):
    client = as_user(world["users"]["ta"])
    response = client.get(f"/api/exams/{world['exam'].code}/results.csv", HTTP_ACCEPT="text/csv")
    assert response.status_code == 200


def test_stats_endpoint(world):
    body = as_user(world["users"]["ta"]).get(f"/api/exams/{world['exam'].code}/stats/").json()
    by_label = {q["label"]: q for q in body["questions"]}
    assert by_label["1.ii"]["mean"] == 2.0 and by_label["1.ii"]["full_marks"] == 1.0
    assert by_label["2"]["flag_rate"] == 1.0
    assert by_label["1.iv"]["answered"] == 0 and by_label["1.iv"]["mean"] is None


def test_regrade_endpoint_queues_finished_submissions(world, django_capture_on_commit_callbacks):
    client = as_user(world["users"]["instructor"])
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(f"/api/exams/{world['exam'].code}/regrade/", {}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert body["queued"] == [world["submission"].pk] and body["overrides_discarded"] == 0
    assert body["changes"][0]["pending"] is True
    assert len(callbacks) == 1
    world["submission"].refresh_from_db()
    assert world["submission"].status == "received"


def test_regrade_of_unpublished_exam_is_refused(world):
    Exam.objects.filter(pk=world["exam"].pk).update(published=False)
    client = as_user(world["users"]["instructor"])
    response = client.post(f"/api/exams/{world['exam'].code}/regrade/", {}, format="json")
    assert response.status_code == 409 and "not published" in response.json()["error"]


def test_schema_is_valid_openapi_and_lists_the_contract_paths(client):
    from drf_spectacular.validation import validate_schema

    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)
    for p in ["/api/exams/", "/api/exams/{code}/", "/api/exams/{code}/submissions/",
              "/api/submissions/{id}/", "/api/exams/{code}/results.csv"]:
        assert p in schema["paths"], p
    assert "multipart/form-data" in schema["paths"]["/api/exams/{code}/submissions/"]["post"][
        "requestBody"]["content"]


def test_docs_page_works_offline(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/api/exams/{code}/submissions/" in html  # server-rendered, no JavaScript needed
    assert 'href="/api/schema/"' in html


def test_docs_page_loads_swagger_ui_from_this_server(client):
    """Swagger UI from the installed sidecar package: every script and stylesheet is a local
    static file that exists, nothing comes from another origin (a CDN at @latest)."""
    import re

    from django.contrib.staticfiles import finders

    html = client.get("/api/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith("swagger-ui.css") for a in assets), assets
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html), "an asset from another origin"
    for asset in assets:
        assert asset.startswith("/static/"), asset
        assert finders.find(asset.removeprefix("/static/")), f"{asset} is not an installed static file"


def test_flagged_answers_count_in_stats_only_for_finished_submissions(world):
    Answer.objects.filter(submission=world["submission"]).update(status="auto")
    world["submission"].__class__.objects.filter(pk=world["submission"].pk).update(status="processing")
    body = as_user(world["users"]["ta"]).get(f"/api/exams/{world['exam'].code}/stats/").json()
    assert all(q["answered"] == 0 for q in body["questions"])


def test_progress_never_passes_the_page_count(world):
    """A page task redelivered after its worker was killed reads its page again: the count
    stays at the total instead of showing 2 of 1."""
    from exams.grading import page_read

    submission = world["submission"]
    assert (submission.pages_done, submission.pages_total) == (1, 1)
    Submission.objects.filter(pk=submission.pk).update(status=Submission.Status.PROCESSING)
    page_read(submission_id=submission.pk, number=1, text_layer="a text layer read once more")
    submission.refresh_from_db()
    assert submission.pages_done == 1
    Submission.objects.filter(pk=submission.pk).update(pages_done=0)
    page_read(submission_id=submission.pk, number=1, text_layer="the first time")
    submission.refresh_from_db()
    assert submission.pages_done == 1
