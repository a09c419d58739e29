"""Answer keys: computing solver-backed keys and checking the instructor's literal keys.

Pure Python (no Django). A solver-backed question is recomputed on every load; when a literal
``answer`` is also given, both must agree within the question's tolerance, else the question
gets a ``mismatch`` entry and the exam cannot be published until it is fixed or the
instructor overrides that question.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from grader.types import QuestionSpec
from rubrics.definition import DefinitionError, ExamDefinition

STATUS_OK = "ok"              # solver and literal agree
STATUS_COMPUTED = "computed"  # solver only
STATUS_LITERAL = "literal"    # literal only (nothing to check against)
STATUS_MISMATCH = "mismatch"
STATUS_NONE = "none"          # text questions: no key


@dataclass(frozen=True)
class KeyEntry:
    label: str
    status: str
    key: Any = None                 # the key grading uses (computed when a solver is given)
    computed: Any = None
    literal: Any = None
    detail: str = ""
    mismatches: tuple = ()

    def as_dict(self) -> dict:
        return {"label": self.label, "status": self.status, "key": self.key,
                "computed": self.computed, "literal": self.literal, "detail": self.detail,
                "mismatches": [list(m) for m in self.mismatches]}


@dataclass(frozen=True)
class KeyReport:
    entries: tuple[KeyEntry, ...] = field(default_factory=tuple)

    @property
    def mismatched(self) -> list[str]:
        return [e.label for e in self.entries if e.status == STATUS_MISMATCH]

    def as_list(self) -> list[dict]:
        return [e.as_dict() for e in self.entries]


def key_from_result(spec: QuestionSpec, result: Any) -> Any:
    """Turn a solver result into the JSON key for this question's kind."""
    from rubrics.solvers import jsonable

    where = f"question {spec.label}, field 'outputs'"
    if isinstance(result, Mapping):
        names = list(result)
        if spec.kind == "values":
            picked = spec.outputs or tuple(names)
            missing = [n for n in picked if n not in result]
            if missing:
                raise DefinitionError(f"{where}: solver {spec.solver} has no output "
                                      f"{', '.join(missing)} (it has {', '.join(map(str, names))})")
            return {n: _integral(jsonable(result[n])) for n in picked}
        if spec.outputs:
            if len(spec.outputs) != 1 or spec.outputs[0] not in result:
                raise DefinitionError(f"{where}: name one of {', '.join(map(str, names))}")
            result = result[spec.outputs[0]]
        elif "value" in result:
            result = result["value"]
        else:
            raise DefinitionError(f"{where}: solver {spec.solver} returns several values "
                                  f"({', '.join(map(str, names))}); pick one with outputs")
    value = _integral(jsonable(result))
    if spec.kind == "numeric":
        if isinstance(value, list):
            flat = _flatten(value)
            if len(flat) != 1:
                raise DefinitionError(f"question {spec.label}: solver {spec.solver} returned "
                                      f"{len(flat)} numbers for a numeric question")
            value = flat[0]
        return value
    if spec.kind == "shape":
        if not isinstance(value, list):
            raise DefinitionError(f"question {spec.label}: solver {spec.solver} did not return a shape")
        return [int(v) for v in value]
    return value


def _integral(value: Any) -> Any:
    """A key whose numbers are all integer-valued floats (e.g. a convolution of integers)
    becomes ints, so it prints as the exam does and compares exactly unless the question sets
    a tolerance. A key with any fractional entry is left alone."""
    leaves = _flatten(value)
    if not leaves or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                             and float(v).is_integer() and abs(v) < 2**53 for v in leaves):
        return value
    return _to_int(value)


def _to_int(value: Any) -> Any:
    return [_to_int(v) for v in value] if isinstance(value, list) else int(value)


def _flatten(value: Any) -> list:
    if isinstance(value, list):
        return [x for item in value for x in _flatten(item)]
    return [value]


def run_solver(spec: QuestionSpec, params: Mapping[str, Any] | None = None,
               overrides: Mapping[str, Any] | None = None) -> Any:
    from rubrics.solvers import SOLVERS, SolverError, solve

    if spec.solver not in SOLVERS:
        raise DefinitionError(f"question {spec.label}, field 'solver': unknown solver "
                              f"{spec.solver!r} (known: {', '.join(sorted(SOLVERS))})")
    params = dict(spec.params if params is None else params)
    # An exam may fix intermediate values itself (seed 002 6.d gives h1..h3): `params.overrides`.
    merged = {**(params.pop("overrides", None) or {}), **(overrides or {})}
    try:
        result = solve(spec.solver, overrides=merged or None, **params)
    except SolverError as exc:
        raise DefinitionError(f"question {spec.label}, field 'params': {exc}") from None
    except TypeError as exc:
        raise DefinitionError(f"question {spec.label}, field 'params': {exc}") from None
    return key_from_result(spec, result)


def recompute_with(spec: QuestionSpec, carried: Mapping[str, Any]) -> Any:
    """Error-carried-forward: the key recomputed with the student's earlier values.

    A carried name that is one of the solver's params replaces that param; any other name is
    passed to the solver as an intermediate-value override (e.g. ``h1`` for an RNN).
    """
    params = dict(spec.params or {})
    overrides = {}
    for name, value in carried.items():
        if name in params:
            params[name] = value
        else:
            overrides[name] = value
    return run_solver(spec, params, overrides or None)


def check_keys(defn: ExamDefinition, overridden: frozenset[str] = frozenset()) -> tuple[ExamDefinition, KeyReport]:
    """Compute every key; return the definition with keys filled in, and the report.

    ``overridden`` labels keep their literal key despite a mismatch (instructor's decision).
    """
    from rubrics.keycheck import compare_key

    entries: list[KeyEntry] = []
    specs: list[QuestionSpec] = []
    for spec in defn.questions:
        literal = defn.literal_keys.get(spec.label)
        has_literal = spec.label in defn.literal_keys
        if spec.solver:
            computed = run_solver(spec)
            if has_literal and spec.kind != "expression":
                check = compare_key(computed, literal, abs_tol=spec.tolerance.abs,
                                    rel_tol=spec.tolerance.rel)
                if check.ok:
                    entry = KeyEntry(spec.label, STATUS_OK, computed, computed, literal)
                else:
                    use = literal if spec.label in overridden else computed
                    entry = KeyEntry(spec.label, STATUS_MISMATCH, use, computed, literal,
                                     check.detail, tuple(check.mismatches))
            else:
                entry = KeyEntry(spec.label, STATUS_COMPUTED, computed, computed, literal)
        elif has_literal:
            entry = KeyEntry(spec.label, STATUS_LITERAL, literal, None, literal)
        else:
            entry = KeyEntry(spec.label, STATUS_NONE)
        entries.append(entry)
        specs.append(replace(spec, key=entry.key))
    return replace(defn, questions=tuple(specs)), KeyReport(tuple(entries))
