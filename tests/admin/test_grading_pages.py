"""The grade-by-question pages through the Django test client: the sequence, save-and-next,
the machine's suggestion (shown, never applied by itself), the rubric's editing, undo."""
import pytest

from exams import roles, rubric, services
from exams.models import Answer, Review, RubricApplication, RubricItem
from tests.admin.conftest import answer_of
from tests.api.factories import EXAM_YAML, make_exam, make_submission, make_user

F = Answer.Status.FLAGGED
BASE = "/admin/exams/answer"


# The factories' two-question exam; question 2 (free text, last in the file) gets its prompt
# and a rubric item with a keyword.
EXAM = EXAM_YAML.format(code="GP-1") + (
    "    title: What is the key difference between VQVAE and VAE?\n"
    "    rubric:\n"
    '      - {points: 1, text: "discrete codebook", keywords: [codebook]}\n')


@pytest.fixture
def course(db, media_root):
    """An exam loaded from its file (question 2's prompt and rubric item come from it), three
    students whose answers to 2 are flagged free text."""
    exam, _ = services.exam_load(text=EXAM)
    ta = make_user("ta", exam=exam, role=roles.TA)
    q2 = exam.questions.get(label="2")
    item = q2.rubric_items.get()
    texts = {"bea": "a codebook", "al": "no idea", "cy": "codebook again"}
    subs = {name: make_submission(exam, student=name, answers={
        "1": {"score": 2.0, "parsed": 11, "raw_text": "11"},
        "2": {"status": F, "flags": ["free_text"], "raw_text": text, "parsed": text}})
        for name, text in texts.items()}
    return {"exam": exam, "ta": ta, "q2": q2, "item": item, "subs": subs}


def grade_url(answer) -> str:
    return f"{BASE}/{answer.pk}/grade/"


def test_grading_a_question_in_sequence(client, course):
    client.force_login(course["ta"])
    al, bea, cy = (answer_of(course["subs"][n], "2") for n in ("al", "bea", "cy"))
    index = client.get(f"{BASE}/grade/")
    row = next(r["progress"] for r in index.context["rows"] if r["progress"].question.label == "2")
    assert (row.to_do, row.done, row.auto) == (3, 0, 0)

    start = client.get(f"{BASE}/grade/question/{course['q2'].pk}/")
    assert start["Location"] == grade_url(al)                   # by student name
    page = client.get(grade_url(bea))
    html = page.content.decode()
    assert "What is the key difference between VQVAE and VAE?" in html      # the prompt
    assert "Free text is never graded by the machine" in html                # why, in words
    assert f'value="{course["item"].pk}" data-points="1.0" checked' in html  # suggested...
    assert not RubricApplication.objects.exists()                            # ...not applied
    assert page.context["position"] == 2 and page.context["next_url"] == grade_url(cy)
    assert '<kbd>1</kbd>' in html

    # Save and next: the decision, then the next answer still to do.
    response = client.post(grade_url(bea), {"mode": "rubric", "items": [course["item"].pk],
                                            "comment": ""})
    assert response["Location"] == grade_url(cy)
    bea.refresh_from_db()
    assert (bea.status, bea.score) == ("reviewed", 1.0)
    response = client.post(grade_url(cy), {"mode": "rubric", "adjustment": "0.5",
                                           "comment": "partly right"})
    assert response["Location"] == grade_url(al)                 # wraps round to the first
    follow = client.post(grade_url(al), {"mode": "rubric"}, follow=True)
    assert follow.redirect_chain[-1][0] == f"{BASE}/grade/"       # all done
    assert "every answer is graded" in follow.content.decode()
    assert [(a.submission.student, a.score) for a in
            Answer.objects.filter(question=course["q2"]).order_by("submission__student")] == [
        ("al", 0.0), ("bea", 1.0), ("cy", 0.5)]
    row = next(r["progress"] for r in follow.context["rows"]
               if r["progress"].question.label == "2")
    assert (row.to_do, row.done) == (0, 3)
    # A decided answer shows what was applied, not the suggestion.
    html = client.get(grade_url(cy)).content.decode()
    assert f'value="{course["item"].pk}" data-points="1.0" checked' not in html


def test_errors_keep_the_answer_and_say_why(client, course):
    client.force_login(course["ta"])
    al = answer_of(course["subs"]["al"], "2")
    response = client.post(grade_url(al), {"mode": "rubric", "adjustment": "1"}, follow=True)
    assert "say why" in response.content.decode()
    response = client.post(grade_url(al), {"mode": "rubric", "adjustment": "lots",
                                           "comment": "x"}, follow=True)
    assert "is not a number" in response.content.decode()
    al.refresh_from_db()
    assert al.status == F and not Review.objects.exists()


