"""One number policy: grading and the key check compare numbers the same way."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from grader.compare import Rounding, exact, numbers_match, read_number, rounding, within
from grader.score import score_numeric
from grader.types import Kind, QuestionSpec, Tolerance
from rubrics.definition import parse_definition_text
from rubrics.keycheck import compare_key
from rubrics.keys import check_keys

NO_TOLERANCE = Tolerance()


@pytest.mark.parametrize("value, key, tol, expected", [
    (45, 45, NO_TOLERANCE, True),
    (44, 45, NO_TOLERANCE, False),                   # integer keys: exact by default
    (44, 45, Tolerance(abs=1, rel=0), True),         # ... unless the exam sets a tolerance
    (43.5, 45, Tolerance(abs=1, rel=0), False),
    (45.0, 45, NO_TOLERANCE, True),
    (45.0000001, 45, NO_TOLERANCE, False),
    (0.3333333, 1 / 3, NO_TOLERANCE, True),          # relative 1e-6 of a float key
    (0.3333, 1 / 3, NO_TOLERANCE, False),
    (0.3333, 1 / 3, Tolerance(abs=1e-3, rel=0), True),
    (99.0, 100.0, Tolerance(abs=0, rel=0.01), True),
    (98.9, 100.0, Tolerance(abs=0, rel=0.01), False),
    (math.nan, math.nan, NO_TOLERANCE, False),       # NaN matches nothing
    (math.inf, math.inf, NO_TOLERANCE, True),        # an infinity only itself
    (-math.inf, math.inf, NO_TOLERANCE, False),
    (math.inf, 1e308, Tolerance(abs=math.inf), False),
    (10 ** 400, 10 ** 400, NO_TOLERANCE, True),      # integers beyond a float, exactly
    (10 ** 400 + 1, 10 ** 400, NO_TOLERANCE, False),
    (10 ** 400 + 1, 10 ** 400, Tolerance(abs=2, rel=0), True),
    (True, 1, NO_TOLERANCE, False),                  # a bool is not a number
    ("45", 45, NO_TOLERANCE, False),
    (None, 45, NO_TOLERANCE, False),
])
def test_numbers_match(value, key, tol, expected):
    assert numbers_match(value, key, tol) is expected


@pytest.mark.parametrize("written, expected", [
    (3, 3), (2.5, 2.5), ("3/2", 1.5), ("4/2", 2), (" -0.25 ", -0.25), ("1e-3", 0.001),
    ("\u22124", -4), ("inf", math.inf), ("-Infinity", -math.inf), (Fraction(6, 3), 2),
    (np.int64(7), 7), (np.float32(0.5), 0.5),
    (True, None), (np.bool_(True), None), ("three", None), ("1/0", None), ([1], None), (None, None),
])
def test_read_number(written, expected):
    got = read_number(written)
    assert got == expected and type(got) is type(expected)


def test_named_policies():
    assert exact(3, 3) and not exact(3, 4)
    assert within(1.001, 1.0, Tolerance(abs=0.01, rel=0)) and not within(1.1, 1.0, Tolerance(abs=0.01, rel=0))


def test_a_literal_key_a_student_could_write_is_not_a_mismatch():
    """The regression: tolerance {abs: 1}, computed key 45. A student writing 44 gets full
    marks, so an instructor's literal 44 must pass the key check too (it used to be reported
    as a mismatch, keeping the exam unpublished)."""
    text = """
code: TOL
questions:
  - number: "1"
    kind: numeric
    points: 2
    solver: receptive_field
    params: {layers: [{kernel: 3, stride: 1}, {kernel: 5, stride: 2}, {kernel: 5, stride: 1}]}
    answer: 14
    tolerance: {abs: 1}
"""
    keyed, report = check_keys(parse_definition_text(text))
    spec = keyed.questions[0]
    assert spec.key == 15 and report.mismatched == []
    assert score_numeric(14, spec.key, spec).score == 2.0
    # Outside the tolerance, both refuse.
    far = parse_definition_text(text.replace("answer: 14", "answer: 13"))
    keyed, report = check_keys(far)
    assert report.mismatched == ["1"] and score_numeric(13, 15, keyed.questions[0]).score == 0.0


numbers = st.one_of(st.integers(-10 ** 20, 10 ** 20),
                    st.floats(allow_nan=True, allow_infinity=True, width=64))
tolerances = st.builds(Tolerance, abs=st.sampled_from([1e-9, 0.0, 0.5, 1.0]),
                       rel=st.sampled_from([1e-6, 0.0, 0.01]))


@settings(derandomize=True, max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(computed=numbers, literal=numbers, tol=tolerances)
def test_key_check_and_grading_agree_on_every_number(computed, literal, tol):
    spec = QuestionSpec(label="1", number="1", part=None, kind=Kind.NUMERIC, points=1.0,
                        tolerance=tol)
    graded_full = score_numeric(literal, computed, spec).score == 1.0
    assert compare_key(computed, literal, abs_tol=tol.abs, rel_tol=tol.rel).ok is graded_full


@pytest.mark.parametrize("value,key,expected", [
    (0.429, 3 / 7, Rounding.ROUNDED),        # rounded to 3 places
    (0.43, 3 / 7, Rounding.ROUNDED),
    (0.4286, 3 / 7, Rounding.ROUNDED),
    (-1.41, -2 ** 0.5, Rounding.ROUNDED),
    (0.666, 2 / 3, Rounding.CUT),            # cut short: one unit below
    (0.668, 2 / 3, Rounding.NONE),           # one unit above is no cut
    (0.4, 3 / 7, Rounding.NONE),             # one significant digit claims no precision
    (0.44, 3 / 7, Rounding.NONE),
    (4, 3.5, Rounding.NONE),                 # no decimal written
    (15.0, 15, Rounding.NONE),               # integer keys are counts
    (0.25, 0.25, Rounding.ROUNDED),          # (the scorer asks only outside the tolerance)
    (math.nan, 0.5, Rounding.NONE),
    (0.5, math.inf, Rounding.NONE),
])
def test_a_decimal_is_the_key_rounded_or_cut_to_its_places(value, key, expected):
    assert rounding(value, key) is expected


@pytest.mark.parametrize("kind,key,text,score,flags", [
    ("numeric", 3 / 7, "0.429", 2.0, ("rounded",)),   # was 0, unflagged
    ("numeric", 2 / 3, "0.666", 0.0, ("rounded",)),
    ("numeric", 3 / 7, "3/7", 2.0, ()),
    ("numeric", 3 / 7, "0.5", 0.0, ()),
    ("values", {"a": 1 / 3, "b": 2}, "a = 0.333, b = 2", 2.0, ("rounded",)),
    ("values", {"a": 1 / 3, "b": 2}, "a = 0.333, b = 3", 0.0, ()),
    ("matrix", [[1 / 3, 1]], "[[0.33, 1]]", 2.0, ("rounded",)),
])
def test_a_rounded_decimal_is_flagged_with_full_marks_suggested(kind, key, text, score, flags):
    from grader.parse import parse_answer
    from grader.score import score_answer
    from grader.types import QuestionSpec

    spec = QuestionSpec(label="1", number="1", part=None, kind=kind, points=2.0, key=key,
                        outputs=tuple(key) if isinstance(key, dict) else ())
    scored = score_answer(spec, parse_answer(spec, text), key)
    assert (scored.score, tuple(str(f) for f in scored.flags)) == (score, flags)
