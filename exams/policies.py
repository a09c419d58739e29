"""Per-exam policies: when students may submit, whether they may submit again, and which of a
student's submissions counts (results CSV, statistics, release guard, feedback, regrades).

Policies bind students. Staff uploads on a student's behalf and the `grade` command are staff
acts: they are accepted outside the window (paper scans arrive after the exam closes).

Decisions:
- "latest" counts the student's last upload whatever became of it: a failed last upload is
  the student's last word and shows as failed (a TA grades it by hand) rather than silently
  falling back to an older file.
- "best" counts the highest score among finished submissions (ties: the later one); while
  none has finished, the latest.
- Submissions are grouped by their ``student`` label (the username for uploads tied to an
  account), so `grade --student alice` and alice's own upload are one student.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.db.models import QuerySet
from django.utils import timezone

from exams.models import Exam, Submission

S = Submission.Status
FINISHED = (S.GRADED, S.NEEDS_REVIEW)
Counting = Exam.Counting


class SubmissionRefused(Exception):
    """The exam's policy refuses this upload; the message is for the student."""


class PolicyError(ValueError):
    """Policy values that contradict each other; the message names the field."""


class Window(StrEnum):
    NOT_OPEN = "not_open"
    OPEN = "open"
    CLOSED = "closed"


def submission_window(exam: Exam, now: datetime | None = None) -> Window:
    now = now or timezone.now()
    if exam.opens_at and now < exam.opens_at:
        return Window.NOT_OPEN
    if exam.closes_at and now >= exam.closes_at:
        return Window.CLOSED
    return Window.OPEN


def _when(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M %Z")


def student_submission_check(exam: Exam, *, previous: int, now: datetime | None = None) -> None:
    """Raise SubmissionRefused unless a student may upload now, having ``previous``
    submissions to this exam already."""
    if not exam.published:
        raise SubmissionRefused("This exam is not open for submissions yet.")
    window = submission_window(exam, now)
    if window is Window.NOT_OPEN:
        raise SubmissionRefused(f"This exam opens for submissions at {_when(exam.opens_at)}.")
    if window is Window.CLOSED:
        raise SubmissionRefused(f"Submissions closed at {_when(exam.closes_at)}.")
    if exam.results_released:
        raise SubmissionRefused("Results have been released; submissions are closed.")
    if previous and not exam.allow_resubmission:
        raise SubmissionRefused("You have already submitted; this exam accepts one submission "
                                "per student.")


def regrade_window_open(exam: Exam, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return exam.results_released and (exam.regrade_requests_until is None
                                      or now < exam.regrade_requests_until)


POLICY_FIELDS = ("opens_at", "closes_at", "allow_resubmission", "counting",
                 "regrade_requests_until")


def policies_check(*, opens_at: datetime | None, closes_at: datetime | None, counting: str,
                   regrade_requests_until: datetime | None, **_ignored) -> None:
    if counting not in Counting.values:
        raise PolicyError(f"counting: one of {', '.join(Counting.values)}")
    if opens_at and closes_at and closes_at <= opens_at:
        raise PolicyError("closes_at: must be after opens_at")
    if regrade_requests_until and closes_at and regrade_requests_until <= closes_at:
        raise PolicyError("regrade_requests_until: must be after closes_at")


def exam_policies_set(*, exam: Exam, **changes) -> Exam:
    """Change some of the exam's policies (names in POLICY_FIELDS), checked together with the
    ones left as they are."""
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise PolicyError(f"unknown policy {', '.join(sorted(unknown))}")
    values = {name: changes.get(name, getattr(exam, name)) for name in POLICY_FIELDS}
    policies_check(**values)
    for name, value in values.items():
        setattr(exam, name, value)
    exam.save(update_fields=[*POLICY_FIELDS, "updated_at"])
    return exam


# ---------------------------------------------------------------- which submission counts

@dataclass(frozen=True)
class Candidate:
    id: int
    student: str
    created_at: datetime
    status: str
    score: float | None


def choose_counting(candidates: list[Candidate], rule: str) -> dict[str, int]:
    """student -> id of the submission that counts, by ``rule`` (pure)."""
    by_student: dict[str, list[Candidate]] = {}
    for c in candidates:
        by_student.setdefault(c.student, []).append(c)
    chosen = {}
    for student, rows in by_student.items():
        rows = sorted(rows, key=lambda c: (c.created_at, c.id))
        if rule == Counting.FIRST:
            pick = rows[0]
        elif rule == Counting.BEST:
            finished = [c for c in rows if c.status in FINISHED and c.score is not None]
            # max() keeps the first of equal keys; the key puts later uploads after earlier.
            pick = max(finished, key=lambda c: (c.score, c.created_at, c.id)) if finished else rows[-1]
        else:
            pick = rows[-1]
        chosen[student] = pick.id
    return chosen


def counting_ids(exam: Exam) -> dict[str, int]:
    rows = exam.submissions.values_list("id", "student", "created_at", "status", "score")
    return choose_counting([Candidate(*row) for row in rows], exam.counting)


def counting_submissions(exam: Exam) -> QuerySet[Submission]:
    """One submission per student: the one that counts under the exam's policy."""
    return exam.submissions.filter(pk__in=list(counting_ids(exam).values()))


def submission_counts(submission: Submission) -> bool:
    return counting_ids(submission.exam).get(submission.student) == submission.pk
