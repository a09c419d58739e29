"""Numbers, arithmetic and shapes in plain math text (see ``latex.to_plain``).

Arithmetic is evaluated with a whitelist AST walker — never ``eval`` — so hostile text cannot
run code, and exponents are capped so ``9^9^9`` cannot hang a worker."""
from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass

MAX_RUN = 200       # longest arithmetic run we try to evaluate
MAX_EXPONENT = 64

_NUM = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
# Separators that mean "by" (a size): ×, x/X between numbers, \times (already ×), "by".
_BY = r"(?:×|(?<=\d)\s*[xX]\s*(?=\d)|\s[xX]\s|\bby\b)"


@dataclass(frozen=True)
class Found:
    """A value read from ``text[start:end]``."""

    value: object
    start: int
    end: int


# Precompiled: evaluate() runs for every arithmetic run and matrix cell of every answer.
_TIMES_X = re.compile(r"(?<=\d)\s*[xX]\s*(?=[\d(])")
_IMPLICIT_TIMES = re.compile(r"(?<=[\d)])\s*(?=[(S])")
_CLOSE_THEN_DIGIT = re.compile(r"(?<=\))\s*(?=\d)")


# Leading zeros of a number's integer part ("094", "-007.5"): a student's 94, not a Python
# SyntaxError that trimming would cut down to 0.
_LEADING_ZEROS = re.compile(r"(?<![\d.eE])0+(?=\d)")


def _to_python_ops(expr: str) -> str:
    expr = _LEADING_ZEROS.sub("", expr)
    expr = _TIMES_X.sub("×", expr)
    expr = expr.replace("×", "*").replace("·", "*").replace("^", "**")
    expr = expr.replace("{", "(").replace("}", ")").replace("[", "(").replace("]", ")")
    expr = expr.replace("sqrt", "S")
    expr = _IMPLICIT_TIMES.sub("*", expr)          # 2(3) -> 2*(3), )( -> )*(
    expr = _CLOSE_THEN_DIGIT.sub("*", expr)
    return expr


