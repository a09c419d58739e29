"""Connectionist temporal classification (CTC) on one line's per-frame probabilities: how
likely a given string is, and which strings are the most likely. Pure NumPy, log-space.

A CTC recogniser (PP-OCRv6's, ``grader.handwriting``) gives, for each of T frames, a
probability for every class: class 0 is the *blank* (nothing new here), the others are
characters. A path is one class per frame; it spells a string by merging runs of the same
class and then dropping blanks ("1 1 - 1 5 5" → "115" with - the blank). The probability of a
string is the sum of its paths' probabilities (frames independent given the image):

    P(string | line) = Σ over paths spelling the string of Π_t p_t(path_t)

``log_likelihoods`` computes it exactly with the forward algorithm (Graves et al., 2006) on
the string with blanks around every character: a path may stay on a state, step to the next,
or skip a blank between two *different* characters (between two equal ones the blank is
required, else they would merge). ``beam_search`` finds the most likely strings (prefix beam
search, the frames' unlikely classes pruned); their scores are re-computed exactly by the
caller with ``log_likelihoods``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["BLANK", "beam_search", "log_likelihood", "log_likelihoods"]

BLANK = 0
NEG_INF = -np.inf


def log_likelihoods(log_probs: np.ndarray, labels: Sequence[Sequence[int]]) -> np.ndarray:
    """log P(labels[i] | frames) for each label sequence, by the CTC forward algorithm.

    ``log_probs``: (T, C) natural-log class probabilities per frame, class 0 the blank.
    ``labels``: sequences of class indices (no blanks). Returns a float array, -inf for a
    string the frames cannot spell (longer than the frames allow). All sequences are run
    together, padded to the longest."""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    if log_probs.ndim != 2 or log_probs.shape[0] == 0:
        raise ValueError("log_probs must be (frames, classes) with at least one frame")
    count = len(labels)
    if count == 0:
        return np.zeros(0)
    frames = log_probs.shape[0]
    longest = max(len(seq) for seq in labels)
    states = 2 * longest + 1
    # Extended sequences: blank, l1, blank, l2, ..., blank; padding states emit nothing.
    ext = np.zeros((count, states), dtype=np.int64)
    valid = np.zeros((count, states), dtype=bool)
    skip = np.zeros((count, states), dtype=bool)
    ends = np.zeros(count, dtype=np.int64)
    for i, seq in enumerate(labels):
        seq = np.asarray(seq, dtype=np.int64)
        if np.any(seq == BLANK) or np.any(seq < 0) or np.any(seq >= log_probs.shape[1]):
            raise ValueError(f"label sequence {i} holds a blank or a class out of range")
        n = len(seq)
        ext[i, 1:2 * n:2] = seq
        valid[i, :2 * n + 1] = True
        # A character may be reached from the character two states back (skipping the blank
        # between them) only when the two differ.
        if n > 1:
            skip[i, 3:2 * n:2] = seq[1:] != seq[:-1]
        ends[i] = 2 * n
    emit = np.where(valid[None, :, :], log_probs[:, ext], NEG_INF)       # (T, count, states)
    alpha = np.full((count, states), NEG_INF)
    alpha[:, 0] = emit[0, :, 0]
    if states > 1:
        alpha[:, 1] = emit[0, :, 1]
    shifted = np.full((count, states), NEG_INF)
    skipped = np.full((count, states), NEG_INF)
    with np.errstate(invalid="ignore"):       # -inf - -inf inside logaddexp is handled
        for t in range(1, frames):
            shifted[:, 1:] = alpha[:, :-1]
            skipped[:, 2:] = np.where(skip[:, 2:], alpha[:, :-2], NEG_INF)
            alpha = np.logaddexp(np.logaddexp(alpha, shifted), skipped) + emit[t]
    rows = np.arange(count)
    last = alpha[rows, ends]
    before = np.where(ends > 0, alpha[rows, np.maximum(ends - 1, 0)], NEG_INF)
    return np.logaddexp(last, before)


def log_likelihood(log_probs: np.ndarray, labels: Sequence[int]) -> float:
    """log P(labels | frames) of one label sequence (see ``log_likelihoods``)."""
    return float(log_likelihoods(log_probs, [labels])[0])


def _add(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    top = max(a, b)
    return top + math.log1p(math.exp(-abs(a - b)))


def beam_search(log_probs: np.ndarray, width: int = 12, prune: float = 1e-4,
                per_frame: int = 6) -> list[tuple[tuple[int, ...], float]]:
    """The ``width`` most likely label sequences by CTC prefix beam search, best first, with
    their beam scores (a lower bound of their log-likelihood: alignments through pruned
    prefixes are missing; recompute with ``log_likelihoods`` for the exact value).

    At each frame only the classes with probability at least ``prune`` (at most
    ``per_frame`` of them, the most likely) extend a prefix. (Plain floats in the loop: each
    frame's classes are ranked for all frames at once, a frame no class passes only
    lengthens the beams' paths, so their order stands, and each beam's total is worked out
    once, when it is ranked.)"""
    log_probs = np.asarray(log_probs, dtype=np.float64)
    log_prune = math.log(prune)
    ranked_classes = np.argsort(log_probs, axis=1)[:, ::-1][:, :per_frame + 1].tolist()
    frames = log_probs.tolist()
    add = _add
    # (prefix, log P(prefix, path ends in a blank), log P(prefix, path ends in its last char),
    # log P(prefix)), best first
    beams: list[tuple[tuple[int, ...], float, float, float]] = [((), 0.0, -math.inf, 0.0)]
    for frame, order in zip(frames, ranked_classes):
        classes = [c for c in order if c != BLANK and frame[c] >= log_prune][:per_frame]
        blank = frame[BLANK]
        if not classes:
            # Every prefix only stays (a blank, or its last character repeated): one entry
            # each, no two merged, so the beam keeps its members (ranked again).
            beams = sorted((_scored(prefix, total + blank,
                                    p_char + frame[prefix[-1]] if prefix else -math.inf)
                            for prefix, _, p_char, total in beams), key=_total, reverse=True)
            continue
        grown: dict[tuple[int, ...], list[float]] = {}
        for prefix, p_blank, p_char, total in beams:
            entry = grown.setdefault(prefix, [-math.inf, -math.inf])
            entry[0] = add(entry[0], total + blank)            # a blank: the prefix stays
            if prefix:                                         # its last char repeated: merged
                entry[1] = add(entry[1], p_char + frame[prefix[-1]])
            last = prefix[-1] if prefix else -1
            for c in classes:
                longer = prefix + (c,)
                into = grown.setdefault(longer, [-math.inf, -math.inf])
                # The same char again needs a blank between.
                into[1] = add(into[1], (p_blank if c == last else total) + frame[c])
        scored = (_scored(prefix, b, c) for prefix, (b, c) in grown.items())
        beams = sorted((beam for beam in scored if beam[3] > -math.inf), key=_total,
                       reverse=True)[:width]
    return [(prefix, total) for prefix, _, _, total in beams]


def _scored(prefix: tuple[int, ...], p_blank: float, p_char: float
            ) -> tuple[tuple[int, ...], float, float, float]:
    """A beam with its total: log P(prefix) over both endings."""
    return prefix, p_blank, p_char, _add(p_blank, p_char)


def _total(beam: tuple[tuple[int, ...], float, float, float]) -> float:
    return beam[3]
