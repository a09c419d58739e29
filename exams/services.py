"""Orchestration for exams and submissions. Views, commands, tasks and admin actions call
these functions; status changes happen only here, through ``submission_transition``."""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Prefetch
from django.utils import timezone

from exams import roles
from exams.files import local_path
from exams.signals import questions_synced
from exams.models import Answer, Exam, Page, Question, Submission
from grader.layout import blank_layout
from grader.pages import PageRead
from grader.pdf import PdfError
from grader.render import RenderError
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

class NotExamInstructor(Exception):
    """An upload for an exam code that exists and belongs to other instructors."""


@dataclass(frozen=True)
class QuestionChanges:
    """What an upload changed in an exam's questions, told to the instructor. Questions are
    matched by label: a renamed question is one archived and one added."""

    added: tuple[str, ...] = ()
    changed: tuple[tuple[str, tuple[str, ...]], ...] = ()   # (label, the spec fields that differ)
    archived: tuple[str, ...] = ()
    restored: tuple[str, ...] = ()
    totals_recomputed: int = 0     # scored submissions whose total and status were recomputed
    scored_before: int = 0         # submissions scored with the previous definition

    @property
    def regrade_advised(self) -> bool:
        """Scores stored before the change do not reflect it (a new key, new points, a new or
        restored question) until the exam is regraded."""
        return bool(self.scored_before and (self.added or self.changed or self.restored))

    def as_dict(self) -> dict[str, Any]:
        return {"added": list(self.added),
                "changed": [{"label": label, "fields": list(what)} for label, what in self.changed],
                "archived": list(self.archived), "restored": list(self.restored),
                "totals_recomputed": self.totals_recomputed,
                "regrade_advised": self.regrade_advised}

    def lines(self) -> list[str]:
        """The changes as the `load_exam` command prints them."""
        out = [f"  {what}: {', '.join(labels)}" for what, labels in (
            ("added", self.added), ("archived (answers and reviews kept)", self.archived),
            ("restored", self.restored)) if labels]
        out += [f"  changed: {label} ({', '.join(what)})" for label, what in self.changed]
        if self.totals_recomputed:
            out.append(f"  totals recomputed for {self.totals_recomputed} graded submission(s)")
        if self.regrade_advised:
            out.append(f"  {self.scored_before} submission(s) were graded with the previous "
                       f"definition: regrade the exam to apply the changes")
        return out


@dataclass(frozen=True)
class ExamLoaded:
    exam: Exam
    report: KeyReport
    created: bool
    changes: QuestionChanges


def exam_load(*, text: str, base_dir: Path | None = None, accept_mismatch: tuple[str, ...] = (),
              user: str = "", blank_pdf: File | None = None) -> tuple[Exam, KeyReport]:
    """``exam_upsert`` for callers that need only the exam and its key check."""
    loaded = exam_upsert(text=text, base_dir=base_dir, accept_mismatch=accept_mismatch,
                         user=user, blank_pdf=blank_pdf)
    return loaded.exam, loaded.report


def exam_upsert(*, text: str, base_dir: Path | None = None, accept_mismatch: tuple[str, ...] = (),
                user: str = "", blank_pdf: File | None = None,
                instructor=None) -> ExamLoaded:
    """Create or update an exam from its YAML. Raises DefinitionError on an invalid file.

    ``instructor``: the user uploading (the API). A new code makes them its instructor; an
    existing one must be theirs (NotExamInstructor). Decided under the exam row's lock, with
    the unique code as the arbiter, so two instructors racing for a new code cannot both
    become its instructor.
    """
    defn = parse_definition_text(text)
    if instructor is not None:
        # Cheap early refusal, before the solvers run; re-checked under the lock below.
        existing = Exam.objects.filter(code=defn.code).first()
        if existing is not None:
            _check_instructor(existing, instructor)
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
        exam, created = _exam_locked(defn)
        if instructor is not None:
            if created:
                roles.role_assign(exam=exam, user=instructor, role=roles.INSTRUCTOR)
            else:
                _check_instructor(exam, instructor)
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
        exam.layout = _layout(exam, keyed)
        exam.marking = defn.marking
        exam.save()
        changes = _sync_questions(exam, keyed, report, set(accept_mismatch), user)
    return ExamLoaded(exam=exam, report=report, created=created, changes=changes)


