"""Rubric grading: per question, reusable rubric items with point deltas, applied to answers
by TAs (one RubricApplication per item and answer), and the scores computed from them.

Scoring model (as Gradescope's positive / negative scoring, per question):

    score = clamp(base + sum(points of the applied items) + adjustment, 0, max_score)

where ``base`` is 0 for *positive* scoring (items add: "+1 mentions the codebook") and the
question's full points for *negative* scoring (items deduct: "-1 forgot the bias"). Items may
carry either sign in either mode; ``adjustment`` is the TA's free adjustment (with a comment).
An answer is *rubric-graded* once a TA decides it with the rubric (``Answer.adjustment`` is
then a number, 0 without adjustment); only rubric-graded answers are re-scored when an item's
points or the question's scoring change, each with a Review row (kind ``rubric_change``).

The exam file's ``rubric:`` items (text, points, keywords) seed the question's items when the
exam is loaded; their keywords are the machine's suggestion, which the grading page shows as
pre-selected items. Nothing is applied until a TA saves the decision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable

from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet

from exams import review, services
from exams.models import Answer, Exam, Question, Review, RubricItem
from exams.rubric_scores import rubric_score, state_of

Scoring = Question.RubricScoring
FILE_CHANGE_COMMENT = "points changed in the exam file"


def suggested_item_ids(answer: Answer, items: Iterable[RubricItem]) -> set[int]:
    """The machine's suggestion: the items whose keywords (from the exam file) appear in the
    answer's text, as the grading core's free-text suggestion matches them. A suggestion is
    only shown (pre-selected); it is applied when a TA saves the decision."""
    text = answer.parsed if isinstance(answer.parsed, str) else answer.raw_text or ""
    lowered = text.lower()
    return {i.pk for i in items if any(str(k).lower() in lowered for k in i.keywords or ())}


# ---------------------------------------------------------------- decisions

def answer_grade(*, answer: Answer, reviewer, item_ids: Iterable[int], adjustment: float = 0.0,
                 comment: str = "", batch: str = "") -> Review:
    """A TA grades ``answer`` with the rubric: exactly the items ``item_ids`` applied (others
    removed) plus the free ``adjustment`` (which needs a comment). One Review, the submission
    total recomputed."""
    return answers_grade(answers=[answer], reviewer=reviewer, item_ids=item_ids,
                         adjustment=adjustment, comment=comment, batch=batch)[0]


def answers_grade(*, answers: Iterable[Answer], reviewer, item_ids: Iterable[int],
                  adjustment: float = 0.0, comment: str = "", batch: str = "") -> list[Review]:
    """``answer_grade`` with the same items for several answers (all or none), one Review
    each."""
    comment = (comment or "").strip()
    adjustment = _number(adjustment, "the adjustment")
    wanted = {int(pk) for pk in item_ids}
    if adjustment and not comment:
        raise review.ReviewError("say why when you adjust the points (the student may ask)")
    with transaction.atomic():
        changes, by_question = [], {}
        for answer in review.locked_answers(a.pk for a in answers):
            review.check_reviewable(answer)
            if answer.question_id not in by_question:
                by_question[answer.question_id] = tuple(RubricItem.objects.filter(
                    question_id=answer.question_id, pk__in=wanted))
            items = by_question[answer.question_id]
            if len(items) != len(wanted):
                raise review.ReviewError(f"a rubric item is not (or no longer) one of question "
                                         f"{answer.question.label}'s; reload the page")
            score = rubric_score(question=answer.question, max_score=answer.max_score,
                                 points=[i.points for i in items], adjustment=adjustment)
            changes.append((answer, review.Change(score=score, items=items,
                                                  adjustment=adjustment)))
        return review.record_changes(changes=changes, reviewer=reviewer, comment=comment,
                                     batch=batch)


def _number(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise review.ReviewError(f"{what} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise review.ReviewError(f"{what} must be a finite number")
    return number


def _rescore(answers: QuerySet[Answer], *, user, comment: str,
             old_states: dict[int, Any] | None = None) -> list[Review]:
    """Recompute the score of each rubric-graded answer in ``answers`` from its items' current
    points, one Review each (kind rubric_change, one batch), and the submissions' totals.
    ``old_states``: each answer's rubric state before the change, when the caller has saved
    the change already. Runs inside the caller's transaction."""
    pks = answers.filter(adjustment__isnull=False).values_list("pk", flat=True)
    changes = []
    for a in review.locked_answers(pks, all_there=False):
        items = tuple(a.rubric_items.all())
        score = rubric_score(question=a.question, max_score=a.max_score,
                             points=[i.points for i in items], adjustment=a.adjustment)
        changes.append((a, review.Change(score=score, items=items, adjustment=a.adjustment,
                                         status=a.status)))
    return review.record_changes(changes=changes, reviewer=user, comment=comment,
                                 kind=Review.Kind.RUBRIC_CHANGE, batch=review.new_batch(),
                                 old_states=old_states)


