"""Answer-key verification: solver keys against the literal keys printed in the seeds."""
from __future__ import annotations

import dataclasses
import math

import pytest

from rubrics.keycheck import KeyCheck, compare_key
from rubrics.solvers import solve

from .test_seed_questions import (CONV_F, CONV_X, IDENTITY, OUTPUT_A, OUTPUT_B, SCORES_A,
                                  SCORES_B, SCORES_C, SWAP, TOKENS_A, TOKENS_C, WEIGHTS_A,
                                  WEIGHTS_C)

# Seed 004 (b) attention weights exactly as printed: 0.1244 at row 5, column 4 is a typo.
PRINTED_WEIGHTS_B = [[0.1358, 0.2754, 0.1934, 0.2391, 0.1564],
                     [0.2754, 0.1358, 0.1934, 0.1564, 0.2391],
                     [0.2, 0.2, 0.2, 0.2, 0.2],
                     [0.2443, 0.1598, 0.1976, 0.174, 0.2244],
                     [0.1598, 0.2443, 0.1976, 0.1244, 0.174]]


def _attention(tokens, wq):
    return solve("self_attention", x=tokens, wq=wq, wk=IDENTITY, wv=IDENTITY)


def test_seed_004_b_typo_is_reported_at_row_5_column_4() -> None:
    check = compare_key(_attention(TOKENS_A, SWAP)["weights"], PRINTED_WEIGHTS_B, abs_tol=1e-4)
    assert not check.ok
    assert len(check.mismatches) == 1
    index, computed, given = check.mismatches[0]
    assert index == (5, 4)
    assert computed == pytest.approx(0.2244, abs=5e-5)
    assert given == 0.1244
    assert "row 5, column 4: computed 0.2244, given 0.1244" in check.detail


@pytest.mark.parametrize("name, tokens, wq, output, printed", [
    ("(a) scores", TOKENS_A, IDENTITY, "scores", SCORES_A),
    ("(a) weights", TOKENS_A, IDENTITY, "weights", WEIGHTS_A),
    ("(a) output", TOKENS_A, IDENTITY, "output", OUTPUT_A),
    ("(b) scores", TOKENS_A, SWAP, "scores", SCORES_B),
    ("(b) output", TOKENS_A, SWAP, "output", OUTPUT_B),
    ("(c) scores", TOKENS_C, IDENTITY, "scores", SCORES_C),
    ("(c) weights", TOKENS_C, IDENTITY, "weights", WEIGHTS_C),
])
def test_seed_004_correct_printed_matrices_pass_at_four_decimals(name, tokens, wq, output,
                                                                 printed) -> None:
    check = compare_key(_attention(tokens, wq)[output], printed, abs_tol=1e-4)
    assert check.ok, check.detail
    assert check.mismatches == ()


def test_seed_004_stray_column_is_reported_as_ragged_not_compared() -> None:
    # (c) prints row 5 of the weights with a sixth 0.2 (a transcription artefact).
    printed = [row[:] for row in WEIGHTS_C]
    printed[4] = printed[4] + [0.2]
    check = compare_key(_attention(TOKENS_C, IDENTITY)["weights"], printed, abs_tol=1e-4)
    assert not check.ok
    assert "row 5 has 6 entries" in check.detail


def test_seed_004_conv_model_answer_b_is_flagged() -> None:
    computed = solve("conv2d", input=CONV_X, weight=CONV_F, bias=2, activation="relu",
                     cells={"a": [1, 1], "b": [1, 2], "e": [2, 1], "f": [2, 2]})
    check = compare_key(computed, {"a": 70, "b": 24, "e": 0, "f": 0})
    assert not check.ok
    assert check.mismatches == ((("b",), 25.0, 24),)
    assert "b: computed 25, given 24" in check.detail


def test_shape_mismatch_is_reported_as_such() -> None:
    check = compare_key([[1, 2], [3, 4]], [[1, 2, 0], [3, 4, 0]])
    assert not check.ok and check.mismatches == ()
    assert "shape mismatch: computed 2×2, given 2×3" in check.detail


@pytest.mark.parametrize("computed, literal, ok", [
    (0.5, "1/2", True),
    (2 / 3, "2/3", True),
    (1.0000001, 1.0, True),            # inside rel_tol 1e-6
    (1.001, 1.0, False),
    (15, 15, True),
    (15, 16, False),
    (10**9, 10**9 + 1, False),          # integers compare exactly, rel_tol does not apply
    (math.nan, math.nan, False),        # NaN never equals anything
    (math.nan, 1.0, False),
    (math.inf, math.inf, True),
    (math.inf, "inf", True),
    (-math.inf, math.inf, False),
    (math.inf, 1e308, False),
    ((8, 8, 5), [8, 8, 5], True),
    ((8, 8, 5), [8, 5, 8], False),
    ("explode", "explode", True),
    ("explode", "vanish", False),
])
def test_scalar_and_sequence_rules(computed, literal, ok) -> None:
    assert compare_key(computed, literal).ok is ok


def test_dicts_compare_the_named_values_only() -> None:
    computed = solve("rnn_forward", V=-3, W=3, h0=0, x=[2, 3, 1], activation="relu")
    assert compare_key(computed, {"h2": 0, "h3": 3}).ok
    check = compare_key(computed, {"h2": 0, "h3": 2})
    assert check.mismatches == ((("h3",), 3.0, 2),)
    missing = compare_key(computed, {"h4": 1})
    assert not missing.ok and "h4" in missing.detail


def test_nested_dict_and_matrix_positions() -> None:
    computed = {"weights": [[0.5, 0.5], [0.25, 0.75]]}
    check = compare_key(computed, {"weights": [[0.5, 0.5], [0.75, 0.25]]})
    assert [m[0] for m in check.mismatches] == [("weights", 2, 1), ("weights", 2, 2)]
    assert "weights row 2, column 1: computed 0.25, given 0.75" in check.detail


def test_detail_lists_a_few_and_counts_the_rest() -> None:
    check = compare_key(list(range(10)), [v + 1 for v in range(10)])
    assert len(check.mismatches) == 10
    assert "and 5 more" in check.detail and check.detail.startswith("10 of 10 entries differ")


def test_detail_shows_enough_digits_to_see_the_difference() -> None:
    check = compare_key(0.123456, 0.123446, abs_tol=1e-9, rel_tol=0)
    assert "computed 0.123456, given 0.123446" in check.detail


def test_keycheck_is_frozen() -> None:
    check = compare_key(1, 1)
    assert isinstance(check, KeyCheck)
    with pytest.raises(dataclasses.FrozenInstanceError):
        check.ok = False  # type: ignore[misc]
