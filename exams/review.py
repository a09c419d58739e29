"""TA decisions on answers, their undo, answer groups and exam-wide regrades. The admin and
the API call these; every score that changes goes through ``record_changes`` so each change
leaves a Review row (who, when, old -> new score and rubric state, why) and the submission
total and status are recomputed (``services.submission_finish``)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Max, QuerySet
from django.utils import timezone

from exams import services
from exams.files import local_copy
from exams.models import Answer, Exam, Review, RubricApplication, RubricItem, Submission
from exams.rubric_scores import rubric_score, rubric_state, state_of
from grader.crop import band_mm, word_range
from grader.ink import highlighted
from grader.layout import BlankLayout, Region
from grader.ocr import rotate_page
from grader.pages import PageRead
from grader.pdf import MAX_TEXT_CHARS_PER_PAGE, text_layer_words
from grader.render import render_pdf_page
from grader.types import Source

S = Submission.Status
# A review is only meaningful on a finished grading run: reviewing while a regrade is running
# would be overwritten (or would finish a submission that is still processing).
REVIEWABLE = (S.GRADED, S.NEEDS_REVIEW)
BULK_COMMENT = "confirmed the suggested score (bulk)"


class ReviewError(ValidationError):
    """A decision that cannot be applied; the message is shown to the TA."""


def new_batch() -> str:
    """The id that ties the reviews of one group decision or one rubric change together."""
    return uuid.uuid4().hex


def locked_answers(pks: Iterable[int], *, all_there: bool = True) -> list[Answer]:
    """The answers locked for a decision (inside a transaction), with their submission,
    question and applied rubric items, in id order. ``all_there``: ReviewError when one of
    them is gone (a regrade replaced it since the page was shown)."""
    pks = set(pks)
    found = list(Answer.objects.filter(pk__in=pks).select_for_update(of=("self",))
                 .select_related("submission", "submission__exam", "question")
                 .prefetch_related("rubric_items").order_by("pk"))
    if all_there and len(found) != len(pks):
        raise ReviewError("an answer no longer exists (its submission was regraded); "
                          "reload the page")
    return found


def locked_answer(answer: Answer | int) -> Answer:
    return locked_answers([answer if isinstance(answer, int) else answer.pk])[0]


def check_reviewable(answer: Answer) -> None:
    submission = answer.submission
    if answer.question.archived_at is not None:
        raise ReviewError(f"question {answer.question.label} was dropped from the exam (archived); "
                          "its answers count nowhere and are kept only for the record")
    if submission.status not in REVIEWABLE:
        raise ReviewError(f"submission #{submission.pk} is {submission.status}; "
                          "review it once grading has finished")


@dataclass(frozen=True)
class Change:
    """What one answer becomes: its score, and the rubric items applied with the adjustment
    (both None: the score is not computed from the rubric)."""

    score: float
    items: tuple[RubricItem, ...] | None = None
    adjustment: float | None = None
    status: str = Answer.Status.REVIEWED


def record_changes(*, changes: list[tuple[Answer, Change]], reviewer, comment: str = "",
                   kind: str = Review.Kind.DECISION, batch: str = "",
                   old_states: dict[int, Any] | None = None) -> list[Review]:
    """The one place an answer's score changes: for each (answer locked by the caller with
    ``locked_answers``, change), a Review row (old -> new score and rubric state), the rubric
    items applied, the answer; then each submission's total and status, once. Written in bulk
    (a rubric change or a group decision touches hundreds of answers). ``old_states``: the
    rubric state before, when the caller changed the items' points already."""
    now = timezone.now()
    reviews = []
    for answer, change in changes:
        old = old_states[answer.pk] if old_states is not None else rubric_state(answer)
        reviews.append(Review(
            answer=answer, submission_id=answer.submission_id, question_id=answer.question_id,
            reviewer=reviewer, old_score=answer.score, new_score=change.score,
            old_status=answer.status, comment=comment, kind=kind, batch=batch, old_rubric=old,
            new_rubric=None if change.adjustment is None
            else state_of(change.items or (), change.adjustment)))
        answer.score, answer.status, answer.adjustment = change.score, change.status, change.adjustment
        answer.updated_at = now
    ids = [answer.pk for answer, _ in changes]
    wanted = {(answer.pk, item.pk) for answer, change in changes for item in change.items or ()}
    have = {(a, i): pk for pk, a, i in RubricApplication.objects.filter(answer_id__in=ids)
            .values_list("pk", "answer_id", "item_id")}
    RubricApplication.objects.filter(pk__in=[pk for key, pk in have.items()
                                             if key not in wanted]).delete()
    RubricApplication.objects.bulk_create([
        RubricApplication(answer_id=a, item_id=i, applied_by=reviewer)
        for a, i in sorted(wanted - set(have))])
    Review.objects.bulk_create(reviews)
    Answer.objects.bulk_update([answer for answer, _ in changes],
                               ["score", "status", "adjustment", "updated_at"])
    _finish_submissions({answer.submission_id: answer.submission for answer, _ in changes})
    return reviews