# ---------------------------------------------------------------- the rubric itself

def _check_item(question: Question, points: Any, text: str, *, bounded: bool = True
                ) -> tuple[float, str]:
    """Valid points and text, or ReviewError. ``bounded``: at most the question's points either
    way (a typo like 10 for 1.0 is refused); the exam file's items are taken as written."""
    points = _number(points, "an item's points")
    text = (text or "").strip()
    if not text:
        raise review.ReviewError("an item needs a text (the student reads it)")
    if bounded and abs(points) > question.points:
        raise review.ReviewError(f"an item's points must be between {-question.points:g} and "
                                 f"{question.points:g} (the question's points)")
    return points, text


def rubric_item_create(*, question: Question, points: Any, text: str, user=None,
                       keywords: Iterable[str] = (), from_file: bool = False) -> RubricItem:
    """A new item at the end of the question's rubric (it applies to nothing yet).
    ``from_file``: seeded from the exam file (remembered, so a reload can match it)."""
    points, text = _check_item(question, points, text, bounded=not from_file)
    with transaction.atomic():
        last = question.rubric_items.aggregate(m=Max("order"))["m"]
        return RubricItem.objects.create(
            question=question, points=points, text=text, keywords=list(keywords),
            created_by=user, order=0 if last is None else last + 1,
            spec_text=text if from_file else "", spec_points=points if from_file else None)


@dataclass(frozen=True)
class ItemChange:
    item: RubricItem
    old_points: float
    reviews: list[Review]     # one per re-scored answer

    @property
    def answers(self) -> int:
        return len(self.reviews)


def rubric_item_update(*, item: RubricItem, user=None, points: Any = None,
                       text: str | None = None, comment: str = "",
                       from_file: bool = False) -> ItemChange:
    """Change an item's text and/or points. New points re-score every answer it is applied to
    (one Review each, in one batch) and those submissions' totals."""
    with transaction.atomic():
        item = RubricItem.objects.select_for_update().select_related("question").get(pk=item.pk)
        new_points, new_text = _check_item(item.question, item.points if points is None else points,
                                           item.text if text is None else text,
                                           bounded=not from_file)
        old_points = item.points
        applied = Answer.objects.filter(rubric_applications__item=item)
        old_states = {a.pk: state_of(a.rubric_items.all(), a.adjustment) for a in
                      applied.filter(adjustment__isnull=False).prefetch_related("rubric_items")}
        item.points, item.text = new_points, new_text
        item.save(update_fields=["points", "text", "updated_at"])
        reviews = []
        if new_points != old_points:
            reviews = _rescore(applied, user=user, old_states=old_states, comment=(
                comment or f"rubric item “{new_text}” changed {old_points:+g} → {new_points:+g}"))
    return ItemChange(item=item, old_points=old_points, reviews=reviews)


def rubric_item_delete(*, item: RubricItem, user=None) -> None:
    """Remove an item that is applied to no answer (an applied one would change scores
    silently: set its points to 0 or take it off those answers first)."""
    with transaction.atomic():
        item = RubricItem.objects.select_for_update().get(pk=item.pk)
        n = item.applications.count()
        if n:
            raise review.ReviewError(f"“{item.text}” is applied to {n} answer(s); take it off "
                                     "them first, or set its points to 0")
        item.delete()


def rubric_scoring_set(*, question: Question, scoring: str, user=None) -> list[Review]:
    """Switch the question between positive and negative scoring; every rubric-graded answer
    of it is re-scored (one Review each)."""
    if scoring not in Scoring.values:
        raise review.ReviewError(f"scoring must be one of {', '.join(Scoring.values)}")
    with transaction.atomic():
        question = Question.objects.select_for_update().get(pk=question.pk)
        if question.rubric_scoring == scoring:
            return []
        old = question.rubric_scoring
        question.rubric_scoring = scoring
        question.save(update_fields=["rubric_scoring"])
        return _rescore(question.answers.all(), user=user,
                        comment=f"rubric scoring of {question.label} changed {old} → {scoring}")


