"""Numbers: the one reader of key values and the one comparison policy.

Grading a student's number (``grader.score``) and checking an instructor's literal key against
the solver's (``rubrics.keycheck``) compare numbers the same way, through ``numbers_match``.
Each tolerance policy is a named function, as PrairieLearn's grading utilities name theirs:

- ``exact``: integers (counts, shapes, receptive fields) are equal or not;
- ``within``: ``|value - key| <= max(abs, rel * |key|)``, the key being the reference;
- ``numbers_match``: NaN matches nothing, an infinity only the same infinity, an integer key is
  compared ``exact``ly unless the question sets a tolerance, anything else ``within`` the
  question's tolerance;
- ``rounding``: a decimal outside the tolerance that is the key rounded (or cut) to the
  places written, which the scorer flags rather than scores 0 unseen.

Pure functions of their arguments; no Django, no NumPy at import.
"""
from __future__ import annotations

import math
import re
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from grader.types import Tolerance

Number = int | float

# Text longer than this, or with an exponent of four digits or more, is no number a key or an
# answer needs ("1e999999999" as a Fraction is a billion-digit integer).
MAX_NUMBER_TEXT = 64
_HUGE_EXPONENT = re.compile(r"[eE]\s*[+-]?\d{4,}\s*$")

_INFINITIES = {"inf": math.inf, "+inf": math.inf, "infinity": math.inf, "+infinity": math.inf,
               "-inf": -math.inf, "-infinity": -math.inf, "nan": math.nan}


def is_number(value: Any) -> bool:
    """An int or float (bool is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read_number(value: Any) -> Number | None:
    """A Python int/float for a value written as a number: int, float, Fraction, a NumPy
    scalar, or text such as ``"3/2"``, ``"-0.25"``, ``"1e-3"``, ``"−4"`` (Unicode minus),
    ``"inf"``. Integral fractions become ints. Anything else (bool, other text, lists) is None.
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return None
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy":
        value = item()
        if isinstance(value, bool):
            return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    if isinstance(value, str):
        if len(value) > MAX_NUMBER_TEXT or _HUGE_EXPONENT.search(value):
            return None
        text = value.strip().lower().replace("\u2212", "-")
        if text in _INFINITIES:
            return _INFINITIES[text]
        try:
            parsed = Fraction(text)
        except (ValueError, ZeroDivisionError):
            return None
        return int(parsed) if parsed.denominator == 1 else float(parsed)
    return None


def exact(value: Number, key: Number) -> bool:
    """The same number (integers compared without rounding)."""
    return value == key


def within(value: Number, key: Number, tol: Tolerance) -> bool:
    """Within the absolute or the relative tolerance of ``key``, whichever is larger. Finite
    values only; integers too large for a float are compared exactly as fractions."""
    try:
        return abs(float(value) - float(key)) <= max(tol.abs, tol.rel * abs(float(key)))
    except OverflowError:
        difference = abs(Fraction(value) - Fraction(key))
        return difference <= max(Fraction(tol.abs), Fraction(tol.rel) * abs(Fraction(key)))


def _non_finite(value: Number) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def numbers_match(value: Any, key: Any, tol: Tolerance) -> bool:
    """Does ``value`` count as ``key`` under the question's tolerance? (See the module text.)"""
    if not (is_number(value) and is_number(key)):
        return False
    if _non_finite(value) or _non_finite(key):
        return value == key          # NaN equals nothing; an infinity only itself
    if isinstance(key, int) and tol == Tolerance():
        # Counts, shapes and receptive fields: exact unless the exam set a tolerance.
        return exact(value, key)
    return within(value, key, tol)


class Rounding(StrEnum):
    """How a decimal outside the tolerance stands to the key (``rounding``)."""

    NONE = "none"              # not the key to the places written (or not a decimal at all)
    ROUNDED = "rounded"        # the key rounded to the places written: 0.429 for 3/7
    CUT = "cut"                # the key cut off there (one unit short): 0.666 for 2/3


MIN_ROUNDED_DIGITS = 2         # "0.4" for 3/7 is no claim to the key's precision


def rounding(value: Any, key: Any) -> Rounding:
    """Whether ``value``, a decimal with d places (as its shortest repr writes it) and at least
    ``MIN_ROUNDED_DIGITS`` significant digits, is a non-integer ``key`` rounded to d places
    (within half a unit of the last place) or cut there (within one unit). Integer keys are
    counts: never rounded. Pure; non-finite values are never rounded."""
    if not (is_number(value) and is_number(key)) or isinstance(key, int) \
            or float(key).is_integer() or _non_finite(value) or _non_finite(key) \
            or isinstance(value, bool):
        return Rounding.NONE
    written = Decimal(repr(float(value)))
    places = -written.as_tuple().exponent
    if not 1 <= places <= 15 or len(written.as_tuple().digits) < MIN_ROUNDED_DIGITS:
        return Rounding.NONE
    unit = Fraction(1, 10 ** places)
    off = abs(Fraction(written) - Fraction(float(key)))
    if off <= unit / 2:
        return Rounding.ROUNDED
    return Rounding.CUT if off < unit and abs(Fraction(written)) < abs(Fraction(float(key))) \
        else Rounding.NONE
