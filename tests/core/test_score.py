"""Scoring rules as parametrized tables (no database)."""
import math

import pytest

from grader.score import numbers_match, score_answer, score_choice
from grader.types import Comparison, Equivalence, Parsed, QuestionSpec, RubricItem, Tolerance


def spec(kind, points=2.0, **kw):
    return QuestionSpec(label="1", number="1", part=None, kind=kind, points=points, **kw)


TOL = Tolerance(abs=1e-3, rel=0.0)


@pytest.mark.parametrize("value,key,tol,expected", [
    (15, 15, Tolerance(), True),
    (15.0, 15, Tolerance(), True),
    (15.0000001, 15, Tolerance(), False),        # integer keys are exact
    (0.2244, 0.22438, TOL, True),
    (0.1244, 0.2244, TOL, False),
    (float("nan"), float("nan"), TOL, False),     # NaN never matches
    (math.inf, math.inf, TOL, True),
    (-math.inf, math.inf, TOL, False),
    (1e9, 1.0000001e9, Tolerance(abs=0, rel=1e-6), True),
    (True, 1, Tolerance(), False),               # a bool is not a number
    ("15", 15, Tolerance(), False),
])
def test_numbers_match(value, key, tol, expected):
    assert numbers_match(value, key, tol) is expected


@pytest.mark.parametrize("chosen,correct,scoring,points", [
    ([3, 4], [3, 4], "all_or_nothing", 2.0),
    ([3], [3, 4], "all_or_nothing", 0.0),
    ([3, 4, 1], [3, 4], "all_or_nothing", 0.0),
    ([], [], "all_or_nothing", 2.0),              # none correct, none checked
    ([1], [], "all_or_nothing", 0.0),
    ([3], [3, 4], "per_option", 1.5),             # 3 of 4 boxes right
    ([3], [3, 4], "coverage", 1.0),               # coverage 1/2 × accuracy 1
    ([1, 3], [3, 4], "coverage", 0.5),            # 1/2 × 1/2
    ([], [], "coverage", 2.0),
])
def test_multiple_choice(chosen, correct, scoring, points):
    q = spec("multiple_choice", options=("a", "b", "c", "d"), scoring=scoring)
    assert score_choice(chosen, correct, q).score == pytest.approx(points)


KEY = [[1, 4, 7, 6], [5, 17, 27, 20], [9, 27, 37, 26], [9, 24, 31, 20]]


@pytest.mark.parametrize("value,partial,score,flag", [
    (KEY, None, 2.0, None),
    ([[1.0004, 4, 7, 6], [5, 17, 27, 20], [9, 27, 37, 26], [9, 24, 31, 20]], None, 2.0, None),
    ([[1, 4, 7, 6], [5, 17, 27, 20], [9, 27, 37, 26], [9, 24, 31, 21]], None, 0.0, None),
    ([[1, 4, 7, 6], [5, 17, 27, 20], [9, 27, 37, 26], [9, 24, 31, 21]], "per_entry", 2.0 * 15 / 16, None),
    ([[1, 4, 7], [5, 17, 27]], None, 0.0, "shape_mismatch"),
])
def test_matrix(value, partial, score, flag):
    q = spec("matrix", tolerance=TOL, partial=partial)
    result = score_answer(q, Parsed(value), KEY)
    assert result.score == pytest.approx(score)
    assert (flag in result.flags) if flag else not result.flags


def test_shape_layout_difference_is_flagged_not_silently_wrong():
    result = score_answer(spec("shape"), Parsed([5, 8, 8]), [8, 8, 5])
    assert result.score == 0 and "layout_differs" in result.flags
    assert score_answer(spec("shape"), Parsed([8, 8, 5]), [8, 8, 5]).score == 2


@pytest.mark.parametrize("value,partial,score", [
    ({"h2": 0, "h3": 3}, None, 2.0),
    ({"h2": 0, "h3": 4}, None, 0.0),
    ({"h2": 0, "h3": 4}, "per_entry", 1.0),
    ({"h2": 0}, "per_entry", 1.0),
])
def test_values(value, partial, score):
    q = spec("values", outputs=("h2", "h3"), partial=partial)
    assert score_answer(q, Parsed(value), {"h2": 0, "h3": 3}).score == pytest.approx(score)


def test_text_is_flagged_with_rubric_suggestion():
    q = spec("text", rubric=(RubricItem(1, "memory", ("memory",)), RubricItem(1, "res", ("resolution",))))
    result = score_answer(q, Parsed("It saves memory."), None)
    assert result.score == 1 and result.needs_review and "free_text" in result.flags


def test_parser_flags_carry_over_and_suggested_score_kept():
    result = score_answer(spec("numeric"), Parsed(15, flags=("ambiguous",), alternatives=(11, 15)), 15)
    assert result.score == 2 and result.needs_review and result.flags == ("ambiguous",)


def test_unanswered_scores_zero_without_review():
    result = score_answer(spec("numeric"), Parsed(None, flags=("unanswered",)), 15)
    assert result.score == 0 and not result.needs_review


def test_unparsed_is_flagged():
    result = score_answer(spec("numeric"), Parsed(None), 15)
    assert result.score == 0 and "unparsed" in result.flags and result.needs_review


def test_expression_uses_injected_check():
    q = spec("expression", variables=("n",))
    calls = []

    def check(a, b, variables):
        calls.append((a, b, tuple(variables)))
        return Comparison(Equivalence.EQUIVALENT if a == b else Equivalence.DIFFERENT)

    assert score_answer(q, Parsed("sqrt(3/n)"), "sqrt(3/n)", expression_check=check).score == 2
    assert score_answer(q, Parsed("sqrt(1/n)"), "sqrt(3/n)", expression_check=check).score == 0
    assert calls[0] == ("sqrt(3/n)", "sqrt(3/n)", ("n",))


def test_score_answer_does_not_mutate_inputs():
    value = [[1, 2], [3, 4]]
    key = [[1, 2], [3, 5]]
    score_answer(spec("matrix"), Parsed(value), key)
    assert value == [[1, 2], [3, 4]] and key == [[1, 2], [3, 5]]
