"""Softmax, scaled dot-product self-attention, linear layers and batch normalisation."""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np

from ._params import (SolverError, activation_name, apply_activation, check_output_size,
                      check_work, parse_int, parse_number, shape_text, to_array)


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    # Subtracting the maximum changes nothing mathematically and keeps exp() finite.
    shifted = z - np.max(z, axis=axis, keepdims=True)
    exp = np.exp(shifted)
    return exp / np.sum(exp, axis=axis, keepdims=True)


def softmax(x: Any, axis: Any = -1) -> np.ndarray:
    """softmax(x)_i = exp(x_i) / Σ_j exp(x_j) along ``axis`` (default: the last, i.e. per row)."""
    z = to_array(x, "x")
    if z.ndim == 0:
        raise SolverError("softmax: x must be a vector or matrix, not a single number")
    a = parse_int(axis, "axis")
    if not -z.ndim <= a < z.ndim:
        raise SolverError(f"softmax: axis {a} is out of range for shape {shape_text(z.shape)}")
    return _softmax(z, a)


def _attention_mask(mask: Any, shape: tuple[int, ...]) -> np.ndarray | None:
    """The mask as an additive array (0 where attended, -inf where masked)."""
    if mask is None:
        return None
    rows, cols = shape[-2:]
    if isinstance(mask, str):
        if mask.strip().lower() != "causal":
            raise SolverError(f"self_attention: mask must be 'causal', a boolean array or an "
                              f"additive array, got {mask!r}")
        # Token i may attend to tokens j <= i only (decoder self-attention).
        return np.where(np.tri(rows, cols, dtype=bool), 0.0, -np.inf)
    raw = np.array(mask, dtype=object)
    if raw.size and all(isinstance(v, (bool, np.bool_)) for v in raw.ravel()):
        # PyTorch's scaled_dot_product_attention convention: True = may attend.
        allowed = np.array(mask, dtype=bool)
        additive = np.where(allowed, 0.0, -np.inf)
    else:
        additive = _additive_from_list(mask)
    try:
        np.broadcast_shapes(additive.shape, shape)
    except ValueError:
        raise SolverError(f"self_attention: mask shape {shape_text(additive.shape)} does not "
                          f"fit the scores {shape_text(shape)}") from None
    return additive


def _additive_from_list(mask: Any) -> np.ndarray:
    # Additive masks written in YAML may use "-inf"; np.array(float) parses that string.
    try:
        return np.array(mask, dtype=np.float64)
    except ValueError:
        raise SolverError("self_attention: mask entries must be numbers or -inf") from None


