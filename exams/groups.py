"""Answer groups: answers to one question read the same in full, decided together.

Grouped only when the whole reading agrees (``reading_key``: the raw text, the parsed value and
every other candidate value), so "11 and 15" never joins a clean "15". A decision changes the
flagged members unless the TA ticks others, one review each, undone together (``batch``).
Above ``exams.review`` and ``exams.rubric``: a group decision is a score or rubric items.
"""
from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable

from django.db.models import QuerySet

from exams import review, rubric
from exams.models import Answer, Question, Review


def reading_key(answer: Answer) -> str:
    """The answer's reading in full: the raw text (Unicode- and whitespace-normalised), the
    parsed value and every other candidate value. Answers are grouped only when all agree, so
    "11 and 15" (parsed 15, also 11) never joins a clean "15"."""
    raw = " ".join(unicodedata.normalize("NFKC", answer.raw_text or "").split())
    return json.dumps([raw, answer.parsed, answer.alternatives or []], sort_keys=True)


def group_id(question_id: int, key: str) -> str:
    return hashlib.sha256(f"{question_id}|{key}".encode()).hexdigest()[:16]


@dataclass
class AnswerGroup:
    """Answers to one question whose reading is the same in full (``reading_key``)."""

    question: Question
    key: str
    answers: list[Answer] = field(default_factory=list)

    @property
    def id(self) -> str:
        return group_id(self.question.pk, self.key)

    @property
    def raw(self) -> str:
        return json.loads(self.key)[0]

    @property
    def value(self) -> Any:
        return json.loads(self.key)[1]

    @property
    def alternatives(self) -> list[Any]:
        return json.loads(self.key)[2]

    @property
    def other_values(self) -> list[Any]:
        """The final answers read besides ``value``."""
        return [v for v in self.alternatives if v != self.value]

    def _count(self, status: str) -> int:
        return sum(a.status == status for a in self.answers)

    @property
    def flagged(self) -> int:
        return self._count(Answer.Status.FLAGGED)

    @property
    def reviewed(self) -> int:
        return self._count(Answer.Status.REVIEWED)

    @property
    def auto(self) -> int:
        return self._count(Answer.Status.AUTO)

    @property
    def default_ids(self) -> list[int]:
        """What a decision applies to unless the TA picks: the flagged answers only."""
        return [a.pk for a in self.answers if a.status == Answer.Status.FLAGGED]

    @property
    def suggested_scores(self) -> list[float]:
        return sorted({a.suggested_score for a in self.answers})

    @property
    def flags(self) -> list[str]:
        return sorted({f for a in self.answers for f in a.flags})


def answer_groups(answers: QuerySet[Answer], *, only_open: bool = True,
                  min_size: int = 2) -> list[AnswerGroup]:
    """Groups of answers read the same, largest first. ``only_open``: groups with a flagged
    answer; ``min_size``: a group of one is graded on its own. Answers to archived questions
    (dropped from the exam file) are a record: never grouped."""
    groups: dict[tuple[int, str], AnswerGroup] = {}
    current = answers.filter(question__archived_at__isnull=True)
    for a in current.select_related("question", "question__exam", "submission").order_by(
            "question__order", "submission__student", "pk"):
        key = reading_key(a)
        groups.setdefault((a.question_id, key), AnswerGroup(question=a.question, key=key)
                          ).answers.append(a)
    result = [g for g in groups.values()
              if len(g.answers) >= min_size and (g.flagged or not only_open)]
    return sorted(result, key=lambda g: (g.question.exam_id, g.question.order, -len(g.answers),
                                         g.key))


def answer_group(answers: QuerySet[Answer], group: str) -> AnswerGroup:
    """One group by id, as it is now (any size, open or not), or ReviewError."""
    for g in answer_groups(answers, only_open=False, min_size=1):
        if g.id == group:
            return g
    raise review.ReviewError("that answer group no longer exists (answers changed); reload the page")


def answer_group_decide(*, answers: QuerySet[Answer], group: str, reviewer,
                        include: Iterable[int] | None = None, new_score: float | None = None,
                        item_ids: Iterable[int] | None = None, adjustment: float = 0.0,
                        comment: str = "") -> tuple[str, list[Review]]:
    """One TA decision for answers of one group, one review each (undo them together with
    ``batch_undo`` and the returned batch id).

    ``include``: the members the TA ticked; None = the flagged members only. An auto-graded or
    reviewed answer is changed only when it is included explicitly. The decision is rubric
    items + adjustment (``item_ids`` given) or a score (``new_score``; None confirms each
    answer's current score). All or nothing: one answer that cannot be decided stops all."""
    g = answer_group(answers, group)
    members = {a.pk: a for a in g.answers}
    chosen = g.default_ids if include is None else list(dict.fromkeys(int(pk) for pk in include))
    strays = [pk for pk in chosen if pk not in members]
    if strays:
        raise review.ReviewError(f"answer(s) {', '.join(f'#{pk}' for pk in strays)} are no longer in "
                          "this group (their reading changed); reload the page")
    if not chosen:
        raise review.ReviewError("no answer selected: tick the answers the decision is for")
    batch, selected = review.new_batch(), [members[pk] for pk in chosen]
    if item_ids is not None:
        reviews = rubric.answers_grade(answers=selected, reviewer=reviewer, item_ids=item_ids,
                                       adjustment=adjustment, comment=comment, batch=batch)
    else:
        reviews = review.answers_review(answers=selected, reviewer=reviewer, new_score=new_score,
                                 comment=comment, batch=batch)
    return batch, reviews