def _exam_locked(defn: ExamDefinition) -> tuple[Exam, bool]:
    """The exam with this code, locked for the rest of the transaction, or a new one:
    (exam, created). A concurrent upload that inserted the code first wins: its row is
    returned (after its transaction commits) as an existing exam."""
    exam = Exam.objects.select_for_update().filter(code=defn.code).first()
    if exam is not None:
        return exam, False
    try:
        with transaction.atomic():   # a savepoint: the failed INSERT must not end the transaction
            return Exam.objects.create(code=defn.code, title=defn.title), True
    except IntegrityError:
        return Exam.objects.select_for_update().get(code=defn.code), False


def _check_instructor(exam: Exam, user) -> None:
    if not roles.has_exam_role(user, exam, (roles.INSTRUCTOR,)):
        raise NotExamInstructor(f"exam {exam.code} exists and you are not its instructor; "
                                f"ask one of its instructors to add you, or use another code")


def _omr_template(exam: Exam, defn: ExamDefinition) -> dict[str, list[list[float]]]:
    """Checkbox positions per multiple-choice question (mm): the YAML's `boxes:` win, the
    others are found on the blank exam PDF and assigned in reading order."""
    template = {label: [list(b) for b in boxes] for label, boxes in defn.boxes.items()}
    missing = [q for q in defn.questions if q.kind == "multiple_choice" and q.label not in template]
    if missing and exam.blank_pdf:
        from grader import omr

        try:
            found = omr.template_from_pdf(local_path(exam.blank_pdf))
            assigned = omr.assign_options(found, [(q.label, len(q.options)) for q in missing])
        except (RenderError, ValueError) as exc:
            raise DefinitionError(f"field 'blank_pdf': cannot place the checkboxes: {exc}") from None
        template.update({label: [[b.page, b.x, b.y, b.w, b.h] for b in boxes]
                         for label, boxes in assigned.items()})
    return template


def _layout(exam: Exam, defn: ExamDefinition) -> dict | None:
    """The blank exam's pages and answer regions (``grader.layout``), or None without one."""
    if not exam.blank_pdf:
        return None
    try:
        layout = blank_layout(local_path(exam.blank_pdf), defn.questions, defn.regions)
    except (PdfError, RenderError) as exc:
        raise DefinitionError(f"field 'blank_pdf': cannot read the blank exam: {exc}") from None
    pages = len(layout.page_sizes)
    outside = [label for label, r in layout.regions.items() if r.page > pages]
    if outside:
        raise DefinitionError(f"question {outside[0]}, field 'region': the blank exam has "
                              f"{pages} page(s)")
    return layout.to_json()


def _sync_questions(exam: Exam, defn: ExamDefinition, report: KeyReport,
                    accepted: set[str], user: str) -> QuestionChanges:
    """Make the exam's questions those of ``defn``. Questions are matched by label; one the
    file no longer has is archived (its answers and reviews stay), one it has again is
    restored; the totals of scored submissions are recomputed when what counts changed."""
    by_label = {e.label: e for e in report.entries}
    existing = {q.label: q for q in exam.questions.all()}
    added, changed, restored = [], [], []
    for order, spec in enumerate(defn.questions):
        q = existing.get(spec.label)
        if q is None:
            q = Question(exam=exam, label=spec.label)
            added.append(spec.label)
        elif q.archived_at is not None:
            q.archived_at = None
            restored.append(spec.label)
        else:
            differ = _spec_differences(q.definition, spec)
            if differ:
                changed.append((spec.label, differ))
        q.set_spec(spec, order=order)
        q.key_check = by_label[spec.label].as_dict()
        overridden = spec.label in accepted and by_label[spec.label].status == "mismatch"
        if overridden and not q.key_override:
            q.key_override_by, q.key_override_at = user, timezone.now()
        q.key_override = overridden
        q.save()
    keep = {spec.label for spec in defn.questions}
    gone = exam.questions.active().exclude(label__in=keep)
    archived = sorted(gone.values_list("label", flat=True), key=lambda label: existing[label].order)
    gone.update(archived_at=timezone.now())
    # The file's rubric items become rows TAs apply (exams.rubric listens: it re-scores answers,
    # which needs these services, so it is told rather than called).
    questions_synced.send(sender=Exam, exam=exam)
    scored_before = exam.submissions.filter(status__in=Submission.SCORED).count()
    recompute = added or archived or restored or any("points" in what for _, what in changed)
    return QuestionChanges(
        added=tuple(added), changed=tuple(changed), archived=tuple(archived),
        restored=tuple(restored), scored_before=scored_before,
        totals_recomputed=submissions_recompute_totals(exam=exam) if recompute else 0)


