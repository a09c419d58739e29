"""A second reader for handwritten numbers: each character of a cut line classified alone.

The line recogniser (``grader.handwriting``) reads a line as a whole; it was trained on
printed and scene text, and misreads a share of handwritten digits. Numbers and shapes are
written as separate characters, so a line of one can also be cut into its characters
(connected components, those stacked over each other joined: the bars of "=", a digit drawn
in two strokes) and each classified on its own by a small network trained on handwriting
(``tools.train_glyphs``: handwriting fonts other than Debian's fonts-breip, real digits from
the even positions of scikit-learn's ``load_digits``). Its errors are not the recogniser's,
so where the two agree the verification (``grader.verify``) can be surer than either.

The classifier's output for a line is put in the recogniser's form, a ``LinePosterior``
(one frame per character, a blank frame between two), so that the verification weighs its
candidate strings in the same way. A line it cannot cut into characters it knows (a letter,
two digits touching, a character in pieces) gets no posterior: the classifier abstains.

Pure: NumPy and OpenCV on arrays; the weights are a NumPy file beside this module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.posterior import LinePosterior

ENGINE = "glyphs"         # this reader's name where a reading is recorded with its engine's

# The classes, as characters the recogniser's posterior has columns for; "×" stands for
# every way of writing a shape's separator (x, X, *, ×). JUNK: anything else (a letter,
# two characters touching, a piece of one).
CLASSES: tuple[str, ...] = (*"0123456789", ".", "-", "×", "/", "=", "+", "(", ")")
JUNK = len(CLASSES)
SIDE = 20                 # px: a glyph's bitmap, its longer side scaled to SIDE - 4
WEIGHTS = Path(__file__).with_name("glyphs.npz")

# A component smaller than this share of the line's height across is a speck (a decimal
# point is larger: ~0.1-0.2 of a digit's height).
SPECK = 0.06
# Two components are one character when the narrower lies over the other by this share of
# its own width (the bars of "=", a 5 drawn in two strokes).
OVERLAP = 0.6


@dataclass(frozen=True)
class Glyph:
    """One character's ink in a line: its box (left, top, width, height) in the line image,
    and its bitmap (ink 1, paper 0), SIDE x SIDE."""

    box: tuple[int, int, int, int]
    bitmap: np.ndarray = field(repr=False, compare=False)

    @classmethod
    def of(cls, ink: np.ndarray, box: tuple[int, int, int, int]) -> Glyph:
        """The glyph whose box in the line's ink coverage ``ink`` is ``box``."""
        x, y, w, h = box
        return cls(box, _bitmap(ink[y:y + h, x:x + w]))


def ink_of(line: np.ndarray) -> np.ndarray:
    """A cut line (uint8 grey, white paper) as ink coverage 0..1: the darkest ink 1."""
    gray = line.astype(np.float32)
    black = float(np.percentile(gray, 1)) if gray.size else 0.0
    return np.clip((255.0 - gray) / max(255.0 - black, 1.0), 0.0, 1.0)


def segment(line: np.ndarray) -> tuple[Glyph, ...]:
    """The characters of a cut line, left to right: its connected components (ink over
    half the darkest), specks dropped, those lying over each other joined."""
    import cv2

    ink = ink_of(line)
    if ink.size == 0:
        return ()
    mask = (ink >= 0.5).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    height = ink.shape[0]
    speck = max(2.0, SPECK * height)
    parts = [tuple(int(v) for v in stats[i][:4]) for i in range(1, count)
             if stats[i][2] >= speck or stats[i][3] >= speck]
    parts.sort()
    groups: list[list[int]] = []          # left, top, right, bottom
    for x, y, w, h in parts:
        if groups:
            g = groups[-1]
            overlap = min(g[2], x + w) - max(g[0], x)
            if overlap >= OVERLAP * min(w, g[2] - g[0]):
                g[:] = [min(g[0], x), min(g[1], y), max(g[2], x + w), max(g[3], y + h)]
                continue
        groups.append([x, y, x + w, y + h])
    return tuple(Glyph.of(ink, (l, t, r - l, b - t)) for l, t, r, b in groups)


