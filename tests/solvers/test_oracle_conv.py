"""Oracle tests: convolution, pooling, shapes, parameter counts and receptive fields against
PyTorch on random cases from seeded generators (deterministic, no hypothesis database)."""
from __future__ import annotations

import numpy as np
import pytest

import torch  # a test dependency (requirements-test.txt): make test installs it
import torch.nn.functional as F  # noqa: E402

from rubrics.solvers import solve  # noqa: E402

torch.set_num_threads(1)
CASES = 300
ACTIVATIONS = {"none": lambda t: t, "relu": torch.relu, "sigmoid": torch.sigmoid,
               "tanh": torch.tanh}


def t64(array) -> "torch.Tensor":
    return torch.tensor(np.asarray(array), dtype=torch.float64)


def _pair(rng: np.random.Generator, low: int, high: int) -> tuple[int, int]:
    first = int(rng.integers(low, high + 1))
    # Mostly square, sometimes not: exams use square kernels, PyTorch allows both.
    return (first, first) if rng.random() < 0.6 else (first, int(rng.integers(low, high + 1)))


def _size_for(rng, kernel, dilation, padding, extra=6) -> int:
    effective = dilation * (kernel - 1) + 1
    return int(rng.integers(max(1, effective - 2 * padding), effective + extra))


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's own performance note
@pytest.mark.parametrize("seed", range(CASES))
def test_conv2d_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    groups = int(rng.choice([1, 1, 2, 3]))
    c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kernel, stride, dilation = _pair(rng, 1, 4), _pair(rng, 1, 3), _pair(rng, 1, 3)
    use_same = stride == (1, 1) and rng.random() < 0.2
    padding = "same" if use_same else _pair(rng, 0, 3)
    pads = (0, 0) if use_same else padding
    h = _size_for(rng, kernel[0], dilation[0], pads[0])
    w = _size_for(rng, kernel[1], dilation[1], pads[1])
    x = rng.normal(size=(int(rng.integers(1, 3)), c_in, h, w))
    weight = rng.normal(size=(c_out, c_in // groups, *kernel))
    bias = rng.normal(size=c_out) if rng.random() < 0.5 else None
    activation = str(rng.choice(list(ACTIVATIONS)))

    got = solve("conv2d", input=x.tolist(), weight=weight, bias=bias, stride=list(stride),
                padding=padding if use_same else list(padding), dilation=list(dilation),
                groups=groups, activation=activation)
    expected = ACTIVATIONS[activation](F.conv2d(
        t64(x), t64(weight), None if bias is None else t64(bias), stride=stride,
        padding=padding, dilation=dilation, groups=groups)).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", range(60))
def test_conv2d_unbatched_ranks_match_torch(seed: int) -> None:
    """(H, W) input with a (kH, kW) kernel gives (H_out, W_out); (C, H, W) with a 4-D weight
    gives (O, H_out, W_out), as torch does for unbatched input."""
    rng = np.random.default_rng(5000 + seed)
    k = int(rng.integers(1, 4))
    image = rng.normal(size=(int(rng.integers(k, k + 5)), int(rng.integers(k, k + 5))))
    kernel = rng.normal(size=(k, k))
    got = solve("conv2d", input=image, kernel=kernel)
    expected = F.conv2d(t64(image)[None, None], t64(kernel)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)

    channels = rng.normal(size=(2, *image.shape))
    weight = rng.normal(size=(3, 2, k, k))
    got3 = solve("conv2d", input=channels, weight=weight)
    np.testing.assert_allclose(got3, F.conv2d(t64(channels), t64(weight)).numpy(), atol=1e-10)


@pytest.mark.parametrize("seed", range(CASES))
def test_conv_transpose2d_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(2000 + seed)
    groups = int(rng.choice([1, 1, 2]))
    c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    while True:
        kernel, stride, dilation = _pair(rng, 1, 4), _pair(rng, 1, 3), _pair(rng, 1, 2)
        padding = _pair(rng, 0, 2)
        out_pad = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
        size = (int(rng.integers(1, 6)), int(rng.integers(1, 6)))
        out = [(n - 1) * s - 2 * p + d * (k - 1) + o + 1
               for n, s, p, d, k, o in zip(size, stride, padding, dilation, kernel, out_pad)]
        if min(out) > 0:
            break
    x = rng.normal(size=(int(rng.integers(1, 3)), c_in, *size))
    weight = rng.normal(size=(c_in, c_out // groups, *kernel))
    bias = rng.normal(size=c_out) if rng.random() < 0.5 else None

    got = solve("conv_transpose2d", input=x, weight=weight, bias=bias, stride=list(stride),
                padding=list(padding), output_padding=list(out_pad), groups=groups,
                dilation=list(dilation))
    expected = F.conv_transpose2d(t64(x), t64(weight), None if bias is None else t64(bias),
                                  stride=stride, padding=padding, output_padding=out_pad,
                                  groups=groups, dilation=dilation).numpy()
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("seed", range(CASES))
def test_pool2d_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(3000 + seed)
    mode = "max" if seed % 2 else "avg"
    kernel = _pair(rng, 1, 4)
    stride = _pair(rng, 1, 3) if rng.random() < 0.7 else None
    padding = tuple(int(rng.integers(0, k // 2 + 1)) for k in kernel)
    dilation = _pair(rng, 1, 2) if mode == "max" else (1, 1)
    ceil_mode = bool(rng.random() < 0.4)
    count_include_pad = bool(rng.random() < 0.5)
    h = _size_for(rng, kernel[0], dilation[0], padding[0])
    w = _size_for(rng, kernel[1], dilation[1], padding[1])
    x = rng.normal(size=(int(rng.integers(1, 3)), int(rng.integers(1, 3)), h, w))

    got = solve("pool2d", input=x, kernel_size=list(kernel), stride=stride,
                padding=list(padding), dilation=list(dilation), mode=mode,
                ceil_mode=ceil_mode, count_include_pad=count_include_pad)
    if mode == "max":
        expected = F.max_pool2d(t64(x), kernel, stride, padding, dilation, ceil_mode=ceil_mode)
    else:
        expected = F.avg_pool2d(t64(x), kernel, stride, padding, ceil_mode=ceil_mode,
                                count_include_pad=count_include_pad)
    assert got.shape == tuple(expected.shape)
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-10, atol=1e-10)

    shape = solve("pool2d_output_shape", input_shape=[h, w, x.shape[1]],
                  kernel_size=list(kernel), stride=stride, padding=list(padding),
                  dilation=list(dilation), ceil_mode=ceil_mode)
    assert shape == (expected.shape[2], expected.shape[3], x.shape[1])


@pytest.mark.parametrize("seed", range(CASES))
def test_conv2d_output_shape_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(4000 + seed)
    k, s, d, p = (int(rng.integers(1, 8)), int(rng.integers(1, 5)), int(rng.integers(1, 3)),
                  int(rng.integers(0, 4)))
    h = _size_for(rng, k, d, p, extra=30)
    w = _size_for(rng, k, d, p, extra=30)
    c_in, c_out = int(rng.integers(1, 4)), int(rng.integers(1, 6))
    out = F.conv2d(torch.zeros(1, c_in, h, w, dtype=torch.float64),
                   torch.zeros(c_out, c_in, k, k, dtype=torch.float64),
                   stride=s, padding=p, dilation=d)
    _, o, ho, wo = out.shape
    assert solve("conv2d_output_shape", input_shape=[h, w, c_in], out_channels=c_out,
                 kernel_size=k, stride=s, padding=p, dilation=d) == (ho, wo, o)
    assert solve("conv2d_output_shape", input_shape=[c_in, h, w], out_channels=c_out,
                 kernel_size=k, stride=s, padding=p, dilation=d, layout="CHW") == (o, ho, wo)
    shape = solve("conv2d_output_shape", input_shape=[h, w], kernel_size=k, stride=s,
                  padding=p, dilation=d)
    assert shape == (ho, wo) and all(type(v) is int for v in shape)


@pytest.mark.parametrize("seed", range(100))
def test_conv_weight_shape_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(4500 + seed)
    groups = int(rng.choice([1, 2, 4]))
    c_in, c_out = groups * int(rng.integers(1, 4)), groups * int(rng.integers(1, 4))
    k = _pair(rng, 1, 7)
    conv = torch.nn.Conv2d(c_in, c_out, k, groups=groups)
    deconv = torch.nn.ConvTranspose2d(c_in, c_out, k, groups=groups)
    assert solve("conv_weight_shape", in_channels=c_in, out_channels=c_out,
                 kernel_size=list(k), groups=groups) == tuple(conv.weight.shape)
    assert solve("conv_weight_shape", in_channels=c_in, out_channels=c_out, kernel_size=list(k),
                 groups=groups, transposed=True) == tuple(deconv.weight.shape)


def _torch_count(module: "torch.nn.Module") -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("seed", range(CASES))
def test_param_count_matches_torch_modules(seed: int) -> None:
    rng = np.random.default_rng(6000 + seed)
    bias = bool(rng.random() < 0.6)
    kind = ["conv2d", "conv_transpose2d", "linear", "rnn", "lstm", "gru", "batchnorm",
            "embedding"][seed % 8]
    n_in, n_out = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    if kind in ("conv2d", "conv_transpose2d"):
        groups = int(rng.choice([1, 2, 3]))
        n_in, n_out, k = n_in * groups, n_out * groups, _pair(rng, 1, 7)
        cls = torch.nn.Conv2d if kind == "conv2d" else torch.nn.ConvTranspose2d
        module = cls(n_in, n_out, k, bias=bias, groups=groups)
        params = dict(in_channels=n_in, out_channels=n_out, kernel_size=list(k), bias=bias,
                      groups=groups, stride=2)   # stride must not change the count
    elif kind == "linear":
        module = torch.nn.Linear(n_in, n_out, bias=bias)
        params = dict(in_features=n_in, out_features=n_out, bias=bias)
    elif kind in ("rnn", "lstm", "gru"):
        layers, bidirectional = int(rng.integers(1, 4)), bool(rng.random() < 0.4)
        cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
        module = cls(n_in, n_out, num_layers=layers, bias=bias, bidirectional=bidirectional)
        params = dict(input_size=n_in, hidden_size=n_out, num_layers=layers, bias=bias,
                      bidirectional=bidirectional, double_bias=True)
        # The lecture's single-bias cell has exactly one bias vector per gate less.
        gates = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
        single = solve("param_count", layer=kind, **{**params, "double_bias": False})
        dirs = 2 if bidirectional else 1
        assert single == _torch_count(module) - (gates * n_out * layers * dirs if bias else 0)
    elif kind == "batchnorm":
        module = torch.nn.BatchNorm2d(n_in, affine=bias)
        params = dict(num_features=n_in, affine=bias)
    else:
        module = torch.nn.Embedding(n_in, n_out)
        params = dict(num_embeddings=n_in, embedding_dim=n_out)
    count = solve("param_count", layer=kind, **params)
    assert type(count) is int
    assert count == _torch_count(module)


def _brute_force_receptive_field(layers: list[dict]) -> tuple[int, int]:
    """Extent of the input pixels that influence output unit (0, 0), by autograd through a
    stack of all-ones convolutions (positive weights: no cancellation)."""
    size = 1
    for layer in reversed(layers):
        size = (size - 1) * layer["stride"] + layer["dilation"] * (layer["kernel"] - 1) + 1
    x = torch.ones(1, 1, size + 3, size + 3, dtype=torch.float64, requires_grad=True)
    y = x
    for layer in layers:
        weight = torch.ones(1, 1, layer["kernel"], layer["kernel"], dtype=torch.float64)
        y = F.conv2d(y, weight, stride=layer["stride"], dilation=layer["dilation"])
    y[0, 0, 0, 0].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


@pytest.mark.parametrize("seed", range(CASES))
def test_receptive_field_matches_autograd(seed: int) -> None:
    rng = np.random.default_rng(7000 + seed)
    layers = [{"kernel": int(rng.integers(1, 6)), "stride": int(rng.integers(1, 4)),
               "dilation": int(rng.integers(1, 3))} for _ in range(int(rng.integers(1, 5)))]
    height, width = _brute_force_receptive_field(layers)
    assert height == width
    field = solve("receptive_field", layers=layers)
    assert type(field) is int and field == height
