"""Convolutions, pooling, their output shapes and the receptive field (NumPy only).

Conventions follow PyTorch (``torch.nn.functional.conv2d`` etc.): cross-correlation, weight
layout (out_channels, in_channels/groups, kH, kW) for conv2d and
(in_channels, out_channels/groups, kH, kW) for conv_transpose2d.

Input ranks: (N, C, H, W), (C, H, W) or (H, W). Output ranks: the batch axis is kept only
when the input has one; the channel axis is kept when the weight is 4-D or the input is
batched. So a 2-D image with a 2-D kernel (the usual exam question) gives a 2-D result.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from ._params import (MAX_LAYERS, MAX_MAGNITUDE, SolverError, activation_name, apply_activation,
                      check_output_size, check_work, parse_bool, parse_int, parse_pair, shape_text,
                      to_array)

Padding = tuple[tuple[int, int], tuple[int, int]]   # ((top, bottom), (left, right))


def _pick_weight(weight: Any, kernel: Any, solver: str) -> Any:
    # The exam YAML says "kernel", PyTorch says "weight": both name the same tensor.
    if weight is not None and kernel is not None:
        raise SolverError(f"{solver}: give either 'weight' or 'kernel', not both")
    if weight is None and kernel is None:
        raise SolverError(f"{solver}: 'weight' (or 'kernel') is required")
    return weight if weight is not None else kernel


def _as_nchw(x: np.ndarray) -> np.ndarray:
    return x.reshape((1,) * (4 - x.ndim) + x.shape)


def _squeeze_output(out: np.ndarray, input_ndim: int, weight_ndim: int) -> np.ndarray:
    if input_ndim < 4:
        out = out[0]
        if weight_ndim < 4:
            out = out[0]
    return out


def _conv_padding(padding: Any, kernel: tuple[int, int], dilation: tuple[int, int],
                  stride: tuple[int, int], solver: str) -> Padding:
    if isinstance(padding, str):
        mode = padding.strip().lower()
        if mode == "valid":
            return (0, 0), (0, 0)
        if mode == "same":
            if stride != (1, 1):
                raise SolverError(f"{solver}: padding='same' needs stride 1 (as in PyTorch)")
            # PyTorch puts the odd extra row/column at the bottom/right.
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)  # type: ignore[return-value]
        raise SolverError(f"{solver}: padding must be a number, a pair, 'same' or 'valid', "
                          f"got {padding!r}")
    pad_h, pad_w = parse_pair(padding, "padding", minimum=0)
    return (pad_h, pad_h), (pad_w, pad_w)


def _sliding_extent(size: int, kernel: int, stride: int, padding: tuple[int, int],
                    dilation: int, axis: str, solver: str) -> int:
    effective = dilation * (kernel - 1) + 1
    padded = size + padding[0] + padding[1]
    if effective > padded:
        raise SolverError(
            f"{solver}: kernel {axis} {kernel} (effective size {effective} with dilation "
            f"{dilation}) is larger than the padded input {axis} {padded}")
    return (padded - effective) // stride + 1


def _bias_vector(bias: Any, channels: int, solver: str) -> np.ndarray:
    if bias is None:
        return np.zeros(channels)
    vector = to_array(bias, "bias", ndims=(0, 1))
    if vector.ndim == 0:
        return np.full(channels, float(vector))
    if vector.shape != (channels,):
        raise SolverError(f"{solver}: bias has {vector.shape[0]} entries but there are "
                          f"{channels} output channels")
    return vector


def _groups(groups: Any, in_channels: int, out_channels: int, solver: str) -> int:
    g = parse_int(groups, "groups", minimum=1)
    if in_channels % g or out_channels % g:
        raise SolverError(f"{solver}: groups={g} must divide in_channels ({in_channels}) and "
                          f"out_channels ({out_channels})")
    return g


def conv2d(input: Any, weight: Any = None, bias: Any = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: Any = 1, activation: str | None = "none", *,
           kernel: Any = None, cells: Mapping[str, Sequence[Any]] | None = None
           ) -> np.ndarray | dict[str, Any]:
    """2-D convolution (cross-correlation, as PyTorch), then bias, then activation.

    input: (N, C, H, W), (C, H, W) or (H, W). weight (or kernel): (O, C/groups, kH, kW),
    (C, kH, kW) for a single filter, or (kH, kW) for a single-channel input.
    bias: one number per output channel (or one number for all). stride/padding/dilation:
    int or (h, w); padding may also be 'same' or 'valid'. activation: none, relu, sigmoid,
    tanh. cells: names for single output entries, 1-based, e.g. {a: [1, 1], b: [1, 2]} for
    "what are the cells a and b of Y"; then the result is a dict with those names and
    'output'.
    """
    solver = "conv2d"
    x = to_array(input, "input", ndims=(2, 3, 4))
    w = to_array(_pick_weight(weight, kernel, solver), "weight", ndims=(2, 3, 4))
    act = activation_name(activation)
    x4 = _as_nchw(x)
    w4 = w.reshape((1,) * (4 - w.ndim) + w.shape)
    n, c, h, wd = x4.shape
    o, c_per_group, kh, kw = w4.shape
    g = _groups(groups, c, o, solver)
    if c_per_group * g != c:
        raise SolverError(f"{solver}: weight {shape_text(w.shape)} expects {c_per_group * g} "
                          f"input channels, but the input {shape_text(x.shape)} has {c}")
    s = parse_pair(stride, "stride", minimum=1)
    d = parse_pair(dilation, "dilation", minimum=1)
    pads = _conv_padding(padding, (kh, kw), d, s, solver)
    ho = _sliding_extent(h, kh, s[0], pads[0], d[0], "height", solver)
    wo = _sliding_extent(wd, kw, s[1], pads[1], d[1], "width", solver)
    check_output_size((n, o, ho, wo), solver)
    check_output_size((n, c, h + sum(pads[0]), wd + sum(pads[1])), solver, array="the padded input")
    check_work(n * o * ho * wo * (c // g) * kh * kw, solver,
               f"output {shape_text((n, o, ho, wo))} × kernel {kh}×{kw} × {c // g} channels")
    b = _bias_vector(bias, o, solver)

    padded = np.pad(x4, ((0, 0), (0, 0), pads[0], pads[1]))
    grouped = padded.reshape(n, g, c // g, *padded.shape[2:])
    w_grouped = w4.reshape(g, o // g, c // g, kh, kw)
    out = np.zeros((n, g, o // g, ho, wo))
    # One strided view per kernel tap: kH*kW small matrix products instead of a Python loop
    # over output pixels.
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * d[0], i * d[0] + s[0] * (ho - 1) + 1, s[0])
            cols = slice(j * d[1], j * d[1] + s[1] * (wo - 1) + 1, s[1])
            out += np.einsum("ngchw,goc->ngohw", grouped[..., rows, cols], w_grouped[..., i, j])
    out = out.reshape(n, o, ho, wo) + b[None, :, None, None]
    result = _squeeze_output(apply_activation(out, act), x.ndim, max(w.ndim, x.ndim))
    return result if cells is None else _named_cells(result, cells, solver)


def _named_cells(output: np.ndarray, cells: Mapping[str, Sequence[Any]],
                 solver: str) -> dict[str, Any]:
    if not isinstance(cells, Mapping) or not cells:
        raise SolverError(f"{solver}: cells must map names to 1-based positions, "
                          f"e.g. {{a: [1, 1]}}")
    picked: dict[str, Any] = {}
    for name, position in cells.items():
        where = f"{solver}: cell {name!r}"
        if str(name) == "output":
            raise SolverError(f"{where}: the name 'output' is reserved for the whole result")
        if not isinstance(position, (list, tuple)) or len(position) != output.ndim:
            raise SolverError(f"{where}: give {output.ndim} 1-based indices for an output of "
                              f"shape {shape_text(output.shape)}")
        index = tuple(parse_int(v, f"{where} index", minimum=1) - 1 for v in position)
        if any(i >= size for i, size in zip(index, output.shape)):
            raise SolverError(f"{where}: position {list(position)} is outside the output "
                              f"{shape_text(output.shape)}")
        picked[str(name)] = float(output[index])
    return {**picked, "output": output}


def conv_transpose2d(input: Any, weight: Any = None, bias: Any = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: Any = 1,
                     dilation: Any = 1, activation: str | None = "none", *,
                     kernel: Any = None) -> np.ndarray:
    """Transposed 2-D convolution (``torch.nn.functional.conv_transpose2d``).

    Every input pixel scatters a copy of the kernel, scaled by its value, into the output at
    stride steps; the sums are then cropped by ``padding`` on each side.
    weight (or kernel): (C_in, O/groups, kH, kW), (C_in, kH, kW) for one output channel, or
    (kH, kW) for a single-channel input. Output size per axis:
    (H - 1)*stride - 2*padding + dilation*(k - 1) + output_padding + 1.
    """
    solver = "conv_transpose2d"
    x = to_array(input, "input", ndims=(2, 3, 4))
    w = to_array(_pick_weight(weight, kernel, solver), "weight", ndims=(2, 3, 4))
    act = activation_name(activation)
    x4 = _as_nchw(x)
    w4 = w.reshape(w.shape[:1] + (1,) + w.shape[1:]) if w.ndim == 3 else \
        w.reshape((1,) * (4 - w.ndim) + w.shape)
    n, c, h, wd = x4.shape
    c_w, o_per_group, kh, kw = w4.shape
    if c_w != c:
        raise SolverError(f"{solver}: weight {shape_text(w.shape)} expects {c_w} input "
                          f"channels (layout in, out/groups, kH, kW), but the input has {c}")
    g = parse_int(groups, "groups", minimum=1)
    if c % g:
        raise SolverError(f"{solver}: groups={g} must divide the {c} input channels")
    o = o_per_group * g
    s = parse_pair(stride, "stride", minimum=1)
    d = parse_pair(dilation, "dilation", minimum=1)
    if isinstance(padding, str):
        raise SolverError(f"{solver}: padding must be a number or a pair (PyTorch has no "
                          f"'same'/'valid' for transposed convolutions)")
    p = parse_pair(padding, "padding", minimum=0)
    op = parse_pair(output_padding, "output_padding", minimum=0)
    for axis, extra, step, dil in zip(("height", "width"), op, s, d):
        if extra >= max(step, dil):
            raise SolverError(f"{solver}: output_padding {axis} {extra} must be smaller than "
                              f"stride ({step}) or dilation ({dil}), as in PyTorch")
    full = [(size - 1) * step + dil * (k - 1) + 1 + extra
            for size, step, dil, k, extra in zip((h, wd), s, d, (kh, kw), op)]
    ho, wo = full[0] - 2 * p[0], full[1] - 2 * p[1]
    if ho <= 0 or wo <= 0:
        raise SolverError(f"{solver}: padding {p} crops the whole output "
                          f"(uncropped size {full[0]}×{full[1]})")
    check_output_size((n, o, *full), solver)
    check_work(n * c * h * wd * o_per_group * kh * kw, solver,
               f"input {shape_text((n, c, h, wd))} × kernel {kh}×{kw} × {o_per_group} channels")
    b = _bias_vector(bias, o, solver)

    grouped = x4.reshape(n, g, c // g, h, wd)
    w_grouped = w4.reshape(g, c // g, o_per_group, kh, kw)
    scattered = np.zeros((n, g, o_per_group, *full))
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * d[0], i * d[0] + s[0] * (h - 1) + 1, s[0])
            cols = slice(j * d[1], j * d[1] + s[1] * (wd - 1) + 1, s[1])
            scattered[..., rows, cols] += np.einsum("ngchw,gco->ngohw", grouped,
                                                    w_grouped[..., i, j])
    out = scattered.reshape(n, o, *full)[..., p[0]:p[0] + ho, p[1]:p[1] + wo]
    out = out + b[None, :, None, None]
    return _squeeze_output(apply_activation(out, act), x.ndim, max(w.ndim, x.ndim))


def _shape_layout(input_shape: Any, layout: str, solver: str) -> tuple[int, int, int | None]:
    """Split an exam-style shape into (H, W, C or None). Exams write H×W×C (the default)."""
    if not isinstance(input_shape, (list, tuple)) or len(input_shape) not in (2, 3):
        raise SolverError(f"{solver}: input_shape must be [H, W] or [H, W, C] "
                          f"(or [C, H, W] with layout 'CHW'), got {input_shape!r}")
    dims = [parse_int(v, f"input_shape[{i}]", minimum=1) for i, v in enumerate(input_shape)]
    key = str(layout).strip().upper()
    if key not in ("HWC", "CHW"):
        raise SolverError(f"{solver}: layout must be 'HWC' or 'CHW', got {layout!r}")
    if len(dims) == 2:
        return dims[0], dims[1], None
    return (dims[0], dims[1], dims[2]) if key == "HWC" else (dims[1], dims[2], dims[0])


def _arrange(height: int, width: int, channels: int | None, layout: str) -> tuple[int, ...]:
    if channels is None:
        return height, width
    return (height, width, channels) if str(layout).upper() == "HWC" else (channels, height,
                                                                          width)


def conv2d_output_shape(input_shape: Sequence[Any], kernel_size: Any, out_channels: Any = None,
                        stride: Any = 1, padding: Any = 0, dilation: Any = 1,
                        layout: str = "HWC") -> tuple[int, ...]:
    """Output shape of a conv layer, in the order the exam writes shapes.

    input_shape is [H, W, C] by default (exams say "26×26×26"; C is the channel count) and
    the result is (H_out, W_out, out_channels). With layout='CHW' both are channel-first.
    Without out_channels (or for a 2-D input_shape) the result is (H_out, W_out).
    H_out = floor((H + 2*padding - dilation*(k - 1) - 1) / stride) + 1, as in PyTorch.
    """
    solver = "conv2d_output_shape"
    h, w, c = _shape_layout(input_shape, layout, solver)
    k = parse_pair(kernel_size, "kernel_size", minimum=1)
    s = parse_pair(stride, "stride", minimum=1)
    d = parse_pair(dilation, "dilation", minimum=1)
    pads = _conv_padding(padding, k, d, s, solver)
    ho = _sliding_extent(h, k[0], s[0], pads[0], d[0], "height", solver)
    wo = _sliding_extent(w, k[1], s[1], pads[1], d[1], "width", solver)
    channels = None if out_channels is None else parse_int(out_channels, "out_channels",
                                                           minimum=1)
    if channels is None and c is not None:
        raise SolverError(f"{solver}: out_channels (the number of filters) is required when "
                          f"input_shape has a channel axis")
    return _arrange(ho, wo, channels, layout)


def conv_weight_shape(in_channels: Any, out_channels: Any, kernel_size: Any, groups: Any = 1,
                      transposed: Any = False) -> tuple[int, int, int, int]:
    """Weight tensor shape as PyTorch stores it: (out, in/groups, kH, kW) for Conv2d,
    (in, out/groups, kH, kW) for ConvTranspose2d (transposed=true). An RGB image has 3 input
    channels; "4 filters" means out_channels=4."""
    solver = "conv_weight_shape"
    cin = parse_int(in_channels, "in_channels", minimum=1)
    cout = parse_int(out_channels, "out_channels", minimum=1)
    kh, kw = parse_pair(kernel_size, "kernel_size", minimum=1)
    g = _groups(groups, cin, cout, solver)
    if parse_bool(transposed, "transposed"):
        return cin, cout // g, kh, kw
    return cout, cin // g, kh, kw


def _pool_extent(size: int, kernel: int, stride: int, padding: int, dilation: int,
                 ceil_mode: bool, axis: str) -> int:
    effective = dilation * (kernel - 1) + 1
    if 2 * padding > kernel:
        raise SolverError(f"pool2d: padding {padding} must be at most half the kernel size "
                          f"{kernel} (as in PyTorch)")
    span = size + 2 * padding - effective
    if span < 0:
        raise SolverError(f"pool2d: kernel {axis} {kernel} (effective size {effective}) is "
                          f"larger than the padded input {axis} {size + 2 * padding}")
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    # PyTorch drops a last window that would start entirely in the right padding.
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pool_params(kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: Any):
    k = parse_pair(kernel_size, "kernel_size", minimum=1)
    s = k if stride is None else parse_pair(stride, "stride", minimum=1)
    p = parse_pair(padding, "padding", minimum=0)
    d = parse_pair(dilation, "dilation", minimum=1)
    return k, s, p, d, parse_bool(ceil_mode, "ceil_mode")


def pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0,
           dilation: Any = 1, mode: str = "max", ceil_mode: Any = False,
           count_include_pad: Any = True) -> np.ndarray:
    """Max or average pooling (``F.max_pool2d`` / ``F.avg_pool2d``).

    input: (N, C, H, W), (C, H, W) or (H, W); the output has the same rank. stride defaults
    to kernel_size. Max pooling ignores padded cells; average pooling counts them in the
    divisor when count_include_pad is true (PyTorch's default). dilation: max pooling only.
    """
    x = to_array(input, "input", ndims=(2, 3, 4))
    kind = str(mode).strip().lower()
    if kind in ("average", "mean"):
        kind = "avg"
    if kind not in ("max", "avg"):
        raise SolverError(f"pool2d: mode must be 'max' or 'avg', got {mode!r}")
    k, s, p, d, ceil = _pool_params(kernel_size, stride, padding, dilation, ceil_mode)
    if kind == "avg" and d != (1, 1):
        raise SolverError("pool2d: dilation is only defined for max pooling (as in PyTorch)")
    x4 = _as_nchw(x)
    h, w = x4.shape[2:]
    outs = [_pool_extent(size, k[a], s[a], p[a], d[a], ceil, axis)
            for a, (size, axis) in enumerate(((h, "height"), (w, "width")))]
    check_output_size(x4.shape[:2] + tuple(outs), "pool2d")
    check_output_size(x4.shape[:2] + (h + 2 * p[0], w + 2 * p[1]), "pool2d", array="the padded input")
    check_work(math.prod(x4.shape[:2]) * outs[0] * outs[1] * k[0] * k[1], "pool2d",
               f"output {shape_text(x4.shape[:2] + tuple(outs))} × window {k[0]}×{k[1]}")
    # Extra cells on the bottom/right so that ceil_mode windows never index past the end.
    extra = [max(0, (o - 1) * s[a] + d[a] * (k[a] - 1) + 1 - (size + 2 * p[a]))
             for a, (o, size) in enumerate(zip(outs, (h, w)))]
    fill = -np.inf if kind == "max" else 0.0
    padded = np.pad(x4, ((0, 0), (0, 0), (p[0], p[0] + extra[0]), (p[1], p[1] + extra[1])),
                    constant_values=fill)
    result = np.full(x4.shape[:2] + tuple(outs), fill)
    for i in range(k[0]):
        for j in range(k[1]):
            rows = slice(i * d[0], i * d[0] + s[0] * (outs[0] - 1) + 1, s[0])
            cols = slice(j * d[1], j * d[1] + s[1] * (outs[1] - 1) + 1, s[1])
            window = padded[..., rows, cols]
            result = np.maximum(result, window) if kind == "max" else result + window
    if kind == "avg":
        include_pad = parse_bool(count_include_pad, "count_include_pad")
        divisor = np.outer(*[_avg_divisors(o, size, k[a], s[a], p[a], include_pad)
                             for a, (o, size) in enumerate(zip(outs, (h, w)))])
        result = result / divisor
    return result.reshape(x.shape[:-2] + tuple(outs))


def _avg_divisors(count: int, size: int, kernel: int, stride: int, padding: int,
                  include_pad: bool) -> np.ndarray:
    """Per-axis window lengths used as the divisor, with PyTorch's clipping rules."""
    start = np.arange(count) * stride - padding
    end = np.minimum(start + kernel, size + padding)
    if include_pad:
        return (end - start).astype(np.float64)
    return (np.minimum(end, size) - np.maximum(start, 0)).astype(np.float64)


def pool2d_output_shape(input_shape: Sequence[Any], kernel_size: Any, stride: Any = None,
                        padding: Any = 0, dilation: Any = 1, ceil_mode: Any = False,
                        layout: str = "HWC") -> tuple[int, ...]:
    """Output shape of a pooling layer: [H, W, C] -> (H_out, W_out, C) by default (channels
    are unchanged); [H, W] -> (H_out, W_out); layout='CHW' for channel-first shapes."""
    h, w, c = _shape_layout(input_shape, layout, "pool2d_output_shape")
    k, s, p, d, ceil = _pool_params(kernel_size, stride, padding, dilation, ceil_mode)
    ho = _pool_extent(h, k[0], s[0], p[0], d[0], ceil, "height")
    wo = _pool_extent(w, k[1], s[1], p[1], d[1], ceil, "width")
    return _arrange(ho, wo, c, layout)


_RF_KEYS = {"kernel", "kernel_size", "stride", "dilation", "padding", "type", "name"}


def receptive_field(layers: Sequence[Any]) -> int | tuple[int, int]:
    """Receptive field (in input pixels) of one unit of the last layer.

    layers: list of {kernel (or kernel_size), stride=1, dilation=1}; padding and type are
    accepted but do not change the receptive field. Formula:
    RF = 1 + sum_l (dilation_l*(kernel_l - 1)) * prod_{i<l} stride_i.
    Returns an int, or (height, width) when non-square kernels or strides make them differ.
    """
    if not isinstance(layers, (list, tuple)) or not layers:
        raise SolverError("receptive_field: layers must be a non-empty list of "
                          "{kernel, stride, dilation} mappings")
    if len(layers) > MAX_LAYERS:
        raise SolverError(f"receptive_field: {len(layers)} layers; at most {MAX_LAYERS}")
    field = [1, 1]
    jump = [1, 1]      # distance in input pixels between neighbouring units of this layer
    for index, layer in enumerate(layers, start=1):
        where = f"receptive_field: layer {index}"
        if not isinstance(layer, dict):
            raise SolverError(f"{where}: expected a mapping like {{kernel: 3, stride: 1}}")
        unknown = set(layer) - _RF_KEYS
        if unknown:
            raise SolverError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                              f"use kernel, stride, dilation")
        if ("kernel" in layer) == ("kernel_size" in layer):
            raise SolverError(f"{where}: give exactly one of 'kernel' or 'kernel_size'")
        k = parse_pair(layer.get("kernel", layer.get("kernel_size")), f"{where} kernel",
                       minimum=1)
        s = parse_pair(layer.get("stride", 1), f"{where} stride", minimum=1)
        d = parse_pair(layer.get("dilation", 1), f"{where} dilation", minimum=1)
        for a in range(2):
            field[a] += d[a] * (k[a] - 1) * jump[a]
            jump[a] = min(jump[a] * s[a], MAX_MAGNITUDE + 1)   # keeps the integers small
        if max(field) > MAX_MAGNITUDE:
            raise SolverError(f"{where}: the receptive field grows beyond 10^15 input pixels "
                              f"here; check the kernels and strides")
    return field[0] if field[0] == field[1] else (field[0], field[1])
