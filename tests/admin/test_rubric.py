"""Rubric grading services (exams.rubric) and the decisions' undo: scores from applied items,
re-scoring with history when an item or the scoring changes, seeding from the exam file."""
import pytest

from exams import review, roles, rubric, rubric_scores, services
from exams.models import Answer, Question, Review, RubricApplication, RubricItem, Submission
from tests.admin.conftest import answer_of
from tests.api.factories import make_exam, make_submission, make_user

F, A, R = Answer.Status.FLAGGED, Answer.Status.AUTO, Answer.Status.REVIEWED


@pytest.fixture
def graded(db, media_root):
    """Exam with question 2 (free text, 2 points) answered by four students, all flagged."""
    exam = make_exam("RUB-1")
    ta = make_user("ta", exam=exam, role=roles.TA)
    q2 = exam.questions.get(label="2")
    texts = ["less memory and cost", "upsampling restores resolution", "no idea", "memory"]
    subs = [make_submission(exam, student=f"s{n}", answers={
        "1.ii": {"score": 2.0, "parsed": 11, "raw_text": "11"},
        "2": {"score": 0.0, "status": F, "flags": ["free_text"], "raw_text": text,
              "parsed": text}}) for n, text in enumerate(texts)]
    memory = rubric.rubric_item_create(question=q2, points=1, text="reduces memory",
                                       keywords=["memory"], user=ta)
    upsample = rubric.rubric_item_create(question=q2, points=1, text="restores resolution",
                                         keywords=["upsampl"], user=ta)
    return {"exam": exam, "ta": ta, "q2": q2, "subs": subs, "memory": memory,
            "upsample": upsample}


def total(submission) -> float:
    submission.refresh_from_db()
    return submission.score


@pytest.mark.parametrize("scoring, points, adjustment, expected", [
    ("positive", [1, 1], 0, 2.0), ("positive", [1], 0.5, 1.5), ("positive", [], 0, 0.0),
    ("positive", [1, 1, 1], 0, 2.0),                     # clamped at the question's points
    ("positive", [-1], 0, 0.0),                          # never below 0
    ("negative", [], 0, 2.0), ("negative", [-0.5], 0, 1.5), ("negative", [-1, -2], 0, 0.0),
    ("negative", [-1], 0.25, 1.25),
])
def test_rubric_score_positive_and_negative(scoring, points, adjustment, expected):
    q = Question(points=2, rubric_scoring=scoring)
    assert rubric_scores.rubric_score(question=q, max_score=2, points=points,
                               adjustment=adjustment) == expected


def test_grading_applies_items_records_a_review_and_the_total(graded):
    s0 = graded["subs"][0]
    answer = answer_of(s0, "2")
    rev = rubric.answer_grade(answer=answer, reviewer=graded["ta"],
                              item_ids=[graded["memory"].pk])
    answer.refresh_from_db()
    assert (answer.status, answer.score, answer.adjustment) == (R, 1.0, 0.0)
    assert [i.text for i in rubric_scores.applied_rubric_items(answer)] == ["reduces memory"]
    assert (rev.old_score, rev.new_score, rev.old_status, rev.old_rubric) == (0.0, 1.0, F, None)
    assert rev.new_rubric == {"items": [{"id": graded["memory"].pk, "points": 1.0,
                                         "text": "reduces memory"}], "adjustment": 0.0}
    assert total(s0) == 3.0 and s0.status == Submission.Status.GRADED
    # Decided again: exactly the items given now (one off, one on) plus an adjustment.
    rubric.answer_grade(answer=answer, reviewer=graded["ta"], item_ids=[graded["upsample"].pk],
                        adjustment=-0.5, comment="vague")
    answer.refresh_from_db()
    assert answer.score == 0.5
    assert list(answer.rubric_items.values_list("text", flat=True)) == ["restores resolution"]
    assert total(s0) == 2.5


