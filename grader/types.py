"""Value types shared by the grading core. All are frozen: core functions return new values
and never mutate their inputs.

Values carried in these types are JSON-friendly (int, float, str, list, dict, None) so they
can be stored in JSON fields and printed by ``grade --json`` without conversion.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

KINDS = ("multiple_choice", "numeric", "matrix", "shape", "values", "expression", "text")

# Flag names (a flagged answer carries one or more of these, with the suggested score).
FLAG_UNANSWERED = "unanswered"
FLAG_AMBIGUOUS = "ambiguous"            # two different final answers
FLAG_UNPARSED = "unparsed"              # text present but no value of the expected kind
FLAG_LOW_CONFIDENCE = "low_confidence"  # OCR confidence / corrections below threshold
FLAG_OCR_CORRECTED = "ocr_corrected"    # informational: characters fixed in numeric context
FLAG_FREE_TEXT = "free_text"            # never auto-final
FLAG_SHAPE_MISMATCH = "shape_mismatch"
FLAG_UNCERTAIN_BOX = "uncertain_box"    # a checkbox in the uncertain band
FLAG_REGISTRATION = "registration_failed"  # scanned page did not fit its template
FLAG_CARRIED_FORWARD = "carried_forward"
FLAG_NO_KEY = "no_key"
# Expressions: infinite, undefined or too large at a sample point (``n*exp(999)``, ``1/0``).
FLAG_NOT_FINITE = "not_finite"
# Expressions: equal to the key at sample points, but SymPy could not prove it.
FLAG_UNPROVEN = "unproven"
# Expressions: the per-answer time budget for symbolic work ran out.
FLAG_TOO_COMPLEX = "too_complex"

# Flags that do not by themselves send an answer to review.
INFORMATIONAL_FLAGS = frozenset({FLAG_OCR_CORRECTED, FLAG_UNANSWERED})


@dataclass(frozen=True)
class Tolerance:
    abs: float = 1e-9
    rel: float = 1e-6


class Equivalence(StrEnum):
    """How a student's expression compares with the key (``grader.expr.compare``)."""

    EQUIVALENT = "equivalent"      # SymPy simplified the difference to 0
    DIFFERENT = "different"        # differs at a sample point
    NUMERIC_ONLY = "numeric_only"  # equal at every sample point, not proven
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
    kind: str                       # one of KINDS
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


@dataclass(frozen=True)
class PageText:
    number: int                     # 1-based
    text: str
    source: str = "text_layer"      # text_layer | ocr
    confidence: float = 1.0         # mean word confidence 0-1 (1.0 for text layers)
    words: tuple[tuple[str, float], ...] = ()  # (word, confidence 0-1) for OCR pages


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

    @property
    def status(self) -> str:
        return "flagged" if self.scored.needs_review else "auto"
