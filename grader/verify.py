"""Key-aware verification of a handwritten answer: is the SCORE sure, whatever the exact text?

A grader does not need to know whether a student wrote 13 or 18 to give 0 for a key of 15; it
needs to know the student did not write 15. ``verify`` weighs what the handwriting recogniser
saw (each line's per-frame probabilities, ``grader.handwriting.LinePosterior``) against the
question's key and decides:

- ``key``: the strings that score full marks are overwhelmingly likely among the strings
  that are answers of the question's kind at all (P(full | an answer) >= ``Thresholds.key``:
  "6 = 7" for "b = ?" is no answer anyone writes, so a b read half as a 6 does not count
  against the key), and the reading taken scores full marks;
- ``not_key``: every written form of the key is very unlikely (P(full) <= ``Thresholds.full``)
  AND the strings that score as the reading taken does (a value of the question's kind, not
  the key) hold most of the mass (P(same) >= ``Thresholds.same``);
- ``unsure``: anything else; the answer is flagged ``low_confidence``.

The probabilities are the recogniser's own, P(string | line) by the CTC forward algorithm
(``grader.ctc``), over candidate strings: the recogniser's most likely strings (prefix beam
search), the reading taken, and the *written forms of the key* put into the reading's own
layout ("RF = 16" → "RF = 15", "15", "15.0"; "9 x 9 x 5" → "8 x 8 x 5", "8×8×5", "(8, 8, 5)";
"h2 = 6" → "h2 = 0"). Every candidate is parsed and scored by the grader's own parser and
scorer (``grader.parse``, ``grader.score``: one number policy, tolerances included), so the
decision is about the score the answer will get. A candidate whose parse ignores some of its
digits ("094" read as 0) counts for neither side.

Conservative where the candidates cannot cover the key's forms: expressions and matrices are
only ever verified as the key; a non-integer key with a tolerance only as the key, read
exactly; a question whose key may be carried forward from an earlier part, never as "not the
key"; "not the key" needs a single-line reading (a values answer: one line per value), and no
other reader's text that scores full marks. No decision at all when much of the region's ink
lies outside the lines the recogniser read (a pen too faint for the line cutter), nor when
a dot lies where a decimal point goes but outside the line read (a faint point). The
thresholds are calibrated on the project's handwriting corpus by scan resolution
(``python -m bench.handwriting --calibrate``; BENCHMARKS.md). Where the first look at the
lines leaves the decision unsure, ``verify`` (``weigh``) asks the lines for other looks at
their ink (``LineRead.looks``: the recogniser on the same cut prepared otherwise) and
averages the evidence of all the looks: that cost is paid on unsure answers only. Before
those looks, and after them, a number or a shape is also weighed by a second reader, the
character classifier (``grader.glyphs``, ``LineRead.glyphs``), whose evidence is pooled with
the recogniser's (``_with_glyphs``: odds multiplied, the classifier's held within
``GLYPH_CLIP`` so that it never decides alone). Pure: no I/O, inputs never mutated.
"""
from __future__ import annotations

import heapq
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any

import numpy as np

from grader import ctc
from grader.compare import is_number
from grader.glyphs import ENGINE as GLYPHS, UNKNOWN, glyph_count
from grader.handwriting import SECOND_LOOKS, Engine, LinePosterior, LineRead
from grader.parse import parse_answer
from grader.parse.numbers import arithmetic_runs, shapes_in
from grader.score import ExpressionCheck, score_answer
from grader.types import INFORMATIONAL_FLAGS, Kind, QuestionSpec, Tolerance

__all__ = ["Decision", "Evidence", "Thresholds", "Verification", "decide", "evidence",
           "fingerprint", "repaired", "thresholds_for", "verify", "weigh"]


class Decision(StrEnum):
    KEY = "key"                  # the written answer scores full marks
    NOT_KEY = "not_key"          # it is a value of the question's kind that is not the key
    UNSURE = "unsure"            # a TA decides


@dataclass(frozen=True)
class Verification:
    decision: Decision
    key_posterior: float         # P(what is written scores full marks), the recogniser's
    same_posterior: float        # P(what is written scores as the reading taken does)
    reason: str
    # The reading the decision is about when it is not the one taken: the reading taken did
    # not parse cleanly as an answer of the question's kind, and the recogniser's most likely
    # string that does was decided (``repaired``), or the character classifier read it and
    # its reading was decided. "" when it is the reading taken.
    reading: str = ""
    engine: str = ""             # who read ``reading`` (an ``Engine``, or the classifier's)

    def to_json(self) -> dict[str, Any]:
        return {"decision": str(self.decision), "key_posterior": self.key_posterior,
                "same_posterior": self.same_posterior, "reason": self.reason,
                "reading": self.reading, "engine": self.engine}


@dataclass(frozen=True)
class Thresholds:
    key: float                   # "key" when P(full) >= key
    full: float                  # "not_key" when P(full) <= full ...
    same: float                  # ... and P(same score) >= same


