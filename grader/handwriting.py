"""Handwritten answer regions → text lines, with the engine that read them and an honest
confidence. Pure Python (NumPy, OpenCV for connected components, onnxruntime): no Django.

Interface for the region reader (issue 14), which hands over the ink of one written answer
region (scan − registered blank: uint8 grey, white paper, print removed):

    read_handwritten_region(ink, dpi) -> RegionRead      # the handwriting recogniser
    read_region_tesseract(ink, dpi) -> RegionRead        # Tesseract on the same line cuts
    choose_reading(tesseract: Reading, handwriting: Reading) -> Choice

    hw = read_handwritten_region(ink, dpi)
    ts = read_region_tesseract(ink, dpi, lines=hw.lines)   # same cuts, no second cutting
    choice = choose_reading(ts.reading(), hw.reading())
    choice.text, choice.engine, choice.low_confidence, choice.tesseract, choice.handwriting

``choice.low_confidence`` means the answer must go to a TA with both readings shown; a region
with no ink is not this module's business (issue 14 calls it ``unanswered`` with evidence),
but an empty reading of a region with ink comes back flagged.

Lines are cut from the ink (``cut_lines``: connected components grouped into text lines,
touching lines split at the row with the least ink, brackets spanning several rows and stray
marks left out; no detector network). Each line is read by the PP-OCRv6 small recogniser that
the ``rapidocr`` wheel ships (``PP-OCRv6_rec_small.onnx``), run by onnxruntime directly: the
model is loaded once per process, lazily, under a lock, with one intra-op thread
(parallelism comes from worker processes, as for Tesseract), and never downloaded: a missing
file is a ``HandwritingModelMissing`` error saying what to install. Decoding is greedy CTC
restricted to the characters an exam answer uses (``ALPHABET``); each character keeps the
model's probability and each line the lowest of them (see ``line_confidence``). Each line
also keeps the model's per-frame probabilities (``LinePosterior``), from which
``grader.verify`` weighs any candidate string (CTC forward algorithm, ``grader.ctc``); and
the region read says how much of its ink no cut line holds (``unseen_ink``).

Confidences are calibrated per engine on the project's handwriting corpus
(``tools/handwriting_corpus.py``, ``bench/handwriting.py``): ``calibrated(engine, raw)`` is the
share of lines read exactly at that raw confidence, so the two engines' numbers compare.
"""
from __future__ import annotations

import functools
import importlib.util
import os
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import numpy as np

from grader import glyphs
from grader.levels import (histogram_u8, median_abs_deviation_of_counts, otsu_of_counts,
                           percentile_of_counts)
from grader.posterior import LinePosterior

__all__ = [
    "ALPHABET", "CharRead", "Choice", "Engine", "HandwritingModelMissing", "LineCut",
    "LinePosterior", "LineRead", "SECOND_LOOKS",
    "Reading", "RegionRead", "calibrated", "choose_reading", "cut_lines", "loose_dots",
    "normalise_reading", "other_looks", "read_handwritten_region", "read_region_tesseract",
    "recognise_line", "unseen_ink",
]

MODEL_FILE = "PP-OCRv6_rec_small.onnx"
MODEL_ENV = "GRADER_HANDWRITING_MODEL"     # a path that overrides the wheel's model file
INPUT_HEIGHT = 48                          # the recogniser's input height (its training shape)
# Ink lying wholly within this distance of a region's edge is the printed frame's residue
# (registration is good to about a pixel), not writing.
EDGE_BAND_MM = 1.2
# A blank stretch of a line at least this many line heights wide is a space (the recogniser
# joins numbers written apart, as in a matrix row: "10 6 4" read "1064").
SPACE_GAP = 0.55
MIN_TESSERACT_PX = 8                       # smaller cuts are not given to Tesseract
MIN_INPUT_WIDTH = 320                      # PaddleOCR pads shorter lines to this width

# What exam answers are written with: printable ASCII and the maths symbols the model knows.
# Everything else the model can emit (18,708 characters, mostly CJK) is masked out before
# decoding; its probability mass still lowers the confidence of what is read.
# "·" is left out on purpose: a decimal point written a little high reads as a middle dot,
# and "0·018" would then mean 0 × 18; the model's mass on "·" lowers the "." it reads instead.
ALPHABET = frozenset(chr(c) for c in range(0x20, 0x7F)) | frozenset("√×÷−²³π")


class Engine(StrEnum):
    TESSERACT = "tesseract"
    HANDWRITING = "pp-ocrv6"     # PP-OCRv6 small recogniser (rapidocr's wheel) via onnxruntime


class HandwritingModelMissing(RuntimeError):
    """The recogniser's model file is not installed (it ships inside the ``rapidocr`` wheel)."""


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class CharRead:
    char: str
    confidence: float


@dataclass(frozen=True)
class LineCut:
    """One text line of a region: its box in the region and its own ink (other lines' and
    stray marks' pixels painted white), uint8."""

    box: tuple[int, int, int, int]          # left, top, width, height in the region
    image: np.ndarray = field(repr=False, compare=False)