def test_a_question_without_items_takes_a_score(client, course):
    client.force_login(course["ta"])
    s = course["subs"]["al"]
    answer = answer_of(s, "1")
    Answer.objects.filter(pk=answer.pk).update(status=F, flags=["ambiguous"],
                                               alternatives=[11, 15], raw_text="11 or 15")
    html = client.get(grade_url(answer)).content.decode()
    assert 'name="score"' in html
    assert '<span class="alternatives">11 · 15</span>' in html     # each final answer once
    client.post(grade_url(answer), {"mode": "score", "score": "1", "comment": "two answers"})
    answer.refresh_from_db()
    assert (answer.score, answer.status, answer.adjustment) == (1.0, "reviewed", None)


def test_editing_the_rubric_rescores_and_is_recorded(client, course):
    client.force_login(course["ta"])
    q2, item = course["q2"], course["item"]
    edit = f"{BASE}/grade/question/{q2.pk}/rubric/"
    for name in ("bea", "cy"):
        rubric.answer_grade(answer=answer_of(course["subs"][name], "2"), reviewer=course["ta"],
                            item_ids=[item.pk])
    back = grade_url(answer_of(course["subs"]["al"], "2"))
    response = client.post(edit, {"op": "add", "points": "-0.5", "text": "no example",
                                  "back": back})
    assert response["Location"] == back
    added = RubricItem.objects.get(text="no example")
    assert (added.points, added.created_by, added.order) == (-0.5, course["ta"], 1)
    response = client.post(edit, {"op": "update", "item": item.pk, "points": "2",
                                  "text": "discrete codebook"}, follow=True)
    assert "2 answer(s) re-scored" in response.content.decode()
    assert {answer_of(course["subs"][n], "2").score for n in ("bea", "cy")} == {2.0}
    assert Review.objects.filter(kind="rubric_change", reviewer=course["ta"]).count() == 2
    response = client.post(edit, {"op": "delete", "item": item.pk}, follow=True)
    assert "applied to 2 answer(s)" in response.content.decode()
    client.post(edit, {"op": "delete", "item": added.pk})
    assert not RubricItem.objects.filter(pk=added.pk).exists()
    client.post(edit, {"op": "scoring", "scoring": "negative"})
    q2.refresh_from_db()
    assert q2.rubric_scoring == "negative"
    # An unsafe "back" is not followed; GET changes nothing.
    assert client.post(edit, {"op": "scoring", "scoring": "positive",
                              "back": "https://evil.example/"})["Location"].startswith(BASE)
    assert client.get(edit).status_code == 404


def test_undo_the_last_decision_from_the_grading_page(client, course):
    client.force_login(course["ta"])
    bea = answer_of(course["subs"]["bea"], "2")
    client.post(grade_url(bea) + "?all=1", {"mode": "rubric", "items": [course["item"].pk],
                                            "_stay": "1"})
    html = client.get(grade_url(bea)).content.decode()
    assert "Undo it" in html
    client.post(f"{BASE}/{bea.pk}/undo/", {"back": grade_url(bea)})
    bea.refresh_from_db()
    assert (bea.status, bea.score, bea.adjustment) == (F, 0.0, None)
    assert not bea.rubric_items.exists()


def test_staff_of_another_exam_cannot_grade_or_edit(client, course):
    other = make_exam("GP-2")
    outsider = make_user("ta_other", exam=other, role=roles.TA)
    client.force_login(outsider)
    bea = answer_of(course["subs"]["bea"], "2")
    assert client.get(grade_url(bea)).status_code == 404
    client.post(grade_url(bea), {"mode": "rubric", "items": [course["item"].pk]})
    edit = f"{BASE}/grade/question/{course['q2'].pk}/rubric/"
    assert client.post(edit, {"op": "update", "item": course["item"].pk,
                              "points": "0"}).status_code == 404
    course["item"].refresh_from_db()
    assert course["item"].points == 1.0 and not Review.objects.exists()
    assert [r["progress"].question.exam.code
            for r in client.get(f"{BASE}/grade/").context["rows"]] == ["GP-2"] * 3


def test_question_page_lists_its_rubric_items(client, course):
    client.force_login(course["ta"])
    html = client.get(f"/admin/exams/question/{course['q2'].pk}/change/").content.decode()
    assert "discrete codebook" in html and "grade by question" in html
    assert "0 answer(s)" in html