# By the scan's own resolution (from this many dpi up), calibrated on the corpus's tuning
# seed (``python -m bench.handwriting --seed 7 --pages 60 --calibrate``; BENCHMARKS.md). On
# its 600 regions no answer read as the key was wrong at any P(full) >= 0.5, and no answer
# taken as not the key was wrong up to P(full) 1e-2 with P(same) >= 0.5. Shipped stricter:
# "key" from 0.9 (0.95 below 130 dpi and when the resolution is unknown); P(same) one step
# (two); P(full) a decade below what the tuning seed allows, 1e-4 (3e-5): on a held-out seed
# "7×64" read "7×69" gave the key P(full) 3.4e-4 (another reader's "7×64" kept it unsure).
# Rechecked with P(full | an answer) for "the key", shapes' separators weighed as one and
# second looks, on tuning seeds 7, 11 and 13 (900 regions): the one wrong answer read as the
# key had 0.088; the lowest P(full) of an answer deserving full marks read as another value
# was 1.3e-3 ("6x7x4" read "E x 7 x 4" at 150 dpi). Unchanged.
THRESHOLDS: tuple[tuple[float, Thresholds], ...] = (
    (0.0, Thresholds(key=0.95, full=3e-5, same=0.8)),       # below 130 dpi, or unknown
    (130.0, Thresholds(key=0.9, full=1e-4, same=0.7)),
)


