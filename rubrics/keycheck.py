"""Answer-key verification: compare a solver's key with the literal key an instructor wrote.

Pure Python + NumPy (no Django). ``compare_key`` handles numbers, lists/tuples, matrices
(shape first, then entry by entry) and dicts (per key). Numbers are compared by
``grader.compare.numbers_match``, the policy grading uses: the literal must count as the
computed key under the question's tolerance (so a literal that a student could write for full
marks is never reported as a mismatch). Rational strings ("3/2") in a literal are read as
numbers by ``grader.compare.read_number``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from grader.compare import numbers_match, read_number
from grader.types import Tolerance

Index = tuple  # 1-based positions (ints) and/or dict keys (str), outermost first
MAX_LISTED = 5  # mismatches spelled out in `detail`; all are in `mismatches`


@dataclass(frozen=True)
class KeyCheck:
    ok: bool
    detail: str
    mismatches: tuple[tuple[Index, Any, Any], ...] = ()


class _Uncomparable(Exception):
    """Structures that cannot be compared entry by entry (the message says why)."""


def compare_key(computed: Any, literal: Any, *, abs_tol: float = 1e-9,
                rel_tol: float = 1e-6) -> KeyCheck:
    """Does the computed key agree with the literal one? Detail text names the differences,
    e.g. "row 5, column 4: computed 0.2244, given 0.1244"."""
    mismatches: list[tuple[Index, Any, Any]] = []
    try:
        entries = _compare(computed, literal, (), abs_tol, rel_tol, mismatches)
    except _Uncomparable as exc:
        return KeyCheck(False, str(exc), tuple(mismatches))
    if not mismatches:
        noun = "entry" if entries == 1 else "entries"
        return KeyCheck(True, f"matches ({entries} {noun})")
    listed = "; ".join(_describe(index, c, g) for index, c, g in mismatches[:MAX_LISTED])
    more = len(mismatches) - MAX_LISTED
    if more > 0:
        listed += f"; and {more} more"
    verb = "differs" if len(mismatches) == 1 else "differ"
    noun = "entry" if entries == 1 else "entries"
    return KeyCheck(False, f"{len(mismatches)} of {entries} {noun} {verb}: {listed}",
                    tuple(mismatches))


def _is_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _compare(computed: Any, literal: Any, index: Index, abs_tol: float, rel_tol: float,
             out: list) -> int:
    """Appends mismatches to ``out``; returns how many leaf entries were compared."""
    if isinstance(computed, Mapping) or isinstance(literal, Mapping):
        return _compare_dicts(computed, literal, index, abs_tol, rel_tol, out)
    if _is_sequence(computed) or _is_sequence(literal):
        return _compare_arrays(computed, literal, index, abs_tol, rel_tol, out)
    a, b = read_number(computed), read_number(literal)
    if a is None or b is None:
        # Non-numeric keys (option labels, words): exact match after trimming.
        same = str(computed).strip() == str(literal).strip()
        if not same:
            out.append((index, computed, literal))
        return 1
    # The computed key is the reference, as it is for a student's answer.
    if not numbers_match(b, a, Tolerance(abs=abs_tol, rel=rel_tol)):
        out.append((index, a, b))
    return 1


def _compare_dicts(computed: Any, literal: Any, index: Index, abs_tol: float, rel_tol: float,
                   out: list) -> int:
    where = f" at {_position(index)}" if index else ""
    if not (isinstance(computed, Mapping) and isinstance(literal, Mapping)):
        raise _Uncomparable(f"type mismatch{where}: computed {_kind(computed)}, given "
                            f"{_kind(literal)}")
    missing = [k for k in literal if k not in computed]
    if missing:
        raise _Uncomparable(f"the given key names {', '.join(map(str, missing))}{where}, which "
                            f"the solver does not produce (it has "
                            f"{', '.join(map(str, computed))})")
    # Only the names the literal key states are checked: a solver returns more values
    # (intermediates) than an exam part asks for.
    return sum(_compare(computed[k], literal[k], index + (str(k),), abs_tol, rel_tol, out)
               for k in literal)


def _nested_shape(value: Any, index: Index) -> tuple[int, ...]:
    """Shape of a nested list, or a clear error naming the ragged row."""
    if isinstance(value, np.ndarray):
        return value.shape
    if not isinstance(value, (list, tuple)):
        return ()
    shapes = [_nested_shape(item, index) for item in value]
    if shapes and any(s != shapes[0] for s in shapes):
        lengths = [s[0] if s else 1 for s in shapes]
        common = max(set(lengths), key=lengths.count)
        odd = next(i for i, n in enumerate(lengths, start=1) if n != common)
        raise _Uncomparable(f"the given key is ragged{_at(index)}: row {odd} has "
                            f"{lengths[odd - 1]} entries, the others {common}")
    return (len(value),) + (shapes[0] if shapes else ())


def _compare_arrays(computed: Any, literal: Any, index: Index, abs_tol: float, rel_tol: float,
                    out: list) -> int:
    try:
        shape_c = _nested_shape(computed, index)
    except _Uncomparable as exc:
        raise _Uncomparable(str(exc).replace("the given key", "the computed key")) from None
    shape_l = _nested_shape(literal, index)
    if shape_c != shape_l:
        raise _Uncomparable(f"shape mismatch{_at(index)}: computed {_shape(shape_c)}, given "
                            f"{_shape(shape_l)}")
    flat_c = np.asarray(computed, dtype=object).reshape(-1) if shape_c else [computed]
    flat_l = np.asarray(literal, dtype=object).reshape(-1) if shape_l else [literal]
    positions = np.ndindex(*shape_c) if shape_c else [()]
    count = 0
    for position, c, g in zip(positions, flat_c, flat_l):
        count += _compare(c, g, index + tuple(p + 1 for p in position), abs_tol, rel_tol, out)
    return count


def _at(index: Index) -> str:
    return f" at {_position(index)}" if index else ""


def _shape(shape: tuple[int, ...]) -> str:
    return "×".join(map(str, shape)) if shape else "a single value"


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "named values"
    if _is_sequence(value):
        return "a list"
    return "a single value"


def _position(index: Index) -> str:
    """(5, 4) -> "row 5, column 4"; ("h2",) -> "h2"; ("weights", 5, 4) -> "weights row 5,
    column 4"."""
    names = [str(i) for i in index if isinstance(i, str)]
    numbers = [i for i in index if not isinstance(i, str)]
    if len(numbers) == 0:
        place = ""
    elif len(numbers) == 1:
        place = f"entry {numbers[0]}"
    elif len(numbers) == 2:
        place = f"row {numbers[0]}, column {numbers[1]}"
    else:
        place = "index (" + ", ".join(map(str, numbers)) + ")"
    return " ".join(part for part in (".".join(names), place) if part)


def _describe(index: Index, computed: Any, literal: Any) -> str:
    where = _position(index)
    prefix = f"{where}: " if where else ""
    return f"{prefix}computed {_format(computed, literal)}, given {_format(literal, computed)}"


def _format(value: Any, other: Any) -> str:
    """At least 4 significant digits, and enough to show the actual size of the difference
    (0.123456 vs 0.123446 must not print as 0.1235 vs 0.1234)."""
    a, b = read_number(value), read_number(other)
    if a is None:
        return repr(value)
    if isinstance(a, int) or not math.isfinite(a):
        return str(a)
    digits = 4
    if b is not None and math.isfinite(float(b)) and a != b:
        scale = max(abs(a), abs(float(b)))
        relative = abs(a - float(b)) / scale
        digits = min(17, max(4, math.ceil(-math.log10(relative)) + 1))
    return f"{a:.{digits}g}"
