"""TA decisions on answers and exam-wide regrades. The admin and the API call these; every
score a human changes goes through ``answer_review`` so each change leaves a Review row
(who, when, old -> new, why) and the submission total and status are recomputed."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet

from exams import services
from exams.models import Answer, Exam, Question, Review, Submission
from grader.crop import band_mm, word_range
from grader.ocr import rotate_page
from grader.pages import PageRead
from grader.pdf import MAX_TEXT_CHARS_PER_PAGE, text_layer_words
from grader.render import render_pdf_page
from grader.types import Source

S = Submission.Status
# A review is only meaningful on a finished grading run: reviewing while a regrade is running
# would be overwritten (or would finish a submission that is still processing).
REVIEWABLE = Submission.SCORED
BULK_COMMENT = "confirmed the suggested score (bulk)"


class ReviewError(ValidationError):
    """A decision that cannot be applied; the message is shown to the TA."""


def answer_review(*, answer: Answer, reviewer, new_score: float | None = None,
                  comment: str = "") -> Review:
    """Confirm (``new_score`` None: keep the current score) or override an answer's score."""
    comment = (comment or "").strip()
    with transaction.atomic():
        answer = Answer.objects.select_for_update().select_related("submission").get(pk=answer.pk)
        submission = answer.submission
        new = review_check(answer=answer, new_score=new_score, comment=comment)
        review = Review.objects.create(answer=answer, submission=submission,
                                       question_id=answer.question_id, reviewer=reviewer,
                                       old_score=answer.score, new_score=new,
                                       old_status=answer.status, comment=comment)
        answer.score = new
        answer.status = Answer.Status.REVIEWED
        answer.save(update_fields=["score", "status", "updated_at"])
        services.submission_finish(submission=submission)
    return review


def review_check(*, answer: Answer, new_score: float | None, comment: str) -> float:
    """The score a decision would set, or ReviewError (forms call this to show the error)."""
    submission = answer.submission
    if answer.question.archived_at is not None:
        raise ReviewError(f"question {answer.question.label} was dropped from the exam (archived); "
                          "its answers count nowhere and are kept only for the record")
    if submission.status not in REVIEWABLE:
        raise ReviewError(f"submission #{submission.pk} is {submission.status}; "
                          "review it once grading has finished")
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


# ---------------------------------------------------------------- answer groups

@dataclass
class AnswerGroup:
    """Answers to one question with the same parsed value (or the same text when unparsed)."""

    question: Question
    key: str
    value: Any
    answers: list[Answer] = field(default_factory=list)

    @property
    def id(self) -> str:
        return group_id(self.question.pk, self.key)

    @property
    def flagged(self) -> int:
        return sum(a.status == Answer.Status.FLAGGED for a in self.answers)

    @property
    def reviewed(self) -> int:
        return sum(a.status == Answer.Status.REVIEWED for a in self.answers)

    @property
    def suggested_scores(self) -> list[float]:
        return sorted({a.suggested_score for a in self.answers})

    @property
    def flags(self) -> list[str]:
        return sorted({f for a in self.answers for f in a.flags})


def answer_group_key(answer: Answer) -> str:
    # Parsed values compare exactly (same number, same matrix); without one the answer's text,
    # whitespace- and case-normalised, so "no value" answers are not lumped together.
    if answer.parsed is not None:
        return "value:" + json.dumps(answer.parsed, sort_keys=True)
    return "text:" + " ".join((answer.raw_text or "").split()).lower()


def group_id(question_id: int, key: str) -> str:
    return hashlib.sha256(f"{question_id}|{key}".encode()).hexdigest()[:16]


def answer_groups(answers: QuerySet[Answer], *, only_open: bool = True) -> list[AnswerGroup]:
    """Groups of identical answers, largest first. ``only_open``: groups with a flagged answer."""
    groups: dict[tuple[int, str], AnswerGroup] = {}
    current = answers.filter(question__archived_at__isnull=True)
    for a in current.select_related("question", "submission").order_by("question__order", "pk"):
        key = answer_group_key(a)
        group = groups.setdefault((a.question_id, key), AnswerGroup(
            question=a.question, key=key, value=a.parsed if a.parsed is not None else a.raw_text))
        group.answers.append(a)
    result = [g for g in groups.values() if g.flagged or not only_open]
    return sorted(result, key=lambda g: (g.question.order, -len(g.answers), g.key))


def answer_group_decide(*, answers: QuerySet[Answer], group: str, reviewer,
                        new_score: float | None, comment: str = "") -> list[Review]:
    """One TA decision for a whole group: every answer in it not yet decided by a human (flagged
    or auto-graded: identical answers must get identical scores) gets its own Review."""
    matches = [g for g in answer_groups(answers, only_open=False) if g.id == group]
    if not matches:
        raise ReviewError("that answer group no longer exists (answers changed); reload the page")
    reviews = []
    with transaction.atomic():
        for answer in matches[0].answers:
            if answer.status == Answer.Status.REVIEWED:
                continue
            reviews.append(answer_review(answer=answer, reviewer=reviewer, new_score=new_score,
                                         comment=comment))
    return reviews


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
# A multiple-choice answer's band: its boxes, with room above for the question's own text.
BOX_MARGIN_ABOVE_MM, BOX_MARGIN_BELOW_MM = 14.0, 5.0


def answer_crop_pages(answer: Answer) -> list[int]:
    """The pages on which ``answer_crop`` can show the answer: those its text spans, or for a
    checkbox answer those where its boxes were read."""
    if answer.spans:
        return sorted({int(span[0]) for span in answer.spans})
    return [page.number for page in answer.submission.pages.all()
            if _box_positions(page.page_read, answer.question.label)[0]]


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
    path = answer.submission.file.path
    read = page.page_read
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
