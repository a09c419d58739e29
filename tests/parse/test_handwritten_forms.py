"""What the handwriting recogniser returns for answers written by hand parses to values:
numbers, shapes (x, ×, *), small matrices as rows of numbers, named values and expressions
(radical signs, names read in the wrong case)."""
import pytest

from grader.parse import parse_answer
from grader.types import Flag, QuestionSpec


def parse(kind, text, **kw):
    return parse_answer(QuestionSpec(label="1", number="1", part=None, kind=kind, points=1, **kw), text)


@pytest.mark.parametrize("text,value", [
    ("289", 289), ("-0.25", -0.25), ("1/2", 0.5), (".5", 0.5), ("a = -0.63", -0.63),
    ("−3.5", -3.5), ("√9", 3),
])
def test_numbers(text, value):
    got = parse("numeric", text)
    assert got.value == pytest.approx(value) and not got.flags


@pytest.mark.parametrize("text", ["8 x 8 x 5", "8x8x5", "8×8×5", "8 × 8 × 5", "8*8*5", "8 * 8 * 5",
                                  "(8, 8, 5)"])
def test_shapes(text):
    got = parse("shape", text)
    assert got.value == [8, 8, 5] and not got.flags


def test_a_product_written_with_stars_is_still_a_product_for_a_number():
    assert parse("numeric", "8*8*5").value == 320


@pytest.mark.parametrize("text,rows", [
    ("1 2 3\n4 5 6", [[1, 2, 3], [4, 5, 6]]),
    ("-1 0\n3 -7", [[-1, 0], [3, -7]]),
    ("[1 2]\n[3 4]", [[1, 2], [3, 4]]),
    ("10 6 4\n0 19 2\n7 7 1", [[10, 6, 4], [0, 19, 2], [7, 7, 1]]),
])
def test_matrices_as_rows(text, rows):
    got = parse("matrix", text)
    assert got.value == rows and not got.flags


@pytest.mark.parametrize("text,value", [("h2 = 0", 0), ("h2=0", 0), ("H2 = 0", 0), ("h2 = 0.018", 0.018),
                                        ("h_2 = -1/4", -0.25)])
def test_values(text, value):
    got = parse("values", text, outputs=("h2",))
    assert got.value == {"h2": pytest.approx(value)} and not got.flags


def test_a_superscript_is_not_a_name_digit():
    # "h²" is h squared, not the value h2: not read as h2, so a TA sees it.
    assert Flag.UNPARSED in parse("values", "h² = 0", outputs=("h2",)).flags


@pytest.mark.parametrize("text", ["sqrt(3/n)", "a = √(3/n)", "√(3/n)", "√3/√n", "SQRT(3/N)",
                                  "A = √(3/N)", "sqrt(3)/sqrt(n)"])
def test_expressions(text):
    got = parse("expression", text, variables=("n",))
    assert got.value == "sqrt(3)/sqrt(n)" and not got.flags


def test_case_is_folded_only_when_unambiguous():
    # With both n and N declared, "N" stays N.
    assert parse("expression", "2/N", variables=("n", "N")).value == "2/N"
    assert parse("expression", "2/N", variables=("n",)).value == "2/n"
    assert parse("expression", "K²", variables=("k",)).value == "k**2"
