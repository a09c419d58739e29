"""Expressions (``\\alpha = \\sqrt{\\frac{3}{n}}``, ``sqrt(3/n)``) → canonical SymPy strings."""
from __future__ import annotations

import re
from collections.abc import Sequence

from grader.expr import canonical
from grader.parse.final import split_top


def to_sympy_syntax(plain: str) -> str:
    text = plain.replace("×", "*").replace("·", "*").replace("{", "(").replace("}", ")")
    text = re.sub(r"\s+", " ", text).strip().rstrip(".,;:")
    return text


_NAME = re.compile(r"[A-Za-z_]\w*")
_FUNCTION_NAMES = ("sqrt", "log", "ln", "exp", "sin", "cos", "tan", "tanh", "pi")


def fold_case(text: str, variables: Sequence[str]) -> str:
    """Names in the wrong case, as handwriting is often read ("SQRT(3/N)" for sqrt(3/n)), are
    put in the case the exam declares, when that is unambiguous: a name that is not itself a
    declared variable becomes the one variable (or function) it equals ignoring case."""
    declared = set(variables)
    folded: dict[str, list[str]] = {}
    for name in (*variables, *_FUNCTION_NAMES):
        folded.setdefault(name.lower(), []).append(name)

    def fix(m: re.Match[str]) -> str:
        name = m.group(0)
        if name in declared or name in _FUNCTION_NAMES:
            return name
        matches = folded.get(name.lower(), [])
        return matches[0] if len(matches) == 1 else name
    return _NAME.sub(fix, text)


def read_expression(snippet: str, variables: Sequence[str]) -> tuple[str, str] | None:
    """(canonical string, evidence) for the right-hand end of the snippet, if it is a formula."""
    rhs = split_top(snippet, "=→")[-1]
    text = to_sympy_syntax(fold_case(rhs, variables) if variables else rhs)
    # Prose around a formula ("so alpha is sqrt(3/n) here"): keep the longest formula-like tail.
    for cut in [text] + [text[m.end():] for m in re.finditer(r"\b(?:is|be|equals|of)\b\s*", text)]:
        value = canonical(cut.strip(), variables)
        if value is not None and (not variables or re.search("|".join(map(re.escape, variables)), cut)):
            return value, cut.strip()
    return None