def test_grading_refusals(graded):
    answer = answer_of(graded["subs"][0], "2")
    other = rubric.rubric_item_create(question=graded["exam"].questions.get(label="1.ii"),
                                      points=1, text="method")
    with pytest.raises(review.ReviewError, match="not .*one of question 2"):
        rubric.answer_grade(answer=answer, reviewer=graded["ta"], item_ids=[other.pk])
    with pytest.raises(review.ReviewError, match="say why"):
        rubric.answer_grade(answer=answer, reviewer=graded["ta"], item_ids=[], adjustment=1)
    with pytest.raises(review.ReviewError, match="a number"):
        rubric.answer_grade(answer=answer, reviewer=graded["ta"], item_ids=[], adjustment="x")
    Submission.objects.filter(pk=answer.submission_id).update(status=Submission.Status.PROCESSING)
    with pytest.raises(review.ReviewError, match="once grading has finished"):
        rubric.answer_grade(answer=answer, reviewer=graded["ta"], item_ids=[])
    assert not Review.objects.exists() and not RubricApplication.objects.exists()


def test_changing_an_items_points_rescores_every_answer_it_is_applied_to(graded):
    ta, memory = graded["ta"], graded["memory"]
    s0, s1, s2, s3 = graded["subs"]
    rubric.answer_grade(answer=answer_of(s0, "2"), reviewer=ta,
                        item_ids=[memory.pk, graded["upsample"].pk])
    rubric.answer_grade(answer=answer_of(s3, "2"), reviewer=ta, item_ids=[memory.pk])
    rubric.answer_grade(answer=answer_of(s1, "2"), reviewer=ta, item_ids=[graded["upsample"].pk])
    assert [total(s) for s in (s0, s1, s3)] == [4.0, 3.0, 3.0]

    change = rubric.rubric_item_update(item=memory, user=ta, points=0.5)
    assert change.answers == 2 and change.old_points == 1.0
    assert [total(s) for s in (s0, s1, s3)] == [3.5, 3.0, 2.5]
    history = Review.objects.filter(kind=Review.Kind.RUBRIC_CHANGE).order_by("pk")
    assert [(h.submission_id, h.old_score, h.new_score) for h in history] == [
        (s0.pk, 2.0, 1.5), (s3.pk, 1.0, 0.5)]
    assert len({h.batch for h in history}) == 1 and history[0].reviewer == ta
    assert "+1 → +0.5" in history[0].comment
    assert history[0].old_rubric["items"][0]["points"] == 1.0      # the state before...
    assert history[0].new_rubric["items"][0]["points"] == 0.5      # ...and after
    # A text change alone re-scores nothing.
    assert rubric.rubric_item_update(item=memory, user=ta, text="less memory").answers == 0
    with pytest.raises(review.ReviewError, match="between -2 and 2"):
        rubric.rubric_item_update(item=memory, user=ta, points=10)


def test_switching_to_negative_scoring_rescores_rubric_graded_answers_only(graded):
    ta, q2 = graded["ta"], graded["q2"]
    s0, s1 = graded["subs"][:2]
    rubric.answer_grade(answer=answer_of(s0, "2"), reviewer=ta, item_ids=[graded["memory"].pk])
    review.answer_review(answer=answer_of(s1, "2"), reviewer=ta, new_score=1.5, comment="ok")
    deduct = rubric.rubric_item_create(question=q2, points=-0.5, text="no example")
    rubric.answer_grade(answer=answer_of(graded["subs"][2], "2"), reviewer=ta,
                        item_ids=[deduct.pk])
    reviews = rubric.rubric_scoring_set(question=q2, scoring="negative", user=ta)
    assert len(reviews) == 2
    assert answer_of(s0, "2").score == 2.0                       # 2 + 1, clamped
    assert answer_of(graded["subs"][2], "2").score == 1.5        # 2 - 0.5
    assert answer_of(s1, "2").score == 1.5                       # a typed score stays
    assert rubric.rubric_scoring_set(question=q2, scoring="negative", user=ta) == []
    with pytest.raises(review.ReviewError):
        rubric.rubric_scoring_set(question=q2, scoring="sideways", user=ta)