@dataclass(frozen=True)
class LineRead:
    text: str
    confidence: float                        # see line_confidence
    box: tuple[int, int, int, int]
    chars: tuple[CharRead, ...] = ()
    posterior: LinePosterior | None = field(default=None, repr=False, compare=False)
    # Dots lying where a decimal point goes that the line's cut left out (``loose_dots``):
    # the posterior cannot say whether one was written.
    loose_dots: int = 0
    # Other looks at the line's ink (``other_looks``), taken only when asked: the
    # verification asks when the first look leaves it unsure.
    looks: Callable[[], tuple[LinePosterior, ...]] | None = field(default=None, repr=False,
                                                                   compare=False)
    # The character classifier's reading of the line's ink in the same form
    # (``grader.glyphs.posterior``; None where it abstains), taken only when asked.
    glyphs: Callable[[], LinePosterior | None] | None = field(default=None, repr=False,
                                                              compare=False)


@dataclass(frozen=True)
class Reading:
    """What one engine read in a region, with its calibrated confidence (0-1)."""

    text: str
    confidence: float
    engine: Engine


@dataclass(frozen=True)
class RegionRead:
    engine: Engine
    lines: tuple[LineRead, ...]
    cuts: tuple[LineCut, ...] = field(default=(), repr=False, compare=False)  # to read again
    # The share of the region's faint ink that no cut line holds (see ``unseen_ink``): what
    # the reader never saw.
    unseen: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines if line.text)

    @property
    def raw_confidence(self) -> float:
        """The weakest line's confidence: a line of ink read as nothing counts as 0, and so
        does a region where nothing was read."""
        return min((line.confidence if line.text else 0.0 for line in self.lines), default=0.0)

    def reading(self) -> Reading:
        return Reading(self.text, calibrated(self.engine, self.raw_confidence), self.engine)


@dataclass(frozen=True)
class Choice:
    text: str                     # the accepted text (the better reading when flagged)
    engine: Engine | None         # who read it; None when neither read anything
    confidence: float             # calibrated
    low_confidence: bool          # True: a TA decides, seeing both readings
    reason: str
    tesseract: Reading
    handwriting: Reading


# --------------------------------------------------------------------------------------------
# Cutting a region's ink into lines


def _ink_mask(ink: np.ndarray, dpi: float) -> np.ndarray:
    """Pen pixels. Hysteresis: strokes are traced where they are darker than the paper by more
    than its noise (faint, blurred strokes stay whole) and kept where some part of them is
    clearly ink (darker than Otsu's split and well below the paper); ruled lines left along
    the region's edges by registration are cleared."""
    import cv2

    counts = histogram_u8(ink)
    paper = percentile_of_counts(counts, 50)
    spread = median_abs_deviation_of_counts(counts) * 1.4826
    strong = ink < min(float(otsu_of_counts(counts)), paper - max(40.0, 6.0 * spread))
    weak = ink < paper - max(20.0, 4.0 * spread)
    count, labels = cv2.connectedComponents(weak.view(np.uint8), connectivity=8)
    # Decided at the weak pixels only (a few per cent of a region; every strong one is weak).
    at = np.flatnonzero(weak)
    at_labels = labels.reshape(-1)[at]
    has_strong = np.zeros(count, dtype=bool)
    has_strong[at_labels[strong.reshape(-1)[at]]] = True
    has_strong[0] = False
    mask = np.zeros(ink.shape, dtype=bool)
    mask.reshape(-1)[at[has_strong[at_labels]]] = True
    _clear_edge_rules(mask, max(2, int(round(EDGE_BAND_MM * dpi / 25.4))))
    return mask


def _clear_edge_rules(mask: np.ndarray, band: int) -> None:
    """Clear rows (columns) within ``band`` px of the top/bottom (left/right) edge that are
    inked over more than 30 % of their length: residue of the printed frame, not writing."""
    height, width = mask.shape
    for rows in (range(min(band, height)), range(max(0, height - band), height)):
        for r in rows:
            if mask[r].mean() > 0.3:
                mask[r] = False
    for cols in (range(min(band, width)), range(max(0, width - band), width)):
        for c in cols:
            if mask[:, c].mean() > 0.3:
                mask[:, c] = False


@dataclass(frozen=True)
class _Components:
    """The 8-connected components of a mask, as ``cv2.connectedComponentsWithStats`` gives
    them (bit for bit), with the mask's pixels: flat indices in raster order and labels."""

    labels: np.ndarray          # int32, the mask's shape; 0 off the mask
    stats: np.ndarray           # (count, 5) int32: left, top, width, height, area; 0: off the mask
    centroids: np.ndarray       # (count, 2) float64: x, y
    at: np.ndarray              # flat indices of the mask's pixels
    at_labels: np.ndarray       # their labels

    @property
    def count(self) -> int:
        return len(self.stats)


