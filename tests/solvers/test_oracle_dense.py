"""Oracle tests: softmax, attention, linear, batch norm, RNN forward/BPTT, spectral radius and
initialisation bounds against PyTorch on seeded random cases."""
from __future__ import annotations

import math

import numpy as np
import pytest

import torch  # a test dependency (requirements-test.txt): make test installs it
import torch.nn.functional as F  # noqa: E402

from rubrics.solvers import solve  # noqa: E402

torch.set_num_threads(1)
CASES = 300
TORCH_ACT = {"tanh": torch.tanh, "relu": torch.relu, "identity": lambda t: t,
             "sigmoid": torch.sigmoid}


def t64(array, grad: bool = False) -> "torch.Tensor":
    return torch.tensor(np.asarray(array, dtype=np.float64), dtype=torch.float64,
                        requires_grad=grad)


@pytest.mark.parametrize("seed", range(CASES))
def test_softmax_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(10_000 + seed)
    shape = tuple(int(n) for n in rng.integers(1, 6, size=int(rng.integers(1, 4))))
    x = rng.normal(scale=float(rng.choice([1, 10, 300])), size=shape)   # 300: overflow check
    axis = int(rng.integers(-len(shape), len(shape)))
    got = solve("softmax", x=x, axis=axis)
    np.testing.assert_allclose(got, torch.softmax(t64(x), dim=axis).numpy(), rtol=1e-10,
                               atol=1e-12)


def _random_mask(rng, rows: int, cols: int):
    kind = ["none", "causal", "bool", "additive"][int(rng.integers(0, 4))]
    if kind == "none":
        return None, None
    if kind == "causal":
        return "causal", torch.ones(rows, cols, dtype=torch.bool).tril()
    allowed = rng.random((rows, cols)) < 0.6
    allowed[np.arange(rows), rng.integers(0, cols, size=rows)] = True   # no empty row
    if kind == "bool":
        return allowed.tolist(), torch.tensor(allowed)
    additive = np.where(allowed, rng.normal(size=(rows, cols)), -np.inf)
    return additive, t64(additive)