def test_an_applied_item_cannot_be_deleted(graded):
    rubric.answer_grade(answer=answer_of(graded["subs"][0], "2"), reviewer=graded["ta"],
                        item_ids=[graded["memory"].pk])
    with pytest.raises(review.ReviewError, match="applied to 1 answer"):
        rubric.rubric_item_delete(item=graded["memory"])
    rubric.rubric_item_delete(item=graded["upsample"])
    assert list(RubricItem.objects.values_list("text", flat=True)) == ["reduces memory"]
    # The question (and its exam) can still go, with the items and their applications.
    graded["exam"].delete()
    assert not RubricItem.objects.exists() and not RubricApplication.objects.exists()


def test_an_override_of_a_rubric_graded_answer_becomes_its_adjustment(graded):
    ta, memory = graded["ta"], graded["memory"]
    answer = answer_of(graded["subs"][0], "2")
    rubric.answer_grade(answer=answer, reviewer=ta, item_ids=[memory.pk])
    review.answer_review(answer=answer, reviewer=ta, new_score=1.75, comment="nearly there")
    answer.refresh_from_db()
    assert (answer.score, answer.adjustment) == (1.75, 0.75)
    rubric.rubric_item_update(item=memory, user=ta, points=0.5)
    answer.refresh_from_db()
    assert answer.score == 1.25                 # the items still count, with the adjustment


def test_suggestion_is_keywords_and_never_applied(graded):
    items = [graded["memory"], graded["upsample"]]
    s0, s1, s2, _ = graded["subs"]
    assert rubric.suggested_item_ids(answer_of(s0, "2"), items) == {graded["memory"].pk}
    assert rubric.suggested_item_ids(answer_of(s1, "2"), items) == {graded["upsample"].pk}
    assert rubric.suggested_item_ids(answer_of(s2, "2"), items) == set()
    assert not RubricApplication.objects.exists()


# ---------------------------------------------------------------- undo

def test_undo_restores_the_answer_as_it_was(graded):
    ta = graded["ta"]
    s0 = graded["subs"][0]
    answer = answer_of(s0, "2")
    first = rubric.answer_grade(answer=answer, reviewer=ta, item_ids=[graded["memory"].pk])
    second = rubric.answer_grade(answer=answer, reviewer=ta, item_ids=[graded["upsample"].pk],
                                 adjustment=0.5, comment="good example")
    with pytest.raises(review.ReviewError, match="decided again since"):
        review.review_undo(review=first, reviewer=ta)
    # A rubric change in between does not block the undo; the restored items count with
    # their current points.
    rubric.rubric_item_update(item=graded["memory"], user=ta, points=0.75)
    undo = review.review_undo(review=second, reviewer=ta)
    answer.refresh_from_db()
    assert undo.kind == Review.Kind.UNDO and (undo.old_score, undo.new_score) == (1.5, 0.75)
    assert (answer.score, answer.adjustment, answer.status) == (0.75, 0.0, R)
    assert list(answer.rubric_items.values_list("text", flat=True)) == ["reduces memory"]
    with pytest.raises(review.ReviewError, match="undone already"):
        review.review_undo(review=second, reviewer=ta)
    with pytest.raises(review.ReviewError, match="only a decision"):
        review.review_undo(review=undo, reviewer=ta)
    # Undo the first decision too: flagged again, nothing applied, the total back.
    review.review_undo(review=first, reviewer=ta)
    answer.refresh_from_db()
    assert (answer.status, answer.score, answer.adjustment) == (F, 0.0, None)
    assert not answer.rubric_items.exists()
    s0.refresh_from_db()
    assert (s0.status, s0.score) == (Submission.Status.NEEDS_REVIEW, 2.0)


# ---------------------------------------------------------------- the exam file's rubric