def _finish_submissions(submissions: dict[int, Submission]) -> None:
    """Each submission's total and status from its answers (one query for all answers). A
    submission being regraded gets its total when that run finishes."""
    by_submission: dict[int, list[Answer]] = {pk: [] for pk in submissions}
    for answer in Answer.objects.filter(submission_id__in=list(submissions)):
        by_submission[answer.submission_id].append(answer)
    for pk, submission in submissions.items():
        if submission.status in REVIEWABLE:
            services.submission_finish(submission=submission, answers=by_submission[pk])


def answer_review(*, answer: Answer, reviewer, new_score: float | None = None,
                  comment: str = "", batch: str = "") -> Review:
    """Confirm (``new_score`` None: keep the current score) or override an answer's score."""
    return answers_review(answers=[answer], reviewer=reviewer, new_score=new_score,
                          comment=comment, batch=batch)[0]


def answers_review(*, answers: Iterable[Answer], reviewer, new_score: float | None = None,
                   comment: str = "", batch: str = "") -> list[Review]:
    """``answer_review`` for several answers at once (all or none), one Review each.

    On an answer graded with the rubric, an override keeps the items and becomes the free
    adjustment (so a later change of an item's points still re-scores it)."""
    comment = (comment or "").strip()
    with transaction.atomic():
        changes = []
        for answer in locked_answers(a.pk for a in answers):
            new = review_check(answer=answer, new_score=new_score, comment=comment)
            change = Change(score=new)
            if answer.adjustment is not None:
                items = tuple(answer.rubric_items.all())
                adjustment = answer.adjustment
                if new != answer.score:
                    adjustment = round(new - rubric_score(
                        question=answer.question, max_score=answer.max_score,
                        points=[i.points for i in items], adjustment=0.0, clamp=False), 6)
                change = Change(score=new, items=items, adjustment=adjustment)
            changes.append((answer, change))
        return record_changes(changes=changes, reviewer=reviewer, comment=comment, batch=batch)


def review_check(*, answer: Answer, new_score: float | None, comment: str) -> float:
    """The score a decision would set, or ReviewError (forms call this to show the error)."""
    check_reviewable(answer)
    new = answer.score if new_score is None else float(new_score)
    if not 0 <= new <= answer.max_score:
        raise ReviewError(f"the score must be between 0 and {answer.max_score:g}")
    if new != answer.score and not (comment or "").strip():
        raise ReviewError("say why when you change a score (the student may ask)")
    return new


