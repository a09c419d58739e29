"""Vanilla RNN forward pass, backpropagation through time, and the spectral-radius verdict.

The cell is the lecture's  h_t = f(V·h_{t-1} + W·x_t + b),  t = 1..T, with V the recurrent
weight, W the input weight and f one of tanh, relu, identity (or sigmoid). Scalar RNNs take
numbers; vector RNNs take V (H×H), W (H×D), b and h0 (H,) and x a list of D-vectors.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ._params import (SolverError, activation_name, apply_activation, parse_number,
                      shape_text, to_array)

RNN_ACTIVATIONS = ("tanh", "relu", "identity", "none", "linear", "sigmoid")
STEP_NAME = re.compile(r"h([1-9][0-9]*)")


@dataclass(frozen=True)
class _Rnn:
    V: np.ndarray          # (H, H)
    W: np.ndarray          # (H, D)
    b: np.ndarray          # (H,)
    h0: np.ndarray         # (H,)
    xs: tuple[np.ndarray, ...]   # T vectors of shape (D,)
    activation: str
    scalar: bool


def _vector(value: Any, name: str, size: int) -> np.ndarray:
    array = to_array(value, name, ndims=(0, 1))
    if array.ndim == 0:
        return np.full(size, float(array))
    if array.shape != (size,):
        raise SolverError(f"{name}: expected {size} entries (the hidden size), got "
                          f"{array.shape[0]}")
    return array


def _scalar(value: Any, name: str) -> np.ndarray:
    array = to_array(value, name)
    if array.ndim != 0:
        raise SolverError(f"{name}: V is a number (a scalar RNN), so {name} must be a number "
                          f"too, got shape {shape_text(array.shape)}")
    return array.reshape(1)


def _setup(V: Any, W: Any, x: Any, h0: Any, b: Any, activation: Any) -> _Rnn:
    act = activation_name(activation, allowed=RNN_ACTIVATIONS)
    if not isinstance(x, (list, tuple, np.ndarray)) or len(x) == 0:
        raise SolverError("x: the input sequence must be a non-empty list (x1, x2, ...)")
    v = to_array(V, "V", ndims=(0, 2))
    if v.ndim == 0:
        xs = to_array(x, "x", ndims=(1, 2))
        if xs.ndim != 1:
            raise SolverError("x: V is a number (a scalar RNN), so each x_t must be a number")
        return _Rnn(v.reshape(1, 1), _scalar(W, "W").reshape(1, 1), _scalar(b, "b"),
                    _scalar(h0, "h0"), tuple(xt.reshape(1) for xt in xs), act, scalar=True)
    hidden = v.shape[0]
    if v.shape != (hidden, hidden):
        raise SolverError(f"V: the recurrent weight must be square (H×H), got "
                          f"{shape_text(v.shape)}")
    w = to_array(W, "W", ndims=(1, 2))
    w = w.reshape(-1, 1) if w.ndim == 1 else w
    if w.shape[0] != hidden:
        raise SolverError(f"W: expected {hidden} rows (the hidden size), got "
                          f"{shape_text(w.shape)}")
    inputs = to_array(x, "x", ndims=(1, 2))
    inputs = inputs.reshape(-1, 1) if inputs.ndim == 1 else inputs
    if inputs.shape[1] != w.shape[1]:
        raise SolverError(f"x: each x_t needs {w.shape[1]} entries (the columns of W), got "
                          f"{inputs.shape[1]}")
    return _Rnn(v, w, _vector(b, "b", hidden), _vector(h0, "h0", hidden),
                tuple(inputs), act, scalar=False)


def _step_overrides(rnn: _Rnn, overrides: Mapping[str, Any] | None) -> dict[int, np.ndarray]:
    steps: dict[int, np.ndarray] = {}
    for name, value in (overrides or {}).items():
        match = STEP_NAME.fullmatch(str(name))
        if not match or int(match.group(1)) > len(rnn.xs):
            raise SolverError(f"override {name!r}: the sequence has h1..h{len(rnn.xs)}")
        steps[int(match.group(1))] = (
            _scalar(value, f"overrides.{name}") if rnn.scalar
            else _vector(value, f"overrides.{name}", rnn.V.shape[0]))
    return steps


def _forward(rnn: _Rnn, overrides: Mapping[str, Any] | None) -> list[np.ndarray]:
    """[h0, h1, ..., hT]; an overridden h_t replaces the computed one and the recurrence
    continues from it (error carried forward)."""
    given = _step_overrides(rnn, overrides)
    states = [rnn.h0]
    for t, x_t in enumerate(rnn.xs, start=1):
        if t in given:
            states.append(given[t])
        else:
            states.append(apply_activation(rnn.V @ states[-1] + rnn.W @ x_t + rnn.b,
                                           rnn.activation))
    return states


def _present(value: np.ndarray, scalar: bool) -> float | np.ndarray:
    return float(value.reshape(-1)[0]) if scalar else value


def rnn_forward(V: Any, W: Any, x: Any, h0: Any = 0, b: Any = 0, activation: str = "tanh", *,
                overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """h_t = activation(V·h_{t-1} + W·x_t + b) for t = 1..T.

    Returns h1, ..., hT (numbers for a scalar RNN, vectors otherwise) and h = [h1, ..., hT].
    overrides: {"h2": value, ...} replaces those states and continues from them.
    """
    rnn = _setup(V, W, x, h0, b, activation)
    states = _forward(rnn, overrides)
    result: dict[str, Any] = {f"h{t}": _present(h, rnn.scalar)
                              for t, h in enumerate(states[1:], start=1)}
    result["h"] = [result[f"h{t}"] for t in range(1, len(states))]
    return result


def _activation_slope(h: np.ndarray, activation: str) -> np.ndarray:
    """f'(a_t) written in terms of the output h_t = f(a_t).

    Using the output (not the pre-activation) is what the exams do when they give the
    forward outputs, and it keeps overridden states meaningful. ReLU'(0) = 0, as in PyTorch.
    """
    if activation == "tanh":
        return 1.0 - h * h
    if activation == "relu":
        return (h > 0).astype(np.float64)
    if activation == "sigmoid":
        return h * (1.0 - h)
    return np.ones_like(h)


def rnn_bptt(V: Any, W: Any, x: Any, h0: Any = 0, b: Any = 0, activation: str = "tanh",
             grad_output: Any = None, *,
             overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Derivatives of the last state h_T by backpropagation through time.

    Returns the forward states (h1..hT) and dhT_dV, dhT_dW, dhT_db, dhT_dh0, dhT_dx1..dhT_dxT
    and dhT_dh1..dhT_dh{T-1}, each also under the exam's name with T written out (dh3_dV,
    dh3_dx1, ...). Scalar RNN: numbers. Vector RNN: Jacobians with the component of h_T
    first, e.g. dhT_dV[i, j, k] = ∂h_T[i]/∂V[j, k]. With grad_output g (= ∂L/∂h_T) also
    dL_dV, dL_dW, dL_db, dL_dh0, dL_dx{k}: the gradients of L, shaped like the parameter.
    overrides: forward states given by the exam or the student ({"h1": 0, "h2": "2/3"}).
    """
    rnn = _setup(V, W, x, h0, b, activation)
    states = _forward(rnn, overrides)
    steps = len(rnn.xs)
    hidden = rnn.V.shape[0]
    # Row i of `upstream` is ∂h_T[i]/∂h_t; all components are propagated at once.
    upstream = np.eye(hidden)
    d_v = np.zeros((hidden, hidden, hidden))
    d_w = np.zeros((hidden,) + rnn.W.shape)
    d_b = np.zeros((hidden, hidden))
    d_x: dict[int, np.ndarray] = {}
    d_h: dict[int, np.ndarray] = {}
    for t in range(steps, 0, -1):
        if t < steps:
            d_h[t] = upstream
        d_pre = upstream * _activation_slope(states[t], rnn.activation)[None, :]
        d_v += np.einsum("ij,k->ijk", d_pre, states[t - 1])
        d_w += np.einsum("ij,k->ijk", d_pre, rnn.xs[t - 1])
        d_b += d_pre
        d_x[t] = d_pre @ rnn.W
        upstream = d_pre @ rnn.V
    jacobians: dict[str, np.ndarray] = {"V": d_v, "W": d_w, "b": d_b, "h0": upstream}
    jacobians.update({f"x{t}": d_x[t] for t in range(1, steps + 1)})
    jacobians.update({f"h{t}": d_h[t] for t in range(1, steps)})

    result: dict[str, Any] = {f"h{t}": _present(states[t], rnn.scalar)
                              for t in range(1, steps + 1)}
    for name, jac in jacobians.items():
        value = float(jac.reshape(-1)[0]) if rnn.scalar else jac
        result[f"dhT_d{name}"] = value
        result[f"dh{steps}_d{name}"] = value
    if grad_output is not None:
        g = (_scalar(grad_output, "grad_output") if rnn.scalar
             else _vector(grad_output, "grad_output", hidden))
        for name, jac in jacobians.items():
            grad = np.tensordot(g, jac, axes=(0, 0))
            result[f"dL_d{name}"] = float(grad.reshape(-1)[0]) if rnn.scalar else grad
    return result