def test_exam_file_rubric_items_are_seeded_idempotently(ai6126_exam):
    from tests.conftest import SAMPLES

    path = SAMPLES / "ai6126_a2" / "exam.yaml"
    q = ai6126_exam.questions.get(label="2")
    seeded = list(q.rubric_items.values_list("order", "points", "text", "keywords"))
    assert seeded == [
        (0, 1.0, "VQ-VAE has a discrete (quantized) latent / codebook",
         ["quantiz", "discrete", "codebook"]),
        (1, 1.0, "VAE latent is continuous (e.g. Gaussian)", ["continuous", "gaussian"])]
    assert ai6126_exam.questions.get(label="1.ii").rubric_items.count() == 0
    ta = make_user("ta", exam=ai6126_exam, role=roles.TA)
    mine = rubric.rubric_item_create(question=q, points=-0.5, text="confuses VAE and GAN", user=ta)
    services.exam_load(text=path.read_text(), base_dir=path.parent)          # the same file
    assert q.rubric_items.count() == 3
    assert list(q.rubric_items.values_list("text", flat=True))[2] == mine.text

    # The file changes: an item's points, one item dropped, one added. A TA edited the other.
    discrete, continuous = q.rubric_items.order_by("order")[:2]
    rubric.rubric_item_update(item=continuous, user=ta, points=0.5)
    submission = make_submission(ai6126_exam, student="s1", answers={
        "2": {"score": 0.0, "status": F, "flags": ["free_text"], "raw_text": "codebook"}})
    rubric.answer_grade(answer=answer_of(submission, "2"), reviewer=ta, item_ids=[discrete.pk])
    text = path.read_text()
    text = text.replace('{points: 1, text: "VQ-VAE has a discrete', '{points: 2, text: "VQ-VAE has a discrete')
    text = text.replace('{points: 1, text: "VAE latent is continuous (e.g. Gaussian)", '
                        'keywords: [continuous, gaussian]}',
                        '{points: 2, text: "VAE latent is continuous (e.g. Gaussian)", '
                        'keywords: [continuous]}')
    services.exam_load(text=text, base_dir=path.parent)
    discrete.refresh_from_db()
    continuous.refresh_from_db()
    assert discrete.points == 2.0                          # followed the file...
    assert answer_of(submission, "2").score == 2.0         # ...and re-scored, with history
    assert Review.objects.filter(kind=Review.Kind.RUBRIC_CHANGE,
                                 comment=rubric.FILE_CHANGE_COMMENT).count() == 1
    assert (continuous.points, continuous.keywords) == (0.5, ["continuous"])  # the TA's points

    dropped = text.replace('      - {points: 2, text: "VQ-VAE has a discrete (quantized) latent / '
                           'codebook", keywords: [quantiz, discrete, codebook]}\n', "")
    dropped = dropped.replace('      - {points: 2, text: "VAE latent is continuous (e.g. Gaussian)"'
                              ', keywords: [continuous]}\n', "")
    assert dropped != text
    services.exam_load(text=dropped, base_dir=path.parent)
    discrete.refresh_from_db()          # applied: kept, as a staff item without keywords
    assert (discrete.spec_text, discrete.keywords, discrete.points) == ("", [], 2.0)
    assert not RubricItem.objects.filter(pk=continuous.pk).exists()   # applied to nothing
    assert RubricItem.objects.filter(pk=mine.pk).exists()


def core_flag_names() -> set[str]:
    """Every answer flag the grading core defines (constants FLAG_* in grader.types and
    grader.score here; a StrEnum after the core's refactor)."""
    import grader.score
    import grader.types

    enums = [getattr(grader.types, name, None) for name in ("Flag", "DocumentFlag")]
    names = {str(member) for enum in enums if enum is not None for member in enum}
    return names | {v for m in (grader.types, grader.score) for k, v in vars(m).items()
                    if k.startswith("FLAG_") and isinstance(v, str)}


def test_every_flag_has_a_sentence():
    from exams.flags import DOCUMENT_FLAG_REASONS, FLAG_REASONS, flag_reason

    names = core_flag_names()
    assert len(names) >= 12 and names <= set(FLAG_REASONS) | set(DOCUMENT_FLAG_REASONS)
    assert flag_reason("something_new") == "Something new."
