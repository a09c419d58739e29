"""Comparing a parsed answer with its key and applying the exam's scoring rules.

Pure functions: they take values and return new ``Scored`` values. NaN never matches anything;
an infinity matches only the same infinity; integer keys (counts, shapes, receptive fields)
are compared exactly.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from grader.compare import Rounding, is_number, numbers_match, rounding
from grader.types import Comparison, Equivalence, Flag, Kind, Parsed, QuestionSpec, Scored

# Equivalence of expressions is injected (SymPy lives in grader.expr) so this module stays light.
ExpressionCheck = Callable[[str, str, Sequence[str]], Comparison]


def as_matrix(value: Any) -> list[list[Any]] | None:
    """A vector is treated as a one-row matrix; anything ragged or non-numeric is None."""
    if not isinstance(value, list) or not value:
        return None
    rows = value if all(isinstance(r, list) for r in value) else [value]
    width = len(rows[0])
    if width == 0 or any(len(r) != width or not all(is_number(x) for x in r) for r in rows):
        return None
    return rows


def score_numeric(value: Any, key: Any, spec: QuestionSpec) -> Scored:
    ok = numbers_match(value, key, spec.tolerance)
    if ok:
        return Scored(spec.points, spec.points)
    near = rounding(value, key)
    if near is Rounding.NONE:
        return Scored(0.0, spec.points, detail=f"expected {key}, read {value}")
    return _rounded(spec, [(str(spec.label), value, key, near)], spec.points)


def _rounded(spec: QuestionSpec, near: list[tuple[str, Any, Any, Rounding]], full: float
             ) -> Scored:
    """Decimals that are the key to the places written, outside the tolerance: flagged
    ``rounded`` for a TA, with ``full`` suggested when every one is rounded right (0.429 for
    3/7) and 0 when one is cut short (0.666 for 2/3)."""
    said = "; ".join(f"{name}: read {value}, the key {key:.10g} {how} to the places written"
                     for name, value, key, how in near)
    suggested = full if all(how is Rounding.ROUNDED for *_, how in near) else 0.0
    return Scored(suggested, spec.points, (Flag.ROUNDED,), said)


def score_percentage(parsed: Parsed, key: Any, spec: QuestionSpec) -> Scored:
    """A number written with a percent sign ("50%"): the number as written is the key (the
    question asked for a percentage) → full marks; only its fraction is (0.5) → full marks
    suggested, flagged ``percent`` for a TA (the question may have asked for a fraction);
    neither → 0 (wrong either way)."""
    others = tuple(f for f in parsed.flags if f != Flag.PERCENT)
    as_written = score_numeric(parsed.value, key, spec)
    if as_written.score == spec.points or not parsed.alternatives:
        return Scored(as_written.score, spec.points, others, as_written.detail)
    fraction = parsed.alternatives[0]
    if score_numeric(fraction, key, spec).score == spec.points:
        return Scored(spec.points, spec.points, (*others, Flag.PERCENT),
                      f"read {parsed.value}%: as a fraction ({fraction:g}) it is the key")
    return Scored(0.0, spec.points, others, f"expected {key}, read {parsed.value}% "
                  f"(as a fraction {fraction:g})")


def score_shape(value: Any, key: Sequence[int], spec: QuestionSpec) -> Scored:
    if not isinstance(value, list):
        return Scored(0.0, spec.points, (Flag.UNPARSED,), "no shape read")
    if list(value) == list(key):
        return Scored(spec.points, spec.points)
    if len(value) != len(key):
        # Another number of dimensions ("8x8, 5 channels" read as 8×8; a batch size added):
        # the rest may be said in words around it. A TA decides.
        return Scored(0.0, spec.points, (Flag.SHAPE_MISMATCH,),
                      f"expected {len(key)} dimensions {tuple(key)}, read {len(value)}: {tuple(value)}")
    if sorted(value) == sorted(key):
        # Right numbers in another layout convention: a TA decides whether that counts.
        return Scored(0.0, spec.points, (Flag.LAYOUT_DIFFERS,),
                      f"expected {tuple(key)}, read {tuple(value)} (same numbers, other order)")
    return Scored(0.0, spec.points, detail=f"expected {tuple(key)}, read {tuple(value)}")


def score_matrix(value: Any, key: Any, spec: QuestionSpec) -> Scored:
    got, want = as_matrix(value), as_matrix(key)
    if want is None:
        return Scored(0.0, spec.points, (Flag.NO_KEY,), "the key is not a matrix")
    if got is None:
        return Scored(0.0, spec.points, (Flag.UNPARSED,), "no matrix read")
    if (len(got), len(got[0])) != (len(want), len(want[0])):
        return Scored(0.0, spec.points, (Flag.SHAPE_MISMATCH,),
                      f"expected {len(want)}×{len(want[0])}, read {len(got)}×{len(got[0])}")
    wrong = [(i + 1, j + 1) for i, row in enumerate(want) for j, k in enumerate(row)
             if not numbers_match(got[i][j], k, spec.tolerance)]
    total = len(want) * len(want[0])
    detail = "" if not wrong else "differs at " + ", ".join(f"({i},{j})" for i, j in wrong[:10])
    if not wrong:
        return Scored(spec.points, spec.points)
    near = [(f"({i},{j})", got[i - 1][j - 1], want[i - 1][j - 1],
             rounding(got[i - 1][j - 1], want[i - 1][j - 1])) for i, j in wrong]
    if all(how is not Rounding.NONE for *_, how in near):
        return _rounded(spec, near, spec.points)
    if spec.partial == "per_entry":
        return Scored(spec.points * (total - len(wrong)) / total, spec.points, detail=detail)
    return Scored(0.0, spec.points, detail=detail)


def score_values(value: Any, key: dict[str, Any], spec: QuestionSpec) -> Scored:
    if not isinstance(value, dict) or not value:
        return Scored(0.0, spec.points, (Flag.UNPARSED,), "no named values read")
    missing = [name for name in key if name not in value]
    wrong = [name for name in key if name in value
             and not numbers_match(value[name], key[name], spec.tolerance)]
    bad = missing + wrong
    if not bad:
        return Scored(spec.points, spec.points)
    near = [(n, value[n], key[n], rounding(value[n], key[n])) for n in wrong]
    if not missing and all(how is not Rounding.NONE for *_, how in near):
        return _rounded(spec, near, spec.points)
    detail = "; ".join([f"{n} missing" for n in missing] +
                       [f"{n}: expected {key[n]}, read {value[n]}" for n in wrong])
    flags = (Flag.UNPARSED,) if len(missing) == len(key) else ()
    if spec.partial == "per_entry":
        return Scored(spec.points * (len(key) - len(bad)) / len(key), spec.points, flags, detail)
    return Scored(0.0, spec.points, flags, detail)


# An expression check that is not sure sends the answer to a TA, with no points suggested.
_EXPRESSION_REVIEW = {
    Equivalence.NUMERIC_ONLY: Flag.UNPROVEN,
    Equivalence.APPROXIMATE: Flag.ROUNDED,
    Equivalence.NOT_FINITE: Flag.NOT_FINITE,
    Equivalence.TOO_COMPLEX: Flag.TOO_COMPLEX,
    Equivalence.UNREADABLE: Flag.UNPARSED,
}


def score_expression(value: Any, key: str, spec: QuestionSpec, check: ExpressionCheck | None) -> Scored:
    """Full marks only when the check proved equivalence; anything it is unsure of is flagged."""
    if not isinstance(value, str) or check is None:
        return Scored(0.0, spec.points, (Flag.UNPARSED,), "no expression read")
    result = check(value, key, spec.variables)
    if result.outcome is Equivalence.EQUIVALENT:
        return Scored(spec.points, spec.points)
    if result.outcome is Equivalence.DIFFERENT:
        return Scored(0.0, spec.points, detail=f"{value} is not equivalent to {key}"
                      + (f" ({result.detail})" if result.detail else ""))
    return Scored(0.0, spec.points, (_EXPRESSION_REVIEW[result.outcome],),
                  result.detail or f"could not compare {value!r} with the key")


def score_choice(value: Any, key: Sequence[int], spec: QuestionSpec) -> Scored:
    """Multiple choice. ``all_or_nothing`` (default): every box right or 0."""
    n = len(spec.options)
    if not isinstance(value, list):
        return Scored(0.0, spec.points, (Flag.UNPARSED,), "no selection read")
    chosen, correct = set(value), set(key)
    if spec.scoring == "per_option" and n:
        right = sum(1 for i in range(1, n + 1) if (i in chosen) == (i in correct))
        score = spec.points * right / n
    elif spec.scoring == "coverage":
        # PrairieLearn-style: coverage of the correct set times accuracy of the selection.
        if not correct and not chosen:
            score = spec.points
        else:
            hits = len(chosen & correct)
            coverage = hits / len(correct) if correct else 0.0
            accuracy = hits / len(chosen) if chosen else 0.0
            score = spec.points * coverage * accuracy
    else:
        score = spec.points if chosen == correct else 0.0
    detail = "" if chosen == correct else f"expected {sorted(correct)}, selected {sorted(chosen)}"
    return Scored(score, spec.points, detail=detail)


def score_text(text: str, spec: QuestionSpec) -> Scored:
    """Free text is never final: suggest rubric items whose keywords appear, flag for a TA."""
    lowered = text.lower()
    hits = [item for item in spec.rubric if any(k in lowered for k in item.keywords)]
    suggested = min(spec.points, sum(item.points for item in hits))
    detail = "; ".join(f"+{item.points:g} {item.text}" for item in hits) or "no rubric item matched"
    return Scored(suggested, spec.points, (Flag.FREE_TEXT,), "suggested: " + detail)


def score_answer(spec: QuestionSpec, parsed: Parsed, key: Any,
                 *, expression_check: ExpressionCheck | None = None) -> Scored:
    """Score one parsed answer; the parser's flags (ambiguous, low confidence, …) carry over."""
    if Flag.UNANSWERED in parsed.flags:
        return Scored(0.0, spec.points, (Flag.UNANSWERED,), parsed.evidence or "no answer found")
    if Flag.UNREADABLE in parsed.flags or Flag.NOT_LOCATED in parsed.flags:
        # Something may be written there: a TA reads it (the suggestion is 0).
        return Scored(0.0, spec.points, parsed.flags, parsed.evidence)
    if spec.kind == Kind.TEXT:
        base = score_text(parsed.value if isinstance(parsed.value, str) else "", spec)
    elif key is None:
        base = Scored(0.0, spec.points, (Flag.NO_KEY,), "this question has no key")
    elif parsed.value is None:
        base = Scored(0.0, spec.points, (Flag.UNPARSED,), "no value of the expected kind read")
    elif spec.kind == Kind.NUMERIC and Flag.PERCENT in parsed.flags:
        return score_percentage(parsed, key, spec)
    elif spec.kind == Kind.NUMERIC:
        base = score_numeric(parsed.value, key, spec)
    elif spec.kind == Kind.SHAPE:
        base = score_shape(parsed.value, key, spec)
    elif spec.kind == Kind.MATRIX:
        base = score_matrix(parsed.value, key, spec)
    elif spec.kind == Kind.VALUES:
        base = score_values(parsed.value, key, spec)
    elif spec.kind == Kind.EXPRESSION:
        base = score_expression(parsed.value, key, spec, expression_check)
    elif spec.kind == Kind.MULTIPLE_CHOICE:
        base = score_choice(parsed.value, key, spec)
    else:
        raise ValueError(f"unknown kind {spec.kind!r}")
    flags = tuple(dict.fromkeys(parsed.flags + base.flags))
    return Scored(base.score, base.max_score, flags, base.detail)