def answers_bulk_confirm(*, answers: Iterable[Answer], reviewer,
                         comment: str = BULK_COMMENT) -> tuple[int, list[str]]:
    """Confirm the current (suggested) score of each flagged answer; returns (count, errors).
    Answers already decided are left alone: a bulk action must not overwrite an override."""
    done, errors = 0, []
    for answer in answers:
        if answer.status != Answer.Status.FLAGGED:
            continue
        try:
            answer_review(answer=answer, reviewer=reviewer, comment=comment)
            done += 1
        except ReviewError as exc:
            errors.append(f"answer {answer.pk}: {' '.join(exc.messages)}")
    return done, errors


# ---------------------------------------------------------------- undo

def review_undo(*, review: Review, reviewer, batch: str = "") -> Review:
    """Put the answer back as it was before ``review`` (score, status, rubric items and
    adjustment; a rubric-graded answer is scored with its items' current points), recorded
    as a review of kind ``undo``. Only the latest decision on an answer that is not undone
    yet can be undone (re-scores after a rubric change do not count): a later decision would
    be lost."""
    with transaction.atomic():
        review = Review.objects.select_for_update().get(pk=review.pk)
        if review.answer_id is None:
            raise ReviewError("the answer was regraded since; there is nothing to undo")
        answer = locked_answer(review.answer_id)
        if review.kind != Review.Kind.DECISION:
            raise ReviewError("only a decision can be undone (decide again instead)")
        if review.undone_by_id is not None:
            raise ReviewError("that decision was undone already")
        if answer.reviews.filter(pk__gt=review.pk, kind=Review.Kind.DECISION,
                                 undone_by__isnull=True).exists():
            raise ReviewError(f"{answer.question.label} of {answer.submission.student} was "
                              "decided again since; undo that decision first")
        check_reviewable(answer)
        old = review.old_rubric
        if old is None:
            items, adjustment, score = None, None, review.old_score
        else:
            wanted = [entry["id"] for entry in old["items"]]
            items = tuple(RubricItem.objects.filter(question_id=answer.question_id, pk__in=wanted))
            adjustment = old["adjustment"]
            score = rubric_score(question=answer.question, max_score=answer.max_score,
                                        points=[i.points for i in items], adjustment=adjustment)
        who = review.reviewer.get_username() if review.reviewer else "someone"
        [undo] = record_changes(
            changes=[(answer, Change(score=score, items=items, adjustment=adjustment,
                                     status=review.old_status))],
            reviewer=reviewer, kind=Review.Kind.UNDO, batch=batch,
            comment=f"undid the decision of {review.created_at:%Y-%m-%d %H:%M} by {who}")
        review.undone_by = undo
        review.save(update_fields=["undone_by"])
    return undo


def batch_undo(*, reviews: QuerySet[Review], batch: str, reviewer) -> tuple[int, list[str]]:
    """Undo every decision of one batch (a group decision) in ``reviews`` (the caller's scope);
    returns (count undone, why others were not)."""
    todo = list(reviews.filter(batch=batch, kind=Review.Kind.DECISION, undone_by__isnull=True)
                .select_related("submission", "question").order_by("pk"))
    if not batch or not todo:
        raise ReviewError("nothing to undo: that decision was undone already or does not exist")
    undo_batch, done, errors = new_batch(), 0, []
    for review in todo:
        try:
            review_undo(review=review, reviewer=reviewer, batch=undo_batch)
            done += 1
        except ReviewError as exc:
            errors.append(f"{review.question.label} of {review.submission.student}: "
                          f"{' '.join(exc.messages)}")
    return done, errors


def recent_batches(reviews: QuerySet[Review], limit: int = 10) -> list[dict[str, Any]]:
    """The latest group decisions in ``reviews`` that can still be undone (newest first): the
    batch id, how many answers it decided, and one of its reviews (question, who, why)."""
    rows = list(reviews.filter(kind=Review.Kind.DECISION, undone_by__isnull=True)
                .exclude(batch="").values("batch").annotate(answers=Count("pk"), last=Max("pk"))
                .order_by("-last")[:limit])
    sample = Review.objects.select_related("question", "question__exam", "reviewer").in_bulk(
        [r["last"] for r in rows])
    return [{**r, "review": sample[r["last"]]} for r in rows]