def _eval_node(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _eval_node(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        v = _eval_node(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "S" \
            and len(node.args) == 1 and not node.keywords:
        v = _eval_node(node.args[0])
        if v < 0:
            raise ValueError("sqrt of negative")
        r = math.sqrt(v)
        return int(round(r)) if isinstance(v, int) and round(r) ** 2 == v else r
    if isinstance(node, ast.BinOp):
        a, b = _eval_node(node.left), _eval_node(node.right)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div):
            if b == 0:
                raise ZeroDivisionError
            q = a / b
            return int(q) if isinstance(a, int) and isinstance(b, int) and a % b == 0 else q
        if isinstance(node.op, ast.Pow):
            if abs(b) > MAX_EXPONENT or abs(a) > 1e12:
                raise ValueError("exponent too large")
            return a ** b
    raise ValueError("not arithmetic")


# A Python int literal: no leading zeros ("007" is a SyntaxError there, so None).
_PLAIN_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_NOT_ARITHMETIC = re.compile(r"[^0-9.eE+\-*/()S\s]")


def evaluate(expr: str) -> int | float | None:
    """Value of a small arithmetic expression (numbers, + - × · / ^, parentheses, sqrt)."""
    expr = expr.strip()
    if not expr or len(expr) > MAX_RUN:
        return None
    if _PLAIN_INT.fullmatch(expr):
        # Matrix cells are mostly bare integers: the same value as the AST walk below, in
        # 0.3 µs instead of 6 µs (a typed answer sheet has ~90 cells counting printed ones).
        return int(expr)
    py = _to_python_ops(expr)
    if _NOT_ARITHMETIC.search(py):
        return None
    try:
        value = _eval_node(ast.parse(py, mode="eval"))
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError, RecursionError):
        return None
    if isinstance(value, complex) or not math.isfinite(value):
        return None
    return clean_number(value)


def clean_number(value: float) -> int | float:
    """Integral floats become ints (JSON: 15 not 15.0); tiny float noise is rounded away."""
    if isinstance(value, int):
        return value
    if abs(value) < 1e15 and abs(value - round(value)) < 1e-9:
        return int(round(value))
    return value


_BY_RX = re.compile(_BY)
_RUN = re.compile(rf"(?:{_NUM}|sqrt|\*\*|[-+*/^×·(){{}} \t])+")


def _by_to_times(text: str) -> str:
    """Same length: ``15 x 15`` keeps its offsets while reading as ``15 × 15``."""
    text = re.sub(r"(?<=\d)(\s*)[xX](\s*)(?=\d)", lambda m: m.group(1) + "×" + m.group(2), text)
    return re.sub(r"(?<=\d) by (?=\d)", " ×  ", text)


# Two numbers side by side with nothing but blanks between them ("10 64", thousands already
# joined by ``ocrfix.join_split_numbers``): two values, never one run to be trimmed down.
_BETWEEN_NUMBERS = re.compile(r"(?<=\d)[ \t]+(?=\d)")


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``text[start:end]`` cut where two numbers stand side by side, as (start, end) spans."""
    cuts = [(m.start(), m.end()) for m in _BETWEEN_NUMBERS.finditer(text, start, end)]
    bounds = [start, *(i for cut in cuts for i in cut), end]
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]


def arithmetic_runs(text: str) -> list[Found]:
    """Maximal evaluable arithmetic stretches, in order, with their values.

    A stretch that does not evaluate is trimmed of dangling operators, brackets and blanks
    (broken OCR, prose around), never of a digit: "094" is 94 and "1.2.3" no value at all,
    rather than 0 and 1.2 (a value the student did not write, scored as if it were)."""
    found: list[Found] = []
    spaced = _by_to_times(text)
    for m in _RUN.finditer(spaced):
        if not re.search(r"\d", m.group(0)):
            continue
        # A run opens with no closing bracket: in "5 (wrong) 6" the 6 follows a word's
        # bracket, it is no argument of the word.
        first = m.start() + len(m.group(0)) - len(m.group(0).lstrip(" \t)}"))
        # Part of an identifier or a function argument (h_2, x1, ReLU(-51), 10^{...}): not a value.
        if first > 0 and re.match(r"[\w^\\]", text[first - 1]) and not text[first - 1].isdigit():
            continue
        for lo, hi in _pieces(spaced, first, m.end()):
            value = _evaluated(spaced[lo:hi], lo)
            if value is not None:
                found.append(value)
    return found


def _evaluated(raw: str, offset: int) -> Found | None:
    """The value of ``raw`` (at ``offset`` in the text), trimmed until it evaluates; None
    when only dropping a digit would make it evaluate."""
    candidate = raw.strip()
    start = offset + len(raw) - len(raw.lstrip())
    digits = _digit_count(candidate)
    for _ in range(6):
        if not candidate or _digit_count(candidate) < digits:
            return None
        value = evaluate_size_aware(candidate)
        if value is not None:
            return Found(value, start, start + len(candidate))
        candidate = _trim(candidate)
        start = offset + raw.find(candidate) if candidate else start
    return None


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _trim(expr: str) -> str:
    expr = expr.strip()
    if expr.count("(") > expr.count(")") and expr.startswith("("):
        return expr[1:].strip()
    if expr.count(")") > expr.count("(") and expr.endswith(")"):
        return expr[:-1].strip()
    return re.sub(r"^[-+*/^×·\s]+|[-+*/^×·(\s]+$", "", expr) if re.search(r"^[+*/^×·]|[-+*/^×·(]$", expr) \
        else expr[:-1].strip()


def square_size(expr: str) -> int | float | None:
    """``15×15`` / ``15 x 15`` written for a size (receptive field) → 15."""
    parts = _BY_RX.split(expr)
    if len(parts) in (2, 3):
        values = [evaluate(p) for p in parts]
        if all(v is not None for v in values) and len(set(values)) == 1:
            return values[0]
    return None


def evaluate_size_aware(expr: str) -> int | float | None:
    size = square_size(expr)
    return size if size is not None else evaluate(expr)


# A shape's dimensions are also written with "*" (8*8*5), which arithmetic reads as a product.
_SHAPE_SEP = rf"(?:{_BY}|\*)"
_SHAPE_BY = re.compile(rf"(?<![\w.])\d+(?:\s*{_SHAPE_SEP}\s*\d+)+(?!\d|\.\d)")
_SHAPE_TUPLE = re.compile(r"[(\[]\s*\d+(?:\s*,\s*\d+)+\s*,?\s*[)\]]")


def shapes_in(text: str) -> list[Found]:
    """``8×8×5``, ``8 x 8 x 5``, ``8*8*5``, ``(4, 3, 5, 5)``, ``[4,3,5,5]`` → lists of ints, in
    order."""
    out = []
    for rx in (_SHAPE_BY, _SHAPE_TUPLE):
        for m in rx.finditer(text):
            dims = [int(d) for d in re.findall(r"\d+", m.group(0))]
            out.append(Found(dims, m.start(), m.end()))
    return sorted(out, key=lambda f: f.start)
