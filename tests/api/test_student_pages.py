"""The server-rendered student pages (Django test client; the browser walk-through is in
tests/browser)."""
import re

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from exams.models import Exam, RegradeRequest, Submission
from tests.api.factories import make_world, pdf_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(media_root):
    return make_world()


def messages_of(response) -> list[str]:
    return [m.message for m in get_messages(response.wsgi_request)]


def visible_text(response) -> str:
    html = response.content.decode()
    html = re.sub(r"<(style|script)[^>]*>.*?</\1>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_pages_need_a_login(client, world):
    for url in ("/", "/exams/EX-A/", f"/submissions/{world['submission'].pk}/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and 'for="id_username"' in page.content.decode()


def test_student_lists_exams_and_uploads(client, world):
    client.force_login(world["users"]["student_owner"])
    home = client.get("/")
    assert "Exam EX-A" in home.content.decode() and "Exam EX-B" not in home.content.decode()
    content = pdf_bytes(text="my answers")

    def post():
        pdf = SimpleUploadedFile("mine.pdf", content, content_type="application/pdf")
        return client.post("/exams/EX-A/submit/", {"pdf": pdf})

    first = post()
    s = Submission.objects.filter(user=world["users"]["student_owner"]).latest("id")
    assert first.status_code == 302 and first["Location"] == f"/submissions/{s.pk}/"
    assert messages_of(first) == [f"Received mine.pdf as submission #{s.pk}."]
    again = post()
    assert "already submitted this very file" in messages_of(again)[-1]
    bad = client.post("/exams/EX-A/submit/", {"pdf": SimpleUploadedFile("x.pdf", b"hello")})
    assert "not a PDF" in messages_of(bad)[-1]
    Exam.objects.filter(code="EX-A").update(allow_resubmission=False)
    page = client.get("/exams/EX-A/")
    assert "one submission per student" in page.content.decode()
    assert 'name="pdf"' not in page.content.decode()


def test_feedback_page_and_regrade_request(client, world):
    sub = world["submission"]
    client.force_login(world["users"]["student_owner"])
    before = client.get(f"/submissions/{sub.pk}/")
    assert "Feedback per question" not in before.content.decode()
    Exam.objects.filter(code="EX-A").update(results_released=True)
    page = client.get(f"/submissions/{sub.pk}/")
    text = visible_text(page)
    assert "Question 1.ii" in text and "Written answers are marked by a person." in text
    for internal in ("flagged", "free_text", "needs_review", "ambiguous"):
        assert internal not in page.content.decode(), internal
    assert f'src="/api/submissions/{sub.pk}/crops/1.ii/1.png"' in page.content.decode()
    posted = client.post(f"/submissions/{sub.pk}/regrade/", {"question": "2", "reason": "I said more"})
    assert posted["Location"] == f"/submissions/{sub.pk}/#q-2"
    assert RegradeRequest.objects.get().reason == "I said more"
    again = client.post(f"/submissions/{sub.pk}/regrade/", {"question": "2", "reason": "again"})
    assert messages_of(again)[-1] == "You have already asked for a regrade of question 2."
    page = client.get(f"/submissions/{sub.pk}/")
    assert "Your regrade request" in page.content.decode() and "A TA will answer it." in page.content.decode()


def test_other_students_and_staff(client, world):
    sub = world["submission"]
    client.force_login(world["users"]["other_student"])
    assert client.get(f"/submissions/{sub.pk}/").status_code == 404
    assert client.post(f"/submissions/{sub.pk}/regrade/", {"question": "2", "reason": "x"}).status_code == 404
    assert client.get("/exams/EX-A/").status_code == 200   # a published exam, by its code
    client.force_login(world["users"]["ta_other"])
    assert client.get(f"/submissions/{sub.pk}/").status_code == 404
    assert client.get("/exams/EX-A/").status_code == 404
    client.force_login(world["users"]["ta"])
    preview = client.get(f"/submissions/{sub.pk}/").content.decode()
    assert "students do not see the feedback below yet" in preview and "Question 2" in preview
    assert "Ask for a regrade" not in preview


def test_a_roster_account_sets_its_first_password_by_email(client, world, mailoutbox):
    from exams import courses

    courses.student_enroll(exam=world["exam"], row=courses.RosterRow(
        line=0, student_id="u900", first_name="Ada", last_name="L", email="ada@example.org"))
    assert "/admin/password_reset/" in client.get("/admin/login/").content.decode()
    sent = client.post("/accounts/password_reset/", {"email": "ada@example.org"})
    assert sent.status_code == 302 and len(mailoutbox) == 1
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", mailoutbox[0].body).group(1)
    form = client.get(link, follow=True)
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "a-new-secret-9",
                                                    "new_password2": "a-new-secret-9"})
    assert done.status_code == 302
    token = client.post("/api/auth/token/", {"username": "u900", "password": "a-new-secret-9"},
                        content_type="application/json")
    assert token.status_code == 200 and token.json()["token"]


def test_a_disabled_account_gets_no_reset_mail(client, world, mailoutbox):
    user = world["users"]["other_student"]
    user.email, user.last_login = "other@example.org", timezone.now()
    user.set_unusable_password()
    user.save()
    client.post("/accounts/password_reset/", {"email": "other@example.org"})
    assert mailoutbox == []