def seed_on_sync(sender, *, exam: Exam, **_) -> None:
    """Receiver of ``signals.questions_synced`` (an exam file was loaded)."""
    rubric_items_seed(exam=exam)


def rubric_items_seed(*, exam: Exam) -> None:
    """Create or refresh each question's rubric items from the exam file's ``rubric:``
    (through the questions' QuestionSpec). Idempotent. Items made by staff are never touched.
    A seeded item keeps its row across reloads (matched by the file's text): its keywords
    follow the file; its points follow the file only when the file changed them and no one
    edited them since (then applied answers are re-scored, with history). A seeded item the
    file no longer has is deleted if it is applied to nothing, else kept as a staff item."""
    questions = {q.label: q for q in exam.questions.all()}
    for spec in services.question_specs(exam):
        question = questions[spec.label]
        seeded: dict[str, list[RubricItem]] = {}
        for item in question.rubric_items.exclude(spec_text=""):
            seeded.setdefault(item.spec_text, []).append(item)
        for entry in spec.rubric:
            matches = seeded.get(entry.text.strip()) or []
            if not matches:
                rubric_item_create(question=question, points=entry.points, text=entry.text,
                                   keywords=entry.keywords, from_file=True)
                continue
            item = matches.pop(0)
            item.keywords = list(entry.keywords)
            if entry.points != item.spec_points:
                if item.points == item.spec_points:
                    rubric_item_update(item=item, points=entry.points, comment=FILE_CHANGE_COMMENT,
                                       from_file=True)
                    item.points = entry.points
                item.spec_points = entry.points
            item.save(update_fields=["keywords", "spec_points", "updated_at"])
        for item in (i for items in seeded.values() for i in items):
            if item.applications.exists():
                RubricItem.objects.filter(pk=item.pk).update(spec_text="", spec_points=None,
                                                             keywords=[])
            else:
                item.delete()


def question_spec(question: Question):
    """The question as the grading core defines it (QuestionSpec: prompt, options, key, the
    exam file's rubric), for pages that show it."""
    return next(s for s in services.question_specs(question.exam) if s.label == question.label)


# ---------------------------------------------------------------- progress and sequence

@dataclass(frozen=True)
class QuestionProgress:
    question: Question
    to_do: int      # flagged: a TA must decide
    done: int       # decided by a TA
    auto: int       # graded by the machine, nothing to do

    @property
    def total(self) -> int:
        return self.to_do + self.done + self.auto

    @property
    def graded_percent(self) -> int:
        needing = self.to_do + self.done
        return 100 if not needing else round(100 * self.done / needing)


def question_progress(answers: QuerySet[Answer], questions: Iterable[Question]
                      ) -> list[QuestionProgress]:
    """Done / to do per question over ``answers`` (the caller's scope), in question order."""
    S = Answer.Status
    counts = {row["question"]: row for row in answers.order_by().values("question").annotate(
        to_do=Count("pk", filter=Q(status=S.FLAGGED)), done=Count("pk", filter=Q(status=S.REVIEWED)),
        auto=Count("pk", filter=Q(status=S.AUTO)))}
    empty = {"to_do": 0, "done": 0, "auto": 0}
    return [QuestionProgress(question=q, **{k: counts.get(q.pk, empty)[k] for k in empty})
            for q in questions]


def grading_sequence(answers: QuerySet[Answer], question: Question, *,
                     include_auto: bool = False) -> list[tuple[int, str]]:
    """(answer id, status) of the question's answers in grading order (by student): those a TA
    must decide or has decided, and the auto-graded ones too with ``include_auto``."""
    qs = answers.filter(question=question)
    if not include_auto:
        qs = qs.exclude(status=Answer.Status.AUTO)
    return list(qs.order_by("submission__student", "submission_id", "pk")
                .values_list("pk", "status"))


def next_to_grade(sequence: list[tuple[int, str]], after: int | None) -> int | None:
    """The first flagged answer after ``after`` in the sequence (wrapping round), or None when
    nothing is left to do."""
    ids = [pk for pk, _ in sequence]
    start = ids.index(after) + 1 if after in ids else 0
    for pk, status in sequence[start:] + sequence[:start]:
        if status == Answer.Status.FLAGGED and pk != after:
            return pk
    return None
