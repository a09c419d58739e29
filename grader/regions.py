"""Reading the ink of a written answer region (``grader.ink``) into text, and verifying the
score it gets against the question's key.

Only the student's ink is read (the printed question was subtracted). Two readers read it, on
the same lines cut from the ink (``grader.handwriting``): the handwriting recogniser and
Tesseract. The text taken (shown to the TA, parsed and scored) is chosen by evidence
(``choose_reading``); ``unsure`` says whether that exact text is sure. With the question
(its key), the score is verified as well (``grader.verify``): the recogniser's posterior over
strings says whether what is written scores full marks (``key``), is surely a value of its
kind that is not the key (``not_key``), or neither (``unsure``). A verified answer is graded
automatically even when its exact text is unsure (``grader.answers.from_region``); both
readings are kept for the TA either way. Ink from which nothing at all is read comes back with
empty text: the caller flags it ``unreadable``, never "no answer".
"""
from __future__ import annotations

from grader import limits
from grader.handwriting import choose_reading, read_handwritten_region, read_region_tesseract
from grader.ink import INK_DPI, RegionInk
from grader.ocr import OcrOptions
from grader.pages import RegionRead
from grader.types import Kind, QuestionSpec, Reading
from grader.verify import Decision, fingerprint, verify


def read_region(label: str, ink: RegionInk, ocr: OcrOptions, question: QuestionSpec | None = None,
                scan_dpi: float | None = None,
                expression_budget_s: float = limits.DEFAULT_ANSWER_BUDGET_S) -> RegionRead:
    """The region's ink read into text (empty when it has no ink, or none could be read),
    verified against ``question``'s key when given. ``scan_dpi``: the scan's own resolution
    (None when unknown: the strictest thresholds apply)."""
    if not ink.has_ink:
        return RegionRead(label, ink.ink_mm2, ink.fraction)
    handwriting = read_handwritten_region(ink.image, INK_DPI)
    tesseract = read_region_tesseract(ink.image, INK_DPI, lines=handwriting.cuts,
                                      timeout_s=ocr.timeout_s, engine=ocr.engine)
    choice = choose_reading(tesseract.reading(), handwriting.reading())
    readings = tuple(Reading(str(r.engine), r.text, round(r.confidence, 4))
                     for r in (choice.handwriting, choice.tesseract))
    text, engine = choice.text, str(choice.engine or "")
    decision, posterior, verified_for = "", None, ""
    if question is not None and choice.text.strip():
        check = _expression_check() if question.kind == Kind.EXPRESSION else None
        # The candidates' symbolic work shares one answer's budget: a region is never verified
        # by more SymPy time than grading its answer may take.
        with limits.answer_budget(expression_budget_s) as budget:
            verdict = verify(question, handwriting.lines, choice.text, others=(tesseract.text,),
                             unseen=handwriting.unseen, scan_dpi=scan_dpi, expression_check=check)
        decision = str(Decision.UNSURE if budget.exceeded else verdict.decision)
        posterior, verified_for = verdict.key_posterior, fingerprint(question)
        if verdict.reading and decision != Decision.UNSURE:
            # Another reading than the one taken was decided (the recogniser's most likely
            # answer where the reading taken did not parse, or the character classifier's):
            # that is what is graded, every reader's text kept for the TA.
            text, engine = verdict.reading, verdict.engine or str(choice.handwriting.engine)
            if engine not in {r.engine for r in readings}:
                # The classifier's, with the probability of the score it was verified to get.
                sure = verdict.same_posterior if decision == Decision.NOT_KEY \
                    else verdict.key_posterior
                readings += (Reading(engine, verdict.reading, round(sure, 4)),)
    return RegionRead(label, ink.ink_mm2, ink.fraction, text, round(choice.confidence, 4),
                      engine, readings, choice.low_confidence, decision, posterior, verified_for)


def _expression_check():
    """The comparison ``grader.score`` expects for expressions: the one
    ``grader.pipeline.expression_checker`` gives (the pipeline imports this module, so it is
    looked up here rather than imported from there)."""
    from grader.expr import compare

    return compare
