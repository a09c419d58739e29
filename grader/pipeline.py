"""From a submission's page reads to one scored answer per question.

``grade_document`` is the back half of the grading path: checkbox answers from the scanned
pages (``grader.choices``), then segment -> parse -> score over the pages' text
(``grade_pages``). Pure: the caller passes the pages, the exam (questions with their keys, the
checkbox template), a ``render`` callable when blank pages still unfitted may be looked for
among the scans, and an optional ``recompute`` callback that re-runs a solver with the
student's earlier value (error-carried-forward). No Django, no file access of its own.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from grader import choices
from grader.exam import ExamSpec
from grader.pages import PageRead
from grader.scan import Render, place_unexamined
from grader.score import ExpressionCheck, score_answer
from grader.types import (
    AnswerResult, Flag, Kind, PageText, Parsed, QuestionSpec, Scored,
)

# (question, {target: student value}) -> the key recomputed with the student's value.
Recompute = Callable[[QuestionSpec, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class GradedDocument:
    pages: tuple[PageRead, ...]          # in page order, as read (and fitted at the join)
    answers: tuple[AnswerResult, ...]    # one per question, in exam order


def grade_document(
    pages: Sequence[PageRead],
    exam: ExamSpec,
    *,
    render: Render | None = None,
    recompute: Recompute | None = None,
    expression_check: ExpressionCheck | None = None,
) -> GradedDocument:
    """Every question of ``exam`` scored from ``pages`` (answered or not).

    With ``render``, blank pages with checkboxes that no scanned page fitted where expected
    are looked for among the scanned pages not yet examined (``scan.place_unexamined``)."""
    pages = tuple(sorted(pages, key=lambda p: p.number))
    if render is not None and exam.checkboxes:
        pages = place_unexamined(pages, exam, render)
    box_answers = choices.template_answers(pages)
    untemplated = [q for q in exam.untemplated_choices() if q.label not in box_answers]
    if untemplated and any(p.marks is not None for p in pages):
        by_text = choices.option_text_answers(pages, untemplated)
        box_answers.update(by_text.answers)
        pages = tuple(replace(p, choice_boxes=by_text.boxes[p.number]) if p.number in by_text.boxes
                      else p for p in pages)
    results = grade_pages([p.page_text for p in pages], exam.questions, box_answers=box_answers,
                          recompute=recompute, expression_check=expression_check)
    return GradedDocument(pages, tuple(results))


def expression_checker() -> ExpressionCheck:
    """SymPy equivalence (``grader.expr``), imported on first use: SymPy takes ~0.5 s to
    import, which a process that never grades an expression need not pay. Workers call this
    before forking their pool, so every pool process shares it."""
    from grader.expr import equivalent

    return equivalent


def grade_pages(
    pages: Sequence[PageText],
    questions: Sequence[QuestionSpec],
    *,
    box_answers: Mapping[str, Parsed] | None = None,
    recompute: Recompute | None = None,
    expression_check: ExpressionCheck | None = None,
) -> list[AnswerResult]:
    """One ``AnswerResult`` per question, in exam order, answered or not."""
    from grader.parse import parse_answer
    from grader.segment import segment_answers

    box_answers = box_answers or {}
    check = expression_check or expression_checker()
    segments = segment_answers(pages, questions) if pages else {}
    results: dict[str, AnswerResult] = {}
    for spec in questions:
        segment = segments.get(spec.label)
        spans: tuple = ()
        if spec.kind == Kind.MULTIPLE_CHOICE and spec.label in box_answers:
            parsed, raw, pages_used, confidence = box_answers[spec.label], "", (), None
        elif segment is None or not segment.text.strip():
            parsed, raw, pages_used, confidence = Parsed(None, flags=(Flag.UNANSWERED,)), "", (), None
        else:
            spans = segment.spans
            parsed = parse_answer(spec, segment.text, confidence=segment.confidence)
            parsed = Parsed(parsed.value, parsed.evidence, parsed.confidence,
                            tuple(dict.fromkeys(segment.flags + parsed.flags)), parsed.alternatives)
            raw, pages_used, confidence = segment.text, segment.pages, segment.confidence
        scored = score_answer(spec, parsed, spec.key, expression_check=check)
        scored = _carry_forward(spec, parsed, scored, results, recompute, check)
        results[spec.label] = AnswerResult(
            label=spec.label, kind=spec.kind, raw_text=raw, parsed=parsed, scored=scored,
            expected=spec.key, confidence=min(parsed.confidence, confidence or 1.0),
            pages=pages_used, spans=spans)
    return [results[q.label] for q in questions]


def _carry_forward(spec: QuestionSpec, parsed: Parsed, scored: Scored,
                   earlier: Mapping[str, AnswerResult], recompute: Recompute | None,
                   check: ExpressionCheck | None) -> Scored:
    """Full credit for a later part computed correctly from a wrong earlier answer."""
    if (recompute is None or not spec.depends_on or not spec.carry
            or scored.score >= scored.max_score or parsed.value is None):
        return scored
    previous = earlier.get(spec.depends_on)
    if previous is None or previous.parsed.value is None \
            or previous.scored.score >= previous.scored.max_score:
        return scored
    carried: dict[str, Any] = {}
    for target, source in spec.carry:
        value = previous.parsed.value
        if source not in ("", ".", "value"):
            if not isinstance(value, dict) or source not in value:
                return scored
            value = value[source]
        carried[target] = value
    try:
        new_key = recompute(spec, carried)
    except Exception:  # noqa: BLE001 - a student's value may be outside the solver's domain
        return scored
    rescored = score_answer(spec, parsed, new_key, expression_check=check)
    if rescored.score <= scored.score:
        return scored
    return Scored(rescored.score, scored.max_score,
                  tuple(dict.fromkeys(rescored.flags + (Flag.CARRIED_FORWARD,))),
                  f"correct when carried forward from {spec.depends_on} "
                  f"({', '.join(f'{k}={v}' for k, v in carried.items())})")
