"""The regrade-request queue and the roster page in the admin."""
import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from exams import regrades
from exams.models import Enrollment, Exam, RegradeRequest, Review, Submission
from tests.api.factories import enroll, make_user, pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def filed(course):
    """bob (a student account, on the roster) asks about 1.ii of his submission; dave of
    exam B asks about his 2."""
    bob_user, dave_user = make_user("bob"), make_user("dave")
    enroll(course["exam"], bob_user, "u002")
    Submission.objects.filter(pk=course["bob"].pk).update(user=bob_user)
    Submission.objects.filter(pk=course["dave"].pk).update(user=dave_user)
    Exam.objects.update(results_released=True)
    mine = regrades.regrade_request_file(
        submission=Submission.objects.get(pk=course["bob"].pk), question_label="1.ii",
        reason="11 is my final answer; 15 was crossed out", student=bob_user)
    theirs = regrades.regrade_request_file(
        submission=Submission.objects.get(pk=course["dave"].pk), question_label="2",
        reason="please", student=dave_user)
    return {**course, "request": mine, "other_request": theirs, "bob_user": bob_user}


def resolve_post(client, request, **data):
    return client.post(f"/admin/exams/regraderequest/{request.pk}/change/", data)


def test_queue_lists_open_requests_of_the_tas_exams(client, filed):
    client.force_login(filed["ta"])
    page = client.get("/admin/exams/regraderequest/")
    assert [r.pk for r in page.context["cl"].result_list] == [filed["request"].pk]
    assert client.get(f"/admin/exams/regraderequest/{filed['other_request'].pk}/change/"
                      ).status_code == 302   # "doesn't exist" for exam B's request
    change = client.get(f"/admin/exams/regraderequest/{filed['request'].pk}/change/")
    body = change.content.decode()
    assert "15 was crossed out" in body and f"/api/submissions/{filed['bob'].pk}/crops/1.ii/1.png" in body


def test_ta_resolves_a_request_with_a_new_score(client, filed):
    client.force_login(filed["ta"])
    bad = resolve_post(client, filed["request"], response="", new_score="2")
    assert bad.status_code == 200 and not Review.objects.exists()
    too_much = resolve_post(client, filed["request"], response="ok", new_score="3")
    assert too_much.status_code == 200 and "between 0 and 2" in too_much.content.decode()
    done = resolve_post(client, filed["request"], response="Right: 15 is crossed out.",
                        new_score="2")
    assert done.status_code == 302 and done["Location"] == "/admin/exams/regraderequest/"
    message = [m.message for m in get_messages(done.wsgi_request)][-1]
    assert "resolved: score changed 0 → 2" in message
    request = RegradeRequest.objects.get(pk=filed["request"].pk)
    assert (request.status, request.score_after, request.resolved_by) == ("resolved", 2.0, filed["ta"])
    bob = Submission.objects.get(pk=filed["bob"].pk)
    assert bob.score == 2.0 and bob.answers.get(question__label="1.ii").status == "reviewed"
    # Resolved requests leave the queue and are read-only.
    assert client.get("/admin/exams/regraderequest/").context["cl"].result_list.count() == 0
    again = resolve_post(client, filed["request"], response="changed my mind", new_score="0")
    assert again.status_code == 403


def test_roster_page_for_instructors_and_tas(client, course):
    url = f"/admin/exams/exam/{course['exam'].pk}/roster/"
    client.force_login(course["instructor"])
    roster = SimpleUploadedFile("roster.csv", b"student id,name,email\nu010,Ada Lovelace,ada@x.org\n"
                                              b"u011,Alan Turing,\n")
    done = client.post(url, {"action": "import", "import-csv": roster})
    assert done.status_code == 302
    assert "2 student(s) enrolled" in [m.message for m in get_messages(done.wsgi_request)][-1]
    client.post(url, {"action": "add_staff", "staff-username": "ta_new", "staff-role": "ta",
                      "staff-email": "t@x.org"})
    assert course["exam"].roles.filter(user__username="ta_new", role="ta").exists()
    client.post(url, {"action": "remove_student", "student_id": "u011"})
    assert list(Enrollment.objects.filter(exam=course["exam"]).values_list(
        "user__username", flat=True)) == ["u010"]
    page = client.get(url)
    assert "Ada Lovelace" in page.content.decode() and "Alan Turing" not in page.content.decode()
    # A TA sees the roster and uploads on a student's behalf, but does not change the roster.
    client.force_login(course["ta"])
    scan = SimpleUploadedFile("scan.pdf", pdf_bytes(), content_type="application/pdf")
    up = client.post(url, {"action": "upload", "upload-student": "u010", "upload-pdf": scan})
    assert up.status_code == 302
    s = Submission.objects.get(student="u010")
    assert (s.user.username, s.uploaded_by) == ("u010", course["ta"])
    assert client.post(url, {"action": "add_student", "student-student_id": "u099"}).status_code == 403
    not_pdf = SimpleUploadedFile("scan.pdf", b"hello")
    page = client.post(url, {"action": "upload", "upload-student": "u010", "upload-pdf": not_pdf})
    assert page.status_code == 200 and "not a PDF" in page.content.decode()
    client.force_login(course["ta_b"])
    assert client.get(url).status_code == 404


def test_gradebook_links_in_the_admin(client, course):
    client.force_login(course["ta"])
    for lms, first in (("canvas", "Student,ID,SIS User ID"), ("moodle", "First name,Last name")):
        response = client.get(f"/admin/exams/exam/{course['exam'].pk}/gradebook-{lms}.csv")
        assert response.status_code == 200 and response.content.decode().startswith(first)
    assert client.get(f"/admin/exams/exam/{course['exam'].pk}/gradebook-sakai.csv").status_code == 404
