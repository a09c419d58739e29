"""Every computational question of the seed exams (../shared/seeds/*.txt), solved by the
reference solvers and compared with the model solution."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from rubrics.solvers import jsonable, solve

IDENTITY = [[1, 0], [0, 1]]
SWAP = [[0, 1], [1, 0]]
# Seed 004, Question 5: token embeddings x1..x5 as the model solution uses them (the
# question text lost x4 = (0.8, 0.2) in transcription).
TOKENS_A = [[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.8, 0.2], [0.2, 0.8]]
TOKENS_C = [[0.8, 0.2], [0.2, 0.8], [0.0, 1.0], [1.0, 0.0], [0.5, 0.5]]
SCORES_A = [[0.7071, 0.0, 0.3536, 0.1414, 0.5657],
            [0.0, 0.7071, 0.3536, 0.5657, 0.1414],
            [0.3536, 0.3536, 0.3536, 0.3536, 0.3536],
            [0.1414, 0.5657, 0.3536, 0.4808, 0.2263],
            [0.5657, 0.1414, 0.3536, 0.2263, 0.4808]]
WEIGHTS_A = [[0.2754, 0.1358, 0.1934, 0.1564, 0.2391],
             [0.1358, 0.2754, 0.1934, 0.2391, 0.1564],
             [0.2, 0.2, 0.2, 0.2, 0.2],
             [0.1598, 0.2443, 0.1976, 0.2244, 0.174],
             [0.2443, 0.1598, 0.1976, 0.174, 0.2244]]
OUTPUT_A = [[0.4054, 0.5946], [0.5946, 0.4054], [0.5, 0.5], [0.5574, 0.4426],
            [0.4426, 0.5574]]
# (b): the printed scores row 3 has a stray sixth 0.3536 and the printed weights have the
# typo 0.1244 at row 5, column 4 (see test_keycheck.py); these are the correct 5×5 values.
SCORES_B = [[0.0, 0.7071, 0.3536, 0.5657, 0.1414],
            [0.7071, 0.0, 0.3536, 0.1414, 0.5657],
            [0.3536, 0.3536, 0.3536, 0.3536, 0.3536],
            [0.5657, 0.1414, 0.3536, 0.2263, 0.4808],
            [0.1414, 0.5657, 0.3536, 0.4808, 0.2263]]
WEIGHTS_B = [[0.1358, 0.2754, 0.1934, 0.2391, 0.1564],
             [0.2754, 0.1358, 0.1934, 0.1564, 0.2391],
             [0.2, 0.2, 0.2, 0.2, 0.2],
             [0.2443, 0.1598, 0.1976, 0.174, 0.2244],
             [0.1598, 0.2443, 0.1976, 0.2244, 0.174]]
OUTPUT_B = [[0.5946, 0.4054], [0.4054, 0.5946], [0.5, 0.5], [0.4426, 0.5574],
            [0.5574, 0.4426]]
SCORES_C = [[0.4808, 0.2263, 0.1414, 0.5657, 0.3536],
            [0.2263, 0.4808, 0.5657, 0.1414, 0.3536],
            [0.1414, 0.5657, 0.7071, 0.0, 0.3536],
            [0.5657, 0.1414, 0.0, 0.7071, 0.3536],
            [0.3536, 0.3536, 0.3536, 0.3536, 0.3536]]
# (c): the printed weights row 5 has a stray sixth 0.2.
WEIGHTS_C = [[0.2244, 0.174, 0.1598, 0.2443, 0.1976],
             [0.174, 0.2244, 0.2443, 0.1598, 0.1976],
             [0.1564, 0.2391, 0.2754, 0.1358, 0.1934],
             [0.2391, 0.1564, 0.1358, 0.2754, 0.1934],
             [0.2, 0.2, 0.2, 0.2, 0.2]]
CONV_X = [[1, 0, -2, 3, 4, 1], [2, 9, 5, 6, 0, -1], [0, -3, 1, 3, 4, 4],
          [6, 5, 2, 0, 6, 8], [-5, 4, -3, 1, 3, -2], [4, 1, 2, 8, 9, 7]]
CONV_F = [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
NB_TABLE = dict(columns=["Instance", "y", "x1", "x2"],
                rows=[[1, 1, 0, 0], [2, 1, 0, 0], [3, 1, 0, 1], [4, 1, 0, 1],
                      [5, 0, 1, 0], [6, 0, 1, 0], [7, 1, 1, 1], [8, 0, 1, 1]])
RNN_6D = dict(V=-2, W=1, h0=2, x=[2, "3/2", 4], activation="relu")
RNN_6D_OUTPUTS = {"h1": 0, "h2": "2/3", "h3": 1}

# (label, solver, params, overrides, expected: {output name or None: value}, abs tolerance)
QUESTIONS = [
    ("001 1.ii receptive field", "receptive_field",
     dict(layers=[{"kernel": 3, "stride": 1}, {"kernel": 5, "stride": 2},
                  {"kernel": 5, "stride": 1}]), None, {None: 15}, 0),
    ("001 1.iv transposed conv", "conv_transpose2d",
     dict(input=[[1, 2], [3, 4]], kernel=[[1, 2, 3], [2, 3, 4], [3, 4, 5]], stride=1,
          padding=0, dilation=1), None,
     {None: [[1, 4, 7, 6], [5, 17, 27, 20], [9, 27, 37, 26], [9, 24, 31, 20]]}, 1e-12),
    ("002 4.b conv output shape", "conv2d_output_shape",
     dict(input_shape=[26, 26, 26], out_channels=5, kernel_size=7, stride=3, padding=1), None,
     {None: (8, 8, 5)}, 0),
    ("002 4.c conv weight shape (RGB input, 4 filters, k5)", "conv_weight_shape",
     dict(in_channels=3, out_channels=4, kernel_size=5), None, {None: (4, 3, 5, 5)}, 0),
    ("002 4.d receptive field of 3 stacked 3x3", "receptive_field",
     dict(layers=[{"kernel": 3, "stride": 1}] * 3), None, {None: 7}, 0),
    ("002 6.a RNN parameters, x in R^3, h in R^5", "param_count",
     dict(layer="rnn", input_size=3, hidden_size=5), None, {None: 45}, 0),
    ("002 6.c ReLU RNN forward", "rnn_forward",
     dict(V=-3, W=3, h0=0, x=[2, 3, 1], activation="relu"), None,
     {"h1": 6, "h2": 0, "h3": 3}, 1e-12),
    # 6.d: the printed forward outputs do not follow from the printed inputs, so they are
    # passed as overrides. ReLU'(a_t) = [h_t > 0] gives 0, 1, 1 for t = 1, 2, 3:
    #   dh3/dV  = h2 + V*(h1 + V*0)              = 2/3
    #   dh3/dW  = x3 + V*(x2 + V*0)  = 4 - 2*3/2 = 1
    #   dh3/dx1 = 1*V*1*V*0*W                    = 0
    ("002 6.d ReLU RNN BPTT", "rnn_bptt", RNN_6D, RNN_6D_OUTPUTS,
     {"dh3_dV": Fraction(2, 3), "dh3_dW": 1, "dh3_dx1": 0}, 1e-12),
    ("002 8.f uniform init bound, symbolic", "uniform_init_bound", dict(mode="lecun"), None,
     {None: "sqrt(3/n)"}, 0),
    ("002 8.f uniform init bound, n = 12", "uniform_init_bound",
     dict(mode="lecun", fan_in=12), None, {None: 0.5}, 1e-12),
    ("002 8.f same bound from Var(w) = 1/n", "uniform_init_bound",
     dict(mode="variance", variance="1/12"), None, {None: 0.5}, 1e-12),
    ("003 A2 one 3x3 filter over 32 channels, with bias", "param_count",
     dict(layer="conv2d", in_channels=32, out_channels=1, kernel_size=3), None, {None: 289}, 0),
    ("003 A9 spectral radius", "spectral_radius",
     dict(matrix=[[-0.64, -0.06, -1.12], [-0.56, 0.28, -0.76], [0.62, -1.66, -0.2]]), None,
     {"verdict": "explode", "value": 1.15, "reason": "spectral radius 1.151 > 1"}, 0.005),
    ("004 Q5(a) self-attention", "self_attention",
     dict(x=TOKENS_A, wq=IDENTITY, wk=IDENTITY, wv=IDENTITY), None,
     {"scores": SCORES_A, "weights": WEIGHTS_A, "output": OUTPUT_A}, 5.01e-5),
    ("004 Q5(b) self-attention", "self_attention",
     dict(x=TOKENS_A, wq=SWAP, wk=IDENTITY, wv=IDENTITY), None,
     {"scores": SCORES_B, "weights": WEIGHTS_B, "output": OUTPUT_B}, 5.01e-5),
    ("004 Q5(c) self-attention", "self_attention",
     dict(x=TOKENS_C, wq=IDENTITY, wk=IDENTITY, wv=IDENTITY), None,
     {"scores": SCORES_C, "weights": WEIGHTS_C}, 5.01e-5),
    # The model solution prints b = 24: its sum uses X[3,5] = 4 where the window has
    # X[3,4] = 3, so 22 + 2 should be 23 + 2 = 25 (test_keycheck.py flags it).
    ("004 conv with bias 2 and ReLU", "conv2d",
     dict(input=CONV_X, weight=CONV_F, bias=2, activation="relu",
          cells={"a": [1, 1], "b": [1, 2], "e": [2, 1], "f": [2, 2]}), None,
     {"a": 70, "b": 25, "e": 0, "f": 0}, 1e-12),
    ("004 Q1 Naive Bayes", "naive_bayes", dict(**NB_TABLE, instances=[1, 7]), None,
     {"p(y=0)": Fraction(3, 8), "p(x1=0|y=0)": 0, "p(x2=0|y=0)": Fraction(2, 3),
      "p(x1=0|y=1)": Fraction(4, 5), "p(x2=0|y=1)": Fraction(2, 5),
      "p(instance 1|y=1)": Fraction(8, 25), "p(y=0|instance 1)": 0,
      "p(y=1|instance 1)": 1, "p(instance 7|y=0)": Fraction(1, 3),
      "p(instance 7|y=1)": Fraction(3, 25), "p(y=0|instance 7)": Fraction(5, 8),
      "p(y=1|instance 7)": Fraction(3, 8)}, 1e-12),
]


@pytest.mark.parametrize("label, solver, params, overrides, expected, tol", QUESTIONS,
                         ids=[q[0] for q in QUESTIONS])
def test_seed_question(label, solver, params, overrides, expected, tol) -> None:
    result = solve(solver, overrides=overrides, **params)
    for name, want in expected.items():
        got = result if name is None else result[name]
        if isinstance(want, str):
            assert got == want
        elif tol == 0:
            # Shapes, counts and receptive fields are exact Python ints.
            assert got == want
            assert all(type(v) is int for v in (got if isinstance(got, tuple) else (got,)))
        else:
            np.testing.assert_allclose(np.asarray(got, dtype=float),
                                       np.asarray(want, dtype=float), rtol=0, atol=tol,
                                       err_msg=f"{label}: {name}")


def test_seed_003_a1_same_padding_stride_2_output_size() -> None:
    """A1: odd M×N image, odd m×n filter, stride 2, zero padding that keeps the size
    ((m-1)/2) -> (floor(M/2) + 1) × (floor(N/2) + 1)."""
    for big, small in [(M, m) for M in range(3, 40, 2) for m in range(1, min(M, 11) + 1, 2)]:
        shape = solve("conv2d_output_shape", input_shape=[big, big + 2], kernel_size=small,
                      stride=2, padding=(small - 1) // 2)
        assert shape == (big // 2 + 1, (big + 2) // 2 + 1)


def test_seed_002_6c_student_error_carried_forward() -> None:
    """A student who wrote h1 = 5 by mistake gets h2, h3 recomputed from their h1."""
    result = solve("rnn_forward", V=-3, W=3, h0=0, x=[2, 3, 1], activation="relu",
                   overrides={"h1": 5})
    assert (result["h1"], result["h2"], result["h3"]) == (5, 0, 3)
    result = solve("rnn_forward", V=-3, W=3, h0=0, x=[2, 3, 1], activation="relu",
                   overrides={"h2": 1})
    assert (result["h1"], result["h2"], result["h3"]) == (6, 1, 0)


def test_seed_002_6d_without_overrides_uses_the_true_forward_pass() -> None:
    # With the transcribed inputs the true outputs are h1 = 0, h2 = 3/2, h3 = 1 (not 2/3).
    result = solve("rnn_bptt", **RNN_6D)
    assert (result["h1"], result["h2"], result["h3"]) == (0, 1.5, 1)
    assert result["dh3_dV"] == pytest.approx(1.5)
    assert result["dh3_dW"] == pytest.approx(1.0)


def test_seed_003_a9_reason_is_readable() -> None:
    result = jsonable(solve("spectral_radius", matrix=[[-0.64, -0.06, -1.12],
                                                        [-0.56, 0.28, -0.76],
                                                        [0.62, -1.66, -0.2]]))
    assert result["reason"] == "spectral radius 1.151 > 1"
    assert math.isclose(result["moduli"][0], result["value"])
