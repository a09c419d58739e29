"""Parameter parsing shared by the solvers: numbers, integers, pairs, arrays, activations.

Exam definitions come from YAML, so a parameter may arrive as an int, a float, a rational
string such as ``"3/2"`` or a nested list mixing these. Everything is parsed here, once, with
an error that names the parameter, so the solvers themselves only see clean values.
All functions return new objects; caller data is never mutated.
"""
from __future__ import annotations

import math
import re
from fractions import Fraction
from numbers import Integral, Real
from typing import Any, Callable, Sequence

import numpy as np

# An exam question never needs more than this many output entries; a larger request is
# almost surely a typo (e.g. stride 1000 in a transposed convolution) and would only
# exhaust the worker's memory. The same bound applies to intermediate arrays (a padded input,
# an attention score matrix).
MAX_OUTPUT_ENTRIES = 10_000_000
# Solvers run in the web process at exam upload: their work is bounded by the size of what
# they compute, not only by the size of their inputs (a 70×70 kernel with padding 1580 is
# small input and 5·10^10 multiply-adds). 10^8 multiply-adds take ~0.2 s here.
MAX_WORK = 100_000_000
# Layers in one receptive-field or parameter-count question.
MAX_LAYERS = 1000
# Numbers in parameters: sizes, counts and strides of exam questions are far below this; a
# longer literal ("1e999999999", a 5000-digit integer) would make exact arithmetic stall.
MAX_MAGNITUDE = 10 ** 15
MAX_NUMBER_TEXT = 64
_EXPONENT = re.compile(r"[eE]\s*([+-]?\d+)\s*$")


class SolverError(ValueError):
    """A solver was called with parameters it cannot use; the message says which and why."""


def parse_fraction(value: Any, name: str) -> Fraction:
    """Parse a real number exactly: int, float, Fraction, numpy scalar or a string like "3/2"."""
    if isinstance(value, (bool, np.bool_)):
        raise SolverError(f"{name}: expected a number, got a boolean ({value})")
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Fraction):
        return _bounded(value, name)
    if isinstance(value, Integral):
        number = int(value)
        if abs(number) > MAX_MAGNITUDE:
            try:
                digits = len(str(abs(number)))
            except ValueError:  # more than 4,300 digits: Python refuses to print it
                digits = int(abs(number).bit_length() * math.log10(2)) + 1
            raise SolverError(f"{name}: a number of {digits} digits; at most "
                              f"{len(str(MAX_MAGNITUDE)) - 1} digits are accepted")
        return Fraction(number)
    if isinstance(value, Real):
        number = float(value)
        if not math.isfinite(number):
            raise SolverError(f"{name}: expected a finite number, got {number}")
        return _bounded(Fraction(number), name)
    if isinstance(value, str):
        text = value.strip().replace("−", "-")
        # Fraction("1e999999999") builds a billion-digit integer: refuse such text first.
        exponent = _EXPONENT.search(text)
        if len(text) > MAX_NUMBER_TEXT or (exponent and abs(int(exponent.group(1))) > 308):
            raise SolverError(f"{name}: {_short(text)} is too long or too large for a number")
        try:
            return _bounded(Fraction(text), name)
        except (ValueError, ZeroDivisionError):
            raise SolverError(
                f"{name}: {value!r} is not a number (write e.g. 0.5, -2 or \"3/2\")") from None
    raise SolverError(f"{name}: expected a number, got {type(value).__name__}")


def _short(text: str) -> str:
    return repr(text) if len(text) <= 24 else f"{text[:12]!r}… ({len(text)} characters)"


def _bounded(value: Fraction, name: str) -> Fraction:
    if abs(value) > MAX_MAGNITUDE:
        raise SolverError(f"{name}: {float(value):.3g} is beyond the accepted range "
                          f"(magnitude at most 1e15)")
    return value


def parse_number(value: Any, name: str) -> float:
    """A finite real number as float (rational strings accepted)."""
    return float(parse_fraction(value, name))


