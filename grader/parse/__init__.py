"""Answer text → value of the question's kind: ``parse_answer(spec, text, confidence=…)``.

Every reader is pure; the flags say how sure the value is: ``unparsed`` (nothing of the kind
found), ``ambiguous`` (two different final answers; ``alternatives`` holds them, ``value`` the
last), ``ocr_corrected`` (digits repaired from look-alike letters) and ``low_confidence``
(confidence after corrections below ``LOW_CONFIDENCE``)."""
from __future__ import annotations

import math
import re
from typing import Any

from grader.parse import choices, expressions, matrices, values
from grader.parse.final import Selection, select, split_top
from grader.parse.latex import to_plain
from grader.parse.numbers import arithmetic_runs, shapes_in
from grader.parse.ocrfix import fix_numeric_tokens, join_split_numbers
from grader.types import Flag, Kind, Parsed, QuestionSpec

__all__ = ["parse_answer", "shape_incomplete", "LOW_CONFIDENCE", "OCR_FIX_PENALTY"]

LOW_CONFIDENCE = 0.6      # below this the answer goes to a TA
OCR_FIX_PENALTY = 0.85    # confidence factor per corrected character (each one is a guess)
MAX_TEXT = 20_000         # longer "answers" are not answers; avoid quadratic regex work


def _same_number(a: Any, b: Any) -> bool:
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)


def _read_number(snippet: str) -> tuple[Any, str] | None:
    rhs = split_top(snippet)[-1] if len(split_top(snippet)) > 1 else snippet
    runs = arithmetic_runs(rhs)
    return (runs[0].value, rhs[runs[0].start:runs[0].end]) if runs else None


def _all_numbers(plain: str) -> list[tuple[Any, str]]:
    return [(f.value, plain[f.start:f.end]) for f in arithmetic_runs(plain)]


def _read_shape(snippet: str) -> tuple[Any, str] | None:
    parts = split_top(snippet)
    found = shapes_in(parts[-1])
    return (found[0].value, parts[-1][found[0].start:found[0].end]) if found else None


def _all_shapes(plain: str) -> list[tuple[Any, str]]:
    return [(f.value, plain[f.start:f.end]) for f in shapes_in(plain)]


# "94 +- 1", "94 +/- 1": a value with its uncertainty (two numbers, as "94 ± 1" is), not the
# sum 94 + (-1).
_PLUS_MINUS = re.compile(r"\+\s*/\s*-|\+-")      # "3 + -2" stays a sum


def _numeric_context(text: str) -> tuple[str, str, int]:
    """(OCR-fixed raw text, its plain form, number of corrections)."""
    fixed, n = fix_numeric_tokens(text)
    return fixed, _PLUS_MINUS.sub(" ± ", join_split_numbers(to_plain(fixed))), n


def _selected(sel: Selection | None) -> tuple[Any, str, tuple[str, ...], tuple[Any, ...]]:
    if sel is None:
        return None, "", (Flag.UNPARSED,), ()
    return sel.value, sel.evidence, ((Flag.AMBIGUOUS,) if sel.ambiguous else ()), sel.alternatives


# A value the answer says it is NOT ("not 94", "x ≠ 3", "!= 0"): the text may name the
# key only to rule it out, so the value read is no claim a grader can take unseen.
_NEGATED = re.compile(r"(?:\bnot\b|\bisn'?t\b|≠|!=|\bneq\b)\s*[-+−]?\s*\d", re.IGNORECASE)


def _unless_negated(plain: str, parsed: tuple[Any, str, tuple[str, ...], tuple[Any, ...]]):
    value, evidence, flags, alternatives = parsed
    if value is not None and _NEGATED.search(plain):
        flags = (*flags, Flag.AMBIGUOUS) if Flag.AMBIGUOUS not in flags else flags
    return value, evidence, flags, alternatives


_NEGATED_NUMBER = re.compile(r"(?:\bnot\b|\bisn'?t\b|≠|!=|\bneq\b)\s*([-+−]?\s*\d+(?:\.\d+)?)",
                             re.IGNORECASE)


def _suggest_not_the_negated(plain: str, parsed: tuple[Any, str, tuple[str, ...], tuple[Any, ...]]):
    """"6 (not 5)": flagged either way, but the suggestion is the value the answer keeps (6),
    not the one it rules out (5, the last number written)."""
    value, evidence, flags, alternatives = parsed
    if value is None or isinstance(value, bool) or not alternatives:
        return parsed
    ruled_out = [float(m.group(1).replace(" ", "").replace("−", "-"))
                 for m in _NEGATED_NUMBER.finditer(plain)]
    if not any(_same_number(value, r) for r in ruled_out):
        return parsed
    kept = [a for a in alternatives if not isinstance(a, bool)
            and not any(_same_number(a, r) for r in ruled_out)]
    if not kept:
        return parsed
    return kept[-1], str(kept[-1]), flags, alternatives