def _bitmap(crop: np.ndarray) -> np.ndarray:
    """A glyph's ink scaled (aspect kept) so its longer side is SIDE - 4, centred."""
    import cv2

    h, w = crop.shape
    scale = (SIDE - 4) / max(h, w)
    size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
    small = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    out = np.zeros((SIDE, SIDE), dtype=np.float32)
    top, left = (SIDE - size[1]) // 2, (SIDE - size[0]) // 2
    out[top:top + size[1], left:left + size[0]] = small
    return out


def features(glyphs: tuple[Glyph, ...], line_height: int) -> np.ndarray:
    """One row per glyph: its bitmap, and where it sits in the line (a decimal point, a
    minus and a small 0 differ there: height, width, top and bottom as shares of the line's
    height, and of the tallest glyph's)."""
    if not glyphs:
        return np.zeros((0, SIDE * SIDE + 8), dtype=np.float32)
    tallest = max(g.box[3] for g in glyphs)
    rows = []
    for g in glyphs:
        _, top, w, h = g.box
        shape = [h / line_height, w / line_height, top / line_height, (top + h) / line_height,
                 h / tallest, w / tallest, w / max(h, 1), np.log(max(w, 1) / max(h, 1))]
        rows.append(np.concatenate([g.bitmap.ravel(), np.asarray(shape, dtype=np.float32)]))
    return np.stack(rows).astype(np.float32)


class GlyphModel:
    """A small multilayer perceptron (ReLU hidden layers, softmax out) over ``features``."""

    def __init__(self, path: Path = WEIGHTS) -> None:
        with np.load(path) as data:
            self.mean, self.scale = data["mean"], data["scale"]
            count = int(data["layers"])
            self.layers = [(data[f"w{k}"], data[f"b{k}"]) for k in range(count)]
            classes = tuple(str(c) for c in data["classes"])
        if classes != (*CLASSES, "junk"):
            raise ValueError(f"{path}: classes {classes} are not this module's")

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """(glyphs, classes + junk) probabilities."""
        x = (rows - self.mean) / self.scale
        for k, (w, b) in enumerate(self.layers):
            x = x @ w + b
            if k < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        x = x - x.max(axis=1, keepdims=True)
        e = np.exp(x)
        return e / e.sum(axis=1, keepdims=True)


@functools.cache
def model() -> GlyphModel:
    return GlyphModel()


# The posterior's columns: the blank, the classes, a space between two glyphs, and UNKNOWN
# for a glyph the classifier calls junk: no answer holds it (``grader.verify`` grades a
# string with one as no answer at all), and a value after an "=" is read whatever the name
# before it is. Not a character any reader writes.
UNKNOWN = "\ufffd"
CHARACTERS: tuple[str, ...] = ("", *CLASSES, " ", UNKNOWN)
# A gap between two glyphs of this many line heights is as likely a space as not.
SPACE_GAP = 0.45


def _space(gap: float) -> float:
    return float(np.clip(0.5 + (gap - SPACE_GAP) / 0.6, 0.0, 1.0))


def posterior(line: np.ndarray) -> LinePosterior | None:
    """The classifier's reading of a cut line in the recogniser's form: a blank frame, then
    per glyph a frame of its class probabilities (junk as UNKNOWN) and a frame between it
    and the next (a space by the gap between them, else the blank). None for a line with no
    glyph."""
    glyphs = segment(line)
    if not glyphs:
        return None
    p = model().probabilities(features(glyphs, line.shape[0]))
    frames = np.zeros((2 * len(glyphs) + 1, len(CHARACTERS)), dtype=np.float32)
    frames[0, 0] = 1.0
    space = CHARACTERS.index(" ")
    for k, g in enumerate(glyphs):
        frames[2 * k + 1, 1:1 + JUNK] = p[k, :JUNK]
        frames[2 * k + 1, -1] = p[k, JUNK]
        gap = 0.0
        if k + 1 < len(glyphs):
            gap = (glyphs[k + 1].box[0] - (g.box[0] + g.box[2])) / max(line.shape[0], 1)
        s = _space(gap) if k + 1 < len(glyphs) else 0.0
        frames[2 * k + 2, 0], frames[2 * k + 2, space] = 1.0 - s, s
    return LinePosterior(frames, CHARACTERS)


def glyph_count(posterior: LinePosterior) -> int:
    """How many glyphs a ``posterior`` of this module's holds."""
    return (posterior.frames - 1) // 2
