"""Where each answer is, and what it means when nothing is read there.

The rule of this module: ``unanswered`` (an automatic 0 no TA sees) only with evidence.

- A written answer with a region on the blank exam is read from that region's ink on the
  scanned page that is a copy of the region's blank page: no ink there is ``unanswered`` (the
  ink measured is kept as the evidence); ink that gives no text is ``unreadable``; the page not
  found in the scan is ``not_located``. Two copies of the page with different readings make
  the answer ``ambiguous``.
- A scan without a blank exam is read whole: an answer whose heading is found with nothing
  after it is ``unanswered`` only when no unread mark lies between that heading and the next
  (else ``unreadable``); an answer whose heading is not found at all is ``not_located``.
- A typed document's text layer holds everything the student typed: an answer whose heading
  is not in it is ``unanswered``, as before.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from grader.crop import word_range
from grader.exam import ExamSpec
from grader.pages import PageRead, RegionRead
from grader.segment import heading_spans, segment_answers
from grader.types import Flag, Kind, PageText, Parsed, QuestionSpec, Reading, Segment, Source
from grader.verify import Decision, fingerprint


@dataclass(frozen=True)
class Decided:
    """An answer whose outcome is known without parsing: its flags say why."""

    parsed: Parsed
    pages: tuple[int, ...] = ()
    ink: float | None = None          # the share of its region inked, when it has one
    readings: tuple[Reading, ...] = ()   # what the readers made of the ink, if anything


@dataclass(frozen=True)
class Located:
    segments: Mapping[str, Segment] = field(default_factory=dict)   # text to parse, by label
    decided: Mapping[str, Decided] = field(default_factory=dict)
    # Where question headings stand in the pages' text: label -> (page, start, end) each.
    headings: Mapping[str, tuple[tuple[int, int, int], ...]] = field(default_factory=dict)


def locate(pages: Sequence[PageRead], texts: Sequence[PageText], exam: ExamSpec,
           box_answers: Mapping[str, Parsed]) -> Located:
    """Each question's answer: text to parse (``segments``), or a known outcome (``decided``).
    Multiple-choice questions answered by their boxes are left to the caller."""
    segments = dict(segment_answers(texts, exam.questions)) if texts else {}
    headings = heading_spans(texts, exam.questions) if texts else {}
    scanned = any(p.source != Source.TEXT_LAYER for p in pages)
    reads: dict[str, list[tuple[int, RegionRead]]] = {}
    for page in pages:
        for read in page.regions:
            reads.setdefault(read.label, []).append((page.number, read))
    decided: dict[str, Decided] = {}
    by_number = {p.number: p for p in pages}
    for question in exam.questions:
        label = question.label
        if question.kind == Kind.MULTIPLE_CHOICE and label in box_answers:
            continue
        if exam.region(label) is not None and scanned:
            segments.pop(label, None)
            outcome = from_region(label, reads.get(label, []), question)
            if isinstance(outcome, Segment):
                segments[label] = outcome
            else:
                decided[label] = outcome
        elif _has_boxes(exam, question) and scanned:
            decided[label] = Decided(Parsed(None, "its boxes' page was not found in the scan",
                                            0.0, (Flag.NOT_LOCATED,)))
        elif label not in segments and scanned and texts:
            decided[label] = without_region(label, headings.get(label, ()), by_number)
        elif label not in segments and scanned:
            decided[label] = Decided(Parsed(None, "no text was read on the scanned pages", 0.0,
                                            (Flag.NOT_LOCATED,)))
    return Located(segments, decided, headings)


def _has_boxes(exam: ExamSpec, question: QuestionSpec) -> bool:
    return question.kind == Kind.MULTIPLE_CHOICE and any(c.label == question.label
                                                         for c in exam.checkboxes)


def from_region(label: str, reads: Sequence[tuple[int, RegionRead]],
                question: QuestionSpec | None = None) -> Segment | Decided:
    """The answer read from its region on each scanned copy of the region's page.

    ``low_confidence`` follows the score's verification against the key when the region was
    verified against this very question (``grader.verify``): a reading verified as the key
    or as not the key is graded automatically even when its exact text is unsure; one the
    verification is unsure of is flagged. Unverified, the exact text's own sureness decides."""
    if not reads:
        return Decided(Parsed(None, "the page with its answer space was not found in the scan",
                              0.0, (Flag.NOT_LOCATED,)))
    inked = [(n, r) for n, r in reads if r.has_ink]
    if not inked:
        number, read = reads[0]
        return Decided(Parsed(None, f"nothing written in its answer space (marks cover "
                                    f"{read.ink_mm2:.1f} mm², {read.fraction:.2%} of it)",
                              1.0, (Flag.UNANSWERED,)), (number,), read.fraction)
    number, read = inked[0]
    # Two copies of the page that read differently (or one blank, one written): ambiguous.
    differ = len(reads) > 1 and (len(inked) != len(reads)
                                 or len({" ".join(r.text.split()) for _, r in inked}) > 1)
    flags = ((Flag.AMBIGUOUS,) if differ else ()) + \
        ((Flag.LOW_CONFIDENCE,) if _unsure(read, question) else ())
    if not read.text.strip():
        return Decided(Parsed(None, f"{read.ink_mm2:.0f} mm² of ink in its answer space "
                                    f"({read.fraction:.1%} of it), none of it could be read",
                              0.0, (Flag.UNREADABLE, *flags)), (number,), read.fraction,
                       read.readings)
    return Segment(label, read.text, 0, len(read.text), (number,), read.confidence, flags,
                   ink=read.fraction, reader=read.engine, readings=read.readings,
                   verified=_verified(read, question),
                   score_sure=_decided(read, question) and not differ)


