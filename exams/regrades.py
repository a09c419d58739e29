"""Regrade requests: a student asks, per question and with a reason, for the counting
submission's result to be looked at again (after the release, before the instructor's
deadline); a TA resolves it with a comment, possibly changing the score.

The score change goes through exams.review.answer_review like any TA decision, so it is a
Review row (who, when, old -> new, why) and the submission total is recomputed; the request
keeps the student's reason and the TA's answer. One request per question of a submission.
"""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from exams import policies, review, roles
from exams.models import Answer, Question, RegradeRequest, Submission

MAX_REASON = 5000


class RegradeError(ValueError):
    """The request cannot be filed or resolved now; the message is shown as it is.
    ``status``: the HTTP status the API answers with."""

    status = 409


class RegradeInvalid(RegradeError):
    """The request itself is wrong (no such question, no reason)."""

    status = 400


def regrade_request_file(*, submission: Submission, question_label: str, reason: str,
                         student, now=None) -> RegradeRequest:
    """``student`` must be the submission's owner (views answer 404 to anyone else)."""
    exam = submission.exam
    reason = (reason or "").strip()
    if submission.user_id is None or submission.user_id != student.pk:
        raise RegradeError("only the student who submitted can ask for a regrade")
    if not exam.results_released:
        raise RegradeError("results are not released yet")
    if not policies.regrade_window_open(exam, now):
        raise RegradeError("the deadline for regrade requests has passed")
    if submission.status not in review.REVIEWABLE:
        raise RegradeError("this submission has no graded answers to look at again; ask the "
                           "instructor")
    if not policies.submission_counts(submission):
        raise RegradeError("this submission does not count; ask about the one that does")
    question = Question.objects.active().filter(exam=exam, label=question_label).first()
    if question is None:
        raise RegradeInvalid(f"question: this exam has no question {question_label!r}")
    if not reason:
        raise RegradeInvalid("reason: say what should be looked at again")
    if len(reason) > MAX_REASON:
        raise RegradeInvalid(f"reason: at most {MAX_REASON} characters")
    answer = submission.answers.filter(question=question).first()
    try:
        with transaction.atomic():
            return RegradeRequest.objects.create(
                submission=submission, question=question, student=student, reason=reason,
                score_before=answer.score if answer else 0.0)
    except IntegrityError:
        raise RegradeError(f"you have already asked for a regrade of question {question.label}"
                           ) from None


def _answer_for(request: RegradeRequest) -> Answer:
    """The answer the decision applies to; a question the reader found nothing for gets its
    row now (the student may point at an answer the system missed)."""
    answer = request.submission.answers.filter(question=request.question).first()
    if answer is not None:
        return answer
    q = request.question
    return Answer.objects.create(submission=request.submission, question=q, max_score=q.points,
                                 score=0.0, suggested_score=0.0, status=Answer.Status.AUTO,
                                 flags=["unanswered"], expected=q.key)


def resolve_check(*, request: RegradeRequest, response: str, new_score: float | None) -> None:
    """RegradeError unless the decision can be applied (forms call this to show the error)."""
    if request.status != RegradeRequest.Status.OPEN:
        raise RegradeError(f"regrade request #{request.pk} is already resolved")
    if not (response or "").strip():
        raise RegradeInvalid("response: tell the student what you decided and why")
    if request.submission.status not in review.REVIEWABLE:
        raise RegradeError(f"submission #{request.submission_id} is {request.submission.status}; "
                           "resolve the request once grading has finished")
    points = request.question.points
    if new_score is not None and not 0 <= new_score <= points:
        raise RegradeInvalid(f"new_score: between 0 and {points:g}")


def regrade_request_resolve(*, request: RegradeRequest, reviewer, response: str,
                            new_score: float | None = None) -> RegradeRequest:
    """Answer an open request. ``new_score`` None keeps the score (the decision is still
    recorded as a review confirming it)."""
    response = (response or "").strip()
    with transaction.atomic():
        request = RegradeRequest.objects.select_for_update().select_related(
            "submission", "question").get(pk=request.pk)
        resolve_check(request=request, response=response, new_score=new_score)
        try:
            decision = review.answer_review(answer=_answer_for(request), reviewer=reviewer,
                                            new_score=new_score,
                                            comment=f"Regrade request #{request.pk}: {response}")
        except review.ReviewError as exc:
            raise RegradeInvalid(" ".join(exc.messages)) from None
        request.status = RegradeRequest.Status.RESOLVED
        request.resolved_by, request.resolved_at = reviewer, timezone.now()
        request.response, request.score_after, request.review = response, decision.new_score, decision
        request.save()
    return request


def regrade_requests_for(user) -> QuerySet[RegradeRequest]:
    """Students: their own. Staff: those of the exams they teach."""
    qs = RegradeRequest.objects.select_related("submission__exam", "question", "student",
                                               "resolved_by")
    if roles.is_course_staff(user):
        return roles.scope_to_staff(qs, user, "submission__exam")
    return qs.filter(student=user)