def _spec_differences(old: QuestionSpec, new: QuestionSpec) -> tuple[str, ...]:
    """The names of the spec fields that differ (both read through QuestionSpec, so a field
    an older row lacks compares as its default)."""
    before, after = old.to_json(), new.to_json()
    return tuple(name for name in after if before.get(name) != after[name])


def submissions_recompute_totals(*, exam: Exam) -> int:
    """Recompute total, maximum and status of the exam's scored submissions from the answers
    to its current questions (after questions were archived, restored, added or re-pointed).
    Returns how many were recomputed."""
    active = exam.questions.active()
    max_score = exam.max_score
    submissions = exam.submissions.filter(status__in=Submission.SCORED).prefetch_related(
        Prefetch("answers", queryset=Answer.objects.filter(question__in=active), to_attr="counted"))
    for submission in submissions:
        submission_finish(submission=submission, answers=submission.counted, max_score=max_score)
    return len(submissions)


def question_specs(exam: Exam) -> list[QuestionSpec]:
    """The exam's questions as the grading core's QuestionSpec values, keys included."""
    return [q.definition for q in exam.questions.active().order_by("order")]


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


# Publishing a grading task gives up quickly when the broker cannot be reached: one retry on
# a fresh connection (a pooled one may predate a broker restart), then the submission stays
# `received` for the sweep. Kombu's default policy, and the result backend's reconnect loop
# (skipped: nothing reads the task's result), held an upload for ~20 s (issue 18).
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2,
                        "interval_max": 0.2}


def submission_enqueue(*, submission_id: int) -> bool:
    """Hand the submission to the broker (or grade it now when tasks run in-process). A broker
    outage leaves it `received` for the sweep."""
    try:
        current_app.signature(GRADE_TASK, args=(submission_id,)).apply_async(
            ignore_result=True, retry=True, retry_policy=PUBLISH_RETRY_POLICY)
        return True
    except Exception as exc:  # noqa: BLE001 - kombu raises many types when Redis is down
        if settings.CELERY_TASK_ALWAYS_EAGER:
            raise
        log.warning("could not enqueue submission %s (%s); the sweep will retry", submission_id, exc)
        return False


def submission_claim(*, submission_id: int, run: tuple[str, int] | None = None) -> bool:
    """Claim a submission for grading exactly once (a conditional UPDATE, like healthchecks).

    ``run``: (task id, try number) of the grading task asking. A later try of the task that
    holds the claim (a retry after an outage) takes it back without counting an attempt; a
    second copy of the same try (a redelivery after a crash) does not, and waits for the
    sweep like any abandoned submission, which counts attempts.
    """
    now = timezone.now()
    token = f"{run[0]}#{run[1]}" if run else ""
    stale = now - timedelta(seconds=settings.GRADER_STALE_AFTER_S)
    claimable = Submission.objects.filter(pk=submission_id, status=S.RECEIVED)
    if claimable.update(status=S.PROCESSING, started_at=now, updated_at=now, error="",
                        pages_done=0, attempts=F("attempts") + 1, claimed_by=token) == 1:
        return True
    if run and run[1] > 0:
        earlier_tries = [f"{run[0]}#{n}" for n in range(run[1])]
        mine = Submission.objects.filter(pk=submission_id, status=S.PROCESSING,
                                         claimed_by__in=earlier_tries)
        if mine.update(started_at=now, updated_at=now, pages_done=0, claimed_by=token) == 1:
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
                            attempts=F("attempts") + 1, claimed_by=token) == 1


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
    """Enqueue the stale submissions again; (how many were stale, how many were enqueued).
    Stops at the first that cannot be enqueued: the broker is down, the next sweep retries."""
    ids = stale_submissions()
    enqueued = 0
    for pk in ids:
        if not submission_enqueue(submission_id=pk):
            break
        enqueued += 1
    return len(ids), enqueued