def self_attention(x: Any, wq: Any, wk: Any, wv: Any, mask: Any = None, scale: Any = None, *,
                   overrides: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Single-head scaled dot-product self-attention, rows are tokens.

    Q = x·wq, K = x·wk, V = x·wv; scores = Q·Kᵀ / sqrt(d_k) (or ·scale);
    weights = softmax(scores + mask) per row; output = weights·V.
    x: (T, d) or batched (B, T, d). mask: None, 'causal', a boolean array (True = may attend,
    as in torch's scaled_dot_product_attention) or an additive array (0 / -inf).
    Returns q, k, v, scores (before masking), weights, output, and masked_scores when masked.
    overrides: q, k, v, scores or weights given by the student (later values are recomputed).
    """
    given = dict(overrides or {})
    tokens = to_array(x, "x", ndims=(2, 3))
    # The score matrix is tokens × tokens (per batch): bounded like an output.
    check_output_size(tokens.shape[:-1] + tokens.shape[-2:-1], "self_attention",
                      array="the score matrix")
    projections = {}
    for name, matrix in (("q", wq), ("k", wk), ("v", wv)):
        w = to_array(matrix, f"w{name}", ndims=(2,))
        if w.shape[0] != tokens.shape[-1]:
            raise SolverError(f"self_attention: w{name} is {shape_text(w.shape)} but tokens have "
                              f"{tokens.shape[-1]} features (x·w{name} needs "
                              f"{tokens.shape[-1]} rows)")
        projections[name] = tokens @ w
        if name in given:
            projections[name] = _override(given[name], projections[name].shape, name)
    q, k, v = projections["q"], projections["k"], projections["v"]
    if q.shape[-1] != k.shape[-1]:
        raise SolverError(f"self_attention: queries have {q.shape[-1]} features but keys have "
                          f"{k.shape[-1]}; wq and wk need the same number of columns")
    factor = 1.0 / math.sqrt(k.shape[-1]) if scale is None else parse_number(scale, "scale")
    scores = np.swapaxes(k, -1, -2)
    scores = q @ scores * factor
    if "scores" in given:
        scores = _override(given["scores"], scores.shape, "scores")
    additive = _attention_mask(mask, scores.shape)
    masked = scores if additive is None else scores + additive
    if np.any(np.all(np.isneginf(masked), axis=-1)):
        raise SolverError("self_attention: the mask hides every key from some query row")
    weights = _softmax(masked, -1)
    if "weights" in given:
        weights = _override(given["weights"], weights.shape, "weights")
    result = {"q": q, "k": k, "v": v, "scores": scores, "weights": weights,
              "output": weights @ v}
    if additive is not None:
        result["masked_scores"] = masked
    return result


def _override(value: Any, shape: tuple[int, ...], name: str) -> np.ndarray:
    array = to_array(value, f"overrides.{name}")
    if array.shape != shape:
        raise SolverError(f"override {name}: expected shape {shape_text(shape)}, got "
                          f"{shape_text(array.shape)}")
    return array


def linear_forward(x: Any, weight: Any, bias: Any = None,
                   activation: str | None = "none") -> np.ndarray:
    """y = activation(x·weightᵀ + bias), as ``torch.nn.functional.linear``.

    weight: (out_features, in_features) — PyTorch's layout; x: (in_features,) or
    (N, in_features); bias: (out_features,) or one number.
    """
    inputs = to_array(x, "x", ndims=(1, 2))
    w = to_array(weight, "weight", ndims=(1, 2))
    w = w.reshape(1, -1) if w.ndim == 1 else w
    act = activation_name(activation)
    if inputs.shape[-1] != w.shape[1]:
        raise SolverError(f"linear_forward: x has {inputs.shape[-1]} features but weight is "
                          f"{shape_text(w.shape)} (layout out_features × in_features)")
    rows = 1 if inputs.ndim == 1 else inputs.shape[0]
    check_output_size((rows, w.shape[0]), "linear_forward")
    check_work(rows * w.shape[0] * w.shape[1], "linear_forward",
               f"x {shape_text(inputs.shape)} · weight {shape_text(w.shape)}ᵀ")
    z = inputs @ w.T
    if bias is not None:
        b = to_array(bias, "bias", ndims=(0, 1))
        if b.ndim == 1 and b.shape[0] != w.shape[0]:
            raise SolverError(f"linear_forward: bias has {b.shape[0]} entries but there are "
                              f"{w.shape[0]} outputs")
        z = z + b
    return apply_activation(z, act)


def batchnorm_forward(x: Any, gamma: Any = 1, beta: Any = 0, eps: Any = 1e-5, *,
                      overrides: Mapping[str, Any] | None = None) -> dict[str, np.ndarray]:
    """Batch normalisation in training mode (batch statistics), as ``F.batch_norm``.

    x: (N,) one feature over a batch, (N, C) or (N, C, H, W); statistics per channel C over
    all other axes. var is the biased batch variance (divide by N), which PyTorch uses to
    normalise. Returns mean, var, x_hat = (x - mean)/sqrt(var + eps), output = gamma·x_hat +
    beta. overrides: mean, var or x_hat given by the student.
    """
    given = dict(overrides or {})
    data = to_array(x, "x", ndims=(1, 2, 3, 4))
    if data.shape[0] < 2 and "var" not in given:
        raise SolverError("batchnorm_forward: training mode needs a batch of at least 2 "
                          "(the variance of one sample is 0)")
    channel_shape = () if data.ndim == 1 else (data.shape[1],)
    axes = (0,) if data.ndim == 1 else tuple(a for a in range(data.ndim) if a != 1)
    broadcast = (-1,) + (1,) * (data.ndim - 2) if data.ndim > 1 else ()

    def per_channel(value: Any, name: str) -> np.ndarray:
        array = to_array(value, name, ndims=(0, 1))
        if array.ndim == 1 and array.shape != channel_shape:
            raise SolverError(f"batchnorm_forward: {name} has {array.shape[0]} entries but x "
                              f"has {channel_shape[0] if channel_shape else 1} channel(s)")
        return array

    mean = np.mean(data, axis=axes)
    if "mean" in given:
        mean = np.broadcast_to(per_channel(given["mean"], "overrides.mean"), mean.shape).copy()
    var = np.mean((data - mean.reshape(broadcast)) ** 2, axis=axes)
    if "var" in given:
        var = np.broadcast_to(per_channel(given["var"], "overrides.var"), var.shape).copy()
    epsilon = parse_number(eps, "eps")
    if epsilon < 0 or np.any(var + epsilon <= 0):
        raise SolverError("batchnorm_forward: var + eps must be positive")
    x_hat = (data - mean.reshape(broadcast)) / np.sqrt(var + epsilon).reshape(broadcast)
    if "x_hat" in given:
        x_hat = _override(given["x_hat"], data.shape, "x_hat")
    g = per_channel(gamma, "gamma")
    b = per_channel(beta, "beta")
    output = x_hat * np.reshape(g, broadcast if g.ndim else ()) + \
        np.reshape(b, broadcast if b.ndim else ())
    return {"mean": mean, "var": var, "x_hat": x_hat, "output": output}
