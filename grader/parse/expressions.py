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


def read_expression(snippet: str, variables: Sequence[str]) -> tuple[str, str] | None:
    """(canonical string, evidence) for the right-hand end of the snippet, if it is a formula."""
    rhs = split_top(snippet, "=→")[-1]
    text = to_sympy_syntax(rhs)
    # Prose around a formula ("so alpha is sqrt(3/n) here"): keep the longest formula-like tail.
    for cut in [text] + [text[m.end():] for m in re.finditer(r"\b(?:is|be|equals|of)\b\s*", text)]:
        value = canonical(cut.strip(), variables)
        if value is not None and (not variables or re.search("|".join(map(re.escape, variables)), cut)):
            return value, cut.strip()
    return None
