"""Shared helpers for the parse tests: specs from corpus entries and tolerant value matching."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from grader.expr import equivalent
from grader.types import QuestionSpec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "snippets"
REVIEW_FLAGS = {"ambiguous", "unparsed", "low_confidence"}


def load(name: str) -> list[dict[str, Any]]:
    return json.loads((FIXTURES / name).read_text())["snippets"]


def spec_for(entry: dict[str, Any]) -> QuestionSpec:
    return QuestionSpec(label="x", number="x", part=None, kind=entry["kind"], points=1.0,
                        key=entry.get("key"), options=tuple(entry.get("options", ())),
                        outputs=tuple(entry.get("outputs", ())), variables=tuple(entry.get("variables", ())))


def matches(value: Any, expected: Any, kind: str = "", variables: tuple[str, ...] = ()) -> bool:
    if kind == "expression" and isinstance(expected, str):
        return isinstance(value, str) and equivalent(value, expected, variables) is True
    if isinstance(expected, bool) or expected is None:
        return value is expected or value == expected
    if isinstance(expected, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isclose(value, expected, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(expected, list):
        return isinstance(value, list) and len(value) == len(expected) \
            and all(matches(v, e) for v, e in zip(value, expected))
    if isinstance(expected, dict):
        return isinstance(value, dict) and value.keys() == expected.keys() \
            and all(matches(value[k], expected[k]) for k in expected)
    return value == expected
