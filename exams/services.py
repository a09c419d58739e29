"""Orchestration for exams and submissions. Views, commands, tasks and admin actions call
these functions; status changes happen only here, through ``submission_transition``."""
from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from exams.models import Answer, Exam, Page, Question, Submission
from grader.pages import PageRead
from grader.types import AnswerResult, QuestionSpec
from rubrics.definition import DefinitionError, ExamDefinition, parse_definition_text
from rubrics.keys import KeyReport, check_keys

log = logging.getLogger(__name__)
S = Submission.Status
# The grading task, enqueued by its name (``exams.tasks`` registers it): services never
# import the task module, which imports them.
GRADE_TASK = "exams.grade_submission"

# RECEIVED -> PROCESSING happens in submission_claim (a conditional UPDATE); a regrade sends a
# finished submission back to RECEIVED; PROCESSING -> RECEIVED is not used: a stale claim is
# taken over in place.
ALLOWED_TRANSITIONS: dict[str, set[str]] = {
    S.RECEIVED: {S.PROCESSING, S.FAILED},
    S.PROCESSING: {S.GRADED, S.NEEDS_REVIEW, S.FAILED},
    S.GRADED: {S.NEEDS_REVIEW, S.RECEIVED},
    S.NEEDS_REVIEW: {S.GRADED, S.RECEIVED},
    S.FAILED: {S.RECEIVED},
}


class InvalidTransition(Exception):
    pass


class ExamNotPublished(Exception):
    pass


# ---------------------------------------------------------------- exams

def exam_load(*, text: str, base_dir: Path | None = None, accept_mismatch: tuple[str, ...] = (),
              user: str = "", blank_pdf: File | None = None) -> tuple[Exam, KeyReport]:
    """Create or update an exam from its YAML. Raises DefinitionError on an invalid file."""
    defn = parse_definition_text(text)
    unknown = set(accept_mismatch) - {q.label for q in defn.questions}
    if unknown:
        raise DefinitionError(f"--accept-key: no question {', '.join(sorted(unknown))}")
    keyed, report = check_keys(defn, frozenset(accept_mismatch))
    blank_path = None
    if blank_pdf is None and defn.blank_pdf:
        relative = Path(defn.blank_pdf)
        # The YAML may come from an upload: never let it name a file outside its folder.
        if relative.is_absolute() or ".." in relative.parts:
            raise DefinitionError("field 'blank_pdf': must be a path inside the exam's folder")
        blank_path = (base_dir or Path(".")) / relative
        if not blank_path.is_file():
            raise DefinitionError(f"field 'blank_pdf': file {blank_path} not found")
    with transaction.atomic():
        exam, _ = Exam.objects.select_for_update().get_or_create(
            code=defn.code, defaults={"title": defn.title})
        exam.title = defn.title
        exam.source_yaml = text
        exam.key_report = report.as_list()
        blocking = [label for label in report.mismatched if label not in accept_mismatch]
        exam.published = not blocking
        if blank_pdf is not None:
            exam.blank_pdf.save(f"{defn.code}.pdf", blank_pdf, save=False)
        elif blank_path is not None:
            with open(blank_path, "rb") as fh:
                exam.blank_pdf.save(f"{defn.code}.pdf", File(fh), save=False)
        exam.omr_template = _omr_template(exam, defn)
        exam.marking = defn.marking
        exam.save()
        _sync_questions(exam, keyed, report, set(accept_mismatch), user)
    return exam, report


def _omr_template(exam: Exam, defn: ExamDefinition) -> dict[str, list[list[float]]]:
    """Checkbox positions per multiple-choice question (mm): the YAML's `boxes:` win, the
    others are found on the blank exam PDF and assigned in reading order."""
    template = {label: [list(b) for b in boxes] for label, boxes in defn.boxes.items()}
    missing = [q for q in defn.questions if q.kind == "multiple_choice" and q.label not in template]
    if missing and exam.blank_pdf:
        from grader import omr
        from grader.render import RenderError

        try:
            found = omr.template_from_pdf(exam.blank_pdf.path)
            assigned = omr.assign_options(found, [(q.label, len(q.options)) for q in missing])
        except (RenderError, ValueError) as exc:
            raise DefinitionError(f"field 'blank_pdf': cannot place the checkboxes: {exc}") from None
        template.update({label: [[b.page, b.x, b.y, b.w, b.h] for b in boxes]
                         for label, boxes in assigned.items()})
    return template


