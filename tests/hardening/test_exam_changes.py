"""Issue 18, finding 3: uploading an exam again never deletes the TA audit trail. A question
the file no longer has is archived with its answers and reviews (counted nowhere, shown to
staff as archived), totals are recomputed, and the instructor is told what changed; the
label coming back restores it. Real grading in-process on the test database."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db.models import RestrictedError
from rest_framework.test import APIClient

from exams import review, roles, services
from exams.models import Answer, Question, Review
from exams.results import results_csv, submission_result
from exams.serializers import ExamSerializer
from exams.stats import question_stats

pytestmark = pytest.mark.django_db(transaction=True)

AI6126 = Path(__file__).resolve().parents[2] / "samples" / "ai6126_a2"


def edited_exam() -> str:
    """The AI6126 file with question 3 renumbered 4 (a rename: 3 archived, 4 added) and
    1.i worth 3 points instead of 2."""
    data = yaml.safe_load((AI6126 / "exam.yaml").read_text())
    for q in data["questions"]:
        if q["number"] == "3":
            q["number"] = "4"
        for part in q.get("parts", ()):
            if part["part"] == "i":
                part["points"] = 3
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def active_labels(answers) -> list[str]:
    return sorted(a.question.label for a in answers if a.question.archived_at is None)


def test_a_renamed_question_is_archived_with_its_reviews_and_totals_follow(
        ai6126_exam, django_user_model, tmp_path):
    exam = ai6126_exam
    ta = django_user_model.objects.create_user("ta-archive")
    content = (AI6126 / "submissions" / "seed001_student.pdf").read_bytes()
    s = services.submission_create(exam=exam, student="s", content=content)
    old_answer = s.answers.get(question__label="3")
    review.answer_review(answer=old_answer, reviewer=ta, new_score=3, comment="all three parts")
    s.refresh_from_db()
    total_before = s.score

    edited = tmp_path / "exam.yaml"
    edited.write_text(edited_exam())
    out = io.StringIO()
    call_command("load_exam", str(edited), stdout=out)
    told = out.getvalue()
    assert "(updated)" in told
    assert "  added: 4\n" in told and "  archived (answers and reviews kept): 3\n" in told
    assert "  changed: 1.i (points)\n" in told
    assert "totals recomputed for 1 graded submission(s)" in told
    assert "regrade the exam to apply the changes" in told

    # The audit trail and the answer it decided are still there.
    decision = Review.objects.get(submission=s, question__label="3")
    assert (decision.answer_id, decision.new_score, decision.comment, decision.reviewer) == (
        old_answer.pk, 3, "all three parts", ta)
    archived = Question.objects.get(exam=exam, label="3")
    assert archived.archived_at is not None and str(archived).endswith("(archived)")
    assert Answer.objects.get(pk=old_answer.pk).score == 3

    # Totals: the archived answer no longer counts; the maximum follows the new file.
    s.refresh_from_db()
    assert s.score == pytest.approx(total_before - 3)
    assert s.max_score == exam.max_score == 12 - 3 + 1 + 3     # 3 archived, 1.i +1, 4 added

    # Counted nowhere: grading, the result, the CSV, statistics, question lists.
    current = ["1.i", "1.ii", "1.iii", "1.iv", "2", "4"]
    assert [q.label for q in services.question_specs(exam)] == current
    assert [row["question"] for row in submission_result(s)["answers"]] == current
    assert results_csv(exam).splitlines()[0].split(",")[3:-3] == current   # then total, max, submissions
    assert [row.label for row in question_stats(exam)] == current
    shown = ExamSerializer(exam).data
    assert [q["label"] for q in shown["questions"]] == current
    assert [(q["label"], q["answers"], q["reviews"]) for q in shown["archived_questions"]] == [
        ("3", 1, 1)]
    with pytest.raises(review.ReviewError, match="archived"):
        review.answer_review(answer=old_answer, reviewer=ta, new_score=0, comment="late")

    # A regrade grades the current questions and leaves the archived answer alone, even one
    # that discards TA overrides: the archived decision is a record, not handed back.
    assert review.exam_regrade_all(exam=exam, keep_overrides=False).overrides_discarded == 0
    s.refresh_from_db()
    assert Answer.objects.filter(pk=old_answer.pk, score=3, status="reviewed").exists()
    assert active_labels(s.answers.select_related("question")) == current
    assert s.score == pytest.approx(sum(
        a.score for a in s.answers.filter(question__archived_at__isnull=True)))

    # A question with reviews cannot be deleted on its own; the whole exam still can be.
    with pytest.raises(RestrictedError):
        archived.delete()

    # The original file again: 3 is restored (the TA's decision counts again), 4 archived.
    loaded = services.exam_upsert(text=(AI6126 / "exam.yaml").read_text(), base_dir=AI6126)
    assert (loaded.created, loaded.changes.restored, loaded.changes.archived) == (
        False, ("3",), ("4",))
    assert loaded.changes.changed == (("1.i", ("points",)),)
    s.refresh_from_db()
    assert s.max_score == 12
    assert s.score == pytest.approx(sum(
        a.score for a in s.answers.filter(question__archived_at__isnull=True)))
    assert s.answers.get(question__label="3").pk == old_answer.pk

    exam.delete()
    assert not Review.objects.exists()


def test_the_api_tells_the_instructor_what_changed(media_root, django_user_model):
    from tests.api.factories import EXAM_YAML, make_user, token_for

    instructor = make_user("prof")
    instructor.groups.add(roles.groups_ensure()[roles.INSTRUCTOR])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_for(instructor)}")

    def post(text):
        upload = SimpleUploadedFile("exam.yaml", text.encode())
        return client.post("/api/exams/", {"definition": upload}, format="multipart")

    first = post(EXAM_YAML.format(code="CHG-1"))
    assert first.status_code == 201, first.content
    assert first.json()["changes"]["added"] == ["1", "2"]
    renamed = EXAM_YAML.format(code="CHG-1").replace('number: "2"', 'number: "3"')
    second = post(renamed)
    assert second.status_code == 200, second.content
    assert second.json()["changes"] == {
        "added": ["3"], "changed": [], "archived": ["2"], "restored": [],
        "totals_recomputed": 0, "regrade_advised": False}
    detail = client.get("/api/exams/CHG-1/").json()
    assert [q["label"] for q in detail["questions"]] == ["1", "3"]
    assert [q["label"] for q in detail["archived_questions"]] == ["2"]
    again = post(EXAM_YAML.format(code="CHG-1").replace("answer: 11", "answer: 12"))
    assert again.json()["changes"]["restored"] == ["2"]
    assert again.json()["changes"]["archived"] == ["3"]
    assert again.json()["changes"]["changed"] == [{"label": "1", "fields": ["key"]}]
