"""Submission upload validation: size (header and file), PDF magic, page count, damaged files,
throttling, unpublished exams; and that an accepted upload is saved and queued for grading."""
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from exams.models import Submission
from tests.api.factories import make_exam, make_user, pdf_bytes, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def exam():
    return make_exam("EX-A")


@pytest.fixture
def student_client():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(make_user('stud'))}")
    return client


def upload(client, content: bytes, name="answers.pdf", code="EX-A", **extra):
    pdf = SimpleUploadedFile(name, content, content_type="application/pdf")
    return client.post(f"/api/exams/{code}/submissions/", {"pdf": pdf}, format="multipart", **extra)


def test_accepted_upload_is_saved_and_queued(exam, student_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = upload(student_client, pdf_bytes(2))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "received" and body["url"] == f"/api/submissions/{body['id']}/"
    s = Submission.objects.get(pk=body["id"])
    assert (s.student, s.user.username, s.original_name) == ("stud", "stud", "answers.pdf")
    assert s.file.read().startswith(b"%PDF-")
    assert len(callbacks) == 1  # grading is enqueued once the row is committed


def test_content_length_over_limit_is_refused_before_the_body_is_read(exam, student_client, settings):
    settings.MAX_UPLOAD_MB = 1
    with mock.patch("rest_framework.parsers.MultiPartParser.parse",
                    side_effect=AssertionError("body was parsed")) as parse:
        response = upload(student_client, pdf_bytes(), CONTENT_LENGTH=str(5 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json() == {"error": "The file is larger than the 1 MB limit."}
    parse.assert_not_called()
    assert not Submission.objects.exists()


def test_file_over_limit_without_a_truthful_header_is_refused_too(exam, student_client, settings):
    settings.MAX_UPLOAD_MB = 1
    big = pdf_bytes() + b"%" + b"x" * (1024 * 1024 + 10)  # PDF comments: still a valid PDF
    response = upload(student_client, big)
    assert response.status_code == 400
    assert "larger than the 1 MB limit" in response.json()["error"]


def test_not_a_pdf(exam, student_client):
    response = upload(student_client, b"PK\x03\x04 this is a zip file", name="answers.pdf")
    assert response.status_code == 400
    assert response.json()["error"] == "pdf: The file is not a PDF. Upload a .pdf file."


def test_too_many_pages(exam, student_client, settings):
    settings.MAX_PDF_PAGES = 2
    response = upload(student_client, pdf_bytes(3))
    assert response.status_code == 400
    assert "3 pages; at most 2" in response.json()["error"]
    assert upload(student_client, pdf_bytes(2)).status_code == 202


def test_damaged_pdf_is_refused_readably(exam, student_client):
    response = upload(student_client, b"%PDF-1.7\n1 0 obj << /Type /Catalog >> broken")
    assert response.status_code == 400
    assert "damaged" in response.json()["error"]


def test_missing_file_field(exam, student_client):
    response = student_client.post("/api/exams/EX-A/submissions/", {}, format="multipart")
    assert response.status_code == 400
    assert response.json()["error"].startswith("pdf:")


def test_unpublished_exam_refuses_submissions(student_client):
    make_exam("EX-DRAFT", published=False)
    response = upload(student_client, pdf_bytes(), code="EX-DRAFT")
    assert response.status_code == 409
    assert "not open" in response.json()["error"]


def test_unknown_exam(student_client):
    assert upload(student_client, pdf_bytes(), code="NOPE").status_code == 404


def test_uploads_are_throttled_per_user(exam, student_client, settings):
    settings.SUBMISSION_UPLOAD_RATE = "2/min"
    assert [upload(student_client, pdf_bytes()).status_code for _ in range(2)] == [202, 202]
    third = upload(student_client, pdf_bytes())
    assert third.status_code == 429
    assert third.json()["error"].startswith("Too many uploads")
    # Another student has their own allowance.
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {token_for(make_user('stud2'))}")
    assert upload(other, pdf_bytes()).status_code == 202
