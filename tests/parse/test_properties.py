"""Round trips: a value written in any supported style parses back to the same value."""
from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from grader.expr import equivalent
from grader.parse import parse_answer
from grader.types import QuestionSpec
from tests.parse.helpers import REVIEW_FLAGS, matches

SETTINGS = settings(derandomize=True, max_examples=60, deadline=None)


def spec(kind, **kw):
    return QuestionSpec(label="x", number="x", part=None, kind=kind, points=1, **kw)


def clean(parsed):
    return not REVIEW_FLAGS & set(parsed.flags)


_INT_STYLES = [lambda v: str(v), lambda v: f"The answer is {v}.", lambda v: f"$\\boxed{{{v}}}$",
               lambda v: f"we get that x = {v}", lambda v: f"$$R = 1 + 2 \\\\ &= {v}$$",
               lambda v: f"{v:,}", lambda v: f"∴ {v}", lambda v: f"so in total {v} parameters",
               lambda v: (f"\u2212{-v}" if v < 0 else str(v))]


@SETTINGS
@given(st.integers(-10**6, 10**6), st.sampled_from(range(len(_INT_STYLES))))
def test_integers(value, style):
    text = _INT_STYLES[style](value)
    parsed = parse_answer(spec("numeric"), text)
    assert parsed.value == value and clean(parsed), (text, parsed)


@SETTINGS
@given(st.integers(1, 999), st.integers(1, 999), st.sampled_from(["{a}/{b}", "\\frac{{{a}}}{{{b}}}", "$\\dfrac{{{a}}}{{{b}}}$"]))
def test_fractions(a, b, style):
    parsed = parse_answer(spec("numeric"), style.format(a=a, b=b))
    assert math.isclose(parsed.value, a / b) and clean(parsed)


@SETTINGS
@given(st.floats(1, 9.99), st.integers(-8, 8), st.sampled_from(["{m}e{e}", "{m} \\times 10^{{{e}}}", "{m} × 10^{e}"]))
def test_scientific(m, e, style):
    m = round(m, 3)
    parsed = parse_answer(spec("numeric"), style.format(m=m, e=e))
    assert math.isclose(parsed.value, m * 10 ** e, rel_tol=1e-9) and clean(parsed)


@SETTINGS
@given(st.integers(1, 500), st.sampled_from(["{v}×{v}", "{v} x {v}", "{v}\\times {v}", "the receptive field is {v} X {v}"]))
def test_square_sizes(v, style):
    parsed = parse_answer(spec("numeric"), style.format(v=v))
    assert parsed.value == v and clean(parsed)


@SETTINGS
@given(st.lists(st.integers(1, 4096), min_size=2, max_size=5),
       st.sampled_from(["×", " x ", "\\times ", " by "]), st.sampled_from(["{}", "({})", "[{}]"]))
def test_shapes(dims, sep, wrap):
    text = sep.join(map(str, dims)) if wrap == "{}" else wrap.format(", ".join(map(str, dims)))
    parsed = parse_answer(spec("shape"), text)
    assert parsed.value == dims and clean(parsed), (text, parsed)


_CELL = st.one_of(st.integers(-999, 999), st.floats(-99, 99).map(lambda x: round(x, 4)))


@SETTINGS
@given(st.integers(1, 5).flatmap(lambda c: st.lists(st.lists(_CELL, min_size=c, max_size=c), min_size=1, max_size=5)),
       st.sampled_from(["bmatrix", "pmatrix", "matrix", "array", "list", "rows"]))
def test_matrices(rows, style):
    if style == "list":
        text = repr(rows)
    elif style == "rows":
        text = "\n".join(" ".join(map(str, r)) for r in rows)
        if len(rows) == 1 and len(rows[0]) == 1:
            return  # a single number on a line is not a matrix
    else:
        begin = f"\\begin{{{style}}}" + ("{" + "c" * len(rows[0]) + "}" if style == "array" else "")
        text = f"$${begin} " + " \\\\ ".join(" & ".join(map(str, r)) for r in rows) + f" \\end{{{style}}}$$"
    parsed = parse_answer(spec("matrix"), text)
    assert matches(parsed.value, rows) and clean(parsed), (text, parsed)


_NAMES = st.sampled_from([("h2", "h_2"), ("h3", "h_{3}"), ("a", "a"), ("b", "b"), ("dh3/dV", "\\frac{\\partial h_3}{\\partial V}"),
                          ("w1", "w_1"), ("S2", "S2")])


@SETTINGS
@given(st.lists(st.tuples(_NAMES, st.integers(-99, 99)), min_size=1, max_size=4, unique_by=lambda t: t[0][0]),
       st.sampled_from([", ", "\n", "; ", " and "]))
def test_named_values(pairs, sep):
    text = sep.join(f"{written} = {v}" for (name, written), v in pairs)
    parsed = parse_answer(spec("values", outputs=tuple(n for (n, _), _ in pairs)), text)
    assert parsed.value == {n: v for (n, _), v in pairs} and clean(parsed), (text, parsed)


_PHRASES = ["Choices {nums} are correct.", "Options {nums}", "{nums} are correct", "Answer: {letters}", "{letters}"]


@SETTINGS
@given(st.lists(st.integers(1, 5), min_size=1, max_size=5, unique=True).map(sorted), st.sampled_from(range(len(_PHRASES) + 2)))
def test_choices(selected, style):
    opts = tuple(f"option text {i}" for i in range(1, 6))
    if style == len(_PHRASES):
        text = "\n".join(f"[{'x' if i in selected else ' '}] {o}" for i, o in enumerate(opts, 1))
    elif style == len(_PHRASES) + 1:
        text = f"Only choice {selected[0]} is correct." if len(selected) == 1 else f"Choices {', '.join(map(str, selected))} are correct."
    else:
        text = _PHRASES[style].format(nums=", ".join(map(str, selected)), letters=", ".join("ABCDE"[i - 1] for i in selected))
    parsed = parse_answer(spec("multiple_choice", options=opts), text)
    assert parsed.value == selected and clean(parsed), (text, parsed)


@SETTINGS
@given(st.integers(1, 9), st.sampled_from(["\\alpha = \\sqrt{{\\frac{{{k}}}{{n}}}}", "sqrt({k}/n)", "\\sqrt{{{k}/n}}",
                                           "({k}/n)^(1/2)", "alpha = \\frac{{\\sqrt{{{k}}}}}{{\\sqrt{{n}}}}"]))
def test_expressions(k, style):
    parsed = parse_answer(spec("expression", variables=("n",)), style.format(k=k))
    assert clean(parsed) and equivalent(parsed.value, f"sqrt({k}/n)", ["n"]) is True
    assert equivalent(parsed.value, f"sqrt({k + 1}/n)", ["n"]) is False


def test_expression_safety():
    for hostile in ["__import__('os').system('x')", "n.__class__", "9^9^9^9", "lambda: 1", "n" * 500]:
        assert equivalent(hostile, "n", ["n"]) is None