def spectral_radius(matrix: Any, tolerance: Any = 1e-9) -> dict[str, Any]:
    """Largest |eigenvalue| of a recurrent weight matrix, with the gradient verdict.

    For a linear (identity-activation) RNN, ∂h_T/∂h_1 = (W_hᵀ)^(T-1): it grows without bound
    when the spectral radius is > 1 ("explode"), goes to 0 when < 1 ("vanish"), and neither
    at exactly 1 (within ``tolerance``). Returns value, verdict, reason and moduli (all
    |eigenvalues|, largest first).
    """
    w = to_array(matrix, "matrix", ndims=(0, 2))
    w = w.reshape(1, 1) if w.ndim == 0 else w
    if w.shape[0] != w.shape[1]:
        raise SolverError(f"spectral_radius: matrix must be square, got {shape_text(w.shape)}")
    tol = parse_number(tolerance, "tolerance")
    moduli = np.sort(np.abs(np.linalg.eigvals(w)))[::-1]
    value = float(moduli[0])
    if value > 1 + tol:
        verdict, relation = "explode", ">"
    elif value < 1 - tol:
        verdict, relation = "vanish", "<"
    else:
        verdict, relation = "neither", "="
    return {"value": value, "verdict": verdict, "moduli": moduli,
            "reason": f"spectral radius {value:.3f} {relation} 1"}