def _sync_questions(exam: Exam, defn: ExamDefinition, report: KeyReport,
                    accepted: set[str], user: str) -> None:
    by_label = {e.label: e for e in report.entries}
    existing = {q.label: q for q in exam.questions.all()}
    keep = set()
    for order, spec in enumerate(defn.questions):
        q = existing.get(spec.label) or Question(exam=exam, label=spec.label)
        q.set_spec(spec, order=order)
        q.key_check = by_label[spec.label].as_dict()
        overridden = spec.label in accepted and by_label[spec.label].status == "mismatch"
        if overridden and not q.key_override:
            q.key_override_by, q.key_override_at = user, timezone.now()
        q.key_override = overridden
        q.save()
        keep.add(spec.label)
    # Questions dropped from the file go, with their answers (the file is the source of truth).
    exam.questions.exclude(label__in=keep).delete()


def question_specs(exam: Exam) -> list[QuestionSpec]:
    """The exam's questions as the grading core's QuestionSpec values, keys included."""
    return [q.definition for q in exam.questions.order_by("order")]


# ---------------------------------------------------------------- submissions

def submission_transition(*, submission: Submission, to: str, **fields: Any) -> Submission:
    """Move a submission to ``to`` if allowed from its current state, atomically."""
    current = submission.status
    if to not in ALLOWED_TRANSITIONS.get(current, set()):
        raise InvalidTransition(f"submission {submission.pk}: {current} -> {to} is not allowed")
    updated = Submission.objects.filter(pk=submission.pk, status=current).update(
        status=to, updated_at=timezone.now(), **fields)
    if updated != 1:
        raise InvalidTransition(f"submission {submission.pk} changed state concurrently")
    submission.refresh_from_db()
    return submission


def submission_create(*, exam: Exam, student: str, content: bytes, filename: str = "submission.pdf",
                      user=None, enqueue: bool = True) -> Submission:
    """Save the upload first; grading is enqueued only once the row is committed."""
    if not exam.published:
        raise ExamNotPublished(f"exam {exam.code} is not published (answer key check failed)")
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        submission = Submission(exam=exam, student=student, user=user, sha256=digest,
                                original_name=Path(filename).name[:255])
        # The stored name is ours; the uploader's file name is never used as a path.
        submission.file.save(f"{digest[:16]}.pdf", ContentFile(content), save=False)
        submission.save()
        if enqueue:
            # robust: an error while grading in-process must not turn the upload into a 500.
            transaction.on_commit(lambda: submission_enqueue(submission_id=submission.pk),
                                  robust=True)
    return submission


def submission_enqueue(*, submission_id: int) -> bool:
    """Hand the submission to the broker (or grade it now when tasks run in-process). A broker
    outage leaves it `received` for the sweep."""
    try:
        current_app.signature(GRADE_TASK, args=(submission_id,)).delay()
        return True
    except Exception as exc:  # noqa: BLE001 - kombu raises many types when Redis is down
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        log.warning("could not enqueue submission %s (%s); the sweep will retry", submission_id, exc)
        return False


