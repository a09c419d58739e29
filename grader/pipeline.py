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

from grader import answers, choices, document, limits
from grader.answers import Decided
from grader.exam import ExamSpec
from grader.pages import PageRead
from grader.scan import Render, place_unexamined
from grader.score import ExpressionCheck, score_answer
from grader.types import (
    AnswerResult, DocumentFlag, Flag, Kind, PageText, Parsed, QuestionSpec, Scored, Segment,
)

# (question, {target: student value}) -> the key recomputed with the student's value.
Recompute = Callable[[QuestionSpec, Mapping[str, Any]], Any]


@dataclass(frozen=True)
class GradedDocument:
    pages: tuple[PageRead, ...]          # in page order, as read (and fitted at the join)
    answers: tuple[AnswerResult, ...]    # one per question, in exam order
    flags: tuple[DocumentFlag, ...] = ()  # about the document as a whole (grader.document)


def grade_document(
    pages: Sequence[PageRead],
    exam: ExamSpec,
    *,
    render: Render | None = None,
    recompute: Recompute | None = None,
    expression_check: ExpressionCheck | None = None,
    expression_budget_s: float = limits.DEFAULT_ANSWER_BUDGET_S,
) -> GradedDocument:
    """Every question of ``exam`` scored from ``pages`` (answered or not), and what is odd
    about the document as a whole.

    Where each answer comes from: a multiple-choice question's boxes (``grader.choices``); a
    written answer's region on the blank exam (``grader.answers.from_regions``); else its
    place in the pages' text (``grader.segment``). With ``render``, blank pages with
    checkboxes that no scanned page fitted where expected are looked for among the scanned
    pages not yet examined (``scan.place_unexamined``)."""
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
    texts = [p.page_text for p in pages if p.text]
    located = answers.locate(pages, texts, exam, box_answers)
    results = grade_pages(texts, exam.questions, box_answers=box_answers,
                          decided=located.decided, segments=located.segments,
                          recompute=recompute, expression_check=expression_check,
                          expression_budget_s=expression_budget_s)
    flags = document.flags(pages, exam, located)
    return GradedDocument(pages, tuple(results), flags)


def expression_checker() -> ExpressionCheck:
    """SymPy comparison (``grader.expr.compare``), imported and warmed up on first use: SymPy
    takes ~0.5 s to import and its first comparison ~1 s more, which a process that never
    grades an expression need not pay (and which must not count against an answer's time
    budget). Workers call this before forking their pool, so every pool process shares it."""
    from grader.expr import compare, warm_up

    warm_up()
    return compare


def grade_pages(
    pages: Sequence[PageText],
    questions: Sequence[QuestionSpec],
    *,
    box_answers: Mapping[str, Parsed] | None = None,
    decided: Mapping[str, Decided] | None = None,
    segments: Mapping[str, Segment] | None = None,
    recompute: Recompute | None = None,
    expression_check: ExpressionCheck | None = None,
    expression_budget_s: float = limits.DEFAULT_ANSWER_BUDGET_S,
) -> list[AnswerResult]:
    """One ``AnswerResult`` per question, in exam order, answered or not.

    ``box_answers``: multiple-choice selections read from boxes; ``decided``: answers whose
    outcome is known without parsing (no ink in the box, ink that could not be read, a place
    not found); ``segments``: each answer's text, when the caller found it (else the pages
    are segmented here). Each answer's symbolic work (reading and comparing expressions)
    shares one time budget of ``expression_budget_s`` seconds (``grader.limits``); an answer that runs out is flagged
    ``too_complex`` with no points suggested, and grading goes on with the next answer."""
    from grader.parse import parse_answer
    from grader.segment import segment_answers

    box_answers = box_answers or {}
    decided = decided or {}
    needs_sympy = expression_check is None and any(q.kind == Kind.EXPRESSION for q in questions)
    check = expression_check or (expression_checker() if needs_sympy else None)
    if segments is None:
        segments = segment_answers(pages, questions) if pages else {}
    results: dict[str, AnswerResult] = {}
    for spec in questions:
        segment = segments.get(spec.label)
        spans: tuple = ()
        ink, reader, readings, verified = None, "", (), ""
        with limits.answer_budget(expression_budget_s) as budget:
            if spec.kind == Kind.MULTIPLE_CHOICE and spec.label in box_answers:
                parsed, raw, pages_used, confidence = box_answers[spec.label], "", (), None
            elif spec.label in decided:
                known = decided[spec.label]
                parsed, raw, pages_used, confidence = known.parsed, "", known.pages, None
                ink, readings = known.ink, known.readings
            elif segment is None or not segment.text.strip():
                parsed, raw, pages_used, confidence = Parsed(None, flags=(Flag.UNANSWERED,)), "", (), None
            else:
                spans = segment.spans
                # A score verified against the key is sure whatever the text's own sureness.
                parsed = parse_answer(spec, segment.text,
                                      confidence=1.0 if segment.score_sure else segment.confidence)
                parsed = Parsed(parsed.value, parsed.evidence, parsed.confidence,
                                tuple(dict.fromkeys(segment.flags + parsed.flags)), parsed.alternatives)
                raw, pages_used, confidence = segment.text, segment.pages, segment.confidence
                ink, reader, readings = segment.ink, segment.reader, segment.readings
                verified = segment.verified
            scored = score_answer(spec, parsed, spec.key, expression_check=check)
            scored = _carry_forward(spec, parsed, scored, results, recompute, check)
        if budget.exceeded:
            scored = Scored(0.0, scored.max_score, tuple(dict.fromkeys(scored.flags + (Flag.TOO_COMPLEX,))),
                            f"reading or checking this expression took longer than the "
                            f"{budget.seconds:g} s allowed per answer and was stopped; grade it by hand")
        results[spec.label] = AnswerResult(
            label=spec.label, kind=spec.kind, raw_text=raw, parsed=parsed, scored=scored,
            expected=spec.key, confidence=min(parsed.confidence, confidence or 1.0),
            pages=pages_used, spans=spans, ink=ink, reader=reader, readings=readings,
            verified=verified)
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
                  tuple(dict.fromkeys(rescored.flags + (Flag.CARRIED_FORWARD,))),
                  f"correct when carried forward from {spec.depends_on} "
                  f"({', '.join(f'{k}={v}' for k, v in carried.items())})")
