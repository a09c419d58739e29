"""Symbolic comparison of student expressions with the key (``sqrt(3/n)``).

Safety, in this order, before SymPy evaluates anything a student wrote:

1. the text: at most ``MAX_LENGTH`` ASCII characters of formula syntax, every identifier a
   known function/constant or an allowed variable, no ``__``;
2. the code SymPy's parser generates from it (``stringify_expr``: implicit multiplication,
   ``^``) is checked node by node against a whitelist (``_Checker``): arithmetic, calls of
   the allowed functions only, no attribute access, nesting at most ``MAX_DEPTH``, integer
   literals of at most ``MAX_DIGITS`` digits, decimal literals within ``MAX_LITERAL``,
   numeric exponents whose product along any chain of powers stays within ``MAX_POWER``
   (``((a^64)^64)^64`` is refused), no exponential inside an exponential (``exp(exp(n))``,
   ``2^(2^n)``);
3. what passes runs in the answer's time budget (``grader.limits.bounded``), which cannot be
   swallowed: an answer that runs out is ``TOO_COMPLEX`` and flagged, the submission goes on.

Comparison (``compare``) is symbolic first: ``simplify(a - b) == 0`` proves equivalence.
Otherwise both sides are evaluated at random positive points: a difference there is
``DIFFERENT`` (but an answer written with decimals that stays within ``APPROXIMATE_REL`` of
the key at every point is ``APPROXIMATE``, flagged: ``1.732/sqrt(n)`` for ``sqrt(3/n)``);
equality everywhere is only ``NUMERIC_ONLY`` (flagged for a TA, never
automatic credit), so the numeric check can never contradict the symbolic one; an
infinite, undefined or huge value (above ``MAX_MAGNITUDE``) is ``NOT_FINITE``: not equal,
flagged.
"""
from __future__ import annotations

import ast
import math
import random
import re
import time
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from tokenize import TokenError

import sympy
from sympy.parsing.sympy_parser import (
    convert_xor, eval_expr, evaluateFalse, implicit_multiplication_application,
    standard_transformations, stringify_expr,
)

from grader import limits
from grader.limits import BudgetExceeded, ChildFailed, bounded
from grader.types import Comparison, Equivalence

MAX_LENGTH = 200
MAX_POWER = 64            # product of the numeric exponents along a chain of powers
MAX_DEPTH = 24            # nesting of the generated code (a call and its argument: 2 levels)
MAX_DIGITS = 12           # integer literals
MAX_LITERAL = 1e12        # decimal literals: 0 or between 1/MAX_LITERAL and MAX_LITERAL
MAX_MAGNITUDE = 1e100     # a larger value at a sample point cannot be compared to 1e-8
APPROXIMATE_REL = 5e-3    # an answer with decimals this close everywhere is APPROXIMATE
_DECIMAL = re.compile(r"\d\.\d|(?<!\d)\.\d")
_FUNCTIONS = {"sqrt": sympy.sqrt, "log": sympy.log, "ln": sympy.log, "exp": sympy.exp,
              "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "tanh": sympy.tanh,
              "pi": sympy.pi, "E": sympy.E}
_CONSTANTS = {"pi", "E"}
_ARITY = {"log": (1, 2)}  # every other function takes exactly one argument
# The only names the generated code may reference besides local symbols/functions.
_GLOBALS = {"Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational,
            "Symbol": sympy.Symbol, "Mul": sympy.Mul, "Add": sympy.Add, "Pow": sympy.Pow,
            "__builtins__": {}}
_TRANSFORMS = standard_transformations + (implicit_multiplication_application, convert_xor)
_FORMULA_CHARS = re.compile(r"[A-Za-z0-9_+\-*/^().,\s]+")
_GREEK = re.compile(r"[A-Za-z]|alpha|beta|gamma|sigma|lambda|eta|mu")
_NON_FINITE = (sympy.S.NaN, sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity)