def submission_claim(*, submission_id: int) -> bool:
    """Claim a submission for grading exactly once (a conditional UPDATE, like healthchecks)."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.GRADER_STALE_AFTER_S)
    claimable = Submission.objects.filter(pk=submission_id, status=S.RECEIVED)
    if claimable.update(status=S.PROCESSING, started_at=now, updated_at=now, error="",
                        pages_done=0, attempts=F("attempts") + 1) == 1:
        return True
    # A submission left in `processing` by a killed worker is taken over after it goes stale,
    # a bounded number of times: a page that crashes the reader must not loop forever.
    abandoned = Submission.objects.filter(pk=submission_id, status=S.PROCESSING, started_at__lt=stale)
    if abandoned.filter(attempts__gte=settings.GRADER_MAX_ATTEMPTS).exists():
        submission_fail(submission=Submission.objects.get(pk=submission_id), error=(
            f"grading was interrupted {settings.GRADER_MAX_ATTEMPTS} times (a page may crash the "
            f"reader); scan or export the file again, or ask a TA to grade it by hand"))
        return False
    return abandoned.update(started_at=now, updated_at=now, pages_done=0,
                            attempts=F("attempts") + 1) == 1


def submission_fail(*, submission: Submission, error: str) -> Submission:
    submission.refresh_from_db()
    if submission.status == S.FAILED:
        return submission
    return submission_transition(submission=submission, to=S.FAILED, error=error[:2000],
                                 finished_at=timezone.now())


def submission_regrade(*, submission: Submission) -> Submission:
    """Queue a finished submission again; its answers are replaced, never duplicated."""
    if submission.status != S.RECEIVED:
        submission = submission_transition(submission=submission, to=S.RECEIVED)
    transaction.on_commit(lambda: submission_enqueue(submission_id=submission.pk), robust=True)
    return submission


def submissions_sweep() -> tuple[int, int]:
    """Enqueue the stale submissions again; (how many were stale, how many were enqueued)."""
    ids = stale_submissions()
    return len(ids), sum(submission_enqueue(submission_id=i) for i in ids)


def stale_submissions() -> list[int]:
    """Submissions a sweep should (re-)enqueue: never picked up, or abandoned mid-processing."""
    stale = timezone.now() - timedelta(seconds=settings.GRADER_STALE_AFTER_S)
    received = Submission.objects.filter(status=S.RECEIVED, created_at__lt=timezone.now()
                                         - timedelta(seconds=30))
    abandoned = Submission.objects.filter(status=S.PROCESSING, started_at__lt=stale)
    return list(received.values_list("pk", flat=True)) + list(abandoned.values_list("pk", flat=True))


def submission_store_results(*, submission: Submission, pages: Sequence[PageRead],
                             results: Sequence[AnswerResult]) -> Submission:
    """Replace the submission's pages and answers with a grading run's output; set the status.

    One transaction, so the grading run lands whole or not at all (and costs one commit).
    """
    questions = {q.label: q for q in submission.exam.questions.all()}
    with transaction.atomic():
        submission.pages.all().delete()
        Page.objects.bulk_create([Page(submission=submission, number=p.number, read=p.to_json())
                                  for p in pages])
        reviewed = {a.question_id: a for a in submission.answers.filter(status=Answer.Status.REVIEWED)}
        submission.answers.exclude(question_id__in=reviewed).delete()
        new_answers: list[Answer] = []
        for r in results:
            q = questions[r.label]
            if q.pk in reviewed:
                # A TA's decision survives a regrade; the machine's suggestion is refreshed.
                a = reviewed[q.pk]
                a.suggested_score, a.parsed, a.expected = r.scored.score, r.parsed.value, r.expected
                a.spans = [list(span) for span in r.spans]
                a.save(update_fields=["suggested_score", "parsed", "expected", "spans",
                                      "updated_at"])
                continue
            new_answers.append(Answer(
                submission=submission, question=q, raw_text=r.raw_text[:20000],
                evidence=r.parsed.evidence[:2000], parsed=r.parsed.value, expected=r.expected,
                score=r.scored.score, suggested_score=r.scored.score, max_score=r.scored.max_score,
                status=r.status, flags=list(r.scored.flags), detail=_detail(r),
                confidence=round(r.confidence, 4), pages=list(r.pages),
                spans=[list(span) for span in r.spans]))
        Answer.objects.bulk_create(new_answers)
        # Every page is read now; redelivered page tasks may have counted some twice.
        return submission_finish(submission=submission, answers=[*reviewed.values(), *new_answers],
                                 pages_done=len(pages),
                                 max_score=float(sum(q.points for q in questions.values())))


def _detail(result: AnswerResult) -> str:
    if result.parsed.alternatives:
        alternatives = " and ".join(str(a) for a in result.parsed.alternatives)
        return f"several final answers: {alternatives}. {result.scored.detail}".strip()
    return result.scored.detail


def submission_finish(*, submission: Submission, answers: list[Answer] | None = None,
                      **extra_fields: Any) -> Submission:
    """Recompute the total and set graded / needs_review from the answers.

    ``answers``: all of the submission's answers, when the caller has them in hand.
    """
    if answers is None:
        answers = list(submission.answers.all())
    total = round(sum(a.score for a in answers), 6)
    max_score = submission.exam.max_score
    flagged = any(a.status == Answer.Status.FLAGGED for a in answers)
    to = S.NEEDS_REVIEW if flagged else S.GRADED
    fields = {"score": total, "max_score": max_score, "finished_at": timezone.now(), "error": "",
              **extra_fields}
    if submission.status == to:
        Submission.objects.filter(pk=submission.pk).update(**fields)
        submission.refresh_from_db()
        return submission
    return submission_transition(submission=submission, to=to, **fields)
