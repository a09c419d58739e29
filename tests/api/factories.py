"""Rows for API/admin/browser tests, made through the ORM so these tests do not depend on the
grading core (segmentation, parsing, solvers) being complete."""
from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from rest_framework.authtoken.models import Token

from exams import roles
from exams.models import Answer, Enrollment, Exam, Question, StudentProfile, Submission
from grader.types import Kind, QuestionSpec

QUESTIONS = [  # label, kind, points, key
    ("1.ii", "numeric", 2.0, 11),
    ("1.iv", "matrix", 2.0, [[1, 4], [5, 17]]),
    ("2", "text", 2.0, None),
]

EXAM_YAML = """\
code: {code}
title: Created through the API
questions:
  - number: "1"
    kind: numeric
    points: 2
    answer: 11
  - number: "2"
    kind: text
    points: 2
"""


def pdf_bytes(pages: int = 1, text: str = "Question 1 ii) The receptive field is 11.") -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf)
    for n in range(pages):
        c.drawString(72, 720, f"{text} (page {n + 1})")
        c.showPage()
    c.save()
    return buf.getvalue()


def make_exam(code: str = "EX-A", *, published: bool = True, released: bool = False) -> Exam:
    exam = Exam.objects.create(code=code, title=f"Exam {code}", published=published,
                               results_released=released)
    for order, (label, kind, points, key) in enumerate(QUESTIONS):
        number, _, part = label.partition(".")
        question = Question(exam=exam)
        question.set_spec(QuestionSpec(label=label, number=number, part=part or None,
                                       kind=Kind(kind), points=points, key=key), order=order)
        question.save()
    return exam


def make_user(username: str, *, exam: Exam | None = None, role: str | None = None,
              superuser: bool = False, password: str | None = None):
    user = get_user_model().objects.create(username=username, is_superuser=superuser,
                                           is_staff=superuser)
    if password:
        user.set_password(password)
        user.save()
    if role:
        roles.role_assign(exam=exam, user=user, role=role)
    return user


def token_for(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def as_user(user):
    """An API client authenticated with ``user``'s token."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(user)}")
    return client


def make_submission(exam: Exam, user=None, *, student: str | None = None,
                    answers: dict[str, dict] | None = None, pages: int = 1) -> Submission:
    """A graded submission. ``answers``: label -> Answer fields (status, score, flags, parsed,
    raw_text); questions left out are unanswered. Status and total as submission_finish sets them."""
    answers = answers or {}
    s = Submission(exam=exam, user=user, student=student or (user.username if user else "anon"),
                   sha256="0" * 64, status=Submission.Status.GRADED, pages_total=pages,
                   pages_done=pages, max_score=exam.max_score)
    s.file.save("test.pdf", ContentFile(pdf_bytes(pages)), save=False)
    s.save()
    for q in exam.questions.all():
        if q.label not in answers:
            continue
        fields = {"status": Answer.Status.AUTO, "score": 0.0, "flags": [], "parsed": None,
                  "raw_text": "", "pages": [1], **answers[q.label]}
        fields.setdefault("suggested_score", fields["score"])
        Answer.objects.create(submission=s, question=q, max_score=q.points, expected=q.key,
                              **fields)
    flagged = any(a.get("status") == Answer.Status.FLAGGED for a in answers.values())
    Submission.objects.filter(pk=s.pk).update(
        score=sum(a.get("score", 0.0) for a in answers.values()),
        status=Submission.Status.NEEDS_REVIEW if flagged else Submission.Status.GRADED)
    s.refresh_from_db()
    return s


ROLES = ["anonymous", "student_owner", "other_student", "ta", "ta_other", "instructor",
         "instructor_other", "superuser"]


def make_world() -> dict:
    """Exam A (published) with one submission by `student_owner`; exam B with its own staff."""
    a, b = make_exam("EX-A"), make_exam("EX-B")
    users = {
        "anonymous": None,
        "student_owner": make_user("owner"),
        "other_student": make_user("other"),
        "ta": make_user("ta_a", exam=a, role=roles.TA),
        "ta_other": make_user("ta_b", exam=b, role=roles.TA),
        "instructor": make_user("instr_a", exam=a, role=roles.INSTRUCTOR),
        "instructor_other": make_user("instr_b", exam=b, role=roles.INSTRUCTOR),
        "superuser": make_user("root", superuser=True),
    }
    submission = make_submission(a, users["student_owner"], answers={
        "1.ii": {"score": 2.0, "parsed": 11},
        "2": {"score": 1.0, "status": Answer.Status.FLAGGED, "flags": ["free_text"]}})
    enroll(a, users["student_owner"], "u001")
    return {"exam": a, "other_exam": b, "users": users, "submission": submission}


def enroll(exam: Exam, user, student_id: str) -> None:
    """Put ``user`` on the exam's roster with that student id (rows, not services)."""
    StudentProfile.objects.get_or_create(user=user, defaults={"student_id": student_id})
    Enrollment.objects.get_or_create(exam=exam, user=user)