# ---------------------------------------------------------------- exam-wide regrade

@dataclass
class RegradeReport:
    exam: str
    before: dict[int, tuple[str, float | None]]          # id -> (status, score) before
    queued: list[int] = field(default_factory=list)
    skipped: dict[int, str] = field(default_factory=dict)  # id -> why
    overrides_discarded: int = 0

    def changes(self) -> list[dict[str, Any]]:
        """Old vs new per queued submission, read now (complete at once when tasks run
        in-process; with a broker, those still grading show as pending)."""
        now = {s.pk: s for s in Submission.objects.filter(pk__in=self.queued)}
        rows = []
        for pk in self.queued:
            old_status, old_score = self.before[pk]
            s = now.get(pk)
            pending = s is None or s.status in (S.RECEIVED, S.PROCESSING)
            rows.append({"submission": pk, "student": s.student if s else "",
                         "old_status": old_status, "old_score": old_score,
                         "new_status": s.status if s else None,
                         "new_score": None if pending or s is None else s.score,
                         "pending": pending,
                         "changed": not pending and (s.score != old_score or s.status != old_status)})
        return rows

    def summary(self) -> str:
        rows = self.changes()
        changed = [r for r in rows if r["changed"]]
        pending = [r for r in rows if r["pending"]]
        parts = [f"{self.exam}: {len(self.queued)} submission(s) regraded"]
        if self.overrides_discarded:
            parts.append(f"{self.overrides_discarded} TA override(s) discarded")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (still grading)")
        if pending:
            parts.append(f"{len(pending)} still queued")
        text = "; ".join(parts) + "."
        if changed:
            text += " Changed: " + ", ".join(
                f"#{r['submission']} {r['student']} {_fmt(r['old_score'])} → {_fmt(r['new_score'])}"
                f"{'' if r['old_status'] == r['new_status'] else ' (' + r['new_status'] + ')'}"
                for r in changed)
        elif not pending:
            text += " No score changed."
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"exam": self.exam, "queued": self.queued, "skipped": self.skipped,
                "overrides_discarded": self.overrides_discarded, "changes": self.changes(),
                "summary": self.summary()}


def _fmt(score: float | None) -> str:
    return "—" if score is None else f"{score:g}"


def exam_regrade_all(*, exam: Exam, keep_overrides: bool = True) -> RegradeReport:
    """Regrade every finished submission of ``exam`` (after its key or points changed).

    TA overrides survive unless ``keep_overrides`` is False; then the reviewed answers are
    handed back to the machine (the report counts them; their Review history stays, tied to
    the submission and question). Submissions still received/processing are skipped: they
    will be graded with the current key anyway.
    """
    if not exam.published:
        raise ReviewError(f"exam {exam.code} is not published (its key check failed); "
                          "fix the key before regrading")
    submissions = list(exam.submissions.order_by("pk"))
    report = RegradeReport(exam=exam.code, before={s.pk: (s.status, s.score) for s in submissions})
    with transaction.atomic():
        for s in submissions:
            if s.status in (S.RECEIVED, S.PROCESSING):
                report.skipped[s.pk] = s.status
                continue
            if not keep_overrides:
                # Not REVIEWED any more -> submission_store_results replaces them.
                # Answers to archived questions are a record, not handed back.
                report.overrides_discarded += s.answers.filter(
                    status=Answer.Status.REVIEWED, question__archived_at__isnull=True,
                ).update(status=Answer.Status.FLAGGED)
            services.submission_regrade(submission=s)
            report.queued.append(s.pk)
    # Leaving the block ran the on_commit enqueues (in-process grading when no broker).
    return report


