"""Safe answer groups: only answers read the same in full are grouped, and a group decision
never changes a correct, unflagged answer unless the TA includes it (issue 16's scenario)."""
import pytest

from exams import groups, review, roles, rubric, rubric_scores
from exams.models import Answer, Page, Review
from grader.pages import PageRead
from grader.types import Source
from tests.admin.conftest import answer_of
from tests.api.factories import make_exam, make_submission, make_user

F, A, R = Answer.Status.FLAGGED, Answer.Status.AUTO, Answer.Status.REVIEWED
GROUPS = "/admin/exams/answer/groups/"


@pytest.fixture
def issue_course(db, media_root):
    """The issue's course, question 1.ii keyed 11 (2 points): ten clean auto-graded 11s, two
    flagged "15 and 11" (read as 11, also 15: two final answers), one flagged 11 the OCR was
    unsure of."""
    exam = make_exam("GRP-1")
    ta = make_user("ta", exam=exam, role=roles.TA)
    clean = [make_submission(exam, student=f"c{n:02d}", answers={"1.ii": {
        "score": 2.0, "parsed": 11, "raw_text": "11"}}) for n in range(10)]
    two = [make_submission(exam, student=f"t{n}", answers={"1.ii": {
        "score": 2.0, "status": F, "flags": ["ambiguous"], "parsed": 11, "alternatives": [15, 11],
        "raw_text": "15 and 11"}}) for n in range(2)]
    unsure = make_submission(exam, student="u", answers={"1.ii": {
        "score": 2.0, "status": F, "flags": ["low_confidence"], "parsed": 11, "raw_text": "11"}})
    return {"exam": exam, "ta": ta, "clean": clean, "two": two, "unsure": unsure,
            "answers": Answer.objects.filter(submission__exam=exam)}


def clean_untouched(issue_course) -> bool:
    return (all((a.status, a.score) == (A, 2.0) for a in
                Answer.objects.filter(submission__in=issue_course["clean"]))
            and not Review.objects.filter(submission__in=issue_course["clean"]).exists())


def test_two_final_answers_never_join_clean_answers(issue_course):
    found = groups.answer_groups(issue_course["answers"])
    by_raw = {g.raw: g for g in found}
    assert set(by_raw) == {"15 and 11", "11"}
    ambiguous = by_raw["15 and 11"]
    assert {a.submission.student for a in ambiguous.answers} == {"t0", "t1"}
    assert (ambiguous.value, ambiguous.other_values) == (11, [15])
    # The issue's decision: "1, two final answers" on the group.
    batch, reviews = groups.answer_group_decide(
        answers=issue_course["answers"], group=ambiguous.id, reviewer=issue_course["ta"], new_score=1,
        comment="1, two final answers")
    assert len(reviews) == 2 and {r.batch for r in reviews} == {batch}
    assert {(a.status, a.score) for a in Answer.objects.filter(submission__in=issue_course["two"])} \
        == {(R, 1.0)}
    assert clean_untouched(issue_course)


def test_same_reading_changes_clean_answers_only_when_included(issue_course):
    group = next(g for g in groups.answer_groups(issue_course["answers"]) if g.raw == "11")
    assert (len(group.answers), group.flagged, group.auto) == (11, 1, 10)
    unsure = answer_of(issue_course["unsure"], "1.ii")
    assert group.default_ids == [unsure.pk]
    groups.answer_group_decide(answers=issue_course["answers"], group=group.id,
                               reviewer=issue_course["ta"], new_score=1.5, comment="hard to read")
    unsure.refresh_from_db()
    assert (unsure.status, unsure.score) == (R, 1.5)
    assert clean_untouched(issue_course)

    # An answer of another group cannot be slipped in; nothing changes then.
    stray = answer_of(issue_course["two"][0], "1.ii")
    with pytest.raises(review.ReviewError, match="no longer in this group"):
        groups.answer_group_decide(answers=issue_course["answers"], group=group.id,
                                   reviewer=issue_course["ta"], include=[stray.pk], new_score=0,
                                   comment="x")
    with pytest.raises(review.ReviewError, match="no answer selected"):
        groups.answer_group_decide(answers=issue_course["answers"], group=group.id,
                                   reviewer=issue_course["ta"], include=[], new_score=0, comment="x")
    assert clean_untouched(issue_course) and answer_of(issue_course["two"][0], "1.ii").status == F

    # Ticked explicitly, a clean answer is changed, with its own review.
    chosen = answer_of(issue_course["clean"][0], "1.ii")
    groups.answer_group_decide(answers=issue_course["answers"], group=group.id,
                               reviewer=issue_course["ta"], include=[chosen.pk], new_score=2,
                               comment="")
    chosen.refresh_from_db()
    assert (chosen.status, chosen.score) == (R, 2.0)


