"""Every role x every endpoint, with the exact status code (DESIGN.md "HTTP API"). Another
student's submission, crop or regrade request is a 404, as for one that does not exist."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from exams import regrades
from exams.models import Exam, RegradeRequest, Submission
from tests.api.factories import EXAM_YAML, ROLES, make_world, pdf_bytes, token_for

# endpoint -> expected status per role, in ROLES order:
# anonymous, student_owner, other_student, ta, ta_other, instructor, instructor_other, superuser
MATRIX = {
    "create_exam":    [401, 403, 403, 403, 403, 201, 201, 201],
    "update_exam_a":  [401, 403, 403, 403, 403, 200, 403, 200],
    "list_exams":     [401, 200, 200, 200, 200, 200, 200, 200],
    "exam_detail":    [401, 403, 403, 200, 403, 200, 403, 200],
    "exam_policies":  [401, 403, 403, 403, 403, 200, 403, 200],
    # Staff upload on a student's behalf: without naming the student it is a 400.
    "submit":         [401, 202, 202, 400, 403, 400, 403, 400],
    "submit_for":     [401, 403, 403, 202, 403, 202, 403, 202],
    "list":           [401, 200, 200, 200, 403, 200, 403, 200],
    "submission":     [401, 200, 404, 200, 404, 200, 404, 200],
    "missing_sub":    [401, 404, 404, 404, 404, 404, 404, 404],
    "crop":           [401, 200, 404, 200, 404, 200, 404, 200],
    "crop_unreleased": [401, 404, 404, 200, 404, 200, 404, 200],
    "results_csv":    [401, 403, 403, 200, 403, 200, 403, 200],
    "gradebook_csv":  [401, 403, 403, 200, 403, 200, 403, 200],
    "release":        [401, 403, 403, 403, 403, 200, 403, 200],
    "release_unreviewed": [401, 403, 403, 403, 403, 409, 403, 409],
    "regrade":        [401, 403, 403, 403, 403, 202, 403, 202],
    "stats":          [401, 403, 403, 200, 403, 200, 403, 200],
    "regrade_request": [401, 201, 404, 403, 404, 403, 404, 403],
    "regrade_requests": [401, 200, 200, 200, 200, 200, 200, 200],
    "regrade_request_detail": [401, 200, 404, 200, 404, 200, 404, 200],
    "regrade_request_missing": [401, 404, 404, 404, 404, 404, 404, 404],
    "regrade_resolve": [401, 403, 404, 200, 404, 200, 404, 200],
    "roster":         [401, 403, 403, 200, 403, 200, 403, 200],
    "roster_add":     [401, 403, 403, 403, 403, 201, 403, 201],
    "roster_import":  [401, 403, 403, 403, 403, 200, 403, 200],
    "roster_remove":  [401, 403, 403, 403, 403, 204, 403, 204],
    "staff_add":      [401, 403, 403, 403, 403, 201, 403, 201],
    "staff_remove":   [401, 403, 403, 403, 403, 204, 403, 204],
    "schema":         [200, 200, 200, 200, 200, 200, 200, 200],
}


def _released(world) -> None:
    Exam.objects.filter(pk=world["exam"].pk).update(results_released=True)


def _filed_request(world) -> RegradeRequest:
    _released(world)
    return regrades.regrade_request_file(
        submission=Submission.objects.get(pk=world["submission"].pk), question_label="1.ii",
        reason="my 11 is right", student=world["users"]["student_owner"])


def call(client, endpoint, world):
    code, sid = world["exam"].code, world["submission"].pk
    if endpoint in ("create_exam", "update_exam_a"):
        new_code = "NEW-1" if endpoint == "create_exam" else code
        yaml = SimpleUploadedFile("exam.yaml", EXAM_YAML.format(code=new_code).encode())
        return client.post("/api/exams/", {"definition": yaml}, format="multipart")
    if endpoint in ("submit", "submit_for"):
        pdf = SimpleUploadedFile("answers.pdf", pdf_bytes(), content_type="application/pdf")
        data = {"pdf": pdf, **({"student": "u001"} if endpoint == "submit_for" else {})}
        return client.post(f"/api/exams/{code}/submissions/", data, format="multipart")
    if endpoint == "exam_policies":
        return client.patch(f"/api/exams/{code}/", {"allow_resubmission": False}, format="json")
    if endpoint == "release":
        return client.post(f"/api/exams/{code}/release/", {"released": True, "force": True},
                           format="json")
    if endpoint == "release_unreviewed":
        return client.post(f"/api/exams/{code}/release/", {"released": True}, format="json")
    if endpoint == "regrade":
        return client.post(f"/api/exams/{code}/regrade/", {}, format="json")
    if endpoint == "crop":
        _released(world)
    if endpoint == "regrade_request":
        _released(world)
        return client.post(f"/api/submissions/{sid}/regrade-requests/",
                           {"question": "2", "reason": "I wrote more than that"}, format="json")
    if endpoint.startswith("regrade_re") and endpoint != "regrade_requests":
        rid = _filed_request(world).pk + (999 if endpoint == "regrade_request_missing" else 0)
        if endpoint == "regrade_resolve":
            return client.post(f"/api/regrade-requests/{rid}/resolve/",
                               {"response": "looked again: right", "new_score": 2}, format="json")
        return client.get(f"/api/regrade-requests/{rid}/")
    if endpoint == "roster_add":
        return client.post(f"/api/exams/{code}/roster/",
                           {"student_id": "u777", "name": "Ada Lovelace"}, format="json")
    if endpoint == "roster_import":
        roster = SimpleUploadedFile("roster.csv", b"student id,name,email\nu778,Alan Turing,a@t.org\n")
        return client.post(f"/api/exams/{code}/roster/import/", {"csv": roster}, format="multipart")
    if endpoint == "roster_remove":
        return client.delete(f"/api/exams/{code}/roster/u001/")
    if endpoint == "staff_add":
        return client.post(f"/api/exams/{code}/staff/", {"username": "newta", "role": "ta"},
                           format="json")
    if endpoint == "staff_remove":
        return client.delete(f"/api/exams/{code}/staff/ta_a/ta/")
    path = {"exam_detail": f"/api/exams/{code}/", "list": f"/api/exams/{code}/submissions/",
            "list_exams": "/api/exams/",
            "submission": f"/api/submissions/{sid}/", "missing_sub": f"/api/submissions/{sid + 999}/",
            "crop": f"/api/submissions/{sid}/crops/1.ii/1.png",
            "crop_unreleased": f"/api/submissions/{sid}/crops/1.ii/1.png",
            "results_csv": f"/api/exams/{code}/results.csv",
            "gradebook_csv": f"/api/exams/{code}/gradebook.csv?lms=moodle",
            "stats": f"/api/exams/{code}/stats/", "regrade_requests": "/api/regrade-requests/",
            "roster": f"/api/exams/{code}/roster/", "schema": "/api/schema/"}[endpoint]
    return client.get(path)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_permission_matrix(endpoint, role, media_root):
    world = make_world()
    client = APIClient()
    user = world["users"][role]
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    response = call(client, endpoint, world)
    expected = MATRIX[endpoint][ROLES.index(role)]
    assert response.status_code == expected, (endpoint, role, response.content[:300])
    if expected in (401, 403, 404, 409) and endpoint != "schema":
        assert "error" in response.json()
    if endpoint.startswith("crop") and expected == 200:
        assert response.content.startswith(b"\x89PNG")


@pytest.mark.django_db
def test_other_students_submission_is_indistinguishable_from_a_missing_one(media_root):
    world = make_world()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(world['users']['other_student'])}")
    hidden = client.get(f"/api/submissions/{world['submission'].pk}/")
    missing = client.get(f"/api/submissions/{world['submission'].pk + 999}/")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


@pytest.mark.django_db
def test_student_list_shows_only_own_submissions(media_root):
    world = make_world()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(world['users']['other_student'])}")
    assert client.get(f"/api/exams/{world['exam'].code}/submissions/").json() == []
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(world['users']['student_owner'])}")
    rows = client.get(f"/api/exams/{world['exam'].code}/submissions/").json()
    assert [r["id"] for r in rows] == [world["submission"].pk]
    assert rows[0]["score"] is None  # not released yet


@pytest.mark.django_db
def test_session_auth_works_for_the_api(client, media_root):
    world = make_world()
    client.force_login(world["users"]["ta"])
    assert client.get(f"/api/exams/{world['exam'].code}/").status_code == 200


@pytest.mark.django_db
def test_obtain_token(media_root):
    from tests.api.factories import make_user

    make_user("alice", password="correct horse")
    client = APIClient()
    ok = client.post("/api/auth/token/", {"username": "alice", "password": "correct horse"})
    bad = client.post("/api/auth/token/", {"username": "alice", "password": "wrong"})
    assert ok.status_code == 200 and len(ok.json()["token"]) == 40
    assert bad.status_code == 400
