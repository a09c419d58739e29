"""Named values (``a = 70, b = 24, e = f = 0``; ``h_2 = 0``; ``dh3/dV = 2/3``).

Names are compared in a normal form (no spaces, braces, backslashes, underscores, parentheses;
``\\partial`` → d) so ``h_{2}``, ``h_2`` and ``h2`` are one name, and
``\\frac{\\partial h_3}{\\partial V}`` is ``dh3/dV``. Each name takes the value at the end of
the last chain it heads; a chain's middle names (``e = f = 0``) are aliases of the same value."""
from __future__ import annotations

import re
from collections.abc import Sequence

from grader.parse.final import CONCLUSION, LITERAL, split_top, statements
from grader.parse.numbers import arithmetic_runs


def norm_name(name: str) -> str:
    name = name.replace("\\partial", "d").replace("∂", "d")
    # "/" too: an exam may name dh3/dV as dh3_dV (YAML keys), students write dh3/dV.
    return re.sub(r"[\s{}()\\_$*/]|\bmathrm|\btext", "", name)


def _value_of(part: str) -> tuple[int | float, str] | None:
    """A chain step's value, only if the step is nothing but arithmetic (``ReLU(6)`` is not)."""
    stripped = part.strip().rstrip(".,;")
    runs = arithmetic_runs(stripped)
    # "= 0 since the input is negative" reads as 0; "= 3 \cdot x_2" (a name inside) does not.
    if len(runs) == 1 and runs[0].start == 0 and not re.search(r"[A-Za-z]\w*\s*[-+*/^×·]|[-+*/^×·]\s*[A-Za-z]",
                                                               stripped[runs[0].end:]):
        return runs[0].value, stripped[:runs[0].end]
    return None


def _name_at_end(lhs: str, names: dict[str, str]) -> str | None:
    compact = norm_name(lhs)
    for n, original in sorted(names.items(), key=lambda kv: -len(kv[0])):
        if compact.endswith(n):
            before = compact[:-len(n)]
            if not before or not before[-1].isalnum():
                return original
    lowered = {k.lower(): v for k, v in names.items()}
    if len(lowered) == len(names):  # case-insensitive only when that is still unambiguous
        for n, original in lowered.items():
            if compact.lower().endswith(n) and (len(compact) == len(n) or not compact[-len(n) - 1].isalnum()):
                return original
    return None


def read_values(plain: str, outputs: Sequence[str]) -> tuple[dict[str, int | float], dict[str, list], list[str]]:
    """({name: final value}, {name: every value claimed in a conclusion}, evidence snippets)."""
    names = {norm_name(o): o for o in outputs}
    found: dict[str, int | float] = {}
    claims: dict[str, list] = {}
    evidence: list[str] = []
    for text in (piece for whole, _ in statements(plain) for piece in _assignments(whole)):
        parts = split_top(text, "=")
        if len(parts) < 2:
            continue
        value = None
        for part in reversed(parts[1:]):
            value = _value_of(part)
            if value is not None:
                break
        if value is None:
            continue
        # Searched only for statements that assign a value (most do not): a case-insensitive
        # scan per statement was ~1 ms of the i2dl sample submission under the profiler.
        # A bare "name = number" is a claim, as a conclusion is: "a = 3, a = 4" states two
        # values for a, not work that a later step supersedes ("a = 3 + 1 = 4").
        concluded = bool(CONCLUSION.search(text)) or (len(parts) == 2 and LITERAL.fullmatch(parts[1]))
        targets = [_name_at_end(parts[0], names)] + [
            names.get(norm_name(p)) or _exact_ci(norm_name(p), names) for p in parts[1:-1]]
        # "a = 3 = 5": a number said to equal another number is two claims.
        before = _value_of(parts[-2]) if len(parts) >= 3 and LITERAL.fullmatch(parts[-2]) \
            and LITERAL.fullmatch(parts[-1]) else None
        for t in filter(None, targets):
            found[t] = value[0]
            if before is not None:
                claims.setdefault(t, []).append(before[0])
            if concluded or before is not None:
                claims.setdefault(t, []).append(value[0])
            evidence.append(text.strip())
    return found, claims, evidence


# "dh3/dV = 2/3, dh3/dW = 1": a comma followed by another "name =" starts a new assignment
# (a thousands separator, "10,000", is not followed by "=").
_NEXT_ASSIGNMENT = re.compile(r"[,;]\s*(?=[^,;=\n]*[A-Za-z][^,;=\n]*=(?!=))")


def _assignments(text: str) -> list[str]:
    return [piece for piece in _NEXT_ASSIGNMENT.split(text) if piece.strip()]


def _exact_ci(compact: str, names: dict[str, str]) -> str | None:
    matches = [v for k, v in names.items() if k.lower() == compact.lower()]
    return matches[0] if len(matches) == 1 else None
