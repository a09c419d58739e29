"""Every role x every endpoint, with the exact status code (DESIGN.md "HTTP API")."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from tests.api.factories import EXAM_YAML, ROLES, make_world, pdf_bytes, token_for

# endpoint -> expected status per role, in ROLES order:
# anonymous, student_owner, other_student, ta, ta_other, instructor, instructor_other, superuser
MATRIX = {
    "create_exam":    [401, 403, 403, 403, 403, 201, 201, 201],
    "update_exam_a":  [401, 403, 403, 403, 403, 200, 403, 200],
    "exam_detail":    [401, 403, 403, 200, 403, 200, 403, 200],
    "submit":         [401, 202, 202, 403, 403, 403, 403, 403],
    "list":           [401, 200, 200, 200, 403, 200, 403, 200],
    "submission":     [401, 200, 404, 200, 404, 200, 404, 200],
    "missing_sub":    [401, 404, 404, 404, 404, 404, 404, 404],
    "results_csv":    [401, 403, 403, 200, 403, 200, 403, 200],
    "release":        [401, 403, 403, 403, 403, 200, 403, 200],
    "regrade":        [401, 403, 403, 403, 403, 202, 403, 202],
    "stats":          [401, 403, 403, 200, 403, 200, 403, 200],
    "schema":         [200, 200, 200, 200, 200, 200, 200, 200],
}


def call(client, endpoint, world):
    code, sid = world["exam"].code, world["submission"].pk
    if endpoint in ("create_exam", "update_exam_a"):
        new_code = "NEW-1" if endpoint == "create_exam" else code
        yaml = SimpleUploadedFile("exam.yaml", EXAM_YAML.format(code=new_code).encode())
        return client.post("/api/exams/", {"definition": yaml}, format="multipart")
    if endpoint == "submit":
        pdf = SimpleUploadedFile("answers.pdf", pdf_bytes(), content_type="application/pdf")
        return client.post(f"/api/exams/{code}/submissions/", {"pdf": pdf}, format="multipart")
    if endpoint == "release":
        return client.post(f"/api/exams/{code}/release/", {"released": True}, format="json")
    if endpoint == "regrade":
        return client.post(f"/api/exams/{code}/regrade/", {}, format="json")
    path = {"exam_detail": f"/api/exams/{code}/", "list": f"/api/exams/{code}/submissions/",
            "submission": f"/api/submissions/{sid}/", "missing_sub": f"/api/submissions/{sid + 999}/",
            "results_csv": f"/api/exams/{code}/results.csv", "stats": f"/api/exams/{code}/stats/",
            "schema": "/api/schema/"}[endpoint]
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
    if expected in (401, 403, 404) and endpoint != "schema":
        assert "error" in response.json()


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
