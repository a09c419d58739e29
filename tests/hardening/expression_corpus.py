"""Adversarial expression answers (issue 18, findings 1 and 2) and the small exam they answer.

Each entry is what a student might type as the answer to "alpha = ?" (key ``sqrt(3/n)``):
none may earn credit automatically, each must finish within the answer's time budget, and each
must leave a flag a TA understands. ``GOOD`` answers are the controls (full marks).
"""
from __future__ import annotations

from pathlib import Path

KEY = "sqrt(3/n)"

# name -> answer text. Grouped by what it tries.
ADVERSARIAL: dict[str, str] = {
    # overflow / non-finite values (a tolerance scaled by inf accepted anything)
    "overflow_exp": "n*exp(999)",
    "overflow_plus_key": "sqrt(3/n) + n*exp(999)",
    "overflow_power": "999999999999^64*n",
    "division_by_zero": "sqrt(3/n) + 1/0",
    "zero_over_zero": "0/0*n",
    # nesting and towers (never finished)
    "nested_powers": "n*(((999999999999^64)^64)^64)^64",
    "power_tower": "9^9^9^9*n",
    "exp_tower": "exp(exp(exp(n)))",
    "symbolic_tower": "2^(2^(2^n))",
    "deep_parentheses": "(" * 60 + "n" + ")" * 60,
    "deep_sqrt": "sqrt(" * 30 + "3/n" + ")" * 30,
    # attribute access, calls, Python syntax
    "attribute_call": "pi.n(1000000)",
    "attribute_on_variable": "n.evalf(100000)",
    "dunder_import": "__import__('os').system('true')",
    "dunder_class": "n.__class__.__mro__",
    "lambda": "(lambda: sqrt(3/n))()",
    "unknown_function": "factorial(100000)*n",
    "subscript": "sqrt(3/n)[0]",
    "keyword_argument": "sqrt(3/n, evaluate=False)",
    # huge literals
    "huge_integer": "1" + "0" * 150 + "*n",
    "huge_decimal": "1e999999999*n",
    "long_text": "sqrt(3/n)+" * 30 + "0",
    # slow but inside every size rule: stopped by the time budget
    "slow_trig": "sin(n+1)^32*cos(n+2)^32*tan(n+3)^32*sin(2n)^32",
    "slow_radicals": "(sqrt(2)+sqrt(3)+sqrt(5)+sqrt(7)+sqrt(11)+sqrt(13))^64*n",
    # unicode look-alikes of the key
    "fullwidth_digit": "sqrt(\uff13/n)",
    "cyrillic_n": "sqrt(3/\u043f)",
    "root_sign_unbracketed": "\u221a3/n",
    "superscript": "sqrt(3/n\u00b9)",
    "greek_alpha_var": "sqrt(3/\u03b1)",
    # numerically indistinguishable, symbolically different
    "near_key": "sqrt(3/n) + (1/999999999999)^64*n",
}

GOOD: dict[str, str] = {
    "good_plain": "sqrt(3/n)",
    "good_rewritten": "sqrt(3)/sqrt(n)",
    "good_root_sign": "\u221a(3/n)",   # the real symbol, bracketed: read as sqrt(3/n)
}

EXAM_YAML = """\
code: EXPR-HARD
title: Expression answers under attack
questions:
  - number: "1"
    title: The LeCun uniform initialisation bound alpha as a function of the fan-in n
    kind: expression
    points: 3
    answer: "sqrt(3/n)"
    variables: [n]
  - number: "2"
    title: How many parameters does the layer have
    kind: numeric
    points: 1
    answer: 45
"""


def answer_sheet(answer: str) -> str:
    """The typed answer sheet: question 1 is the expression under test, question 2 a control."""
    return f"Question 1\nalpha = {answer}\n\nQuestion 2\nThe layer has 45 parameters.\n"


def write_pdf(folder: Path, name: str, answer: str) -> Path:
    from tools.typed_pdf import text_to_pdf

    path = folder / f"{name}.pdf"
    text_to_pdf(answer_sheet(answer), path)
    return path
