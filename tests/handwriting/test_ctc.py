"""The CTC forward algorithm and prefix beam search against brute-force enumeration of every
path on tiny probability matrices."""
import itertools
import math

import numpy as np
import pytest

from grader import ctc


def collapse(path):
    """The string a path spells: runs merged, blanks (0) dropped."""
    out, previous = [], None
    for c in path:
        if c != previous and c != ctc.BLANK:
            out.append(c)
        previous = c
    return tuple(out)


def brute_force(probs):
    """P(string) for every string the frames can spell, by summing over all C**T paths."""
    found = {}
    frames, classes = probs.shape
    for path in itertools.product(range(classes), repeat=frames):
        p = math.prod(probs[t, c] for t, c in enumerate(path))
        found[collapse(path)] = found.get(collapse(path), 0.0) + p
    return found


@pytest.mark.parametrize("seed", range(12))
def test_forward_equals_brute_force_including_repeats_and_impossible_strings(seed):
    rng = np.random.default_rng(seed)
    frames, classes = int(rng.integers(1, 6)), int(rng.integers(2, 4))
    probs = rng.dirichlet(np.ones(classes) * 0.7, size=frames)
    truth = brute_force(probs)
    assert sum(truth.values()) == pytest.approx(1.0)
    impossible = [(1,) * (frames + 1), (1, 1) * frames]     # more frames needed than there are
    strings = list(truth) + impossible
    got = ctc.log_likelihoods(np.log(probs), strings)
    for string, log_p in zip(strings, got):
        if string in truth:
            assert math.exp(log_p) == pytest.approx(truth[string], rel=1e-9, abs=1e-15), string
        else:
            assert log_p == -math.inf, string


def test_repeated_characters_need_a_blank_between_them():
    # Three frames all sure of class 1: only "1" can be spelled, never "11".
    probs = np.array([[1e-9, 1 - 1e-9]] * 3)
    assert ctc.log_likelihood(np.log(probs), (1,)) == pytest.approx(0.0, abs=1e-6)
    assert ctc.log_likelihood(np.log(probs), (1, 1)) < -20
    # With a blank frame between, "11" is spelled.
    probs = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]) * (1 - 2e-9) + 1e-9
    assert math.exp(ctc.log_likelihood(np.log(probs), (1, 1))) == pytest.approx(1.0, abs=1e-6)


def test_the_empty_string_is_all_blanks_and_bad_labels_are_refused():
    probs = np.array([[0.9, 0.1], [0.6, 0.4]])
    assert math.exp(ctc.log_likelihood(np.log(probs), ())) == pytest.approx(0.54)
    with pytest.raises(ValueError):
        ctc.log_likelihood(np.log(probs), (0,))
    with pytest.raises(ValueError):
        ctc.log_likelihood(np.log(probs), (5,))


@pytest.mark.parametrize("seed", range(6))
def test_beam_search_finds_the_most_likely_strings(seed):
    rng = np.random.default_rng(100 + seed)
    probs = rng.dirichlet(np.ones(3) * 0.5, size=4)
    truth = brute_force(probs)
    beams = ctc.beam_search(np.log(probs), width=50, prune=1e-12, per_frame=3)
    assert beams[0][0] == max(truth, key=truth.get)
    for string, score in beams:            # nothing pruned here: the scores are exact
        assert math.exp(score) == pytest.approx(truth[string], rel=1e-9)
    assert len(beams) == len(truth)
    narrow = ctc.beam_search(np.log(probs), width=2)
    assert len(narrow) <= 2 and all(math.exp(s) <= truth[p] + 1e-12 for p, s in narrow)


@pytest.mark.parametrize("seed", range(6))
def test_frames_no_class_passes_only_lengthen_the_beams(seed):
    """Frames where every character is below ``prune`` (blanks between characters, most of a
    line) are taken in one step: the beams and their scores are those of the paths through
    the classes that pass, summed exactly."""
    rng = np.random.default_rng(200 + seed)
    probs = rng.dirichlet(np.ones(3) * 0.5, size=5)
    for t in (0, 2, 4):
        probs[t] = [1 - 2e-6, 1e-6, 1e-6]             # a blank frame: nothing passes 1e-4
    passing = np.where((probs >= 1e-4) | (np.arange(3) == ctc.BLANK), probs, 0.0)
    truth = {s: p for s, p in brute_force(passing).items() if p > 0}
    beams = ctc.beam_search(np.log(probs), width=50, prune=1e-4, per_frame=3)
    assert {s for s, _ in beams} == set(truth)
    for string, score in beams:     # (and a last character held on through a blank frame)
        assert math.exp(score) == pytest.approx(truth[string], rel=1e-5)
    assert [s for s, _ in beams] == sorted(truth, key=truth.get, reverse=True)
