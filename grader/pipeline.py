"""The whole grading path for one submission's extracted pages: segment -> parse -> score.

Pure: the caller passes the pages, the questions (each carrying its grading key), checkbox
readings for scanned multiple choice, and an optional ``recompute`` callback that re-runs a
solver with the student's earlier value (error-carried-forward). No Django, no I/O.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from grader import limits
from grader.score import ExpressionCheck, score_answer
from grader.types import (
    FLAG_CARRIED_FORWARD, FLAG_TOO_COMPLEX, FLAG_UNANSWERED, AnswerResult, PageText, Parsed,
    QuestionSpec, Scored,
)

# (question, {target: student value}) -> the key recomputed with the student's value.
Recompute = Callable[[QuestionSpec, Mapping[str, Any]], Any]


def grade_pages(
    pages: Sequence[PageText],
    questions: Sequence[QuestionSpec],
    *,
    box_answers: Mapping[str, Parsed] | None = None,
    recompute: Recompute | None = None,
    expression_check: ExpressionCheck | None = None,
) -> list[AnswerResult]:
    """One ``AnswerResult`` per question, in exam order, answered or not.

    Each answer's symbolic work (reading and comparing expressions) shares one time budget
    (``grader.limits``); an answer that runs out is flagged ``too_complex`` with no points
    suggested, and grading goes on with the next answer."""
    from grader.expr import compare, warm_up  # SymPy: imported on first use, not at start-up
    from grader.parse import parse_answer
    from grader.segment import segment_answers

    if any(q.kind == "expression" for q in questions):
        warm_up()   # once per process, before any answer's budget starts

    box_answers = box_answers or {}
    check = expression_check or compare
    segments = segment_answers(pages, questions) if pages else {}
    results: dict[str, AnswerResult] = {}
    for spec in questions:
        segment = segments.get(spec.label)
        spans: tuple = ()
        with limits.answer_budget() as budget:
            if spec.kind == "multiple_choice" and spec.label in box_answers:
                parsed, raw, pages_used, confidence = box_answers[spec.label], "", (), None
            elif segment is None or not segment.text.strip():
                parsed, raw, pages_used, confidence = Parsed(None, flags=(FLAG_UNANSWERED,)), "", (), None
            else:
                spans = segment.spans
                parsed = parse_answer(spec, segment.text, confidence=segment.confidence)
                parsed = Parsed(parsed.value, parsed.evidence, parsed.confidence,
                                tuple(dict.fromkeys(segment.flags + parsed.flags)), parsed.alternatives)
                raw, pages_used, confidence = segment.text, segment.pages, segment.confidence
            scored = score_answer(spec, parsed, spec.key, expression_check=check)
            scored = _carry_forward(spec, parsed, scored, results, recompute, check)
        if budget.exceeded:
            scored = Scored(0.0, scored.max_score, tuple(dict.fromkeys(scored.flags + (FLAG_TOO_COMPLEX,))),
                            f"reading or checking this expression took longer than the "
                            f"{budget.seconds:g} s allowed per answer and was stopped; grade it by hand")
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
    except limits.INTERRUPTS:
        raise
    except Exception:  # noqa: BLE001 - a student's value may be outside the solver's domain
        return scored
    rescored = score_answer(spec, parsed, new_key, expression_check=check)
    if rescored.score <= scored.score:
        return scored
    return Scored(rescored.score, scored.max_score,
                  tuple(dict.fromkeys(rescored.flags + (FLAG_CARRIED_FORWARD,))),
                  f"correct when carried forward from {spec.depends_on} "
                  f"({', '.join(f'{k}={v}' for k, v in carried.items())})")
