"""Multiple-choice answers from the checkboxes read on scanned pages: the rules that decide
what a scan means. Pure functions of ``PageRead`` values; no images, no Tesseract.

- A blank page fitted by one scanned page is read from it. Fitted by none, it is read from the
  page at its position, and its questions are flagged ``registration_failed`` (a torn,
  shrunk or foreign page is never read as if it fitted).
- Fitted by two scanned pages (the same page scanned twice), it is read from the first; where
  the two readings differ, the question is flagged ``ambiguous``.
- A box in the uncertain band flags its question ``uncertain_box``.
- Without a template (no blank PDF, no ``boxes:``), each option's box is the one beside its
  printed text (``grader.omr.by_text``); an option whose box cannot be placed, or was placed
  only by its order on a document that shows nothing about the order its options are
  printed in, is flagged ``registration_failed``. So is a question with no box placed at
  all: its OCR text is the printed options, which the text parser would read as if the
  student had written them all out. Nothing that cannot be placed (or makes placing it
  fail) is ever read as ``unanswered`` or raises.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from grader.omr.by_text import ChoiceQuestion, PlacedWord, place_by_option_text
from grader.pages import BoxRead, PageRead, TemplateFit
from grader.types import Flag, Parsed, QuestionSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mark:
    """One option's box as read, whichever way it was placed."""

    option: int
    mark: str
    checked: bool
    confidence: float
    uncertain: bool


@dataclass(frozen=True)
class ChoiceAnswers:
    answers: Mapping[str, Parsed] = field(default_factory=dict)
    # For the review crop: page number -> question label -> the boxes' y (mm, upright page).
    boxes: Mapping[int, Mapping[str, tuple[float, ...]]] = field(default_factory=dict)


def choice_answer(marks: Sequence[Mark | None], n_options: int, evidence: str, *,
                  unplaced: bool = False, ambiguous: bool = False) -> Parsed:
    """A selection from its options' marks (None for an option whose box was not found):
    the checked options, flagged where a box is missing or its page did not fit, where two
    scans disagree, and where a box is in the uncertain band."""
    found = [m for m in marks if m is not None]
    flags: list[Flag] = []
    if unplaced or len(found) < n_options:
        flags.append(Flag.REGISTRATION_FAILED)
    if ambiguous:
        flags.append(Flag.AMBIGUOUS)
    if any(m.uncertain for m in found):
        flags.append(Flag.UNCERTAIN_BOX)
    by_option = {m.option: m for m in found}
    described = ", ".join(f"{o}:{by_option[o].mark if o in by_option else 'not found'}"
                          for o in range(1, n_options + 1))
    return Parsed(sorted(m.option for m in found if m.checked), evidence=f"{evidence} {described}",
                  confidence=min((m.confidence for m in found), default=1.0),
                  flags=tuple(flags))


def unplaced() -> Parsed:
    """A question whose boxes are on the scan but could not be placed: nothing read, flagged."""
    return Parsed(None, evidence="no checkbox found beside its options",
                  confidence=0.0, flags=(Flag.REGISTRATION_FAILED,))


def template_answers(pages: Sequence[PageRead]) -> dict[str, Parsed]:
    """Selections read from the template's boxes, per question label."""
    by_template: dict[int, list[TemplateFit]] = {}
    for page in pages:
        if page.fit is not None:
            by_template.setdefault(page.fit.template_page, []).append(page.fit)
    chosen: dict[str, list[tuple[BoxRead, bool]]] = {}
    disagree: set[str] = set()
    for fits in by_template.values():
        fitted = [f for f in fits if f.ok]
        for first, other in zip(fitted, fitted[1:]):
            disagree |= {a.label for a, b in zip(first.readings, other.readings)
                         if a.checked != b.checked}
        fit = (fitted or fits)[0]
        for reading in fit.readings:
            chosen.setdefault(reading.label, []).append((reading, fit.ok))
    return {label: choice_answer(
                [Mark(r.option, r.mark, r.checked, r.confidence, r.uncertain) for r, _ in readings],
                len(readings), "boxes",
                unplaced=not all(ok for _, ok in readings), ambiguous=label in disagree)
            for label, readings in chosen.items()}


def option_text_answers(pages: Sequence[PageRead], questions: Sequence[QuestionSpec]
                        ) -> ChoiceAnswers:
    """Selections for ``questions`` from the boxes beside their printed options, on the pages
    whose checkboxes were read without a template."""
    read = [p for p in pages if p.marks is not None]
    words = [PlacedWord(p.number, w, *box)
             for p in read for (w, _), box in zip(p.words, p.word_boxes)]
    marks = [m for p in read for m in p.marks]
    wanted = [ChoiceQuestion(q.label, q.title, q.options) for q in questions if q.options]
    answers: dict[str, Parsed] = {}
    boxes: dict[int, dict[str, list[float]]] = {}
    try:
        by_text = place_by_option_text(wanted, words, marks)
    except Exception:  # noqa: BLE001 - a page the placement cannot handle flags, never fails
        log.exception("placing checkboxes by their option text failed")
        by_text = {}
    answers.update({q.label: unplaced() for q in wanted if q.label not in by_text})
    for label, placement in by_text.items():
        for m in placement.marks:
            if m is not None:
                boxes.setdefault(m.page, {}).setdefault(label, []).append(m.cy)
        answers[label] = choice_answer(
            [None if m is None else Mark(option, m.mark, m.checked, m.confidence, m.uncertain)
             for option, m in enumerate(placement.marks, start=1)],
            len(placement.marks),
            "boxes placed by their order" if placement.by_order_only else "boxes beside the options",
            unplaced=placement.by_order_only)
    return ChoiceAnswers(answers, {page: {label: tuple(ys) for label, ys in by_label.items()}
                                   for page, by_label in boxes.items()})
