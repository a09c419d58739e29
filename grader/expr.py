"""Symbolic comparison of student expressions with the key (``sqrt(3/n)``).

Safety: text from students never reaches ``eval`` unchecked. Input is capped in length, every
identifier must be a known function/constant or an allowed variable, and SymPy's
``parse_expr`` runs with an explicit, minimal namespace. Huge powers are rejected before any
simplification so a crafted ``9**9**9`` cannot stall a worker."""
from __future__ import annotations

import random
import re
from collections.abc import Sequence
from functools import lru_cache

import sympy
from sympy.parsing.sympy_parser import (
    convert_xor, implicit_multiplication_application, parse_expr, standard_transformations,
)

MAX_LENGTH = 200
MAX_POWER = 64
_FUNCTIONS = {"sqrt": sympy.sqrt, "log": sympy.log, "ln": sympy.log, "exp": sympy.exp,
              "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "tanh": sympy.tanh,
              "pi": sympy.pi, "E": sympy.E}
# The only names the generated code may reference besides local symbols/functions.
_GLOBALS = {"Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational,
            "Symbol": sympy.Symbol, "Mul": sympy.Mul, "Add": sympy.Add, "Pow": sympy.Pow,
            "__builtins__": {}}
_TRANSFORMS = standard_transformations + (implicit_multiplication_application, convert_xor)


def safe_parse(text: str, variables: Sequence[str] = ()) -> sympy.Expr | None:
    """A SymPy expression, or None when the text is not a small, harmless formula."""
    text = text.strip()
    if not text or len(text) > MAX_LENGTH or not re.fullmatch(r"[A-Za-z0-9_+\-*/^().,\s]+", text):
        return None
    names = set(re.findall(r"[A-Za-z_]\w*", text))
    allowed = set(variables) | set(_FUNCTIONS)
    if not variables:  # no declared variables: accept single-letter (optionally greek) symbols
        allowed |= {n for n in names if re.fullmatch(r"[A-Za-z]|alpha|beta|gamma|sigma|lambda|eta|mu", n)}
    if not names <= allowed or "__" in text:
        return None
    local = dict(_FUNCTIONS)
    local.update({v: sympy.Symbol(v, positive=True) for v in names - set(_FUNCTIONS)})
    try:
        expr = parse_expr(text, local_dict=local, global_dict=dict(_GLOBALS),
                          transformations=_TRANSFORMS, evaluate=False)
    except Exception:  # noqa: BLE001 - any parse failure means "not an expression"
        return None
    if not isinstance(expr, sympy.Expr) or _too_big(expr):
        return None
    return expr


def _too_big(expr: sympy.Expr) -> bool:
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Pow):
            exp = node.exp
            # No towers (9^9^9), no large literal exponents: evaluation would not terminate.
            # (Division is Pow(x, -1) when unevaluated, so that one is allowed.)
            if any(isinstance(n, sympy.Pow) and n.exp != -1 for n in sympy.preorder_traversal(exp)):
                return True
            if any(isinstance(n, sympy.Number) and abs(n) > MAX_POWER for n in sympy.preorder_traversal(exp)):
                return True
        if isinstance(node, sympy.Integer) and abs(int(node)) > 10 ** 12:
            return True
    return False


# A worker grades many submissions of one exam: the key, the printed prompt copied into typed
# answers and the common student answers come back again and again, and one SymPy simplify is
# 1-6 ms (canonical("r + 1"): 2.2 ms; equivalent("1/sqrt(n)", "sqrt(3/n)"): 5.5 ms). Both
# functions are pure, so their results are kept, keyed by every argument. Only texts of at
# most MAX_LENGTH characters (longer ones ``safe_parse`` rejects) are kept: an entry is small.
CACHE_SIZE = 4096


def canonical(text: str, variables: Sequence[str] = ()) -> str | None:
    """A canonical SymPy string (``sqrt(3/n)`` → ``sqrt(3)*sqrt(1/n)`` style, whatever SymPy
    prints) that parses back with ``safe_parse``; None when unreadable."""
    text = text.strip()
    if not text or len(text) > MAX_LENGTH:
        return None
    return _canonical(text, tuple(variables))


@lru_cache(maxsize=CACHE_SIZE)
def _canonical(text: str, variables: tuple[str, ...]) -> str | None:
    expr = safe_parse(text, variables)
    if expr is None:
        return None
    try:
        return str(sympy.simplify(expr.doit()))
    except Exception:  # noqa: BLE001
        return str(expr)


def equivalent(a: str, b: str, variables: Sequence[str] = ()) -> bool | None:
    """True/False for symbolic (in)equivalence; None when either side cannot be parsed."""
    if len(a) > MAX_LENGTH or len(b) > MAX_LENGTH:
        return _equivalent.__wrapped__(a, b, tuple(variables))  # not kept: see CACHE_SIZE
    return _equivalent(a, b, tuple(variables))


@lru_cache(maxsize=CACHE_SIZE)
def _equivalent(a: str, b: str, variables: tuple[str, ...]) -> bool | None:
    variables = variables or tuple(sorted(set(re.findall(r"[A-Za-z]\w*", a + " " + b)) - set(_FUNCTIONS)))
    ea, eb = safe_parse(a, variables), safe_parse(b, variables)
    if ea is None or eb is None:
        return None
    ea, eb = ea.doit(), eb.doit()
    try:
        if sympy.simplify(ea - eb) == 0:
            return True
    except Exception:  # noqa: BLE001 - fall through to the numeric check
        pass
    return _numeric_equal(ea, eb)


def _numeric_equal(ea: sympy.Expr, eb: sympy.Expr, trials: int = 6) -> bool | None:
    """Random positive points (variables are sizes/counts here); deterministic seed."""
    symbols = sorted(ea.free_symbols | eb.free_symbols, key=str)
    rng = random.Random(12345)
    checked = 0
    for _ in range(trials * 3):
        point = {s: sympy.Float(rng.uniform(0.5, 10.0)) for s in symbols}
        try:
            va, vb = complex(ea.evalf(subs=point)), complex(eb.evalf(subs=point))
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        if abs(va - vb) > 1e-8 * max(1.0, abs(va), abs(vb)):
            return False
        checked += 1
        if checked >= trials:
            return True
    return None if checked == 0 else True
