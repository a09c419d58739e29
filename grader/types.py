"""Value types shared by the grading core. All are frozen: core functions return new values
and never mutate their inputs.

Values carried in these types are JSON-friendly (int, float, str, list, dict, None) so they
can be stored in JSON fields and printed by ``grade --json`` without conversion. The
enumerations are ``StrEnum``s: a member is its own string in JSON and in the database.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """What a question asks for (the exam YAML's ``kind``)."""

    MULTIPLE_CHOICE = "multiple_choice"
    NUMERIC = "numeric"
    MATRIX = "matrix"
    SHAPE = "shape"
    VALUES = "values"
    EXPRESSION = "expression"
    TEXT = "text"


class Flag(StrEnum):
    """Why an answer needs a TA (or, for the informational ones, what happened to it)."""

    UNANSWERED = "unanswered"
    AMBIGUOUS = "ambiguous"                   # two different final answers; a page scanned twice
    UNPARSED = "unparsed"                     # text present but no value of the expected kind
    LOW_CONFIDENCE = "low_confidence"         # OCR confidence / corrections below threshold
    OCR_CORRECTED = "ocr_corrected"           # informational: characters fixed in numeric context
    FREE_TEXT = "free_text"                   # never auto-final
    SHAPE_MISMATCH = "shape_mismatch"
    LAYOUT_DIFFERS = "layout_differs"         # same numbers in another order (C×H×W vs H×W×C)
    UNCERTAIN_BOX = "uncertain_box"           # a checkbox in the uncertain band
    REGISTRATION_FAILED = "registration_failed"  # a scanned box or page could not be placed
    CARRIED_FORWARD = "carried_forward"       # credit from a wrong earlier value, carried
    NO_KEY = "no_key"
    UNREADABLE = "unreadable"                 # ink where the answer goes, but nothing read
    NOT_LOCATED = "not_located"               # the answer's place was not found on the scan
    # Expressions: infinite, undefined or too large at a sample point (``n*exp(999)``, ``1/0``).
    NOT_FINITE = "not_finite"
    UNPROVEN = "unproven"           # equal to the key at sample points, SymPy could not prove it
    TOO_COMPLEX = "too_complex"     # the per-answer time budget for symbolic work ran out
    # A number written as a percentage ("50%") that is the key only as a fraction (0.5).
    PERCENT = "percent"
    # A decimal that is the key rounded (0.429 for 3/7) or cut (0.666 for 2/3) to the places
    # written, outside the question's tolerance.
    ROUNDED = "rounded"
    # The student marks the answer as a guess ("5?", "maybe 5", "5 (not sure)").
    HEDGED = "hedged"


class DocumentFlag(StrEnum):
    """Why a submission as a whole needs a TA: it may not be one student's copy of this exam."""

    NO_PAGE_MATCHES = "no_page_matches"       # white pages, another course's exam
    PAGE_TWICE = "page_twice"                 # the same exam page twice, with different ink
    PAGES_MISSING = "pages_missing"           # exam pages with answers to read are not there


# Flags that do not by themselves send an answer to review.
INFORMATIONAL_FLAGS = frozenset({Flag.OCR_CORRECTED, Flag.UNANSWERED})


class Marking(StrEnum):
    """What a mark in a box means on this exam (the exam YAML's ``marking``).

    ``cross`` (the default): a crossed box is selected; a filled (blacked-out) box is a
    cancelled one, not selected; a cross to the left of a filled box selects it again.
    ``bubble``: a filled box or bubble is selected (bubble sheets). A cross, tick or dot in a
    bubble is selected but flagged: the sheet asked for a fill, and the tools in the field
    disagree on such marks (OMRChecker counts a partial mark as the student's intent; AMC's
    fill-the-box layouts use a 0.5 darkness threshold, which a cross stays below).
    """

    CROSS = "cross"
    BUBBLE = "bubble"


class Source(StrEnum):
    """Where a page's text came from."""

    TEXT_LAYER = "text_layer"
    OCR = "ocr"              # a scan, read whole by OCR
    SCAN = "scan"            # a scan whose answers were read where they are (no page OCR)


@dataclass(frozen=True)
class Tolerance:
    abs: float = 1e-9
    rel: float = 1e-6


class Equivalence(StrEnum):
    """How a student's expression compares with the key (``grader.expr.compare``)."""

    EQUIVALENT = "equivalent"      # SymPy simplified the difference to 0
    DIFFERENT = "different"        # differs at a sample point
    NUMERIC_ONLY = "numeric_only"  # equal at every sample point, not proven
    APPROXIMATE = "approximate"    # written with decimals, close to the key at every point
    NOT_FINITE = "not_finite"      # infinite / undefined / too large: never equal by itself
    UNREADABLE = "unreadable"      # not a formula we accept (syntax, names, sizes)
    TOO_COMPLEX = "too_complex"    # the answer's time budget ran out


@dataclass(frozen=True)
class Comparison:
    outcome: Equivalence
    detail: str = ""               # for a TA: why (which point, which character, which limit)


@dataclass(frozen=True)
class RubricItem:
    points: float
    text: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class QuestionSpec:
    """One gradable question (or part) of an exam, as the core needs it."""

    label: str                      # "1.ii", "2"
    number: str                     # "1"
    part: str | None                # "ii" or None
    kind: Kind
    points: float
    key: Any = None                 # JSON value; None for text / no key
    options: tuple[str, ...] = ()   # multiple choice option texts
    tolerance: Tolerance = field(default_factory=Tolerance)
    partial: str | None = None      # "per_entry" for matrices
    scoring: str = "all_or_nothing"  # multiple choice: all_or_nothing | per_option | coverage
    rubric: tuple[RubricItem, ...] = ()
    variables: tuple[str, ...] = ()  # expression variables
    outputs: tuple[str, ...] = ()    # names for `values`
    title: str = ""                 # question/part text as printed (helps skip repeated prompts)
    depends_on: str | None = None
    carry: tuple[tuple[str, str], ...] = ()   # (target param/override, source value name)
    solver: str | None = None
    params: Any = None

    def to_json(self) -> dict[str, Any]:
        """The spec as stored (one JSON column per question) and sent to workers."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(
            kind=str(self.kind), options=list(self.options),
            tolerance={"abs": self.tolerance.abs, "rel": self.tolerance.rel},
            rubric=[{"points": r.points, "text": r.text, "keywords": list(r.keywords)}
                    for r in self.rubric],
            variables=list(self.variables), outputs=list(self.outputs),
            carry=[list(pair) for pair in self.carry])
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QuestionSpec:
        """The inverse of ``to_json``; fields missing from ``data`` take their defaults."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        tolerance = data.get("tolerance") or {}
        values.update(
            kind=Kind(data["kind"]), options=tuple(data.get("options") or ()),
            tolerance=Tolerance(**tolerance) if tolerance else Tolerance(),
            rubric=tuple(RubricItem(float(r["points"]), r["text"], tuple(r.get("keywords") or ()))
                         for r in data.get("rubric") or ()),
            variables=tuple(data.get("variables") or ()),
            outputs=tuple(data.get("outputs") or ()),
            carry=tuple((str(t), str(src)) for t, src in data.get("carry") or ()))
        return cls(**values)


@dataclass(frozen=True)
class PageText:
    number: int                     # 1-based
    text: str
    source: Source = Source.TEXT_LAYER
    confidence: float = 1.0         # mean word confidence 0-1 (1.0 for text layers)
    words: tuple[tuple[str, float], ...] = ()  # (word, confidence 0-1) for OCR pages


@dataclass(frozen=True)
class Reading:
    """What one reader made of an answer region's ink."""

    engine: str                      # tesseract | handwriting
    text: str
    confidence: float                # calibrated: the share of such readings that are right


@dataclass(frozen=True)
class Segment:
    """The span of submission text that answers one question."""

    label: str
    text: str
    start: int                      # offsets into the joined submission text
    end: int
    pages: tuple[int, ...] = ()
    confidence: float = 1.0         # from the OCR words inside the span
    flags: tuple[str, ...] = ()
    # Where the text is: (page number, start, end) offsets into that page's text, per page.
    spans: tuple[tuple[int, int, int], ...] = ()
    ink: float | None = None        # read from an answer region: the share of it inked
    reader: str = ""                # the engine whose reading of the region was taken
    readings: tuple[Reading, ...] = ()   # every engine's reading of the region
    verified: str = ""              # the score verified against the key, in words (regions)
    # The score was verified as the key or as not the key for this question: the exact
    # text's own sureness (``confidence``) no longer sends it to review.
    score_sure: bool = False


@dataclass(frozen=True)
class Parsed:
    """What a parser read from a segment."""

    value: Any                      # JSON-friendly; None when nothing was read
    evidence: str = ""              # the substring the value was read from
    confidence: float = 1.0
    flags: tuple[str, ...] = ()
    alternatives: tuple[Any, ...] = ()  # other final answers when ambiguous


@dataclass(frozen=True)
class Scored:
    score: float
    max_score: float
    flags: tuple[str, ...] = ()
    detail: str = ""                # human-readable reason, e.g. which entries differ

    @property
    def needs_review(self) -> bool:
        return any(f not in INFORMATIONAL_FLAGS for f in self.flags)


@dataclass(frozen=True)
class AnswerResult:
    label: str
    kind: str
    raw_text: str
    parsed: Parsed
    scored: Scored
    expected: Any
    confidence: float
    pages: tuple[int, ...] = ()
    spans: tuple[tuple[int, int, int], ...] = ()    # as Segment.spans
    ink: float | None = None        # the share of its answer region inked (regions only)
    reader: str = ""                # which engine's reading was taken (handwritten regions)
    readings: tuple[Reading, ...] = ()   # every engine's reading, shown to the TA
    verified: str = ""              # the score verified against the key, in words (regions)

    @property
    def status(self) -> str:
        return "flagged" if self.scored.needs_review else "auto"