@pytest.mark.parametrize("seed", range(CASES))
def test_self_attention_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(11_000 + seed)
    tokens, d_model = int(rng.integers(1, 7)), int(rng.integers(1, 6))
    d_k, d_v = int(rng.integers(1, 5)), int(rng.integers(1, 5))
    batch = (int(rng.integers(1, 3)),) if rng.random() < 0.3 else ()
    x = rng.normal(size=batch + (tokens, d_model))
    wq, wk, wv = (rng.normal(size=(d_model, d)) for d in (d_k, d_k, d_v))
    mask, torch_mask = _random_mask(rng, tokens, tokens)

    got = solve("self_attention", x=x, wq=wq, wk=wk, wv=wv, mask=mask)
    q, k, v = t64(x) @ t64(wq), t64(x) @ t64(wk), t64(x) @ t64(wv)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=torch_mask)
    np.testing.assert_allclose(got["output"], expected.numpy(), rtol=1e-9, atol=1e-10)
    scores = q @ k.transpose(-1, -2) / math.sqrt(d_k)
    np.testing.assert_allclose(got["scores"], scores.numpy(), rtol=1e-10, atol=1e-12)
    if torch_mask is not None and torch_mask.dtype == torch.bool:
        scores = scores.masked_fill(~torch_mask, float("-inf"))
    elif torch_mask is not None:
        scores = scores + torch_mask
    np.testing.assert_allclose(got["weights"], torch.softmax(scores, -1).numpy(), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("seed", range(CASES))
def test_linear_forward_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(12_000 + seed)
    n_in, n_out = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    x = rng.normal(size=(int(rng.integers(1, 5)), n_in) if rng.random() < 0.7 else (n_in,))
    weight = rng.normal(size=(n_out, n_in))
    bias = rng.normal(size=n_out) if rng.random() < 0.6 else None
    activation = str(rng.choice(["none", "relu", "sigmoid", "tanh"]))
    got = solve("linear_forward", x=x, weight=weight, bias=bias, activation=activation)
    z = F.linear(t64(x), t64(weight), None if bias is None else t64(bias))
    expected = {"none": z, "relu": torch.relu(z), "sigmoid": torch.sigmoid(z),
                "tanh": torch.tanh(z)}[activation]
    np.testing.assert_allclose(got, expected.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("seed", range(CASES))
def test_batchnorm_forward_matches_torch(seed: int) -> None:
    rng = np.random.default_rng(13_000 + seed)
    channels = int(rng.integers(1, 5))
    shape = (int(rng.integers(2, 6)), channels)
    if rng.random() < 0.5:
        shape += (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    x = rng.normal(loc=3.0, size=shape)
    gamma, beta = rng.normal(size=channels), rng.normal(size=channels)
    eps = float(rng.choice([1e-5, 1e-3, 0.1]))
    got = solve("batchnorm_forward", x=x, gamma=gamma, beta=beta, eps=eps)
    expected = F.batch_norm(t64(x), None, None, t64(gamma), t64(beta), training=True, eps=eps)
    np.testing.assert_allclose(got["output"], expected.numpy(), rtol=1e-9, atol=1e-10)
    dims = [0] + list(range(2, x.ndim))
    np.testing.assert_allclose(got["mean"], t64(x).mean(dim=dims).numpy(), atol=1e-12)
    np.testing.assert_allclose(got["var"], t64(x).var(dim=dims, unbiased=False).numpy(),
                               atol=1e-12)


def _rnn_case(rng, vector: bool, activation: str):
    steps = int(rng.integers(1, 6))
    if not vector:
        return dict(V=float(rng.normal()), W=float(rng.normal()), b=float(rng.normal()),
                    h0=float(rng.normal()), x=rng.normal(size=steps).tolist(),
                    activation=activation)
    hidden, features = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    return dict(V=rng.normal(scale=0.7, size=(hidden, hidden)),
                W=rng.normal(size=(hidden, features)), b=rng.normal(size=hidden),
                h0=rng.normal(size=hidden), x=rng.normal(size=(steps, features)).tolist(),
                activation=activation)


def _torch_rnn(V, W, b, h0, xs, activation):
    act = TORCH_ACT[activation]
    h, states = h0, []
    for x_t in xs:
        # `*` for scalar RNNs (0-d tensors), `@` for vector RNNs
        h = act(V * h + W * x_t + b) if V.dim() == 0 else act(V @ h + W @ x_t + b)
        states.append(h)
    return states


@pytest.mark.parametrize("seed", range(CASES))
def test_rnn_forward_matches_torch_nn_rnn(seed: int) -> None:
    """tanh/relu against torch.nn.RNN itself (weight_hh = V, weight_ih = W, one bias)."""
    rng = np.random.default_rng(14_000 + seed)
    activation = ["tanh", "relu"][seed % 2]
    case = _rnn_case(rng, vector=True, activation=activation)
    hidden, features = np.shape(case["W"])
    rnn = torch.nn.RNN(features, hidden, nonlinearity=activation, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(t64(case["V"]))
        rnn.weight_ih_l0.copy_(t64(case["W"]))
        rnn.bias_ih_l0.copy_(t64(case["b"]))
        rnn.bias_hh_l0.zero_()
        out, _ = rnn(t64(case["x"]), t64(case["h0"])[None])
    got = solve("rnn_forward", **case)
    np.testing.assert_allclose(np.array(got["h"]), out.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got[f"h{len(case['x'])}"], out[-1].numpy(), atol=1e-12)


@pytest.mark.parametrize("seed", range(CASES))
def test_rnn_bptt_matches_autograd(seed: int) -> None:
    rng = np.random.default_rng(15_000 + seed)
    activation = ["tanh", "relu", "identity", "sigmoid"][seed % 4]
    vector = seed % 3 != 0
    case = _rnn_case(rng, vector=vector, activation=activation)
    steps = len(case["x"])
    inputs = [t64(case[k], grad=True) for k in ("V", "W", "b", "h0")]
    xs = [t64(x_t, grad=True) for x_t in case["x"]]

    def last_state(V, W, b, h0, *x):
        return _torch_rnn(V, W, b, h0, x, activation)[-1]
    jac = torch.autograd.functional.jacobian(last_state, tuple(inputs + xs))
    grad_output = rng.normal(size=np.shape(case["h0"]))
    got = solve("rnn_bptt", grad_output=grad_output, **case)
    names = ["V", "W", "b", "h0"] + [f"x{t}" for t in range(1, steps + 1)]
    for name, expected in zip(names, jac):
        np.testing.assert_allclose(got[f"dhT_d{name}"], expected.numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=name)
        assert np.array_equal(got[f"dh{steps}_d{name}"], got[f"dhT_d{name}"])
    # Gradient of L = <g, h_T> for every parameter, by ordinary backward().
    loss = (last_state(*inputs, *xs) * t64(grad_output)).sum()
    loss.backward()
    for name, tensor in zip(names, inputs + xs):
        np.testing.assert_allclose(got[f"dL_d{name}"], tensor.grad.numpy(), rtol=1e-9,
                                   atol=1e-12, err_msg=name)


def test_relu_derivative_at_zero_is_zero_like_torch() -> None:
    # pre-activation V*h0 + W*x1 = 1*(-1) + 1*1 = 0 exactly
    got = solve("rnn_bptt", V=1, W=1, h0=-1, x=[1], activation="relu")
    V, W, h0, x1 = (t64(v, grad=True) for v in (1.0, 1.0, -1.0, 1.0))
    torch.relu(V * h0 + W * x1).backward()
    assert got["dh1_dW"] == W.grad.item() == 0.0
    assert got["dh1_dx1"] == x1.grad.item() == 0.0


@pytest.mark.parametrize("seed", range(CASES))
def test_spectral_radius_matches_torch_and_verdict_holds(seed: int) -> None:
    rng = np.random.default_rng(16_000 + seed)
    n = int(rng.integers(1, 6))
    matrix = rng.normal(scale=float(rng.uniform(0.1, 1.0)), size=(n, n))
    got = solve("spectral_radius", matrix=matrix)
    expected = torch.linalg.eigvals(t64(matrix)).abs().max().item()
    assert got["value"] == pytest.approx(expected, rel=1e-10)
    if abs(expected - 1) > 0.05:
        # The verdict is about ||(Wᵀ)^k|| as k grows, the BPTT factor of a linear RNN.
        norm = torch.linalg.matrix_norm(torch.linalg.matrix_power(t64(matrix).T, 400)).item()
        assert got["verdict"] == ("explode" if norm > 1e3 else "vanish")
        assert got["reason"].startswith(f"spectral radius {expected:.3f}")


def _repeat_init(init, rows: int, cols: int, **kwargs) -> "torch.Tensor":
    """At least 20 000 samples from a torch initialiser applied to a rows×cols weight."""
    draws = -(-20_000 // (rows * cols))
    return torch.cat([init(torch.empty(rows, cols, dtype=torch.float64), **kwargs).flatten()
                      for _ in range(draws)])


@pytest.mark.parametrize("seed", range(100))
def test_uniform_init_bound_matches_torch_init(seed: int) -> None:
    """torch.nn.init draws U(-a, a): every sample lies within our bound a and the largest of
    20 000 samples comes within 1% of it (a miss has probability < e^-200)."""
    rng = np.random.default_rng(17_000 + seed)
    fan_in, fan_out = int(rng.integers(20, 300)), int(rng.integers(20, 300))
    torch.manual_seed(seed)
    mode = ["xavier", "kaiming", "lecun", "variance"][seed % 4]
    if mode == "xavier":
        gain = float(rng.uniform(0.5, 2))
        bound = solve("uniform_init_bound", mode=mode, fan_in=fan_in, fan_out=fan_out, gain=gain)
        # torch: a 2-D weight is (fan_out, fan_in)
        samples = _repeat_init(torch.nn.init.xavier_uniform_, fan_out, fan_in, gain=gain)
    elif mode in ("kaiming", "lecun"):
        bound = solve("uniform_init_bound", mode=mode, fan_in=fan_in)
        # LeCun's Var = 1/fan_in is kaiming_uniform_ with gain 1 ('linear').
        samples = _repeat_init(torch.nn.init.kaiming_uniform_, fan_out, fan_in,
                               nonlinearity="relu" if mode == "kaiming" else "linear")
    else:
        variance = float(rng.uniform(0.01, 3))
        bound = solve("uniform_init_bound", mode="variance", variance=variance)
        samples = _repeat_init(torch.nn.init.uniform_, fan_out, fan_in, a=-bound, b=bound)
        assert samples.var().item() == pytest.approx(variance, rel=0.05)
    peak = samples.abs().max().item()
    assert bound * 0.99 <= peak <= bound + 1e-12
