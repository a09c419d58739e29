"""The public API: registry, overrides (error carried forward), jsonable, purity."""
from __future__ import annotations

import copy
import inspect
import json
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from rubrics.solvers import OVERRIDABLE, SOLVERS, SolverError, jsonable, solve

from .test_seed_questions import NB_TABLE, QUESTIONS


def test_importing_the_solvers_pulls_in_neither_django_nor_torch() -> None:
    code = ("import sys, rubrics.solvers, rubrics.keycheck; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('django', 'torch', 'scipy')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_registry_is_complete_and_documented() -> None:
    assert set(OVERRIDABLE) == set(SOLVERS)
    for name, function in SOLVERS.items():
        assert function.__doc__ and len(function.__doc__.strip()) > 40, name
        accepts = "overrides" in inspect.signature(function).parameters
        assert accepts == bool(OVERRIDABLE[name]), name


@pytest.mark.parametrize("question", QUESTIONS, ids=[q[0] for q in QUESTIONS])
def test_every_seed_result_survives_json(question) -> None:
    _, solver, params, overrides, _, _ = question
    text = json.dumps(jsonable(solve(solver, overrides=overrides, **params)))
    assert json.loads(text) is not None


def test_jsonable_conversions() -> None:
    value = {"shape": (8, 8, 5), "ints": np.array([[1, 2]]), "floats": np.array([0.5, 1.0]),
             "scalar": np.float64(0.25), "count": np.int64(45), "flag": np.bool_(True),
             "exact": Fraction(3, 8), "whole": Fraction(4, 2), 7: [np.int32(1)]}
    assert jsonable(value) == {"shape": [8, 8, 5], "ints": [[1, 2]], "floats": [0.5, 1.0],
                               "scalar": 0.25, "count": 45, "flag": True, "exact": 0.375,
                               "whole": 2, "7": [1]}
    converted = jsonable(value)
    assert type(converted["ints"][0][0]) is int and type(converted["count"]) is int
    assert type(converted["floats"][1]) is float
    with pytest.raises(TypeError):
        jsonable(object())


def test_solvers_never_mutate_their_inputs() -> None:
    rng = np.random.default_rng(0)
    params = {
        "conv2d": dict(input=rng.normal(size=(1, 2, 5, 5)), weight=rng.normal(size=(3, 2, 3, 3)),
                       bias=rng.normal(size=3), padding=1, activation="relu"),
        "conv_transpose2d": dict(input=[[1.0, 2.0], [3.0, 4.0]], kernel=[[1.0, 2.0], [3.0, 4.0]],
                                 stride=2),
        "pool2d": dict(input=rng.normal(size=(4, 4)), kernel_size=2, mode="avg"),
        "self_attention": dict(x=rng.normal(size=(3, 2)), wq=np.eye(2), wk=np.eye(2),
                               wv=np.eye(2), mask="causal"),
        "batchnorm_forward": dict(x=rng.normal(size=(4, 3)), gamma=[1.0, 2.0, 3.0]),
        "rnn_bptt": dict(V=rng.normal(size=(2, 2)), W=rng.normal(size=(2, 1)),
                         x=[[1.0], [2.0]], h0=np.zeros(2)),
        "naive_bayes": dict(NB_TABLE),
    }
    for name, kwargs in params.items():
        before = copy.deepcopy(kwargs)
        solve(name, **kwargs)
        for key, value in kwargs.items():
            np.testing.assert_equal(value, before[key], err_msg=f"{name}.{key}")


def test_rational_strings_are_accepted_anywhere_a_number_is() -> None:
    as_strings = solve("conv2d", input=[["1/2", "3/2"], ["-1/4", "2"]], weight=[["1/2"]],
                       bias="1/4")
    np.testing.assert_allclose(as_strings, [[0.5, 1.0], [0.125, 1.25]])
    assert solve("uniform_init_bound", mode="variance", variance="1/3") == pytest.approx(1.0)
    assert solve("conv2d_output_shape", input_shape=["8", 8], kernel_size="3") == (6, 6)


def test_attention_overrides_recompute_downstream_values() -> None:
    x = [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]
    eye = np.eye(2)
    student_weights = [[1, 0, 0], [0.5, 0.5, 0], ["1/3", "1/3", "1/3"]]
    result = solve("self_attention", x=x, wq=eye, wk=eye, wv=eye,
                   overrides={"weights": student_weights})
    np.testing.assert_allclose(result["output"], [[1, 0], [0.5, 0.5], [2 / 3, 2 / 3]])
    scores = [[0, 0, 0], [0, 0, 0], [0, 0, 0]]
    result = solve("self_attention", x=x, wq=eye, wk=eye, wv=eye, overrides={"scores": scores})
    np.testing.assert_allclose(result["weights"], np.full((3, 3), 1 / 3))


def test_batchnorm_override_of_the_mean_carries_forward() -> None:
    result = solve("batchnorm_forward", x=[1.0, 3.0], eps=0, overrides={"mean": 1.0})
    # var from the student's mean: ((1-1)^2 + (3-1)^2)/2 = 2
    assert result["var"] == pytest.approx(2.0)
    np.testing.assert_allclose(result["x_hat"], [0.0, 2 / np.sqrt(2)])


def test_naive_bayes_override_of_a_prior_changes_the_posteriors() -> None:
    base = solve("naive_bayes", **NB_TABLE, instances=[7])
    student = solve("naive_bayes", **NB_TABLE, instances=[7],
                    overrides={"p(y=0)": "1/2", "p(y = 1)": "1/2"})
    assert base["p(y=0|instance 7)"] == pytest.approx(5 / 8)
    # (1/2 * 1/3) / (1/2 * 1/3 + 1/2 * 3/25) = 25/34
    assert student["p(y=0|instance 7)"] == pytest.approx(25 / 34)


def test_vector_rnn_overrides_continue_from_the_given_state() -> None:
    params = dict(V=[[0.5, 0.0], [0.0, 0.5]], W=[[1.0], [1.0]], x=[[1.0], [1.0]],
                  activation="identity")
    result = solve("rnn_forward", overrides={"h1": [2.0, 0.0]}, **params)
    np.testing.assert_allclose(result["h2"], [2.0, 1.0])
    with pytest.raises(SolverError, match="expected 2 entries"):
        solve("rnn_forward", overrides={"h1": [1.0, 2.0, 3.0]}, **params)


@pytest.mark.parametrize("seed", range(200))
def test_naive_bayes_matches_brute_force_counting(seed: int) -> None:
    rng = np.random.default_rng(20_000 + seed)
    rows = int(rng.integers(2, 15))
    n_features = int(rng.integers(1, 4))
    y = rng.integers(0, int(rng.integers(2, 4)), size=rows)
    x = rng.integers(0, 3, size=(rows, n_features))
    columns = ["y"] + [f"x{j + 1}" for j in range(n_features)]
    table = np.column_stack([y, x]).tolist()
    alpha = int(rng.integers(0, 2))
    result = solve("naive_bayes", columns=columns, rows=table, alpha=alpha)
    classes = sorted(set(y.tolist()))
    for i in range(rows):
        joint = []
        for c in classes:
            members = y == c
            likelihood = 1.0
            for j in range(n_features):
                n_values = len(set(x[:, j].tolist()))
                hits = np.sum(members & (x[:, j] == x[i, j]))
                likelihood *= (hits + alpha) / (members.sum() + alpha * n_values)
            joint.append(members.mean() * likelihood)
        for c, p in zip(classes, joint):
            assert result[f"p(y={c}|instance {i + 1})"] == pytest.approx(p / sum(joint))