def test_scanned_answers_group_by_the_same_ocr_reading(issue_course):
    exam = issue_course["exam"]
    subs = [make_submission(exam, student=f"scan{n}", answers={"1.ii": {
        "score": 2.0, "status": F, "flags": ["low_confidence", "ocr_corrected"], "parsed": 15,
        "raw_text": raw}}) for n, raw in enumerate(["l5", "l5 ", "15"])]
    for s in subs:
        Page.objects.create(submission=s, number=1, read=PageRead(
            number=1, source=Source.OCR, text=s.answers.get().raw_text, confidence=0.6).to_json())
    found = groups.answer_groups(Answer.objects.filter(submission__in=subs), min_size=1)
    assert sorted(len(g.answers) for g in found) == [1, 2]     # "l5" twice; "15" on its own
    assert next(g for g in found if len(g.answers) == 2).raw == "l5"


def test_group_page_shows_members_and_the_decision_can_be_undone(client, issue_course):
    client.force_login(issue_course["ta"])
    exam = issue_course["exam"].pk
    listing = client.get(GROUPS, {"exam": exam})
    assert [g.raw for g in listing.context["groups"]] == ["11", "15 and 11"]
    ambiguous = listing.context["groups"][1]
    url = f"{GROUPS}{ambiguous.id}/?exam={exam}"
    page = client.get(url)
    html = page.content.decode()
    for a in ambiguous.answers:     # every member, its crop, ticked because flagged
        assert f"/admin/exams/answer/{a.pk}/thumb.png" in html
        assert f'name="include" value="{a.pk}" checked' in html
    assert "15 and 11" in html and "also 15" in html
    assert "Two different final answers" in html

    clean_group = listing.context["groups"][0]
    html = client.get(f"{GROUPS}{clean_group.id}/?exam={exam}").content.decode()
    for a in clean_group.answers:
        ticked = f'name="include" value="{a.pk}" checked' in html
        assert ticked == (a.status == F)

    response = client.post(url, {"mode": "score", "score": "1", "comment": "two final answers",
                                 "include": [a.pk for a in ambiguous.answers]})
    assert response.status_code == 302
    assert {a.score for a in Answer.objects.filter(submission__in=issue_course["two"])} == {1.0}
    assert clean_untouched(issue_course)

    recent = client.get(GROUPS, {"exam": exam}).context["recent"]
    assert [r["answers"] for r in recent] == [2]
    client.post(f"{GROUPS}undo/", {"batch": recent[0]["batch"]})
    assert {(a.status, a.score) for a in Answer.objects.filter(submission__in=issue_course["two"])} \
        == {(F, 2.0)}
    assert not client.get(GROUPS, {"exam": exam}).context["recent"]
    for s in issue_course["two"]:
        s.refresh_from_db()
        assert s.status == "needs_review"


def test_a_group_decision_with_rubric_items(client, db, media_root):
    exam = make_exam("GRP-2")
    ta = make_user("ta", exam=exam, role=roles.TA)
    q2 = exam.questions.get(label="2")
    memory = rubric.rubric_item_create(question=q2, points=1, text="less memory",
                                       keywords=["memory"])
    vague = rubric.rubric_item_create(question=q2, points=-0.5, text="vague")
    subs = [make_submission(exam, student=f"s{n}", answers={"2": {
        "status": F, "flags": ["free_text"], "raw_text": "uses less memory",
        "parsed": "uses less memory"}}) for n in range(3)]
    answers = Answer.objects.filter(submission__exam=exam)
    group = groups.answer_groups(answers)[0]
    client.force_login(ta)
    html = client.get(f"{GROUPS}{group.id}/").content.decode()
    assert f'name="items" value="{memory.pk}" checked' in html       # the suggestion
    assert f'name="items" value="{vague.pk}" checked' not in html
    client.post(f"{GROUPS}{group.id}/", {"mode": "rubric", "items": [memory.pk, vague.pk],
                                          "include": group.default_ids})
    for s in subs:
        a = answer_of(s, "2")
        assert (a.score, a.status) == (0.5, R)
        assert [i.text for i in rubric_scores.applied_rubric_items(a)] == ["less memory", "vague"]
    # The rubric still drives them: one change re-scores the whole group.
    rubric.rubric_item_update(item=vague, points=0, user=ta)
    assert {answer_of(s, "2").score for s in subs} == {1.0}