def _components(mask: np.ndarray) -> _Components:
    """The components of a boolean ``mask`` whose pixels are a few per cent of it (pen
    strokes in a region): labelled by OpenCV without statistics, which are counted at the
    mask's pixels only (OpenCV's own visit every pixel: ~5x the time on a region of ink).
    Off the mask (label 0), they are worked out from the rest; a mask without a pixel off
    it is left to OpenCV."""
    import cv2

    height, width = mask.shape
    at = np.flatnonzero(mask)
    if at.size == mask.size:
        count, labels, stats, centroids = cv2.connectedComponentsWithStats(
            mask.view(np.uint8), connectivity=8)
        return _Components(labels, stats, centroids, at, labels.reshape(-1))
    count, labels = cv2.connectedComponents(mask.view(np.uint8), connectivity=8)
    at_labels = labels.reshape(-1)[at]
    rows, cols = np.divmod(at, width)
    per_row = np.bincount(rows, minlength=height)
    per_col = np.bincount(cols, minlength=width)
    area = np.bincount(at_labels, minlength=count)
    area[0] = mask.size - at.size
    left, top = np.full(count, width), np.full(count, height)
    right, bottom = np.full(count, -1), np.full(count, -1)
    np.minimum.at(left, at_labels, cols)
    np.minimum.at(top, at_labels, rows)
    np.maximum.at(right, at_labels, cols)
    np.maximum.at(bottom, at_labels, rows)
    off_rows, off_cols = np.flatnonzero(per_row < width), np.flatnonzero(per_col < height)
    left[0], right[0], top[0], bottom[0] = off_cols[0], off_cols[-1], off_rows[0], off_rows[-1]
    sums = np.stack([np.bincount(at_labels, weights=cols, minlength=count),
                     np.bincount(at_labels, weights=rows, minlength=count)], axis=1)
    # Off the mask: every pixel's coordinates less the mask's (exact integers, as OpenCV sums).
    sums[0] = (height * (width * (width - 1) // 2) - int(cols.sum()),
               width * (height * (height - 1) // 2) - int(rows.sum()))
    stats = np.stack([left, top, right - left + 1, bottom - top + 1, area],
                     axis=1).astype(np.int32)
    return _Components(labels, stats, sums / area[:, None], at, at_labels)


def cut_lines(ink: np.ndarray, dpi: float) -> tuple[LineCut, ...]:
    """The text lines of a region's ink, top to bottom.

    Connected components of the pen mask, without specks (under 0.15 mm), ruled residue
    along the region's edges, and thin strokes taller than two lines (brackets drawn round a
    matrix), give a row profile. Its inked runs, joined across gaps smaller than a third of a
    character (the bars of "=", a minus above the line, the dot of a decimal point), are the
    lines; a run taller than two characters is split at its emptiest row when that row holds
    little ink (two lines written close, a descender touching the line below). A component
    belongs to the lines its rows fall in: one crossing a split is cut there.
    """
    if ink.ndim != 2 or ink.dtype != np.uint8:
        raise ValueError("ink must be a 2-D uint8 array (grey, white paper)")
    if ink.size == 0:
        return ()
    components = _components(_ink_mask(ink, dpi))
    count, labels, stats = components.count, components.labels, components.stats
    ppmm = dpi / 25.4
    speck = max(2.0, 0.15 * ppmm)
    band = max(2, int(round(EDGE_BAND_MM * ppmm)))
    height, width = ink.shape
    keep: list[int] = []
    for i in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[i])
        in_band = y + h <= band or y >= height - band or x + w <= band or x >= width - band
        if in_band or (w < speck and h < speck and area < speck * speck):
            continue                                   # frame residue, or noise
        keep.append(i)
    if not keep:
        return ()
    char_h = float(np.percentile([stats[i][3] for i in keep], 75))
    brackets = {i for i in keep if stats[i][3] > 2.2 * char_h and stats[i][2] < 0.25 * stats[i][3]}
    writing = [i for i in keep if i not in brackets]
    if not writing:
        return ()
    ids = np.zeros(count, dtype=bool)
    ids[writing] = True
    profile = np.bincount(components.at[ids[components.at_labels]] // width, minlength=height)
    bands = _bands(profile, char_h)
    lines: list[dict[int, tuple[int, int]]] = [{} for _ in bands]
    for i in writing:
        y, h = int(stats[i][1]), int(stats[i][3])
        for k, (top, bottom) in enumerate(bands):
            rows = (max(top, y), min(bottom, y + h))
            if rows[1] > rows[0]:
                lines[k][i] = rows
    return tuple(cut for cut in (_line_image(ink, labels, stats, line) for line in lines if line)
                 if cut.box[2] > 0 and cut.box[3] > 0)


UNSEEN_BLUR = 1.0          # px (at the region's resolution): noise smoothed before tracing faint ink
UNSEEN_MIN_MM2 = 0.3       # a fainter trace smaller than this is noise
PAPER_POOL = 4             # px blocks the paper's level is worked out on


def _paper_around(smooth: np.ndarray, dpi: float) -> np.ndarray:
    """The paper's own level around each pixel (a shadow, a gradient): the brightest within
    a millimetre and a half, which no stroke is as wide as, smoothed as far. Worked out on
    blocks of POOL px (their brightest pixel: the maximum is kept exactly) and drawn back
    up: a sixteenth of the pixels for a level that varies over millimetres."""
    import cv2

    height, width = smooth.shape
    pool = max(1, min(PAPER_POOL, height // 4, width // 4))
    reach = max(3, int(round(1.5 * dpi / 25.4)))
    if pool > 1:
        rows, cols = -(-height // pool), -(-width // pool)
        # Each block's brightest pixel: a dilation by the block, read at the block's corner.
        blocks = cv2.dilate(smooth, np.ones((pool, pool), np.uint8), anchor=(0, 0),
                            borderType=cv2.BORDER_REPLICATE)[::pool, ::pool]
    else:
        blocks = smooth
    near = max(1, int(round(reach / pool)))
    paper = cv2.GaussianBlur(cv2.dilate(blocks, np.ones((2 * near + 1, 2 * near + 1), np.uint8)),
                             (0, 0), reach / pool, borderType=cv2.BORDER_REPLICATE)
    if pool > 1:
        paper = cv2.resize(paper, (cols * pool, rows * pool), interpolation=cv2.INTER_LINEAR)
        paper = paper[:height, :width]
    return paper


def unseen_ink(ink: np.ndarray, dpi: float, cuts: tuple[LineCut, ...]) -> float:
    """The share of the region's ink, traced as faintly as the paper's noise allows, that
    lies outside every cut line's own pixels: a pen too light for the line cutter's mask,
    strokes it took for specks or frame residue (brackets left out of a matrix count too).
    Faint ink is what is darker than the paper by four times its noise after a slight blur,
    in traces of at least UNSEEN_MIN_MM2; measured by area. 0 when there is none."""
    return _unseen_and_dots(ink, dpi, cuts)[0]


def loose_dots(ink: np.ndarray, dpi: float, cuts: tuple[LineCut, ...]) -> tuple[int, ...]:
    """For each cut line, how many dots lie by it that it does not hold: faint traces no
    wider or taller than DOT_MAX_MM (too small for ``unseen_ink`` to weigh) but no pixel of
    noise (at least DOT_MIN_PX px, and somewhere darker than the paper by DOT_MIN_DARKNESS),
    centred in the lower half
    of the line's rows (or just below) and within half a line height of its ends: where a
    decimal point is written. The line cutter's mask leaves such a dot out when no pixel of
    it is clearly ink (".426" read "426")."""
    return _unseen_and_dots(ink, dpi, cuts)[1]


# A dot by a line (``loose_dots``): at least this many px at the region's resolution (the
# paper's noise traces single pixels; a written point at 200 dpi covers four or more) and
# somewhere this much darker than the paper (grey levels; noise peaks near 8 on the corpus's
# scans, a faint point written with a pen near 17).
DOT_MIN_PX = 4
DOT_MIN_DARKNESS = 12.0
DOT_MAX_MM = 1.0           # a point, blurred, is no wider or taller than this


def _unseen_and_dots(ink: np.ndarray, dpi: float, cuts: tuple[LineCut, ...]
                     ) -> tuple[float, tuple[int, ...]]:
    """``unseen_ink`` and ``loose_dots`` from one tracing of the faint ink."""
    import cv2

    if ink.size == 0:
        return 0.0, tuple(0 for _ in cuts)
    smooth = cv2.GaussianBlur(ink.astype(np.float32), (0, 0), UNSEEN_BLUR)
    darkness = _paper_around(smooth, dpi) - smooth
    # The paper's noise, from every other pixel of every other row (the statistics of a
    # quarter of a region's pixels are its own, at a quarter of the sorting).
    sample = darkness[::2, ::2]
    middle = float(np.median(sample))
    spread = float(np.median(np.abs(sample - middle))) * 1.4826
    traces = _components(darkness > max(6.0, middle + 4.0 * spread))
    labels, stats, centroids = traces.labels, traces.stats, traces.centroids
    # Traces reaching into the band along the region's edges are the printed frame's
    # residue (or writing crossing it, which the reader is not given either way).
    band = max(2, int(round(EDGE_BAND_MM * dpi / 25.4)))
    height, width = ink.shape
    x, y, w, h = (stats[:, i] for i in range(4))
    inside = (x >= band) & (y >= band) & (x + w <= width - band) & (y + h <= height - band)
    area = stats[:, cv2.CC_STAT_AREA]
    big = area >= UNSEEN_MIN_MM2 * (dpi / 25.4) ** 2
    keep = inside & big
    keep[0] = False
    traced = traces.at[keep[traces.at_labels]]      # flat indices of the traced pixels
    total = int(traced.size)
    own = np.zeros(ink.shape, dtype=np.uint8)
    for cut in cuts:
        left, top, cut_w, cut_h = cut.box
        own[top:top + cut_h, left:left + cut_w] |= (cut.image < 255).astype(np.uint8)
    most = DOT_MAX_MM * dpi / 25.4
    dots = _dots_by_lines(cuts, labels, stats, centroids, darkness,
                          inside & (area >= DOT_MIN_PX) & (w <= most) & (h <= most),
                          own.view(bool))
    if not total:
        return 0.0, dots
    grow = max(1, int(round(0.25 * dpi / 25.4)))           # a quarter millimetre around strokes
    seen = cv2.dilate(own, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    return round(float(total - np.count_nonzero(seen.reshape(-1)[traced])) / total, 4), dots


def _dots_by_lines(cuts: tuple[LineCut, ...], labels: np.ndarray, stats: np.ndarray,
                   centroids: np.ndarray, darkness: np.ndarray, small: np.ndarray,
                   own: np.ndarray) -> tuple[int, ...]:
    """``loose_dots``: per cut, the ``small`` traces placed where a decimal point goes, dark
    enough somewhere, touching none of the line's own pixels."""
    candidates = [i for i in np.flatnonzero(small) if i]
    counts = []
    for cut in cuts:
        left, top, w, h = cut.box
        found = 0
        for i in candidates:
            cx, cy = centroids[i]
            if not (left - 0.5 * h <= cx <= left + w + 0.5 * h and top + 0.5 * h <= cy <= top + 1.2 * h):
                continue
            x, y, bw, bh = (int(v) for v in stats[i][:4])
            mine = labels[y:y + bh, x:x + bw] == i
            if own[y:y + bh, x:x + bw][mine].any():
                continue
            if float(darkness[y:y + bh, x:x + bw][mine].max()) >= DOT_MIN_DARKNESS:
                found += 1
        counts.append(found)
    return tuple(counts)


def _bands(profile: np.ndarray, char_h: float) -> list[tuple[int, int]]:
    """(top, bottom) row ranges of the text lines in a row profile of ink counts."""
    inked = np.flatnonzero(profile > 0)
    if not inked.size:
        return []
    runs: list[list[int]] = [[int(inked[0]), int(inked[0]) + 1]]
    for r in inked[1:]:
        if r - runs[-1][1] < max(2.0, char_h / 3):
            runs[-1][1] = int(r) + 1
        else:
            runs.append([int(r), int(r) + 1])
    out: list[tuple[int, int]] = []
    for top, bottom in runs:
        out.extend(_split_tall(profile, top, bottom, char_h))
    return out


def _split_tall(profile: np.ndarray, top: int, bottom: int, char_h: float) -> list[tuple[int, int]]:
    """A run taller than two characters is split at its emptiest row, if that row has under a
    fifth of the run's typical ink per row and leaves at least 0.6 characters on each side."""
    if bottom - top <= 2.0 * char_h:
        return [(top, bottom)]
    margin = int(0.6 * char_h)
    inner = profile[top + margin:bottom - margin].astype(np.float64)
    if inner.size == 0:
        return [(top, bottom)]
    smooth = np.convolve(inner, np.ones(3) / 3, mode="same")
    cut = top + margin + int(np.argmin(smooth))
    typical = float(np.median(profile[top:bottom][profile[top:bottom] > 0]))
    if smooth.min() > 0.2 * typical:
        return [(top, bottom)]
    return _split_tall(profile, top, cut, char_h) + _split_tall(profile, cut, bottom, char_h)


def _line_image(ink: np.ndarray, labels: np.ndarray, stats: np.ndarray,
                line: dict[int, tuple[int, int]]) -> LineCut:
    """The line's own pixels (its components, within each one's row range), on white."""
    import cv2

    boxes = []
    for i, (row0, row1) in line.items():
        x, y, w, h, _ = (int(v) for v in stats[i])
        top, bottom = max(y, row0), min(y + h, row1)
        if bottom > top:
            boxes.append((x, top, x + w, bottom))
    if not boxes:
        return LineCut((0, 0, 0, 0), np.zeros((0, 0), np.uint8))
    left, top = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, bottom = max(b[2] for b in boxes), max(b[3] for b in boxes)
    window = labels[top:bottom, left:right]
    own = np.zeros(window.shape, dtype=bool)
    rows = np.arange(top, bottom)[:, None]
    for i, (row0, row1) in line.items():
        own |= (window == i) & (rows >= row0) & (rows < row1)
    # Anti-aliased edges of the strokes (just above the threshold) are kept next to own ink.
    near = cv2.dilate(own.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    image = np.where(near, ink[top:bottom, left:right], 255).astype(np.uint8)
    return LineCut((left, top, right - left, bottom - top), image)


# --------------------------------------------------------------------------------------------
# The recogniser (PP-OCRv6 small, ONNX)


def model_path() -> Path:
    """The recogniser's ONNX file: ``$GRADER_HANDWRITING_MODEL``, else the one inside the
    installed ``rapidocr`` wheel (found without importing rapidocr, which pulls in much more)."""
    override = os.environ.get(MODEL_ENV, "").strip()
    if override:
        path = Path(override)
    else:
        spec = importlib.util.find_spec("rapidocr")
        if spec is None or not spec.submodule_search_locations:
            raise HandwritingModelMissing(
                f"the handwriting recogniser {MODEL_FILE} ships inside the rapidocr wheel, "
                "which is not installed (pip install -r requirements.txt)")
        path = Path(list(spec.submodule_search_locations)[0]) / "models" / MODEL_FILE
    if not path.is_file():
        raise HandwritingModelMissing(
            f"handwriting recogniser not found at {path} (it ships inside the rapidocr wheel; "
            f"reinstall rapidocr, or point {MODEL_ENV} at a copy). Nothing is downloaded.")
    return path


class _Recogniser:
    """One onnxruntime session of the recogniser, with its character table."""

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.enable_cpu_mem_arena = False      # lines vary in width: no arena growth
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        if "character" not in meta:
            raise HandwritingModelMissing(f"{path} has no character table: not a PP-OCR recogniser")
        # CTC classes: 0 is the blank, then the model's characters, then a space.
        self.characters = ["", *meta["character"].splitlines(), " "]
        allowed = [k for k, c in enumerate(self.characters) if c in ALPHABET]
        self.allowed = np.array(allowed, dtype=np.int64)
        # The columns a line's posterior keeps: the blank, then the allowed characters.
        self.kept = np.array([0, *allowed], dtype=np.int64)
        self.kept_characters = ("", *(self.characters[k] for k in allowed))
        self.input_name = self.session.get_inputs()[0].name
        self.lock = threading.Lock()

    def run(self, batch: np.ndarray) -> np.ndarray:
        with self.lock:      # one inference at a time: parallelism comes from processes
            return self.session.run(None, {self.input_name: batch})[0]


_RECOGNISERS: dict[int, _Recogniser] = {}
_RECOGNISERS_LOCK = threading.Lock()


def recogniser() -> _Recogniser:
    """This process's recogniser, loaded on first use (a forked child loads its own)."""
    pid = os.getpid()
    with _RECOGNISERS_LOCK:
        if pid not in _RECOGNISERS:
            _RECOGNISERS[pid] = _Recogniser(model_path())
        return _RECOGNISERS[pid]


LINE_PAD = 0.12          # white margin round a line, in line heights, before scaling to 48 px
# The second looks at a line the verification takes when the first leaves it unsure
# (``other_looks``), as (margin in line heights, gamma): the characters smaller within the
# recogniser's 48 px (a wide margin), and smaller still with grey strokes darkened (gamma 2:
# thin or faint strokes, upscaled digits, weigh more). Chosen on tuning seeds 7, 11 and 13
# (30 pages each) among margins 0.05-0.4, gamma 1-2 and strokes thickened by 2-3 px, in
# pairs and threes: this pair decided 5 more of their unsure regions, none wrongly, the best
# three no more. As the only look, none of them reads better than LINE_PAD alone.
SECOND_LOOKS: tuple[tuple[float, float], ...] = ((0.4, 1.0), (0.3, 2.0))


def _prepare(line: np.ndarray, pad_frac: float = LINE_PAD, gamma: float = 1.0
             ) -> tuple[np.ndarray, list[tuple[float, float, float]]]:
    """A line image as the recogniser's input: contrast stretched (darkest ink black, paper
    white; grey levels then raised to ``gamma``), padded by ``pad_frac`` line heights, scaled
    to 48 px high, 3 channels in [-1, 1], padded right to 320 px with zeros as PaddleOCR
    trains it. Also returns the blank column runs of the line, as (start, end) in the input's
    columns and their width in line heights."""
    from PIL import Image

    gray = line.astype(np.float32)
    black = float(np.percentile(gray, 1)) if gray.size else 0.0
    if black < 200:
        gray = np.clip((gray - black) * 255.0 / (255.0 - black), 0, 255)
    if gamma != 1.0:
        gray = 255.0 * (gray / 255.0) ** gamma
    h, w = gray.shape
    pad = max(2, int(round(pad_frac * h)))
    canvas = np.full((h + 2 * pad, w + 2 * pad), 255.0, dtype=np.float32)
    canvas[pad:pad + h, pad:pad + w] = gray
    ch, cw = canvas.shape
    width = max(1, int(np.ceil(INPUT_HEIGHT * cw / ch)))
    scale = width / cw
    image = Image.fromarray(canvas.astype(np.uint8)).resize((width, INPUT_HEIGHT), Image.BILINEAR)
    data = np.asarray(image, dtype=np.float32) / 127.5 - 1.0
    out = np.zeros((1, 3, INPUT_HEIGHT, max(width, MIN_INPUT_WIDTH)), dtype=np.float32)
    out[0, :, :, :width] = data
    inked = np.flatnonzero((gray < 128).any(axis=0))
    gaps = []
    if inked.size:
        for a, b in zip(inked[:-1], inked[1:]):
            if b - a - 1 >= 0.1 * h:
                gaps.append(((a + 1 + pad) * scale, (b + pad) * scale, (b - a - 1) / h))
    return out, gaps


_DIGIT = re.compile(r"\d")
_NUMBER_START = re.compile(r"[\d\-−]")


def _space_confidence(gap: float) -> float:
    """How sure a gap of ``gap`` line heights between two digits is a space: 0.5 at
    SPACE_GAP, 1 from SPACE_GAP + 0.3 on (used mirrored for "not a space")."""
    return float(np.clip(0.5 + (gap - SPACE_GAP) / 0.6, 0.0, 1.0))


def line_confidence(chars: tuple[CharRead, ...], gaps: float) -> float:
    """A line is as sure as its least sure step: the lowest character probability, or the
    lowest probability that nothing was written between two characters (a dropped character
    shows there). Calibrated against exact-read rates in ``CALIBRATION``."""
    if not chars:
        return 0.0
    return float(min(min(c.confidence for c in chars), gaps))


def recognise_line(image: np.ndarray) -> tuple[str, float, tuple[CharRead, ...]]:
    """(text, line confidence, characters) of one cut line (uint8 grey, white paper).

    Greedy CTC decoding over ALPHABET. A character's confidence is the highest probability
    over the steps that emit it. The recogniser often drops the space between two numbers
    ("10 6 4" -> "1064"); a space is put back wherever the ink has a gap of at least
    SPACE_GAP line heights between two characters."""
    text, confidence, chars, _ = _recognise(image)
    return text, confidence, chars


def _recognise(image: np.ndarray) -> tuple[str, float, tuple[CharRead, ...], LinePosterior]:
    """``recognise_line``, with the line's posterior (``LinePosterior``)."""
    model = recogniser()
    batch, gaps = _prepare(image)
    probs = model.run(batch)[0]                           # (steps, classes), softmax
    posterior = LinePosterior(probs[:, model.kept].astype(np.float32), model.kept_characters)
    step_px = batch.shape[3] / probs.shape[0]
    allowed = probs[:, model.allowed]
    blank = probs[:, 0]
    best = allowed.argmax(axis=1)
    best_p = allowed[np.arange(len(best)), best]
    emitted: list[tuple[str, float, int, int]] = []       # (char, confidence, first, last step)
    for step in range(len(best)):
        if best_p[step] <= blank[step]:
            continue
        char = model.characters[model.allowed[best[step]]]
        if emitted and emitted[-1][3] == step - 1 and emitted[-1][0] == char:
            c, p, first, _ = emitted[-1]
            emitted[-1] = (c, max(p, float(best_p[step])), first, step)
        else:
            emitted.append((char, float(best_p[step]), step, step))
    # The blank steps between the first and the last character: how sure each is that
    # nothing was written there (before the first and after the last, it is margin).
    blank_floor = 1.0
    if emitted:
        span = slice(emitted[0][2], emitted[-1][3] + 1)
        inner = blank[span][best_p[span] <= blank[span]]
        blank_floor = float(inner.min()) if inner.size else 1.0
    chars: list[CharRead] = []
    for k, (char, p, first, last) in enumerate(emitted):
        if k and char != " " and chars and chars[-1].char != " ":
            left_end, right_start = (emitted[k - 1][3] + 1) * step_px, first * step_px
            between = [g for a, b, g in gaps if left_end - step_px <= (a + b) / 2 <= right_start + step_px]
            gap = max(between, default=0.0)
            sign = chars[-1].char in "-−" and (len(chars) == 1 or chars[-2].char == " ")
            numbers = _DIGIT.match(chars[-1].char) and _NUMBER_START.match(char)
            if sign or "." in (char, chars[-1].char):
                gap = 0.0           # "-7", "0.5": a sign or a decimal point binds its digits
            if gap >= SPACE_GAP:
                chars.append(CharRead(" ", _space_confidence(gap) if numbers else 1.0))
            elif numbers:
                # Two digits close together are one number, the closer the surer.
                p = min(p, _space_confidence(2 * SPACE_GAP - gap))
        chars.append(CharRead(char, p))
    while chars and chars[0].char == " ":
        chars.pop(0)
    while chars and chars[-1].char == " ":
        chars.pop()
    text = "".join(c.char for c in chars)
    return text, line_confidence(tuple(chars), blank_floor), tuple(chars), posterior


def other_looks(image: np.ndarray) -> tuple[LinePosterior, ...]:
    """The recogniser's posteriors for one cut line prepared in each of SECOND_LOOKS' ways:
    other looks at the same ink, for the verification to weigh with the first."""
    model = recogniser()
    looks = []
    for pad_frac, gamma in SECOND_LOOKS:
        batch, _ = _prepare(image, pad_frac, gamma)
        probs = model.run(batch)[0]
        looks.append(LinePosterior(probs[:, model.kept].astype(np.float32), model.kept_characters))
    return tuple(looks)


def read_handwritten_region(ink: np.ndarray, dpi: float, *,
                            lines: tuple[LineCut, ...] | None = None) -> RegionRead:
    """The handwriting recogniser's reading of a region's ink (see the module docstring)."""
    cuts = cut_lines(ink, dpi) if lines is None else lines
    unseen, dots = _unseen_and_dots(ink, dpi, cuts)
    reads = []
    for cut, loose in zip(cuts, dots):
        text, confidence, chars, posterior = _recognise(cut.image)
        # Other looks are taken at most once per line, however often the verification asks.
        reads.append(LineRead(text, round(confidence, 4), cut.box, chars, posterior, loose,
                              functools.cache(functools.partial(other_looks, cut.image)),
                              functools.cache(functools.partial(glyphs.posterior, cut.image))))
    return RegionRead(Engine.HANDWRITING, tuple(reads), cuts, unseen)


# --------------------------------------------------------------------------------------------
# Tesseract on the same line cuts


def _tesseract_line(image: np.ndarray, dpi: float, timeout_s: float,
                    engine: str = "auto") -> tuple[str, float, tuple[CharRead, ...]]:
    from PIL import Image

    from grader.ocr import _parse_tsv
    from grader.tesseract import run_tsv

    h, w = image.shape
    if h < MIN_TESSERACT_PX or w < MIN_TESSERACT_PX:
        return "", 0.0, ()     # a dot or a dash alone: Tesseract refuses it (and says so on stderr)
    pad = max(10, h // 3)      # Tesseract wants a white border round a line
    canvas = np.full((h + 2 * pad, w + 2 * pad), 255, dtype=np.uint8)
    canvas[pad:pad + h, pad:pad + w] = image
    tsv = run_tsv(Image.fromarray(canvas), lang="eng", dpi=int(round(dpi)), psm=7,
                  timeout_s=timeout_s, what="a handwritten line", engine=engine)
    words = _parse_tsv(tsv)
    text = " ".join(word.text for word in words)
    chars = tuple(CharRead(c, word.confidence) for word in words for c in word.text)
    return text, (min(word.confidence for word in words) if words else 0.0), chars


def read_region_tesseract(ink: np.ndarray, dpi: float, *, lines: tuple[LineCut, ...] | None = None,
                          timeout_s: float = 20, engine: str = "auto") -> RegionRead:
    """Tesseract's reading of the same region, line by line (page segmentation mode 7 on each
    cut line), through ``grader.tesseract`` (libtesseract in this process when it loads).
    A character's confidence is its word's; a line's is its weakest word's."""
    cuts = cut_lines(ink, dpi) if lines is None else lines
    reads = []
    for cut in cuts:
        text, confidence, chars = _tesseract_line(cut.image, dpi, timeout_s, engine)
        reads.append(LineRead(text, round(confidence, 4), cut.box, chars))
    return RegionRead(Engine.TESSERACT, tuple(reads), cuts)


# --------------------------------------------------------------------------------------------
# Calibration and the choice between the engines


# Raw confidence -> share of regions read exactly at that confidence, per engine: knots of a
# non-decreasing piecewise-linear map (equal-count bins of 40 regions, pooled where the rate
# fell), measured with ``python -m bench.handwriting --seed 7 --pages 40 --calibrate`` on 400
# corpus regions (numbers, shapes, values, expressions, matrices; 100-300 dpi). Outside the
# knots the end rates hold. See BENCHMARKS.md for the reliability curves.
CALIBRATION: dict[Engine, tuple[tuple[float, float], ...]] = {
    Engine.HANDWRITING: ((0.2338, 0.1212), (0.4819, 0.6061), (0.5295, 0.6364), (0.5675, 0.6667),
                         (0.6247, 0.7576), (0.7058, 0.8182), (0.879, 0.8864), (0.9945, 0.9394),
                         (0.9996, 0.9697), (1.0, 1.0)),
    Engine.TESSERACT: ((0.0537, 0.0379), (0.2909, 0.1061), (0.3989, 0.1212), (0.4738, 0.1515),
                       (0.5859, 0.1818), (0.707, 0.3939), (0.8384, 0.4545), (0.9293, 0.8182),
                       (0.9683, 1.0)),
}
# Thresholds on calibrated confidence, chosen on the same 400 regions so that what is accepted
# grades right in at least 99 % of them (value level: parsed and scored against the truth):
# - PP-OCRv6 alone from 0.965 (raw >= 0.9989): 97 regions accepted, 0 wrong; at 0.94
#   (raw 0.995) a dropped decimal point (".094" read "094", raw 0.996) came through.
# - Tesseract alone only at its top (raw >= 0.968; every one of 15 regions there exact; from
#   raw 0.90 on, 4 of 36 more were wrong).
# - Both engines reading the same: combined 1 - (1 - a)(1 - b) >= 0.99. The one agreement
#   that was wrong ("55610" read "5510" by both, 0.80 and 0.40 raw) combines to 0.87.
HANDWRITING_ACCEPT = 0.965
TESSERACT_ACCEPT = 0.995
AGREEMENT_ACCEPT = 0.99


def calibrated(engine: Engine, raw: float) -> float:
    """The share of corpus regions read exactly at raw confidence ``raw`` (see CALIBRATION)."""
    knots = CALIBRATION[engine]
    xs = [x for x, _ in knots]
    ys = [y for _, y in knots]
    return round(float(np.interp(raw, xs, ys)), 4)


def normalise_reading(text: str) -> str:
    """The form two readings are compared in: Unicode look-alikes unified, ``x``/``*``/``·``
    between digits as ``×``, spaces dropped except between the numbers of a row."""
    out = []
    for line in unicodedata.normalize("NFKC", text).splitlines():
        line = line.translate(_LOOKALIKES)
        line = _TIMES.sub("×", line)
        tokens = line.split()
        if len(tokens) > 1 and all(_NUMBER.fullmatch(t) for t in tokens):
            out.append(" ".join(tokens))
        elif tokens:
            out.append("".join(tokens))
    return "\n".join(out)


_LOOKALIKES = str.maketrans({"−": "-", "–": "-", "—": "-", "÷": "/", "∗": "*", "⋅": "·"})
_TIMES = re.compile(r"(?<=\d)\s*[xX×*·]\s*(?=\d)")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)")


def choose_reading(tesseract: Reading, handwriting: Reading) -> Choice:
    """Which reading of a region to accept, by evidence. Pure.

    1. Both engines read the same text (after ``normalise_reading``): accepted when their
       combined confidence (1 − (1−a)(1−b), two independent readers) reaches
       AGREEMENT_ACCEPT; the engine recorded is the more confident one.
    2. Otherwise the reading with the higher calibrated confidence, if it reaches its
       engine's threshold (HANDWRITING_ACCEPT, TESSERACT_ACCEPT).
    3. Otherwise the answer is flagged ``low_confidence``: the better reading is offered, and
       both are kept for the TA.
    A region neither engine read anything in is flagged (it has ink, or it would not be read).
    """
    thresholds = {Engine.HANDWRITING: HANDWRITING_ACCEPT, Engine.TESSERACT: TESSERACT_ACCEPT}
    readings = [r for r in (handwriting, tesseract) if r.text.strip()]
    if not readings:
        return Choice("", None, 0.0, True, "neither engine read anything", tesseract, handwriting)
    best = max(readings, key=lambda r: r.confidence)
    if len(readings) == 2 and normalise_reading(tesseract.text) == normalise_reading(handwriting.text):
        combined = round(1 - (1 - tesseract.confidence) * (1 - handwriting.confidence), 4)
        if combined >= AGREEMENT_ACCEPT:
            return Choice(best.text, best.engine, combined, False, "both engines read the same",
                          tesseract, handwriting)
        return Choice(best.text, best.engine, combined, True,
                      "both engines read the same, but neither is sure", tesseract, handwriting)
    other = "the other engine read nothing" if len(readings) == 1 else "the engines disagree"
    if best.confidence >= thresholds[best.engine]:
        return Choice(best.text, best.engine, best.confidence, False,
                      f"{other}; {best.engine} is sure", tesseract, handwriting)
    return Choice(best.text, best.engine, best.confidence, True,
                  f"{other}; neither is sure enough", tesseract, handwriting)
