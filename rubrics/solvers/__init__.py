"""NumPy reference solvers for exam answer keys (pure Python: no Django, no torch).

Public API (contract):
    SOLVERS      name -> solver function
    OVERRIDABLE  name -> override names the solver accepts for error-carried-forward
    solve(name, *, overrides=None, **params)  -> number | tuple | ndarray | dict of those
    jsonable(value)                           -> the same value as JSON-friendly Python data
    SolverError  (a ValueError) for unknown solvers and bad parameters

Parameters come from the exam YAML: numbers may be rational strings ("3/2") anywhere a number
is expected; integer results (shapes, counts, receptive fields) are Python ints.

Override names in OVERRIDABLE are literal ("scores") or templates: "h{t}" stands for h1, h2,
...; "<...>" stands for any name, e.g. "p(<feature>=<value>|<target>=<class>)" matches
"p(x1=0|y=1)". The solver then checks the name against the actual problem.
"""
from __future__ import annotations

import inspect
import re
from fractions import Fraction
from typing import Any, Callable, Mapping

import numpy as np

from ._params import SolverError
from .bayes import naive_bayes
from .conv import (conv2d, conv2d_output_shape, conv_transpose2d, conv_weight_shape, pool2d,
                   pool2d_output_shape, receptive_field)
from .counts import param_count, uniform_init_bound
from .dense import batchnorm_forward, linear_forward, self_attention, softmax
from .rnn import rnn_bptt, rnn_forward, spectral_radius

__all__ = ["SOLVERS", "OVERRIDABLE", "SolverError", "solve", "jsonable"]

SOLVERS: dict[str, Callable[..., Any]] = {
    "conv2d": conv2d,
    "conv_transpose2d": conv_transpose2d,
    "conv2d_output_shape": conv2d_output_shape,
    "conv_weight_shape": conv_weight_shape,
    "pool2d": pool2d,
    "pool2d_output_shape": pool2d_output_shape,
    "receptive_field": receptive_field,
    "param_count": param_count,
    "uniform_init_bound": uniform_init_bound,
    "softmax": softmax,
    "self_attention": self_attention,
    "linear_forward": linear_forward,
    "batchnorm_forward": batchnorm_forward,
    "rnn_forward": rnn_forward,
    "rnn_bptt": rnn_bptt,
    "spectral_radius": spectral_radius,
    "naive_bayes": naive_bayes,
}

OVERRIDABLE: dict[str, tuple[str, ...]] = {name: () for name in SOLVERS}
OVERRIDABLE.update({
    "rnn_forward": ("h{t}",),
    "rnn_bptt": ("h{t}",),
    "self_attention": ("q", "k", "v", "scores", "weights"),
    "batchnorm_forward": ("mean", "var", "x_hat"),
    "naive_bayes": ("p(<target>=<class>)", "p(<feature>=<value>|<target>=<class>)"),
})


def _template_pattern(template: str) -> re.Pattern[str]:
    pattern = re.escape(template).replace(r"\{t\}", "[1-9][0-9]*")
    return re.compile(re.sub(r"<[a-z]+>", "[^=|()]+", pattern))


def _check_overrides(name: str, overrides: Mapping[str, Any]) -> None:
    accepted = OVERRIDABLE.get(name, ())
    if not accepted:
        raise SolverError(f"solver {name}: accepts no overrides (got "
                          f"{', '.join(map(str, overrides))})")
    patterns = [_template_pattern(t) for t in accepted]
    for key in overrides:
        compact = re.sub(r"\s+", "", str(key))
        if not any(p.fullmatch(compact) for p in patterns):
            raise SolverError(f"solver {name}: unknown override {key!r}; accepted: "
                              f"{', '.join(accepted)}")


def _bind(name: str, function: Callable[..., Any], params: dict[str, Any]) -> None:
    signature = inspect.signature(function)
    try:
        signature.bind(**params)
    except TypeError as exc:
        accepted = [p.name for p in signature.parameters.values()
                    if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "overrides"]
        required = [p.name for p in signature.parameters.values()
                    if p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        raise SolverError(f"solver {name}: {exc} (parameters: {', '.join(accepted)}; "
                          f"required: {', '.join(required) or 'none'})") from None


def solve(name: str, *, overrides: Mapping[str, Any] | None = None, **params: Any) -> Any:
    """Run solver ``name`` with ``params`` (as in the exam YAML).

    overrides: intermediate values taken from the student's own work (error carried
    forward); the solver recomputes everything downstream of them. Each solver accepts the
    names listed in OVERRIDABLE[name]; anything else raises SolverError.
    """
    function = SOLVERS.get(name)
    if function is None:
        raise SolverError(f"unknown solver {name!r}; known: {', '.join(sorted(SOLVERS))}")
    if "overrides" in params:
        raise SolverError(f"solver {name}: pass overrides as solve(..., overrides=...)")
    kwargs = dict(params)
    if overrides:
        if not isinstance(overrides, Mapping):
            raise SolverError(f"solver {name}: overrides must be a mapping name -> value")
        _check_overrides(name, overrides)
        kwargs["overrides"] = dict(overrides)
    _bind(name, function, kwargs)
    return function(**kwargs)


def jsonable(value: Any) -> Any:
    """Solver results -> JSON-friendly data: arrays -> nested lists (int arrays stay ints),
    tuples -> lists, dict keys -> str, numpy scalars -> Python numbers, Fractions -> int when
    whole else float. Non-finite floats stay floats (json.dumps writes Infinity/NaN; they
    occur only in masked attention scores)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, int):
        return int(value)
    if isinstance(value, Fraction):
        return int(value) if value.denominator == 1 else float(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    raise TypeError(f"jsonable: cannot convert {type(value).__name__}")

