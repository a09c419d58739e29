"""A line recogniser's per-frame class probabilities (CTC), the form in which the readers of
handwritten lines (``grader.handwriting``'s recogniser, ``grader.glyphs``' classifier) hand
what they saw to the verification (``grader.verify``, ``grader.ctc``). Pure NumPy."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

__all__ = ["LinePosterior"]


@dataclass(frozen=True)
class LinePosterior:
    """The recogniser's per-frame class probabilities for one line (its softmax output),
    kept for the characters an answer is written with: column 0 is the CTC blank, column k
    the character ``characters[k]``; what a frame's row lacks of 1 is the model's mass on
    every other class (mostly CJK), which no string of ``ALPHABET`` can use. Kept in memory
    with the read to weigh candidate strings (``grader.ctc``), never serialised."""

    probs: np.ndarray = field(repr=False, compare=False)        # (frames, 1 + characters)
    characters: tuple[str, ...] = field(repr=False, compare=False)   # "" for the blank

    @property
    def frames(self) -> int:
        return int(self.probs.shape[0])

    def log_probs(self, renormalise: bool = True, spaces_as_blank: bool = False,
                  merged: str = "") -> np.ndarray:
        """Natural-log probabilities per frame; ``renormalise``: over the blank and the kept
        characters only (a student writes no CJK; the mass the model put there is shared
        out), else the model's own (that mass is lost to every candidate string).

        ``spaces_as_blank``: a space counts as nothing written (its mass joins the blank's),
        so that P(text) is the sum over every way of spacing ``text`` ("8x8x5", "8 x 8 x5",
        ...): exact, since a space separates two characters just as a blank does. The
        texts weighed must then hold no space.

        ``merged``: characters that mean the same here, counted as the first of them (its
        column holds their summed mass, theirs none): P(text) is then the sum over every way
        of writing ``text`` with any of them in each such place ("8x8×5", "8×8X5", ...),
        exact but for two of them in adjacent frames with no blank between (then read as
        one, where a repeat would be). The texts weighed must then use only the first."""
        probs = self.probs.astype(np.float64)          # a copy: changed in place below
        if renormalise:
            probs = probs / np.maximum(probs.sum(axis=1, keepdims=True), 1e-30)
        groups = [("", " ")] if spaces_as_blank else []
        if merged:
            groups.append((merged[0], merged[1:]))
        index = _column_index(self.characters)
        for into, others in groups:
            target = 0 if not into else index.get(into)
            for char in others:
                column = index.get(char)
                if target is None or column is None or column == target:
                    continue
                probs[:, target] += probs[:, column]
                probs[:, column] = 0.0
        return np.log(np.maximum(probs, 1e-30))

    def labels(self, text: str) -> tuple[int, ...] | None:
        """``text`` as class indices of this matrix, None when it uses a character the
        recogniser does not write."""
        index = _column_index(self.characters)
        out = []
        for char in text:
            k = index.get(char)
            if k is None:
                return None
            out.append(k)
        return tuple(out)

    def text(self, labels: tuple[int, ...]) -> str:
        return "".join(self.characters[k] for k in labels)


@functools.lru_cache(maxsize=8)
def _column_index(characters: tuple[str, ...]) -> dict[str, int]:
    return {c: k for k, c in enumerate(characters) if k}