CROP_MARGIN_MM = 4.0
SCAN_DPI, BLANK_DPI = 300, 150   # a region's crop: the scan as graded, the blank subtracted
# A multiple-choice answer's band: its boxes, with room above for the question's own text.
BOX_MARGIN_ABOVE_MM, BOX_MARGIN_BELOW_MM = 14.0, 5.0


def answer_crop_pages(answer: Answer) -> list[int]:
    """The pages on which ``answer_crop`` can show the answer: those its text spans, or for a
    checkbox answer those where its boxes were read."""
    if answer.spans:
        return sorted({int(span[0]) for span in answer.spans})
    if _region(answer) is not None:
        return [int(n) for n in answer.pages]
    return [page.number for page in answer.submission.pages.all()
            if _box_positions(page.page_read, answer.question.label)[0]]


def _region(answer: Answer) -> Region | None:
    layout = BlankLayout.from_json(answer.submission.exam.layout)
    return None if layout is None else layout.regions.get(answer.question.label)


def _box_positions(page: PageRead, label: str) -> tuple[list[float], int]:
    """(mm from the top of the upright page of the label's boxes, quarter turn that makes the
    rendered page upright) from the page's checkbox readings."""
    if page.fit is not None:
        ys = [r.y_mm for r in page.fit.readings if r.label == label and r.y_mm is not None]
        if ys:
            return ys, page.fit.upright_turn_cw
    return list(page.choice_boxes.get(label, ())), page.turned_cw


def answer_crop(*, answer: Answer, number: int, dpi: float):
    """The band of page ``number`` that holds the answer (full page width, a small margin),
    as a PIL image; None when the answer cannot be placed on that page (no text or boxes of
    it there, or words that do not line up with the page's text)."""
    page = answer.submission.pages.filter(number=number).first()
    if page is None:
        return None
    read = page.page_read
    region = _region(answer)
    with local_copy(answer.submission.file) as path:
        if region is not None and read.alignment is not None:
            # The answer's region, the student's ink in colour over the faded page.
            with local_copy(answer.submission.exam.blank_pdf) as blank_path:
                blank = render_pdf_page(blank_path, region.page - 1, dpi=BLANK_DPI)
            return highlighted(render_pdf_page(path, number - 1, dpi=SCAN_DPI), read.alignment,
                               region, blank, dpi=dpi)
        placed = _text_band(answer, read, path) if answer.spans else _box_band(answer, read)
        if placed is None:
            return None
        (top, bottom), turn = placed
        image = render_pdf_page(path, number - 1, dpi=dpi).image
    if turn:
        image = rotate_page(image, -turn)
    px = dpi / 25.4
    upper, lower = max(0, int(top * px)), min(image.height, int(bottom * px) + 1)
    return image.crop((0, upper, image.width, lower)) if lower > upper else None


def _text_band(answer: Answer, page: PageRead, path) -> tuple[tuple[float, float], int] | None:
    spans = [(start, end) for number, start, end in answer.spans if number == page.number]
    if not spans:
        return None
    if page.source == Source.OCR:
        words, boxes, turn = [w for w, _ in page.words], page.word_boxes, page.turned_cw
    elif len(page.text) >= MAX_TEXT_CHARS_PER_PAGE:
        return None     # megabytes of text: PDFium's character boxes would take ~0.5 GB
    else:
        words, boxes = text_layer_words(path, page.number - 1)
        turn = 0
    found = word_range(page.text, words, min(s for s, _ in spans), max(e for _, e in spans))
    if found is None or len(boxes) != len(words):
        return None
    top, bottom = band_mm(boxes, *found)
    return (top - CROP_MARGIN_MM, bottom + CROP_MARGIN_MM), turn


def _box_band(answer: Answer, page: PageRead) -> tuple[tuple[float, float], int] | None:
    ys, turn = _box_positions(page, answer.question.label)
    if not ys:
        return None
    return (min(ys) - BOX_MARGIN_ABOVE_MM, max(ys) + BOX_MARGIN_BELOW_MM), turn
