"""What a student reads about their graded submission, per question: score, state, human
sentences instead of internal flag names, TA comments, applied rubric items, where the
answer is on their pages, and their regrade request. The API and the student pages both
show ``submission_feedback``; nothing student-facing prints a flag name.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from exams import review
from exams.flags import flag_sentence
from exams.rubric_scores import AppliedRubricItem, applied_rubric_items
from exams.models import Answer, Question, RegradeRequest, Review, Submission

class State(StrEnum):
    AUTO = "marked automatically"
    REVIEWED = "checked by a TA"
    PROVISIONAL = "provisional"     # flagged, not yet reviewed (only after a forced release)
    UNANSWERED = "unanswered"


STATE_SENTENCES = {
    State.AUTO: "Marked automatically.",
    State.REVIEWED: "Checked by a TA.",
    State.PROVISIONAL: "Provisional: a TA has not checked this answer yet; the score may change.",
    State.UNANSWERED: "No answer was found for this question.",
}


@dataclass(frozen=True)
class RegradeInfo:
    id: int
    status: str
    reason: str
    response: str
    created_at: datetime
    resolved_at: datetime | None
    score_before: float
    score_after: float | None


@dataclass(frozen=True)
class QuestionFeedback:
    label: str
    title: str
    kind: str
    score: float
    max_score: float
    state: State
    notes: tuple[str, ...]            # human sentences: the state, then what was noticed
    read_as: str | None               # the answer as the system read it
    comments: tuple[str, ...]         # TA comments, oldest first
    rubric_items: tuple[AppliedRubricItem, ...]
    crop_pages: tuple[int, ...]       # pages on which the answer is shown (crop endpoint)
    regrade: RegradeInfo | None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        return data


def _read_as(answer: Answer) -> str | None:
    if answer.parsed is not None:
        return answer.parsed if isinstance(answer.parsed, str) else json.dumps(answer.parsed)
    text = (answer.raw_text or "").strip()
    return text[:2000] or None


def _state(answer: Answer | None) -> State:
    if answer is None:
        return State.UNANSWERED
    if answer.status == Answer.Status.REVIEWED:
        return State.REVIEWED
    if answer.status == Answer.Status.FLAGGED:
        return State.PROVISIONAL
    return State.UNANSWERED if answer.flags == ["unanswered"] else State.AUTO


def _notes(answer: Answer | None, state: State) -> tuple[str, ...]:
    notes = [STATE_SENTENCES[state]]
    if answer is not None:
        notes += [flag_sentence(f) for f in answer.flags]
    return tuple(dict.fromkeys(notes))   # "unanswered" would say it twice


def _rubric_items(answer: Answer | None, question: Question) -> tuple[AppliedRubricItem, ...]:
    """The rubric items a TA applied to the answer (text and points), as the student sees them."""
    return () if answer is None else tuple(applied_rubric_items(answer))


def answer_pages(answer: Answer | None) -> tuple[int, ...]:
    """The pages the student's crop images of ``answer`` are on."""
    if answer is None:
        return ()
    pages = review.answer_crop_pages(answer) or [int(p) for p in answer.pages or ()]
    return tuple(pages)


def _regrade(request: RegradeRequest | None) -> RegradeInfo | None:
    if request is None:
        return None
    return RegradeInfo(id=request.pk, status=request.status, reason=request.reason,
                       response=request.response, created_at=request.created_at,
                       resolved_at=request.resolved_at, score_before=request.score_before,
                       score_after=request.score_after)


def submission_feedback(submission: Submission) -> list[QuestionFeedback]:
    """One entry per question of the exam, in exam order, answered or not."""
    answers = {a.question_id: a for a in submission.answers.all()}
    requests = {r.question_id: r for r in submission.regrade_requests.all()}
    resolution_reviews = {r.review_id for r in requests.values() if r.review_id}
    comments: dict[int, list[str]] = {}
    for r in (Review.objects.filter(submission=submission).exclude(comment="")
              .exclude(comment=review.BULK_COMMENT).exclude(pk__in=resolution_reviews)
              .order_by("created_at", "id")):
        comments.setdefault(r.question_id, []).append(r.comment)
    result = []
    for q in submission.exam.questions.active().order_by("order"):
        a = answers.get(q.pk)
        state = _state(a)
        result.append(QuestionFeedback(
            label=q.label, title=q.title, kind=q.kind,
            score=round(a.score, 4) if a else 0.0, max_score=a.max_score if a else q.points,
            state=state, notes=_notes(a, state), read_as=_read_as(a) if a else None,
            comments=tuple(comments.get(q.pk, ())), rubric_items=_rubric_items(a, q),
            crop_pages=answer_pages(a), regrade=_regrade(requests.get(q.pk))))
    return result


def submission_status_sentence(submission: Submission, *, released: bool) -> str:
    """The submission's status as a student reads it."""
    S = Submission.Status
    if submission.status in (S.RECEIVED, S.PROCESSING):
        return "Received; it is being graded."
    if submission.status == S.FAILED:
        return ("It could not be graded automatically: " + (submission.error or "unknown error")
                + " A TA will look at it.")
    if not released:
        return "Graded; the results are not released yet."
    return "Results released."
