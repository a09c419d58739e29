"""Rubric scores of answers, from the database rows alone: the score a set of applied items
and an adjustment give (``rubric_score``), the rubric state history records, and the items
applied to an answer as a student is shown them. Below ``exams.review`` and ``exams.rubric``,
which both use it (see ``exams.rubric`` for the scoring model).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from exams.models import Answer, Question, RubricItem

Scoring = Question.RubricScoring


def rubric_base(question: Question, max_score: float) -> float:
    return max_score if question.rubric_scoring == Scoring.NEGATIVE else 0.0


def rubric_score(*, question: Question, max_score: float, points: Iterable[float],
                 adjustment: float, clamp: bool = True) -> float:
    """The score of a rubric-graded answer (see the module docstring); ``clamp=False`` gives
    the unbounded sum (to turn a typed score into an adjustment)."""
    total = rubric_base(question, max_score) + sum(points) + adjustment
    return round(min(max(total, 0.0), max_score) if clamp else total, 6)


def state_of(items: Iterable[RubricItem], adjustment: float) -> dict[str, Any]:
    """A rubric state as Review.old_rubric / new_rubric record it."""
    return {"items": [{"id": i.pk, "points": i.points, "text": i.text}
                      for i in sorted(items, key=lambda i: (i.order, i.pk))],
            "adjustment": adjustment}


def rubric_state(answer: Answer) -> dict[str, Any] | None:
    """The answer's rubric state now (None when its score is not from the rubric)."""
    if answer.adjustment is None:
        return None
    return state_of(answer.rubric_items.all(), answer.adjustment)


@dataclass(frozen=True)
class AppliedRubricItem:
    text: str
    points: float


def applied_rubric_items(answer: Answer) -> list[AppliedRubricItem]:
    """The rubric items a TA applied to ``answer``, in the rubric's order, each with its text
    and current points (positive adds, negative deducts; the question's scoring decides where
    the score starts, see the module docstring).

    For showing a graded answer to its student (after release). Empty when the answer was not
    graded with the rubric. The free adjustment is ``answer.adjustment`` (None unless
    rubric-graded; 0 when none was given) and its reason the comment of the answer's latest
    Review; ``answer.score`` is the result.
    """
    return [AppliedRubricItem(text=i.text, points=i.points)
            for i in answer.rubric_items.order_by("order", "pk")]
