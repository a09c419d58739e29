"""Parameter counts of common layers and uniform initialisation bounds.

Counts are exact Python ints. Layer options use the PyTorch constructor names
(``nn.Conv2d(in_channels, out_channels, kernel_size, bias=True, groups=1)`` etc.).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Sequence

from ._params import MAX_LAYERS, SolverError, parse_bool, parse_int, parse_number, parse_pair

# Options that describe a layer but do not change its parameter count; exam YAML often
# carries them along from the question text, so they are accepted and ignored.
_SHAPE_ONLY = ("stride", "padding", "dilation", "output_padding", "batch_first", "dropout",
               "nonlinearity", "eps", "momentum", "track_running_stats", "padding_idx",
               "padding_mode")


def _conv(cfg: dict[str, Any], transposed: bool) -> int:
    cin = parse_int(cfg["in_channels"], "in_channels", minimum=1)
    cout = parse_int(cfg["out_channels"], "out_channels", minimum=1)
    kh, kw = parse_pair(cfg["kernel_size"], "kernel_size", minimum=1)
    groups = parse_int(cfg.get("groups", 1), "groups", minimum=1)
    if cin % groups or cout % groups:
        raise SolverError(f"param_count: groups={groups} must divide in_channels ({cin}) and "
                          f"out_channels ({cout})")
    weights = cin * (cout // groups) * kh * kw if transposed else cout * (cin // groups) * kh * kw
    return weights + (cout if parse_bool(cfg.get("bias", True), "bias") else 0)


def _linear(cfg: dict[str, Any]) -> int:
    n_in = parse_int(cfg["in_features"], "in_features", minimum=1)
    n_out = parse_int(cfg["out_features"], "out_features", minimum=1)
    return n_out * n_in + (n_out if parse_bool(cfg.get("bias", True), "bias") else 0)


def _recurrent(cfg: dict[str, Any], gates: int) -> int:
    n_in = parse_int(cfg["input_size"], "input_size", minimum=1)
    hidden = parse_int(cfg["hidden_size"], "hidden_size", minimum=1)
    layers = parse_int(cfg.get("num_layers", 1), "num_layers", minimum=1, maximum=MAX_LAYERS)
    directions = 2 if parse_bool(cfg.get("bidirectional", False), "bidirectional") else 1
    # The lecture cell h_t = f(V h_{t-1} + W x_t + b) has one bias vector per gate; PyTorch
    # keeps two (b_ih and b_hh), hence the option.
    biases_per_gate = 0
    if parse_bool(cfg.get("bias", True), "bias"):
        biases_per_gate = 2 if parse_bool(cfg.get("double_bias", False), "double_bias") else 1
    total = 0
    for layer in range(layers):
        layer_in = n_in if layer == 0 else hidden * directions
        per_direction = gates * (hidden * layer_in + hidden * hidden + biases_per_gate * hidden)
        total += directions * per_direction
    return total


def _batchnorm(cfg: dict[str, Any]) -> int:
    features = parse_int(cfg["num_features"], "num_features", minimum=1)
    # gamma and beta are learnable; running mean/var are buffers, not parameters.
    return 2 * features if parse_bool(cfg.get("affine", True), "affine") else 0


def _embedding(cfg: dict[str, Any]) -> int:
    return (parse_int(cfg["num_embeddings"], "num_embeddings", minimum=1)
            * parse_int(cfg["embedding_dim"], "embedding_dim", minimum=1))


_RECURRENT_OPTIONS = ("bias", "num_layers", "bidirectional", "double_bias")

# layer type -> (required options, optional options, counter)
LAYER_TYPES: dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable[[dict], int]]] = {
    "conv2d": (("in_channels", "out_channels", "kernel_size"), ("bias", "groups"),
               lambda cfg: _conv(cfg, transposed=False)),
    "conv_transpose2d": (("in_channels", "out_channels", "kernel_size"), ("bias", "groups"),
                         lambda cfg: _conv(cfg, transposed=True)),
    "linear": (("in_features", "out_features"), ("bias",), _linear),
    "rnn": (("input_size", "hidden_size"), _RECURRENT_OPTIONS, lambda cfg: _recurrent(cfg, 1)),
    "lstm": (("input_size", "hidden_size"), _RECURRENT_OPTIONS, lambda cfg: _recurrent(cfg, 4)),
    "gru": (("input_size", "hidden_size"), _RECURRENT_OPTIONS, lambda cfg: _recurrent(cfg, 3)),
    "batchnorm": (("num_features",), ("affine",), _batchnorm),
    "embedding": (("num_embeddings", "embedding_dim"), (), _embedding),
}
_ALIASES = {"conv": "conv2d", "convtranspose2d": "conv_transpose2d", "fc": "linear",
            "dense": "linear", "batchnorm1d": "batchnorm", "batchnorm2d": "batchnorm",
            "batch_norm": "batchnorm", "bn": "batchnorm"}


def _count_layer(layer: Any, cfg: dict[str, Any], where: str) -> int:
    key = str(layer).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in LAYER_TYPES:
        raise SolverError(f"{where}: unknown layer type {layer!r}; known: "
                          f"{', '.join(LAYER_TYPES)}")
    required, optional, counter = LAYER_TYPES[key]
    missing = [name for name in required if name not in cfg]
    if missing:
        raise SolverError(f"{where}: layer {key} needs {', '.join(missing)}")
    unknown = set(cfg) - set(required) - set(optional) - set(_SHAPE_ONLY)
    if unknown:
        raise SolverError(f"{where}: layer {key} has no option(s) "
                          f"{', '.join(sorted(map(str, unknown)))}; accepted: "
                          f"{', '.join(required + optional)}")
    try:
        return counter(cfg)
    except SolverError as exc:
        raise SolverError(f"{where} ({key}): {exc}") from None


def param_count(layer: str | None = None, layers: Sequence[dict] | None = None,
                **options: Any) -> int:
    """Number of trainable parameters of one layer, or the sum over ``layers``.

    layer: conv2d, conv_transpose2d, linear, rnn, lstm, gru, batchnorm, embedding, with its
    PyTorch constructor options (e.g. layer=rnn, input_size=3, hidden_size=5). bias=false
    drops the bias. For rnn/lstm/gru one bias vector per gate is counted, as in the lecture
    formula; double_bias=true counts PyTorch's two (b_ih, b_hh). layers: a list of mappings
    each with a 'layer' key and that layer's options.
    """
    if (layer is None) == (layers is None):
        raise SolverError("param_count: give either 'layer' (with its options) or 'layers'")
    if layers is None:
        return _count_layer(layer, options, "param_count")
    if options:
        raise SolverError(f"param_count: with 'layers', put options inside each layer "
                          f"(got {', '.join(sorted(options))} outside)")
    if not isinstance(layers, (list, tuple)) or not layers:
        raise SolverError("param_count: layers must be a non-empty list of mappings")
    if len(layers) > MAX_LAYERS:
        raise SolverError(f"param_count: {len(layers)} layers; at most {MAX_LAYERS}")
    total = 0
    for index, item in enumerate(layers, start=1):
        if not isinstance(item, dict) or "layer" not in item:
            raise SolverError(f"param_count: layers[{index}] must be a mapping with a 'layer' "
                              f"key, e.g. {{layer: linear, in_features: 3, out_features: 2}}")
        cfg = {k: v for k, v in item.items() if k != "layer"}
        total += _count_layer(item["layer"], cfg, f"param_count: layers[{index}]")
    return total


INIT_MODES = ("variance", "lecun", "xavier", "glorot", "kaiming", "he")


def uniform_init_bound(mode: str = "lecun", fan_in: Any = None, fan_out: Any = None,
                       variance: Any = None, gain: Any = None) -> float | str:
    """Bound a of U(-a, a) with the variance an initialisation scheme asks for.

    Var(U(-a, a)) = a²/3, so a = sqrt(3·Var). Modes:
      variance       : the given ``variance``            -> sqrt(3·variance)
      lecun          : Var = gain²/fan_in (gain 1)       -> sqrt(3/n). This keeps
                       Var(s) = Var(x) for s = Σ w x; the I2DL lecture calls it Xavier.
      xavier, glorot : Var = 2·gain²/(fan_in + fan_out)  -> torch.nn.init.xavier_uniform_
      kaiming, he    : Var = gain²/fan_in, gain sqrt(2)  -> torch.nn.init.kaiming_uniform_
                       (nonlinearity='relu', mode='fan_in'); pass fan_out as fan_in for
                       mode='fan_out'.
    Without fan sizes, returns the formula as a string in n (fan_in) and n_out (fan_out),
    e.g. "sqrt(3/n)", for expression-kind answers.
    """
    key = str(mode).strip().lower()
    if key not in INIT_MODES:
        raise SolverError(f"uniform_init_bound: unknown mode {mode!r}; known: "
                          f"{', '.join(INIT_MODES)}")
    if key == "variance":
        if variance is None:
            raise SolverError("uniform_init_bound: mode 'variance' needs 'variance'")
        var = parse_number(variance, "variance")
        if var < 0:
            raise SolverError(f"uniform_init_bound: variance must be >= 0, got {var}")
        return math.sqrt(3.0 * var)
    if variance is not None:
        raise SolverError("uniform_init_bound: 'variance' is only used with mode 'variance'")
    default_gain = math.sqrt(2.0) if key in ("kaiming", "he") else 1.0
    g = default_gain if gain is None else parse_number(gain, "gain")
    if key in ("xavier", "glorot"):
        return _xavier(fan_in, fan_out, g)
    if fan_out is not None:
        raise SolverError(f"uniform_init_bound: mode {key!r} uses fan_in only")
    numerator = 3.0 * g * g
    if fan_in is None:
        return f"sqrt({_plain(numerator)}/n)"
    n = parse_int(fan_in, "fan_in", minimum=1)
    return math.sqrt(numerator / n)


def _xavier(fan_in: Any, fan_out: Any, gain: float) -> float | str:
    numerator = 6.0 * gain * gain
    if fan_in is None and fan_out is None:
        return f"sqrt({_plain(numerator)}/(n + n_out))"
    if fan_in is None or fan_out is None:
        raise SolverError("uniform_init_bound: mode 'xavier' needs both fan_in and fan_out "
                          "(for the lecture's Var = 1/n use mode 'lecun')")
    n_in = parse_int(fan_in, "fan_in", minimum=1)
    n_out = parse_int(fan_out, "fan_out", minimum=1)
    return math.sqrt(numerator / (n_in + n_out))


def _plain(number: float) -> str:
    """6.000000000000001 -> "6"; keeps the formula readable for sympy and humans."""
    rounded = round(number, 9)
    return str(int(rounded)) if rounded == int(rounded) else repr(rounded)