def stale_submissions() -> list[int]:
    """Submissions a sweep should (re-)enqueue: never picked up, or abandoned mid-processing."""
    stale = timezone.now() - timedelta(seconds=settings.GRADER_STALE_AFTER_S)
    received = Submission.objects.filter(status=S.RECEIVED, created_at__lt=timezone.now()
                                         - timedelta(seconds=30))
    abandoned = Submission.objects.filter(status=S.PROCESSING, started_at__lt=stale)
    return list(received.values_list("pk", flat=True)) + list(abandoned.values_list("pk", flat=True))


def submission_store_results(*, submission: Submission, pages: Sequence[PageRead],
                             results: Sequence[AnswerResult],
                             flags: Sequence[str] = ()) -> Submission:
    """Replace the submission's pages and answers with a grading run's output; set the status.

    One transaction, so the grading run lands whole or not at all (and costs one commit). It
    holds the exam's row lock, so an exam upload changing the questions lands wholly before or
    after it. Answers to archived questions are kept (they count nowhere).
    """
    with transaction.atomic():
        Exam.objects.select_for_update().only("pk").get(pk=submission.exam_id)
        questions = {q.label: q for q in submission.exam.questions.active()}
        submission.pages.all().delete()
        Page.objects.bulk_create([Page(submission=submission, number=p.number, read=p.to_json())
                                  for p in pages])
        current = submission.answers.filter(question__in=questions.values())
        reviewed = {a.question_id: a for a in current.filter(status=Answer.Status.REVIEWED)}
        current.exclude(question_id__in=reviewed).delete()
        new_answers: list[Answer] = []
        for r in results:
            q = questions.get(r.label)
            if q is None:
                # Archived while this run read the pages: it counts nowhere any more.
                continue
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
                alternatives=list(r.parsed.alternatives),
                score=r.scored.score, suggested_score=r.scored.score, max_score=r.scored.max_score,
                status=r.status, flags=list(r.scored.flags), detail=_detail(r),
                confidence=round(r.confidence, 4), pages=list(r.pages),
                spans=[list(span) for span in r.spans], ink=r.ink, reader=r.reader,
                readings=[{"engine": x.engine, "text": x.text, "confidence": x.confidence}
                          for x in r.readings]))
        Answer.objects.bulk_create(new_answers)
        # Every page is read now; redelivered page tasks may have counted some twice.
        return submission_finish(submission=submission, answers=[*reviewed.values(), *new_answers],
                                 pages_done=len(pages), flags=[str(f) for f in flags],
                                 max_score=float(sum(q.points for q in questions.values())))


def _detail(result: AnswerResult) -> str:
    detail = result.scored.detail
    if result.parsed.alternatives:
        alternatives = " and ".join(str(a) for a in result.parsed.alternatives)
        detail = f"several final answers: {alternatives}. {detail}".strip()
    if result.verified:
        detail = f"{detail.rstrip('. ')}. {result.verified}" if detail else result.verified
    return detail


def submission_confirm_document(*, submission: Submission) -> Submission:
    """A TA has looked at the document and it is one student's copy of the exam: its document
    flags are cleared and the status follows its answers again."""
    if submission.status not in Submission.SCORED:
        raise InvalidTransition(f"submission {submission.pk} is {submission.status}")
    return submission_finish(submission=submission, flags=[])


def submission_finish(*, submission: Submission, answers: list[Answer] | None = None,
                      max_score: float | None = None, **extra_fields: Any) -> Submission:
    """Recompute the total and set graded / needs_review from the answers to the exam's
    current questions (an archived question's answers count nowhere).

    ``answers``: those answers, when the caller has them in hand; ``max_score``: the exam's.
    """
    if answers is None:
        answers = list(submission.answers.filter(question__archived_at__isnull=True))
    total = round(sum(a.score for a in answers), 6)
    if max_score is None:
        max_score = submission.exam.max_score
    document_flags = extra_fields.get("flags", submission.flags)
    flagged = bool(document_flags) or any(a.status == Answer.Status.FLAGGED for a in answers)
    to = S.NEEDS_REVIEW if flagged else S.GRADED
    fields = {"score": total, "max_score": max_score, "finished_at": timezone.now(), "error": "",
              **extra_fields}
    if submission.status == to:
        Submission.objects.filter(pk=submission.pk).update(**fields)
        submission.refresh_from_db()
        return submission
    return submission_transition(submission=submission, to=to, **fields)