class Rejected(ValueError):
    """The text is not a small, harmless formula; the message says why (for a TA)."""


# ------------------------------------------------------------------------------ reading

def _local_names(text: str, variables: Sequence[str]) -> dict:
    """Check the text itself; the SymPy objects its names stand for."""
    if not text or len(text) > MAX_LENGTH:
        raise Rejected(f"longer than {MAX_LENGTH} characters" if text else "empty")
    if not _FORMULA_CHARS.fullmatch(text):
        odd = next(c for c in text if not _FORMULA_CHARS.fullmatch(c))
        name = unicodedata.name(odd, f"U+{ord(odd):04X}")
        raise Rejected(f"contains {odd!r} ({name}), which is not part of a plain formula")
    if "__" in text:
        raise Rejected("contains '__'")
    names = set(re.findall(r"[A-Za-z_]\w*", text))
    allowed = set(variables) | set(_FUNCTIONS)
    if not variables:  # no declared variables: accept single-letter (optionally greek) symbols
        allowed |= {n for n in names if _GREEK.fullmatch(n)}
    unknown = sorted(names - allowed)
    if unknown:
        raise Rejected(f"uses {', '.join(unknown)}, which is not a variable of this question")
    local = dict(_FUNCTIONS)
    local.update({v: sympy.Symbol(v, positive=True) for v in names - set(_FUNCTIONS)})
    return local


def _checked_code(text: str, variables: Sequence[str]) -> tuple[str, dict]:
    """(Python code SymPy would evaluate, its local names), after the whitelist; or Rejected."""
    local = _local_names(text, variables)
    try:
        code = stringify_expr(text, dict(local), dict(_GLOBALS), _TRANSFORMS)
        tree = ast.parse(code, mode="eval")
    except (SyntaxError, TokenError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise Rejected("is not a well-formed formula") from exc
    _Checker(local).check(tree.body)
    return code, local


class _Checker:
    """Whitelist over the generated code (before SymPy evaluates it). ``check`` returns the
    node's *degree*: the product of the numeric exponents applied to anything inside it."""

    _BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)

    def __init__(self, local: dict):
        self.functions = {n for n in local if n in _FUNCTIONS and n not in _CONSTANTS}
        self.names = set(local) - self.functions

    def check(self, node: ast.AST, depth: int = 0, in_exponential: bool = False) -> float:
        if depth > MAX_DEPTH:
            raise Rejected(f"is nested more than {MAX_DEPTH} levels deep")
        if isinstance(node, ast.BinOp) and isinstance(node.op, self._BINARY):
            if isinstance(node.op, ast.Pow):
                return self._power(node, depth, in_exponential)
            return max(self.check(node.left, depth + 1, in_exponential),
                       self.check(node.right, depth + 1, in_exponential))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            return self.check(node.operand, depth + 1, in_exponential)
        if isinstance(node, ast.Name):
            if node.id not in self.names:
                raise Rejected(f"uses {node.id} without an argument")
            return 1.0
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
            return self._call(node, depth, in_exponential)
        attribute = node.func if isinstance(node, ast.Call) else node
        if isinstance(attribute, ast.Attribute):
            raise Rejected(f"uses attribute access (.{attribute.attr})")
        raise Rejected(f"contains {type(node).__name__.lower()} syntax, which is not arithmetic")

    def _call(self, node: ast.Call, depth: int, in_exponential: bool) -> float:
        name, args = node.func.id, node.args
        if name == "Integer":
            digits = str(args[0].value) if len(args) == 1 and isinstance(args[0], ast.Constant) else ""
            if not digits.isdigit():
                raise Rejected("contains an odd number literal")
            if len(digits.lstrip("0")) > MAX_DIGITS:
                raise Rejected(f"contains a number with more than {MAX_DIGITS} digits")
            return 1.0
        if name == "Float":
            literal = args[0].value if len(args) == 1 and isinstance(args[0], ast.Constant) else None
            if not isinstance(literal, str) or len(literal) > 24:
                raise Rejected("contains an overlong decimal number")
            try:
                value = abs(float(literal))
            except ValueError as exc:
                raise Rejected("contains an odd decimal number") from exc
            if not (value == 0 or 1 / MAX_LITERAL <= value <= MAX_LITERAL):
                raise Rejected(f"contains the number {literal}, beyond 10^±{round(math.log10(MAX_LITERAL))}")
            return 1.0
        if name not in self.functions:
            raise Rejected(f"calls {name}, which is not an allowed function")
        low, high = _ARITY.get(name, (1, 1))
        if not low <= len(args) <= high or any(isinstance(a, ast.Starred) for a in args):
            raise Rejected(f"calls {name} with {len(args)} arguments")
        if name == "exp":
            if in_exponential:
                raise Rejected("has an exponential inside an exponential")
            in_exponential = True
        return max(self.check(a, depth + 1, in_exponential) for a in args)

    def _power(self, node: ast.BinOp, depth: int, in_exponential: bool) -> float:
        exponent = _number(node.right)
        if exponent is None:  # a symbolic exponent (2^n): an exponential
            if in_exponential:
                raise Rejected("has an exponential inside an exponential")
            base = self.check(node.left, depth + 1, in_exponential)
            self.check(node.right, depth + 1, True)
            return base
        base = self.check(node.left, depth + 1, in_exponential)
        degree = base * max(1.0, abs(exponent))
        if degree > MAX_POWER:
            raise Rejected(f"raises to a total power above {MAX_POWER}")
        return degree


