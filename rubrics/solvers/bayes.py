"""Naive Bayes from a small table of categorical data, computed exactly with fractions.

Result keys follow the exams' notation so that `outputs:` can pick them:
  "p(y=0)"                 prior of a class
  "p(x1=0|y=0)"            likelihood of one feature value given a class
  "p(instance 7|y=0)"      product of the likelihoods of a table row (its features)
  "p(y=0|instance 7)"      posterior of a table row
  "p(x1=1,x2=0|y=0)", "p(y=0|x1=1,x2=0)"  the same for an instance given by its values
Values are floats computed from exact fractions (3/8 -> 0.375).
"""
from __future__ import annotations

import re
from fractions import Fraction
from typing import Any, Mapping, Sequence

from ._params import SolverError, parse_fraction

_INSTANCE_COLUMNS = ("instance", "id", "#", "no", "index")


def _label(value: Any) -> str:
    # YAML may give 0, 0.0 or "0" for the same category; print integral numbers as ints.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_table(columns: Sequence[Any] | None, rows: Sequence[Any] | None
                ) -> tuple[list[str], list[dict[str, str]]]:
    if not isinstance(rows, (list, tuple)) or not rows:
        raise SolverError("naive_bayes: rows must be a non-empty list")
    if all(isinstance(r, Mapping) for r in rows):
        names = [str(c) for c in (columns or rows[0].keys())]
        table = []
        for index, row in enumerate(rows, start=1):
            missing = [c for c in names if c not in {str(k) for k in row}]
            if missing:
                raise SolverError(f"naive_bayes: row {index} has no {', '.join(missing)}")
            table.append({str(k): _label(v) for k, v in row.items()})
        return names, table
    if not columns:
        raise SolverError("naive_bayes: rows given as lists need 'columns' (e.g. [y, x1, x2])")
    names = [str(c) for c in columns]
    if len(set(names)) != len(names):
        raise SolverError("naive_bayes: column names must be unique")
    table = []
    for index, row in enumerate(rows, start=1):
        if not isinstance(row, (list, tuple)) or len(row) != len(names):
            raise SolverError(f"naive_bayes: row {index} must have {len(names)} values "
                              f"({', '.join(names)})")
        table.append({name: _label(v) for name, v in zip(names, row)})
    return names, table


def _sorted_labels(labels: set[str]) -> list[str]:
    def key(label: str) -> tuple[int, Any]:
        try:
            return 0, Fraction(label)
        except (ValueError, ZeroDivisionError):
            return 1, label
    return sorted(labels, key=key)


def naive_bayes(rows: Sequence[Any], columns: Sequence[Any] | None = None, target: str = "y",
                features: Sequence[str] | None = None, instances: Sequence[Any] | None = None,
                alpha: Any = 0, *, overrides: Mapping[str, Any] | None = None
                ) -> dict[str, float]:
    """Priors, per-feature likelihoods and posteriors of a categorical Naive Bayes model.

    rows: a list of lists (with ``columns``) or of mappings column -> value. target: the
    class column. features: default all columns except the target and an instance-number
    column (named Instance/ID). instances: instance numbers (the Instance column, else the
    1-based row number) and/or mappings of feature values; default all rows. alpha: Laplace
    smoothing (0 = none). overrides: priors or likelihoods given by the student, by key.
    """
    names, table = _read_table(columns, rows)
    if target not in names:
        raise SolverError(f"naive_bayes: target column {target!r} not in {', '.join(names)}")
    id_column = next((c for c in names if c.strip().lower() in _INSTANCE_COLUMNS), None)
    if features is None:
        features = [c for c in names if c not in (target, id_column)]
    features = [str(f) for f in features]
    unknown = [f for f in features if f not in names or f == target]
    if unknown or not features:
        raise SolverError(f"naive_bayes: features must be columns other than the target; "
                          f"bad: {', '.join(unknown) or '(none given)'}")
    smoothing = parse_fraction(alpha, "alpha")
    if smoothing < 0:
        raise SolverError("naive_bayes: alpha must be >= 0")

    classes = _sorted_labels({row[target] for row in table})
    values = {f: _sorted_labels({row[f] for row in table}) for f in features}
    model: dict[str, Fraction] = {}
    for cls in classes:
        members = [row for row in table if row[target] == cls]
        model[f"p({target}={cls})"] = Fraction(len(members), len(table))
        for f in features:
            for value in values[f]:
                hits = sum(1 for row in members if row[f] == value)
                model[f"p({f}={value}|{target}={cls})"] = (
                    (hits + smoothing) / (len(members) + smoothing * len(values[f])))
    model = _apply_overrides(model, overrides, target)

    result: dict[str, float] = {key: float(p) for key, p in model.items()}
    for name, assignment in _instances(instances, table, id_column, features):
        joint = {}
        for cls in classes:
            likelihood = Fraction(1)
            for f in features:
                # A value never seen in training has probability 0 without smoothing.
                likelihood *= model.get(f"p({f}={assignment[f]}|{target}={cls})", Fraction(0))
            result[f"p({name}|{target}={cls})"] = float(likelihood)
            joint[cls] = model[f"p({target}={cls})"] * likelihood
        evidence = sum(joint.values())
        if evidence == 0:
            raise SolverError(f"naive_bayes: {name} has probability 0 under every class; "
                              f"use Laplace smoothing (alpha: 1)")
        for cls in classes:
            result[f"p({target}={cls}|{name})"] = float(joint[cls] / evidence)
    return result


def _apply_overrides(model: dict[str, Fraction], overrides: Mapping[str, Any] | None,
                     target: str) -> dict[str, Fraction]:
    updated = dict(model)
    for key, value in (overrides or {}).items():
        compact = re.sub(r"\s+", "", str(key))
        if compact not in updated:
            raise SolverError(f"override {key!r}: not a prior or likelihood of this model "
                              f"(e.g. 'p({target}=0)', 'p(x1=0|{target}=0)')")
        probability = parse_fraction(value, f"overrides[{key!r}]")
        if not 0 <= probability <= 1:
            raise SolverError(f"override {key!r}: a probability must be in [0, 1]")
        updated[compact] = probability
    return updated


def _instances(instances: Sequence[Any] | None, table: list[dict[str, str]],
               id_column: str | None, features: list[str]):
    """(display name, feature assignment) for every requested instance."""
    ids = [row[id_column] if id_column else str(i) for i, row in enumerate(table, start=1)]
    wanted = list(ids) if instances is None else instances
    if not isinstance(wanted, (list, tuple)):
        raise SolverError("naive_bayes: instances must be a list of instance numbers or "
                          "mappings of feature values")
    for item in wanted:
        if isinstance(item, Mapping):
            missing = [f for f in features if f not in {str(k) for k in item}]
            if missing:
                raise SolverError(f"naive_bayes: instance {dict(item)} lacks {', '.join(missing)}")
            assignment = {f: _label(item[f]) for f in features}
            yield ",".join(f"{f}={assignment[f]}" for f in features), assignment
            continue
        label = _label(item)
        if label not in ids:
            raise SolverError(f"naive_bayes: no instance {label!r} in the table "
                              f"(instances: {', '.join(ids)})")
        row = table[ids.index(label)]
        yield f"instance {label}", {f: row[f] for f in features}