def parse_int(value: Any, name: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """An integer (3, 3.0 and "3" are accepted; 2.5 is not), optionally bounded."""
    fraction = parse_fraction(value, name)
    if fraction.denominator != 1:
        raise SolverError(f"{name}: expected a whole number, got {value!r}")
    number = int(fraction)
    if minimum is not None and number < minimum:
        bound = "positive" if minimum == 1 else f">= {minimum}"
        raise SolverError(f"{name}: must be {bound}, got {number}")
    if maximum is not None and number > maximum:
        raise SolverError(f"{name}: at most {maximum}, got {number}")
    return number


def parse_pair(value: Any, name: str, *, minimum: int | None = None) -> tuple[int, int]:
    """An int applied to both spatial axes, or a (height, width) pair, as PyTorch accepts."""
    if isinstance(value, (list, tuple, np.ndarray)):
        items = list(value)
        if len(items) != 2:
            raise SolverError(f"{name}: expected one number or a (height, width) pair, "
                              f"got {len(items)} values")
        return (parse_int(items[0], f"{name}[0]", minimum=minimum),
                parse_int(items[1], f"{name}[1]", minimum=minimum))
    number = parse_int(value, name, minimum=minimum)
    return number, number


def parse_bool(value: Any, name: str) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "false", "no",
                                                          "off"):
        return value.strip().lower() in ("true", "yes", "on")
    raise SolverError(f"{name}: expected true or false, got {value!r}")


def _rationals_to_floats(value: Any, name: str) -> Any:
    """Nested lists with rational strings -> nested lists of floats (numbers left as is)."""
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (list, tuple)):
        return [_rationals_to_floats(item, name) for item in value]
    if isinstance(value, (str, Fraction, bool, np.bool_)):
        return parse_number(value, name)
    return value


def to_array(value: Any, name: str, *, ndims: Sequence[int] | None = None) -> np.ndarray:
    """A new float64 array from a number, nested list or array; checks its rank."""
    if value is None:
        raise SolverError(f"{name}: required")
    try:
        array = np.array(_rationals_to_floats(value, name), dtype=np.float64)
    except (ValueError, TypeError) as exc:
        if "inhomogeneous" in str(exc) or "sequence" in str(exc):
            raise SolverError(
                f"{name}: rows have different lengths (not a rectangular array)") from None
        raise SolverError(f"{name}: not an array of numbers ({exc})") from None
    if ndims is not None and array.ndim not in ndims:
        names = [f"{d}-D" for d in ndims]
        allowed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
        raise SolverError(f"{name}: expected a {allowed} array, got shape "
                          f"{shape_text(array.shape)}")
    if array.size and not np.all(np.isfinite(array)):
        raise SolverError(f"{name}: contains NaN or infinity")
    return array


def shape_text(shape: Sequence[int]) -> str:
    """(5, 6) -> "5×6"; () -> "scalar"."""
    return "×".join(str(int(d)) for d in shape) if len(shape) else "scalar"


def check_output_size(shape: Sequence[int], what: str, *, array: str = "the output") -> None:
    entries = math.prod(int(d) for d in shape)
    if entries > MAX_OUTPUT_ENTRIES:
        raise SolverError(f"{what}: {array} would have {entries} entries "
                          f"(shape {shape_text(shape)}, the limit is {MAX_OUTPUT_ENTRIES:,}); "
                          f"check the parameters")


def check_work(operations: int, what: str, how: str) -> None:
    """Refuse a computation of more than MAX_WORK multiply-adds (``how`` says whence)."""
    if operations > MAX_WORK:
        raise SolverError(f"{what}: {operations:.2e} multiply-adds ({how}); the limit is "
                          f"{MAX_WORK:.0e}; check the sizes, padding and stride")


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # Split by sign so that exp never overflows for large |z|.
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    positive = z >= 0
    out[positive] = 1.0 / (1.0 + np.exp(-z[positive]))
    exp_z = np.exp(z[~positive])
    out[~positive] = exp_z / (1.0 + exp_z)
    return out


def _identity(z: np.ndarray) -> np.ndarray:
    return np.array(z, dtype=np.float64)


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "none": _identity,
    "identity": _identity,
    "linear": _identity,
    "relu": _relu,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
}


def activation_name(value: Any, name: str = "activation",
                    allowed: Sequence[str] = tuple(ACTIVATIONS)) -> str:
    """Normalise an activation name ("ReLU" -> "relu", None -> "none") and check it."""
    key = "none" if value is None else str(value).strip().lower()
    if key not in allowed:
        raise SolverError(f"{name}: unknown activation {value!r}; known: {', '.join(allowed)}")
    return key


def apply_activation(z: np.ndarray, key: str) -> np.ndarray:
    return ACTIVATIONS[key](z)