def _as_percentage(plain: str, parsed: tuple[Any, str, tuple[str, ...], tuple[Any, ...]]):
    """A single value written with a percent sign ("50%", "50 %"): its fraction (0.5) kept as
    the other reading, and ``percent`` said, for the scorer to weigh against the key."""
    value, evidence, flags, alternatives = parsed
    if value is None or flags or alternatives or not evidence.strip() or isinstance(value, bool) \
            or not re.search(r"(?<![\d.])" + re.escape(evidence.strip()) + r"\s*%", plain):
        return parsed
    return value, evidence, (Flag.PERCENT,), (value / 100,)


# "0x5E": a hexadecimal literal (94), which arithmetic would read as 0 × 5; "5!": a factorial
# (120), which the reader would take as 5; "|-5|": an absolute value, read as -5.
_UNREAD_NOTATION = re.compile(r"(?<![\w.])0[xX][0-9A-Fa-f]+\b|\d\s*!(?!=)|\|\s*[-+−]?[\d.]+\s*\|")


def _ambiguous_if(condition: bool, parsed: tuple[Any, str, tuple[str, ...], tuple[Any, ...]]):
    value, evidence, flags, alternatives = parsed
    if condition and value is not None and Flag.AMBIGUOUS not in flags:
        flags = (*flags, Flag.AMBIGUOUS)
    return value, evidence, flags, alternatives


def _parse_numeric(spec: QuestionSpec, raw: str, plain: str):
    return _ambiguous_if(bool(_UNREAD_NOTATION.search(plain)), _suggest_not_the_negated(
        plain, _unless_negated(plain, _as_percentage(
            plain, _selected(select(raw, plain, _read_number, _same_number, to_plain, _all_numbers))))))


# A shape's separator with no size after it ("8x8x", "8 x 8 x ?"), or a separator between
# the shape and a letter or digit it does not include ("E x 7 x 4"): a size is missing.
_DANGLING_AFTER = re.compile(r"\s*[x×X*]\s*(?!\s*\d)")
_RUNS_ON_BEFORE = re.compile(r"[A-Za-z0-9]\s*[x×X*]\s*$")


def shape_incomplete(text: str, evidence: str) -> bool:
    """Whether the shape read from ``text`` (its ``evidence``) has a separator beside it with
    no size of its own: a size missing or unread."""
    start = text.find(evidence) if evidence else -1
    if start < 0:
        return False
    return bool(_RUNS_ON_BEFORE.search(text[:start])
                or _DANGLING_AFTER.match(text, start + len(evidence)))


def _parse_shape(spec: QuestionSpec, raw: str, plain: str):
    parsed = _unless_negated(plain, _selected(
        select(raw, plain, _read_shape, lambda a, b: a == b, to_plain, _all_shapes)))
    return _ambiguous_if(shape_incomplete(plain, parsed[1]), parsed)


def _parse_matrix(spec: QuestionSpec, raw: str, plain: str):
    found = [matrices.transposed_if_marked(raw, f) for f in matrices.find_matrices(raw)]
    if not found:
        return None, "", (Flag.UNPARSED,), ()
    last, start, end = found[-1]
    if last is None or not matrices.is_rectangular(last):
        return None, raw[start:end], (Flag.UNPARSED,), ()
    if _OPERATED_BEFORE.search(raw, 0, start) or _OPERATED_AFTER.match(raw, end):
        # "2*[[1,2],[3,4]]", "-[[…]]", "[[…]]^-1", "[[…]] + 1", "not [[…]]": the answer is an
        # operation on the matrix read, which is not evaluated: no claim a grader can take unseen.
        return last, raw[start:end], (Flag.AMBIGUOUS,), ()
    offered = [f for f, g in zip(found, found[1:])
               if f[0] is not None and f[0] != g[0] and _OR.search(raw[f[2]:g[1]])]
    if offered:
        # "[[1,2],[3,4]] or [[5,6],[7,8]]": two matrices offered as the answer, not work.
        return last, raw[start:end], (Flag.AMBIGUOUS,), (*(f[0] for f in offered), last)
    key_shape = matrices.shape_of(spec.key)
    if key_shape and matrices.shape_of(last) != key_shape:
        # The question fixes the shape; an earlier matrix of that shape may be the intended
        # answer (e.g. attention weights before the outputs). Offer both, never pick silently.
        fitting = [f for f in found if f[0] is not None and matrices.shape_of(f[0]) == key_shape]
        if fitting:
            return fitting[-1][0], raw[fitting[-1][1]:fitting[-1][2]], (Flag.AMBIGUOUS,), (fitting[-1][0], last)
    return last, raw[start:end], (), ()