_DECISIONS = {Decision.KEY: "the key", Decision.NOT_KEY: "not the key", Decision.UNSURE: "unsure"}


def _verified(read: RegionRead, question: QuestionSpec | None) -> str:
    """The verification of the reading against the key, as the TA reads it: what was decided
    and how much of the recogniser's mass lies on full marks."""
    if not _verified_here(read, question):
        return ""
    decided = _DECISIONS.get(read.decision, read.decision)
    weight = "" if read.key_posterior is None else f", P(full marks) = {read.key_posterior:.3g}"
    return f"handwriting verified against the key: {decided}{weight}"


def _verified_here(read: RegionRead, question: QuestionSpec | None) -> bool:
    return bool(read.decision) and question is not None \
        and read.verified_for == fingerprint(question)


def _decided(read: RegionRead, question: QuestionSpec | None) -> bool:
    """The score was verified against this question's key as the key or as not the key."""
    return _verified_here(read, question) and read.decision in (Decision.KEY, Decision.NOT_KEY)


def _unsure(read: RegionRead, question: QuestionSpec | None) -> bool:
    if _verified_here(read, question):
        return not _decided(read, question)
    return read.unsure


def without_region(label: str, headings: Sequence[tuple[int, int, int]],
                   pages: Mapping[int, PageRead]) -> Decided:
    """A scanned answer with no region and no text after its heading (or no heading)."""
    if not headings:
        return Decided(Parsed(None, "its heading was not found in the scan's text", 0.0,
                              (Flag.NOT_LOCATED,)))
    number, start, end = headings[0]
    page = pages[number]
    marks = _marks_below(page, start, end)
    if marks is None:
        return Decided(Parsed(None, "its heading was read but not placed on the page", 0.0,
                              (Flag.NOT_LOCATED,)), (number,))
    if marks:
        return Decided(Parsed(None, f"{len(marks)} mark(s) below its heading that no reader "
                                    f"could read", 0.0, (Flag.UNREADABLE,)), (number,))
    return Decided(Parsed(None, "its heading was found with nothing written after it", 1.0,
                          (Flag.UNANSWERED,)), (number,))


def _marks_below(page: PageRead, start: int, end: int) -> list[tuple] | None:
    """The unread marks between the heading at ``page.text[start:end]`` and the next word
    printed or written after that span; None when the heading's words cannot be placed."""
    if page.source == Source.TEXT_LAYER:
        return []
    words = [w for w, _ in page.words]
    found = word_range(page.text, words, start, end)
    if found is None or len(page.word_boxes) != len(words):
        return None
    first, last = found
    top = page.word_boxes[first][1]
    bottom = page.word_boxes[last + 1][1] if last + 1 < len(page.word_boxes) else float("inf")
    return [m for m in page.unread_ink if m[1] + m[3] > top and m[1] < bottom]