def fingerprint(question: QuestionSpec) -> str:
    """What a verification depends on (kind, key, tolerance, outputs, carry), as a short
    digest: a decision stored with a page read holds only while the question is the same."""
    import hashlib
    import json

    what = [str(question.kind), question.key, question.tolerance.abs, question.tolerance.rel,
            list(question.outputs), question.depends_on, [list(c) for c in question.carry]]
    text = json.dumps(what, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def thresholds_for(scan_dpi: float | None) -> Thresholds:
    """The thresholds for a scan of this resolution; an unknown one gets the strictest."""
    chosen = THRESHOLDS[0][1]
    for lowest, thresholds in THRESHOLDS:
        if scan_dpi is not None and scan_dpi >= lowest:
            chosen = thresholds
    return chosen


BEAM_WIDTH = 12
MAX_COMBINATIONS = 48          # joint candidates of a multi-line reading
MAX_EXPRESSION_CANDIDATES = 4  # each costs a SymPy comparison ...
MIN_EXPRESSION_P = 1e-3        # ... so only those that can count
MAX_TOLERANCE_FORMS = 11       # integers within a tolerance written out as key forms
# More of the region's ink than this outside the lines read: no decision (95th percentile of
# the tuning seed's regions; no decision made there had more than 0.05).
MAX_UNSEEN = 0.08
# "Not the key" from less: the key may be written in the ink not seen. On tuning seeds 7, 11
# and 13 (30 pages each) the regions decided with 0.05-0.08 unseen were right at 0.050,
# 0.054 (not the key) and 0.073 (the key), wrong at 0.077 ("1595" with two faint 5s, read
# "1", taken as not the key).
MAX_UNSEEN_NOT_KEY = 0.06


# --------------------------------------------------------------------------------------------
# Written forms of numbers and keys


def number_texts(value: Any) -> tuple[str, ...]:
    """How a student may write the number ``value``: 15 → "15", "15.0"; 0.25 → "0.25",
    ".25", "1/4"; -3 → "-3", "−3"."""
    if not is_number(value) or isinstance(value, float) and not math.isfinite(value):
        return ()
    if isinstance(value, int) or float(value).is_integer():
        n = int(value)
        base = [str(n), f"{n}.0"]
    else:
        text = np.format_float_positional(float(value), trim="-")
        base = [text]
        if abs(value) < 1:
            base.append(text.replace("0.", ".", 1))
        fraction = Fraction(float(value)).limit_denominator(12)
        if abs(float(fraction) - float(value)) < 1e-12 and fraction.denominator > 1:
            base.append(f"{fraction.numerator}/{fraction.denominator}")
    out = []
    for text in base:
        out.append(text)
        if text.startswith("-"):
            out.append("−" + text[1:])
    return tuple(dict.fromkeys(out))


def _within_tolerance(key: Any, tolerance: Tolerance) -> tuple[Any, ...] | None:
    """The integers a tolerance lets through around an integer key (the key first), or None
    when there are too many to write out."""
    if tolerance == Tolerance() or not isinstance(key, int):
        return (key,)
    reach = max(tolerance.abs, tolerance.rel * abs(key))
    if reach >= (MAX_TOLERANCE_FORMS - 1) / 2 + 1:
        return None
    low, high = math.ceil(key - reach - 1e-12), math.floor(key + reach + 1e-12)
    return (key, *(n for n in range(low, high + 1) if n != key))


def _replace_spans(text: str, spans: Sequence[tuple[int, int]], forms: Sequence[str]) -> list[str]:
    return [text[:a] + form + text[b:] for a, b in spans for form in forms]


_SHAPE_SEPARATORS = ("x", " x ", "×", " × ", "*", "X", " X ")


def _shape_forms(dims: Sequence[int], reading: str) -> list[str]:
    digits = [str(d) for d in dims]
    forms = [sep.join(digits) for sep in _SHAPE_SEPARATORS]
    forms += ["(" + ", ".join(digits) + ")", "(" + ",".join(digits) + ")"]
    # In the reading's own layout: its shape's numbers replaced one for one.
    for found in shapes_in(reading):
        span = reading[found.start:found.end]
        numbers = list(re.finditer(r"\d+", span))
        if len(numbers) == len(digits):
            pieces, last = [], 0
            for m, d in zip(numbers, digits):
                pieces += [span[last:m.start()], d]
                last = m.end()
            forms.append(reading[:found.start] + "".join(pieces) + span[last:] + reading[found.end:])
    return forms


def key_forms(question: QuestionSpec, reading_line: str) -> tuple[str, ...]:
    """Written forms of the key for one line of a reading, in that line's layout where it
    has one (its prefix kept, its number replaced) and bare."""
    key, kind = question.key, question.kind
    forms: list[str] = []
    if kind == Kind.NUMERIC:
        values = _within_tolerance(key, question.tolerance) or (key,)
        texts = [t for v in values for t in number_texts(v)]
        spans = [(f.start, f.end) for f in arithmetic_runs(reading_line)]
        forms = texts + _replace_spans(reading_line, spans, texts)
        for prefix in {m.group(0) for m in re.finditer(r"^[^=\n]*=\s*", reading_line)}:
            forms += [prefix + t for t in texts]
    elif kind == Kind.SHAPE and isinstance(key, list) and all(isinstance(d, int) for d in key):
        forms = _shape_forms(key, reading_line)
    elif kind == Kind.VALUES and isinstance(key, dict):
        name = _line_name(question, reading_line)
        names = [name] if name else list(key)
        for n in names:
            texts = number_texts(key.get(n))
            forms += [f"{n} = {t}" for t in texts] + [f"{n}={t}" for t in texts]
            if name:
                head = re.match(r"^[^=]*=\s*", reading_line)
                if head:
                    forms += [head.group(0) + t for t in texts]
    elif kind == Kind.EXPRESSION and isinstance(key, str):
        bare = [key, key.replace("sqrt(", "√("), key.replace(" ", "")]
        head = re.match(r"^[^=]*=\s*", reading_line)
        forms = bare + ([head.group(0) + b for b in bare] if head else [])
    # A matrix's rows are written line by line: _matrix_line_forms.
    return tuple(dict.fromkeys(f for f in forms if f.strip()))


def _line_name(question: QuestionSpec, line: str) -> str | None:
    """The output a values line assigns (as the exam names it), if it names exactly one."""
    parsed = parse_answer(question, line)
    if isinstance(parsed.value, dict) and len(parsed.value) == 1:
        return next(iter(parsed.value))
    return None


def _matrix_line_forms(key: Any, row: int) -> tuple[str, ...]:
    if not isinstance(key, list) or row >= len(key) or not isinstance(key[row], list):
        return ()
    cells = [number_texts(v)[:1] for v in key[row]]
    if not all(cells):
        return ()
    return (" ".join(c[0] for c in cells), "  ".join(c[0] for c in cells))


# --------------------------------------------------------------------------------------------
# Candidates and their grades


@dataclass(frozen=True)
class Grade:
    full: bool          # scores full marks
    score: float
    clean: bool         # parsed without flags that send it to review, every digit used
    malformed: bool = False   # parses as no answer of the question's kind at all


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _digits(text: str) -> str:
    return "".join(sorted(re.findall(r"\d", _IDENTIFIER.sub(" ", text))))


class _Grader:
    """Parses and scores candidate texts against the question's key, each text once."""

    def __init__(self, question: QuestionSpec, check: ExpressionCheck | None,
                 exact_key: bool) -> None:
        self.question, self.check, self.exact_key = question, check, exact_key
        self.cache: dict[str, Grade] = {}

    def __call__(self, text: str) -> Grade:
        found = self.cache.get(text)
        if found is None:
            found = self.cache[text] = self._grade(text)
        return found

    def _grade(self, text: str) -> Grade:
        question = self.question
        if UNKNOWN in text:            # a glyph no reader could name: no answer at all
            return Grade(False, 0.0, False, True)
        parsed = parse_answer(question, text)
        scored = score_answer(question, parsed, question.key, expression_check=self.check)
        full = scored.score >= scored.max_score - 1e-9
        if full and self.exact_key:
            full = parsed.value == question.key
        review = [f for f in scored.flags if f not in INFORMATIONAL_FLAGS]
        clean = parsed.value is not None and not review
        if clean and question.kind in (Kind.NUMERIC, Kind.SHAPE, Kind.VALUES):
            # Every digit written is part of what was read: "094" read as 0, "10 64" as 10
            # are not clean readings of anything.
            clean = _digits(parsed.evidence) == _digits(text)
        return Grade(full, round(scored.score, 9), clean, parsed.value is None)


@dataclass(frozen=True)
class _Line:
    texts: tuple[str, ...]
    probs: tuple[float, ...]


def _line_candidates(posterior: LinePosterior, extra: Sequence[str], spaceless: bool,
                     width: int = BEAM_WIDTH, merged: str = "") -> _Line:
    """The line's most likely strings and the ``extra`` ones, each with P(string | line);
    ``spaceless``: spaces do not count (every spacing of a string weighed as one);
    ``merged``: characters that mean the same, weighed as one (the first of them)."""
    log_probs = posterior.log_probs(spaces_as_blank=spaceless, merged=merged)
    labels: dict[tuple[int, ...], None] = {}
    for seq, _ in ctc.beam_search(log_probs, width=width):
        labels[seq] = None
    for text in extra:
        seq = posterior.labels(_merge(text.replace(" ", "") if spaceless else text, merged))
        if seq is not None:
            labels[seq] = None
    sequences = list(labels)
    exact = ctc.log_likelihoods(log_probs, sequences)
    ranked = sorted(zip(sequences, exact), key=lambda kv: -kv[1])
    return _Line(tuple(posterior.text(s) for s, _ in ranked),
                 tuple(float(math.exp(e)) for _, e in ranked))


def _merge(text: str, merged: str) -> str:
    """``text`` with each of ``merged``'s characters written as the first of them."""
    return text.translate({ord(c): merged[0] for c in merged[1:]}) if merged else text


# The signs a shape's sizes are written apart with ("8x8x5", "8×8×5", "8*8*5", "8 X 8 X 5"):
# for a shape they mean the same, so they are weighed as one ("×", the first) and the beam's
# width is not spent on their spellings (a line of four sizes has 4³ = 64 of them).
SHAPE_SEPARATORS = "×xX*"


def _combinations(lines: Sequence[_Line], limit: int) -> tuple[list[tuple[str, float]], float]:
    """The most likely joint readings of several lines (lines independent given the cuts),
    and the mass of the joint candidates left out."""
    joint: list[tuple[float, tuple[str, ...]]] = [(1.0, ())]
    total = 1.0
    for line in lines:
        total *= sum(line.probs)
        grown = [(p * q, texts + (t,)) for p, texts in joint for t, q in zip(line.texts, line.probs)]
        joint = heapq.nlargest(limit, grown, key=lambda kv: kv[0])
    kept = [("\n".join(texts), p) for p, texts in joint]
    return kept, max(0.0, total - sum(p for _, p in kept))


# --------------------------------------------------------------------------------------------
# The decision


@dataclass(frozen=True)
class Evidence:
    """What the recogniser's posteriors say about the score, before any threshold."""

    reads_as_key: bool           # the reading taken scores full marks
    p_key: float                 # P(clean candidates scoring full marks): a lower bound
    p_full: float                # P(any candidate scoring full marks) + the mass left out
    p_same: float                # P(clean candidates scoring as the reading taken does)
    blocked: str = ""            # why no decision can be made (else "")
    not_key_blocked: str = ""    # why "not the key" cannot be decided (else "")
    # P(candidates that parse as no answer of the question's kind at all: "6 = 7" for
    # "b = ?", "2#6" for a shape): strings a student answering the question does not write.
    p_malformed: float = 0.0
    looks: int = 1               # how many looks at the lines the probabilities average

    @property
    def key_given_answer(self) -> float:
        """P(full marks | what is written is an answer of the question's kind): ``p_key``
        with the malformed candidates' mass taken out of the whole (a b read half as a 6 in
        "b = 7" is no evidence against the key). Still a lower bound: the mass no candidate
        holds (the beam's rest) stays in the whole, as not the key."""
        if self.p_malformed >= 1.0:
            return 0.0
        return round(min(1.0, self.p_key / (1.0 - self.p_malformed)), 6)


def evidence(question: QuestionSpec, lines: Sequence[LineRead], reading: str, *,
             others: Sequence[str] = (), unseen: float = 0.0,
             expression_check: ExpressionCheck | None = None) -> Evidence:
    """The candidates' mass by the score they would get (see the module docstring).
    ``lines``: the recogniser's reads with their posteriors; ``reading``: the text taken;
    ``others``: other readers' texts of the same ink; ``unseen``: the share of the region's
    faint ink in no line the recogniser read (``grader.handwriting.unseen_ink``)."""
    kind, key = question.kind, question.key
    if kind not in (Kind.NUMERIC, Kind.SHAPE, Kind.VALUES, Kind.EXPRESSION, Kind.MATRIX) \
            or key is None:
        return Evidence(False, 0.0, 1.0, 0.0, "no key to verify against")
    if unseen > MAX_UNSEEN:
        # The posteriors say what the lines hold, not what the reader never saw (a pen too
        # faint for the line cutter: "2068" was read "200" from its darkest fragments).
        return Evidence(False, 0.0, 1.0, 0.0,
                        f"{unseen:.0%} of the ink lies in no line the reader read")
    written = [line for line in lines if line.posterior is not None and line.posterior.frames]
    if not written or len(written) != len(lines):
        return Evidence(False, 0.0, 1.0, 0.0, "no recogniser posterior for every line")
    # One number has one decimal point: a line of a number or a named value read with one
    # has no other to miss.
    single = kind in (Kind.NUMERIC, Kind.VALUES)
    if kind != Kind.SHAPE and any(line.loose_dots and not (single and "." in line.text)
                                  for line in lines):
        # A dot where a decimal point goes, left out of the line the recogniser read: its
        # posterior cannot say whether ".426" or "426" is written.
        return Evidence(False, 0.0, 1.0, 0.0,
                        "a dot by the line the reader was not given (a decimal point?)")
    grade = _Grader(question, expression_check, _exact_key(question))
    taken = grade(reading)
    if not taken.clean:
        return Evidence(taken.full, 0.0, 1.0, 0.0, NOT_CLEAN)
    # Numbers, shapes and named values mean the same however they are spaced (the reading's
    # spaces come from the ink's gaps, not from the recogniser): weighed spacelessly.
    spaceless = kind in (Kind.NUMERIC, Kind.SHAPE, Kind.VALUES)
    # A shape's separators likewise, when the reading scores the same with them unified
    # (no "x" written as a letter there).
    merged = ""
    if kind == Kind.SHAPE and grade(_merge(reading, SHAPE_SEPARATORS)) == taken:
        merged = SHAPE_SEPARATORS
    as_read = _as_key(question, reading)
    per_line = []
    for row, line in enumerate(written):
        extra = [line.text, *key_forms(question, line.text)]
        if as_read is not None:          # the value read, in its other written forms
            extra += key_forms(as_read, line.text)
        if kind == Kind.MATRIX:
            extra += _matrix_line_forms(key, row)
        per_line.append(_line_candidates(line.posterior, extra, spaceless, merged=merged))
    limit = MAX_EXPRESSION_CANDIDATES if kind == Kind.EXPRESSION else MAX_COMBINATIONS
    joint, left_out = _combinations(per_line, limit)
    if kind == Kind.EXPRESSION:         # each costs a SymPy comparison: only those that count
        joint = [(text, p) for text, p in joint if p >= MIN_EXPRESSION_P]
    p_key = p_full = p_same = p_malformed = 0.0
    for text, p in joint:
        g = grade(text)
        if g.malformed:
            p_malformed += p
        if g.full:
            p_full += p
            if g.clean:
                p_key += p
        elif g.clean and g.score == taken.score:
            p_same += p
    blocked = ""
    if not taken.full:
        blocked = _not_key_excluded(question, written)
        if not blocked and unseen > MAX_UNSEEN_NOT_KEY:
            blocked = f"{unseen:.0%} of the ink lies in no line the reader read"
        if not blocked and any(grade(other).full for other in others if other.strip()):
            blocked = "another reader read the key"
    return Evidence(taken.full, round(min(1.0, p_key), 6), round(min(1.0, p_full + left_out), 6),
                    round(min(1.0, p_same), 6), not_key_blocked=blocked,
                    p_malformed=round(min(1.0, p_malformed), 6))


NOT_CLEAN = "the reading taken does not parse cleanly as the question's kind"
# A repaired reading is taken as the key only where most of the recogniser's mass lies on
# answers of the question's kind: an "S" read surely where an 8 may be written is no 8. ("Not
# the key" needs P(same score) >= Thresholds.same of clean answers anyway.)
MIN_ANSWER_MASS_TO_REPAIR = 0.5


def _exact_key(question: QuestionSpec) -> bool:
    return question.kind == Kind.NUMERIC and question.tolerance != Tolerance() \
        and is_number(question.key) and not float(question.key).is_integer()


def repaired(question: QuestionSpec, lines: Sequence[LineRead], reading: str, *,
             others: Sequence[str] = ()) -> str | None:
    """The recogniser's most likely string that parses cleanly as an answer of the question's
    kind, when ``reading`` does not ("$x 32" taken from Tesseract where the recogniser reads
    "4 x 32"; "0.0 98" with a gap in the ink): None when the reading is clean, the kind is
    not a number, shape or named values, or no candidate is clean. Candidates: each line's
    most likely strings (spacelessly: spacing is the ink's gaps), its own text, the other
    readers' line of the same place and the key's written forms, all weighed by the
    recogniser. The decision about the string returned is then made as for any reading
    (``weigh``), thresholds unchanged; "the key" only where answers of the kind hold most of
    the mass."""
    if question.kind not in (Kind.NUMERIC, Kind.SHAPE, Kind.VALUES) or question.key is None:
        return None
    written = [line for line in lines if line.posterior is not None and line.posterior.frames]
    if not written or len(written) != len(lines):
        return None
    grade = _Grader(question, None, _exact_key(question))
    if grade(reading).clean:
        return None
    split = [other.split("\n") for other in others if other.strip()]
    per_line = []
    for row, line in enumerate(written):
        extra = [line.text, *key_forms(question, line.text)]
        extra += [texts[row] for texts in split if len(texts) == len(written)]
        per_line.append(_line_candidates(line.posterior, extra, True))
    joint, _ = _combinations(per_line, MAX_COMBINATIONS)
    best = max(((p, text) for text, p in joint if grade(text).clean), default=None)
    return None if best is None or best[1] == reading else best[1]


# The "=" of a named value is taken as where its value starts only when the recogniser is
# this sure of it at its frames.
MIN_EQUALS_P = 0.9


def value_part(posterior: LinePosterior) -> LinePosterior | None:
    """The frames after the one "=" of a line ("h2 = 6" → the frames of " 6"), when the
    recogniser's most likely frame-by-frame reading holds exactly one "=" and puts at least
    ``MIN_EQUALS_P`` on it: P(value | line) is then P(value | those frames), whatever the name
    before the "=" is read as ("12 = 6", "#2 = 6" for h2). None otherwise."""
    equals = posterior.labels("=")
    if equals is None or not posterior.frames:
        return None
    column = equals[0]
    best = np.argmax(posterior.probs, axis=1)
    frames = np.flatnonzero(best == column)
    if frames.size == 0 or frames[-1] - frames[0] + 1 != frames.size:
        return None                    # no "=", or two of them
    if float(posterior.probs[frames, column].max()) < MIN_EQUALS_P:
        return None
    after = posterior.probs[frames[-1] + 1:]
    if not after.shape[0]:
        return None
    return LinePosterior(after, posterior.characters)


def _named_value(question: QuestionSpec, lines: Sequence[LineRead], others: Sequence[str],
                 ) -> tuple[str, QuestionSpec, list[LineRead], tuple[str, ...]] | None:
    """A one-output named-value question read on one line with a sure "=": (the output's
    name, the question as a number with that output's key, the line cut to its value part,
    the other readers' texts after their "="), to verify the value whatever the name is read
    as. None when that does not apply."""
    key = question.key
    if question.kind != Kind.VALUES or len(question.outputs) != 1 or len(lines) != 1 \
            or not isinstance(key, dict) or len(key) != 1 or lines[0].posterior is None:
        return None
    part = value_part(lines[0].posterior)
    if part is None:
        return None
    name, value = next(iter(key.items()))
    text = part.text(tuple(int(k) for k in _greedy(part)))
    looks = lines[0].looks

    def cut_looks() -> tuple[LinePosterior, ...]:
        cut = tuple(value_part(look) for look in looks()) if looks is not None else ()
        return cut if all(c is not None for c in cut) else ()

    glyphs = lines[0].glyphs

    def cut_glyphs() -> LinePosterior | None:
        whole = glyphs() if glyphs is not None else None
        return value_part(whole) if whole is not None else None

    line = replace(lines[0], text=text.strip(), posterior=part,
                   looks=cut_looks if looks is not None else None,
                   glyphs=cut_glyphs if glyphs is not None else None)
    number = replace(question, kind=Kind.NUMERIC, key=value, outputs=())
    rest = tuple(other.split("=")[-1].strip() for other in others if other.count("=") == 1)
    return str(name), number, [line], rest


def _greedy(posterior: LinePosterior) -> list[int]:
    """The best path's labels (repeats merged, blanks dropped)."""
    best = np.argmax(posterior.probs, axis=1)
    out, last = [], 0
    for k in best:
        if k and k != last:
            out.append(int(k))
        last = int(k)
    return out


def _as_key(question: QuestionSpec, reading: str) -> QuestionSpec | None:
    """The question with the value ``reading`` states as its key (to write that value's
    forms), for numbers, shapes and named values."""
    if question.kind not in (Kind.NUMERIC, Kind.SHAPE, Kind.VALUES):
        return None
    value = parse_answer(question, reading).value
    return None if value is None else replace(question, key=value)


def decide(found: Evidence, thresholds: Thresholds) -> Verification:
    """The decision the evidence supports under ``thresholds``."""
    if found.blocked:
        return Verification(Decision.UNSURE, 0.0, 0.0, found.blocked)
    if found.reads_as_key:
        p_key = found.key_given_answer
        if p_key >= thresholds.key:
            return Verification(Decision.KEY, p_key, p_key,
                                f"the key's written forms hold {p_key:.4f} of the recogniser's "
                                f"mass on answers of the question's kind")
        return Verification(Decision.UNSURE, p_key, p_key,
                            f"read as the key, but its forms hold only {p_key:.4f}")
    if found.not_key_blocked:
        return Verification(Decision.UNSURE, found.p_full, found.p_same, found.not_key_blocked)
    if found.p_full <= thresholds.full and found.p_same >= thresholds.same:
        return Verification(Decision.NOT_KEY, found.p_full, found.p_same,
                            f"the key's forms hold {found.p_full:.2g}; readings scored as this "
                            f"one hold {found.p_same:.4f}")
    return Verification(Decision.UNSURE, found.p_full, found.p_same,
                        f"not surely the key nor surely not (key forms {found.p_full:.2g}, "
                        f"this score {found.p_same:.4f})")


def verify(question: QuestionSpec, lines: Sequence[LineRead], reading: str, *,
           others: Sequence[str] = (), unseen: float = 0.0, scan_dpi: float | None = None,
           thresholds: Thresholds | None = None,
           expression_check: ExpressionCheck | None = None) -> Verification:
    """Decide whether the handwritten answer in ``lines`` scores full marks, scores as
    ``reading`` does without being the key, or neither surely: ``decide(evidence(...))``
    with the thresholds of the scan's resolution, looking again where that is unsure
    (``weigh``)."""
    return weigh(question, lines, reading, thresholds or thresholds_for(scan_dpi),
                 others=others, unseen=unseen, expression_check=expression_check)[1]


def weigh(question: QuestionSpec, lines: Sequence[LineRead], reading: str,
          thresholds: Thresholds, *, others: Sequence[str] = (), unseen: float = 0.0,
          expression_check: ExpressionCheck | None = None) -> tuple[Evidence, Verification]:
    """The evidence and the decision it supports (``_looks``); where that is unsure, the
    character classifier's reading of the same ink weighed with it (``_with_classifier``)."""
    found, verdict = _looks(question, lines, reading, thresholds, others=others, unseen=unseen,
                            expression_check=expression_check)
    if verdict.decision is not Decision.UNSURE:
        return found, verdict
    both = _with_classifier(question, lines, verdict.reading or reading, found, thresholds,
                            others=others, unseen=unseen, expression_check=expression_check)
    return both if both is not None else (found, verdict)


def _with_classifier(question: QuestionSpec, lines: Sequence[LineRead], taken: str,
                     found: Evidence, thresholds: Thresholds, *, others: Sequence[str],
                     unseen: float, expression_check: ExpressionCheck | None,
                     ) -> tuple[Evidence, Verification] | None:
    """A decision from the recogniser's evidence ``found`` about the reading ``taken`` pooled
    with the character classifier's (``_with_glyphs``), else from the classifier's own
    reading where it is a plain answer of the kind, weighed by both readers alike. None where
    the classifier does not apply or neither decides."""
    if question.kind not in GLYPH_KINDS or len(lines) != 1 or lines[0].glyphs is None:
        return None
    both = None if found.blocked else _with_glyphs(
        question, lines, taken, found, thresholds, others=others, unseen=unseen,
        expression_check=expression_check)
    theirs = glyph_reading(lines[0])
    if both is not None or not _PLAIN[question.kind].fullmatch(theirs) \
            or theirs == re.sub(r"\s", "", taken):
        return both
    again = evidence(question, lines, theirs, others=others, unseen=unseen,
                     expression_check=expression_check)
    both = None if again.blocked else _with_glyphs(
        question, lines, theirs, again, thresholds, others=others, unseen=unseen,
        expression_check=expression_check)
    if both is None:
        return None
    return both[0], replace(both[1], reading=theirs, engine=GLYPHS, reason=(
        f"read {theirs!r} by the character classifier ({taken!r} by the recogniser): "
        f"{both[1].reason}"))


def _looks(question: QuestionSpec, lines: Sequence[LineRead], reading: str,
           thresholds: Thresholds, *, others: Sequence[str] = (), unseen: float = 0.0,
           expression_check: ExpressionCheck | None = None) -> tuple[Evidence, Verification]:
    """The evidence and the decision it supports. When the first look at the lines leaves
    the decision unsure (and nothing blocks one) and every line offers other looks at its
    ink (``LineRead.looks``: the same cut prepared otherwise), those are taken and the
    evidence of all the looks averaged: each probability is the mean of the looks' (a
    mixture of the recogniser's readings of the same ink, as an ensemble weighs its models).
    A mean is never surer than its surest look, and the first look's doubt weighs on it:
    "the key" at 0.9 from three looks needs the first at 0.7 or more and the others to make
    up what it lacks; a look that puts mass on the key keeps "not the key" out of reach."""
    found = evidence(question, lines, reading, others=others, unseen=unseen,
                     expression_check=expression_check)
    verdict = decide(found, thresholds)
    if verdict.decision is Decision.UNSURE:
        named = _named_value(question, lines, others)
        if named is not None:
            name, number, value_lines, rest = named
            again, again_verdict = weigh(number, value_lines, value_lines[0].text, thresholds,
                                         others=rest, unseen=unseen,
                                         expression_check=expression_check)
            taken = again_verdict.reading or value_lines[0].text
            if again_verdict.decision is not Decision.UNSURE and taken:
                return again, replace(again_verdict, reading=f"{name} = {taken}",
                                      engine=again_verdict.engine or Engine.HANDWRITING, reason=(
                    f"the value after the '=' ({taken!r}), whatever the name before it is read "
                    f"as: {again_verdict.reason}"))
    if found.blocked == NOT_CLEAN:
        other = repaired(question, lines, reading, others=others)
        if other is not None:
            again, again_verdict = weigh(question, lines, other, thresholds, others=others,
                                         unseen=unseen, expression_check=expression_check)
            # "The key" weighs the key among answers of the kind only: after a repair, those
            # must also hold most of the mass (an "S" read surely is no 8).
            if again_verdict.decision is Decision.NOT_KEY or (
                    again_verdict.decision is Decision.KEY
                    and again.p_malformed <= 1.0 - MIN_ANSWER_MASS_TO_REPAIR):
                taken = again_verdict.reading or other     # the classifier's, if it read it
                engine = again_verdict.engine or Engine.HANDWRITING
                return again, replace(again_verdict, reading=taken, engine=engine, reason=(
                    f"{reading!r} does not parse cleanly as a {question.kind} answer; the "
                    f"recogniser's most likely one that does, {other!r}: {again_verdict.reason}"))
        return found, verdict
    if verdict.decision is not Decision.UNSURE or found.blocked or not lines \
            or any(line.looks is None for line in lines) \
            or not _within_reach(found, thresholds, len(SECOND_LOOKS)):
        return found, verdict
    # The classifier first: it costs a fraction of another look at every line.
    both = _with_classifier(question, lines, reading, found, thresholds, others=others,
                            unseen=unseen, expression_check=expression_check)
    if both is not None:
        return both
    looks = [line.looks() for line in lines if line.looks is not None]
    count = min(min(len(look) for look in looks), len(SECOND_LOOKS))
    if not count:
        return found, verdict
    seen = [found]
    for k in range(count):
        again = [replace(line, posterior=look[k]) for line, look in zip(lines, looks)]
        seen.append(evidence(question, again, reading, others=others, unseen=unseen,
                             expression_check=expression_check))
    if any(e.blocked for e in seen):
        return found, verdict
    mean = replace(found, looks=len(seen), **{
        name: round(sum(getattr(e, name) for e in seen) / len(seen), 6)
        for name in ("p_key", "p_full", "p_same", "p_malformed")})
    again_verdict = decide(mean, thresholds)
    return mean, replace(again_verdict, reason=f"{len(seen)} looks: {again_verdict.reason}")


# The character classifier (``grader.glyphs``) reads a line of a number or a shape glyph by
# glyph; its errors are not the recogniser's (a 1 and a 7 the recogniser confuses are
# separate glyphs to it, an "x" between digits a sign of its own). Where the recogniser's
# evidence leaves the answer unsure, the two are pooled as independent experts on the one
# question that matters, whether the answer scores full marks (their odds multiplied), under
# two safeguards. The classifier's probabilities are held within [GLYPH_CLIP, 1 - GLYPH_CLIP]:
# it moves the recogniser's odds at most 49-fold, so it decides nothing alone ("the key" at
# 0.9 needs the recogniser at 0.155 or more; "not the key" at 1e-4 its P(full) at 4.9e-3 or
# less). And it must have cut the line into as many glyphs as the reading has characters.
# On tuning seeds 7, 11 and 13 (654 numbers, shapes and named values): 0.02 decided 27 more
# regions, all rightly; 0.01 and 0.005 decided 31 and 36, one of them wrongly ("371" at 100
# dpi read "351" by the recogniser, "37×1" by the classifier, both surely not 371).
GLYPH_KINDS = (Kind.NUMERIC, Kind.SHAPE)
# The classifier's own reading is weighed only where it is a plain answer of the kind: a
# number or a fraction, dimensions joined by "×" (not "37×1" for a number).
_PLAIN = {Kind.NUMERIC: re.compile(r"-?(\d+(\.\d*)?|\.\d+)(/\d+)?"),
          Kind.SHAPE: re.compile(r"\d+(×\d+)+")}
GLYPH_CLIP = 0.02


def pooled(p: float, q: float, clip: float = GLYPH_CLIP) -> float:
    """P(event) from two independent experts' ``p`` and ``q`` (a flat prior): their odds
    multiplied; ``q`` held within [clip, 1 - clip]."""
    p = min(max(p, 0.0), 1.0)
    q = min(max(q, clip), 1.0 - clip)
    both, neither = p * q, (1.0 - p) * (1.0 - q)
    return both / (both + neither) if both + neither > 0 else p


def _with_glyphs(question: QuestionSpec, lines: Sequence[LineRead], reading: str,
                 found: Evidence, thresholds: Thresholds, *, others: Sequence[str],
                 unseen: float, expression_check: ExpressionCheck | None,
                 ) -> tuple[Evidence, Verification] | None:
    """The decision of the recogniser's evidence ``found`` pooled with the character
    classifier's (see GLYPH_CLIP), or None where that pooling does not apply or decides
    nothing."""
    if found.blocked:
        return None
    # Where even a classifier as sure as the clip lets it be could not decide: not asked.
    if found.reads_as_key:
        if pooled(found.key_given_answer, 1.0) < thresholds.key:
            return None
    elif found.not_key_blocked or pooled(found.p_full, 0.0) > thresholds.full \
            or pooled(found.p_same, 1.0) < thresholds.same:
        return None
    posterior = lines[0].glyphs()
    if posterior is None or glyph_count(posterior) != len(re.sub(r"\s", "", reading)):
        return None
    theirs = evidence(question, [replace(lines[0], posterior=posterior)], reading,
                      others=others, unseen=unseen, expression_check=expression_check)
    if theirs.blocked:
        return None
    # A glyph the classifier calls junk (two digits touching, a piece of one) may hide
    # anything: its mass counts against "the key" and for "not the key" being wrong.
    if found.reads_as_key:
        theirs_full = theirs.p_key
        # Pooled P(full | an answer), the recogniser's share of no answer kept as it was.
        both = replace(found, p_key=round(pooled(found.key_given_answer, theirs_full)
                                          * (1.0 - found.p_malformed), 6))
    else:
        theirs_full = min(1.0, theirs.p_full + theirs.p_malformed)
        both = replace(found, p_full=round(pooled(found.p_full, theirs_full), 6),
                       p_same=round(pooled(found.p_same, theirs.p_same), 6))
    verdict = decide(both, thresholds)
    if verdict.decision is Decision.UNSURE:
        return None
    return both, replace(verdict, reason=(
        f"with the character classifier's reading (P(full) {theirs_full:.2g}): "
        f"{verdict.reason}"))


def glyph_reading(line: LineRead) -> str:
    """The character classifier's most likely reading of ``line`` (each glyph's likeliest
    class; "" where it abstains or calls a glyph junk)."""
    posterior = line.glyphs() if line.glyphs is not None else None
    if posterior is None:
        return ""
    best = posterior.probs[1::2].argmax(axis=1)
    text = "".join(posterior.characters[k] for k in best)
    return "" if UNKNOWN in text else text


def _within_reach(first: Evidence, thresholds: Thresholds, others: int) -> bool:
    """Whether the mean of ``first`` and ``others`` more looks could decide at all, were the
    other looks as sure as a look can be: where it cannot, no look is taken (each costs the
    recogniser once more per line). "The key" (P(full | an answer) = mean P(key) / (1 - mean
    P(malformed)), largest with the others all on the key): (p_key + k) / (k + 1 - p_malformed).
    "Not the key": mean P(full) no less than p_full / (k + 1), mean P(same) no more than
    (p_same + k) / (k + 1), and never where something else rules it out."""
    k = others
    if first.reads_as_key:
        return (first.p_key + k) / max(k + 1 - first.p_malformed, 1e-12) >= thresholds.key
    if first.not_key_blocked:
        return False
    return first.p_full / (k + 1) <= thresholds.full and (first.p_same + k) / (k + 1) >= thresholds.same


def _not_key_excluded(question: QuestionSpec, lines: Sequence[LineRead]) -> str:
    """Why "not the key" cannot be verified for this question and reading ("" if it can):
    where the key's written forms cannot all be put among the candidates."""
    kind, key = question.kind, question.key
    if kind in (Kind.EXPRESSION, Kind.MATRIX):
        return f"{kind} answers are verified as the key only"
    if question.depends_on and question.carry:
        return "its key may be carried forward from an earlier part"
    tolerant = question.tolerance != Tolerance()
    if kind == Kind.NUMERIC:
        if not number_texts(key):
            return "the key is not a number"
        if tolerant and (not isinstance(key, int)
                         or _within_tolerance(key, question.tolerance) is None):
            return "the key has a tolerance whose values cannot all be written out"
    if kind == Kind.SHAPE and not (isinstance(key, list) and all(isinstance(d, int) for d in key)):
        return "the key is not a shape"
    if kind == Kind.VALUES:
        if tolerant:
            return "named values with a tolerance are verified as the key only"
        if not isinstance(key, dict) or not all(number_texts(v) for v in key.values()):
            return "the key's values are not numbers"
        names = [_line_name(question, line.text) for line in lines]
        if None in names or len(set(names)) != len(names):
            return "not every line names one value"
    elif len(lines) > 1:
        return "the answer spans several lines"
    return ""