def _number(node: ast.AST) -> float | None:
    """The value of a constant exponent (``Integer (3 )``, ``-Integer (1 )/Integer (2 )``);
    None when it involves a name or a function."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("Integer", "Float") \
            and len(node.args) == 1 and isinstance(node.args[0], ast.Constant):
        try:
            return float(node.args[0].value)
        except (TypeError, ValueError, OverflowError):
            return math.inf
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        return _number(node.operand)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        a, b = _number(node.left), _number(node.right)
        if a is None or b is None:
            return None
        # An upper bound of the magnitude is what matters (no division by a small constant).
        return a * b if isinstance(node.op, ast.Mult) else a + b if not isinstance(node.op, ast.Div) \
            else (math.inf if b == 0 else a / b)
    return None


def rejection(text: str, variables: Sequence[str] = ()) -> str | None:
    """Why ``text`` is not accepted as a formula (for a TA), or None when it is."""
    try:
        _checked_code(text.strip(), variables)
    except Rejected as exc:
        return str(exc)
    return None


def _parse(text: str, variables: Sequence[str]) -> sympy.Expr:
    """The unevaluated SymPy expression of an accepted formula; Rejected otherwise."""
    code, local = _checked_code(text.strip(), variables)
    try:
        expr = eval_expr(compile(evaluateFalse(code), "<formula>", "eval"), local, dict(_GLOBALS))
    except limits.INTERRUPTS:
        raise
    except Exception as exc:  # noqa: BLE001 - SymPy raises many types for odd input
        raise Rejected("is not a well-formed formula") from exc
    if not isinstance(expr, sympy.Expr):
        raise Rejected("is not a formula")
    return expr


def safe_parse(text: str, variables: Sequence[str] = ()) -> sympy.Expr | None:
    """A SymPy expression (unevaluated), or None when the text is not a small, harmless
    formula. Call inside ``limits.bounded`` when the result will be evaluated further."""
    try:
        return _parse(text, variables)
    except Rejected:
        return None


def _undefined(expr: sympy.Expr) -> bool:
    return any(expr.has(atom) for atom in _NON_FINITE)


# A worker grades many submissions of one exam: the key, the printed prompt copied into typed
# answers and the common student answers come back again and again, and one SymPy simplify is
# 1-6 ms (canonical("r + 1"): 2.2 ms; equivalent("1/sqrt(n)", "sqrt(3/n)"): 5.5 ms). Both
# functions are pure, so their results are kept, keyed by every argument. Only texts of at
# most MAX_LENGTH characters (longer ones are refused) are kept: an entry is small. A call
# that runs out of time raises through the cache, so a timeout is never kept.
CACHE_SIZE = 4096


_warm = False


def warm_up() -> None:
    """Run each kind of SymPy work once, outside any budget. SymPy and mpmath import much of
    themselves on first use: the first numeric comparison in a process took 2 s on a loaded
    machine, the whole of an answer's budget. Workers call this before forking their pool;
    any other process does it on its first expression."""
    global _warm
    if _warm:
        return
    _warm = True
    started = time.monotonic()
    _canonical_work("sqrt(3/n) + 1/n + tanh(n) + sin(n)*cos(n) + log(n)*exp(-n)", ("n",))
    for key in ("sqrt(3)/sqrt(n)", "n*exp(999)", "sin(n)^2"):
        _compare_work("sqrt(3/n)", key, ("n",))
    # Called inside an answer's budget: that answer does not pay for it.
    limits.current_budget().extend(time.monotonic() - started)


def canonical(text: str, variables: Sequence[str] = ()) -> str | None:
    """A canonical SymPy string (``sqrt(3/n)`` → ``sqrt(3)*sqrt(1/n)`` style, whatever SymPy
    prints) that parses back with ``safe_parse``; None when unreadable or out of time (the
    answer's budget then says so: ``limits.current_budget().exceeded``)."""
    text = text.strip()
    if not text or len(text) > MAX_LENGTH:
        return None
    warm_up()
    try:
        return _canonical(text, tuple(variables))
    except (BudgetExceeded, ChildFailed):
        return None


@lru_cache(maxsize=CACHE_SIZE)
def _canonical(text: str, variables: tuple[str, ...]) -> str | None:
    try:
        _local_names(text, variables)   # characters and names: refused without a budgeted call
    except Rejected:
        return None
    return bounded(_canonical_work, text, variables)


def _canonical_work(text: str, variables: tuple[str, ...]) -> str | None:
    expr = safe_parse(text, variables)
    if expr is None:
        return None
    try:
        simplified = sympy.simplify(expr.doit())
    except limits.INTERRUPTS:
        raise
    except Exception:  # noqa: BLE001 - SymPy cannot simplify everything it parses
        return str(expr)
    result = str(simplified)
    # Keep the student's own text where SymPy's would not read back (a 700-digit integer) or
    # hides the problem (zoo for 1/0): compare() then says what is wrong with it.
    if _undefined(simplified) or rejection(result, variables) is not None:
        return text
    return result


def compare(a: str, b: str, variables: Sequence[str] = ()) -> Comparison:
    """How the student's expression ``a`` compares with the key ``b`` (see the module doc)."""
    if len(a) > MAX_LENGTH or len(b) > MAX_LENGTH:
        return Comparison(Equivalence.UNREADABLE, f"longer than {MAX_LENGTH} characters")
    warm_up()
    budget = limits.current_budget()
    try:
        return _compare(a, b, tuple(variables))
    except BudgetExceeded:
        return Comparison(Equivalence.TOO_COMPLEX,
                          f"checking {a!r} against the key took longer than the {budget.seconds:g} s "
                          f"allowed per answer and was stopped; compare it by hand")
    except ChildFailed as exc:
        return Comparison(Equivalence.UNREADABLE, f"{a!r} could not be checked ({exc})")


@lru_cache(maxsize=CACHE_SIZE)
def _compare(a: str, b: str, variables: tuple[str, ...]) -> Comparison:
    variables = variables or tuple(sorted(set(re.findall(r"[A-Za-z]\w*", a + " " + b)) - set(_FUNCTIONS)))
    try:
        for text in (a, b):   # characters and names: refused without a budgeted call
            _local_names(text.strip(), variables)
    except Rejected:
        return _compare_work(a, b, variables)     # says which side and why, evaluates nothing
    return bounded(_compare_work, a, b, variables)


def _compare_work(a: str, b: str, variables: tuple[str, ...]) -> Comparison:
    parsed = []
    for text, whose in ((a, "the answer"), (b, "the key")):
        try:
            parsed.append(_parse(text, variables))
        except Rejected as exc:
            return Comparison(Equivalence.UNREADABLE, f"{whose} {text.strip()!r} {exc}")
    ea, eb = (e.doit() for e in parsed)
    for expr, text in ((ea, a), (eb, b)):
        if _undefined(expr):
            return Comparison(Equivalence.NOT_FINITE,
                              f"{text.strip()} is undefined or infinite (e.g. a division by zero); "
                              f"it does not match the key automatically")
    try:
        proven = sympy.simplify(ea - eb) == 0
    except limits.INTERRUPTS:
        raise
    except Exception:  # noqa: BLE001 - fall through to the numeric check
        proven = False
    if proven:
        return Comparison(Equivalence.EQUIVALENT)
    return _numeric(ea, eb, a.strip())


def _numeric(ea: sympy.Expr, eb: sympy.Expr, shown: str, trials: int = 6) -> Comparison:
    """Random positive points (variables are sizes/counts here); deterministic seed."""
    symbols = sorted(ea.free_symbols | eb.free_symbols, key=str)
    rng = random.Random(12345)
    checked = 0
    # Decimals written for exact values ("1.732/sqrt(n)" for sqrt(3/n)) make the answer
    # differ from the key by little: close everywhere, it is for a TA, not a silent 0.
    decimals, approximate = bool(_DECIMAL.search(shown)), False
    for _ in range(trials * 3):
        point = {s: sympy.Float(rng.uniform(0.5, 10.0)) for s in symbols}
        try:
            va, vb = complex(ea.evalf(subs=point)), complex(eb.evalf(subs=point))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            continue
        where = ", ".join(f"{s}={float(v):.3g}" for s, v in point.items()) or "any point"
        for value in (va, vb):
            if not (math.isfinite(value.real) and math.isfinite(value.imag)) or abs(value) > MAX_MAGNITUDE:
                side = shown if value is va else "the key"
                return Comparison(Equivalence.NOT_FINITE,
                                  f"{side} is infinite, undefined or larger than {MAX_MAGNITUDE:g} at "
                                  f"{where}; such values cannot be compared, so it does not match "
                                  f"the key automatically")
        if abs(va - vb) > 1e-8 * max(1.0, abs(va), abs(vb)):
            if not (decimals and abs(va - vb) <= APPROXIMATE_REL * max(abs(va), abs(vb))):
                return Comparison(Equivalence.DIFFERENT, f"differs from the key at {where}")
            approximate = True
        checked += 1
        if checked >= trials:
            break
    if checked == 0:
        return Comparison(Equivalence.UNREADABLE, f"{shown} could not be evaluated")
    if approximate:
        return Comparison(Equivalence.APPROXIMATE,
                          f"{shown} is within {APPROXIMATE_REL:.1%} of the key at {checked} "
                          f"random points but not equal to it: decimals for exact values? "
                          f"award the points if that precision counts")
    return Comparison(Equivalence.NUMERIC_ONLY,
                      f"{shown} equals the key at {checked} random points, but SymPy could not "
                      f"prove they are the same expression; award the points if it is")


def equivalent(a: str, b: str, variables: Sequence[str] = ()) -> bool | None:
    """True when proven equivalent, False when different or not finite (never credit), None
    when it cannot be decided (unreadable, only numerically equal, out of time). Grading uses
    ``compare``, which says which and why."""
    outcome = compare(a, b, variables).outcome
    if outcome is Equivalence.EQUIVALENT:
        return True
    if outcome in (Equivalence.DIFFERENT, Equivalence.NOT_FINITE):
        return False
    return None