_OR = re.compile(r"\bor\b|\beither\b|\bmaybe\b|/", re.IGNORECASE)
_OPERATED_BEFORE = re.compile(r"(?:[-+*/·×@^]|\d|\\cdot|\\times|\bnot\b|≠|!=|\\neq)\s*$")
_OPERATED_AFTER = re.compile(r"\s*(?:\^|\*\*|[-+*/·×@]\s*[\w\[(\\])")


def _parse_values(spec: QuestionSpec, raw: str, plain: str):
    found, claims, evidence = values.read_values(plain, spec.outputs)
    if not found:
        return None, "", (Flag.UNPARSED,), ()
    flags: tuple[str, ...] = () if len(found) == len(spec.outputs) else (Flag.UNPARSED,)
    conflicting = {n: vs for n, vs in claims.items() if len({float(v) for v in vs}) > 1}
    alternatives: tuple[Any, ...] = ()
    if conflicting:
        flags += (Flag.AMBIGUOUS,)
        alternatives = tuple({**found, n: v} for n, vs in conflicting.items() for v in dict.fromkeys(vs))
    return found, "\n".join(dict.fromkeys(evidence)), flags, alternatives


def _parse_expression(spec: QuestionSpec, raw: str, plain: str):
    reader = lambda s: expressions.read_expression(s, spec.variables)  # noqa: E731
    def read_all(p: str) -> list[tuple[Any, str]]:
        got = reader(p.replace("\n", " "))
        return [got] if got else []
    return _selected(select(raw, plain, reader, lambda a, b: a == b, to_plain, read_all))


def _parse_choice(spec: QuestionSpec, raw: str, plain: str):
    chosen, evidence, stated = choices.read_choices(plain, spec.options)
    if chosen is None:
        return None, "", (Flag.UNPARSED,), ()
    if len(stated) > 1:
        return chosen, evidence, (Flag.AMBIGUOUS,), tuple(stated)
    return chosen, evidence, (), ()


_PARSERS = {Kind.NUMERIC: _parse_numeric, Kind.SHAPE: _parse_shape, Kind.MATRIX: _parse_matrix,
            Kind.VALUES: _parse_values, Kind.EXPRESSION: _parse_expression,
            Kind.MULTIPLE_CHOICE: _parse_choice}


# The student's own doubt: a question mark after a value ("5?", "3x4 ?", "(?)", "??"), or
# words of doubt ("maybe", "not sure", "I guess"). Not a question restated in the answer
# ("What is y? y = 5": the mark follows a word).
_HEDGE = re.compile(
    r"[\d\])}]\s?\?|\(\s*\?\s*\)|\?\?|^\s*\?\s*[-+−]?\d"
    r"|\b(?:maybe|perhaps|probably|possibly|not\s+(?:sure|certain|confident)|unsure|uncertain"
    r"|(?:i|my|a|just)\s+guess|guessing|guessed|idk|no\s+idea)\b|^\s*guess\b",
    re.IGNORECASE | re.MULTILINE)


def parse_answer(spec: QuestionSpec, text: str, *, confidence: float = 1.0) -> Parsed:
    """Read ``spec.kind`` from ``text``. Never raises on odd input; says what it was unsure of."""
    text = (text or "")[:MAX_TEXT]
    if spec.kind == Kind.TEXT or spec.kind not in _PARSERS:
        stripped = text.strip()
        return Parsed(stripped or None, stripped, confidence, (Flag.FREE_TEXT,) if stripped else (Flag.UNPARSED,))
    if not text.strip():
        return Parsed(None, "", confidence, (Flag.UNPARSED,))
    if spec.kind == Kind.MULTIPLE_CHOICE:
        raw, plain, fixes = text, to_plain(text), 0  # option letters must not become digits
    else:
        raw, plain, fixes = _numeric_context(text)
    value, evidence, flags, alternatives = _PARSERS[spec.kind](spec, raw, plain)
    if value is not None and _HEDGE.search(raw):
        flags += (Flag.HEDGED,)
    if fixes and value is not None:
        flags += (Flag.OCR_CORRECTED,)
        confidence *= OCR_FIX_PENALTY ** fixes
    if confidence < LOW_CONFIDENCE and value is not None:
        flags += (Flag.LOW_CONFIDENCE,)
    return Parsed(value, evidence.strip(), round(confidence, 4), tuple(dict.fromkeys(flags)), alternatives)
