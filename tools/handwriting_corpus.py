"""Handwriting corpus: exam answers written by hand into answer boxes, scanned, with truth.

    python -m tools.handwriting_corpus --out /tmp/hw --pages 4 --seed 1

Deterministic by seed (a page is a pure function of the seed and its index). Two sources of
"hands", both used only from what the machine has installed (nothing is vendored):

- handwriting fonts from Debian packages (``HANDWRITING_FONTS``, licences listed there), drawn
  one character at a time with per-character size, baseline, slant and spacing jitter and a
  varying pen width. Debian's ``fonts-breip`` is reserved for held-out checks and is never
  used here (``fonts()`` refuses it);
- real handwritten digits from scikit-learn's ``load_digits()`` (1,797 digits by 43 writers),
  only those at EVEN positions (the odd ones are reserved for held-out checks). Each 8x8 digit
  is enlarged to the pen's size with a smooth filter and a stroke-like contrast curve; the
  other characters of such an answer (``-``, ``.``, ``/``, ``x``) come from a font.

Answers are of the kinds the exams ask for (``ANSWER_KINDS``): numbers (``289``, ``-0.25``,
``1/2``), shapes (``8 x 8 x 5``, ``8×8×5``), named values (``h2 = 0``), expressions
(``sqrt(3/n)``, ``a = √(3/n)``) and small matrices written as rows of numbers (sometimes
between tall brackets). A page holds ``BOXES_PER_PAGE`` printed answer boxes with labels; the
filled page is "scanned" with the scan simulator's scanner model (``tools.scansim_marks``:
rotation, scale, shift, blur, noise, JPEG, shadow) at 100-300 dpi. ``region_ink`` gives what
issue 14's region reader hands to the handwriting reader: the box's crop of the scan minus the
registered blank (registration error of up to a pixel included), uint8, white paper.

Ground truth per region: the exact lines written, the value the answer stands for, the hand
(font file or "digits"), and the box in mm on the blank page.
"""
from __future__ import annotations

import argparse
import functools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tools.scansim_marks import ScanParams, apply_scan, compose_marks, pen_gray

# (Debian package, font file, licence). All Debian "main": free to use and redistribute.
HANDWRITING_FONTS: tuple[tuple[str, str, str], ...] = (
    ("fonts-dkg-handwriting", "/usr/share/fonts/truetype/fifthhorseman/dkg.ttf", "OFL-1.1"),
    ("fonts-humor-sans", "/usr/share/fonts/truetype/humor-sans/Humor-Sans.ttf", "OFL-1.1"),
    ("fonts-comic-neue", "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf", "OFL-1.1"),
    ("fonts-comic-neue", "/usr/share/fonts/opentype/comic-neue/ComicNeue-Light.otf", "OFL-1.1"),
    ("fonts-femkeklaver", "/usr/share/fonts/truetype/femkeklaver/femkeklaver.ttf", "CC-BY-SA-3.0"),
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeBuild-Regular.otf", "OFL-1.1"),
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeConnect-Regular.otf", "OFL-1.1"),
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeCreate-Regular.otf", "OFL-1.1"),
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeLearn-Regular.otf", "OFL-1.1"),
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeMentor-Regular.otf", "OFL-1.1"),
    ("fonts-bwht", "/usr/share/fonts/opentype/bwht/BecauseWeOrganize-Regular.otf", "OFL-1.1"),
    ("fonts-sjfonts", "/usr/share/fonts/truetype/sjfonts/SteveHand.ttf", "GPL-2+ with font exception"),
    ("fonts-sjfonts", "/usr/share/fonts/truetype/sjfonts/Delphine.ttf", "GPL-2+ with font exception"),
    ("fonts-rufscript", "/usr/share/fonts/truetype/rufscript/Rufscript010.ttf", "OFL-1.1 / GPL-3+ with font exception"),
    ("fonts-kristi", "/usr/share/fonts/truetype/kristi/Kristi.ttf", "OFL-1.1"),
    ("fonts-dancingscript", "/usr/share/fonts/opentype/dancingscript/DancingScript-Regular.otf", "OFL-1.1"),
    ("fonts-kaushanscript", "/usr/share/fonts/opentype/kaushanscript/KaushanScript-Regular.otf", "OFL-1.1"),
    ("fonts-ecolier-court", "/usr/share/fonts/truetype/ecolier-court/Ecolier-court.ttf", "OFL-1.1"),
)
# Not used: fonts-tomsontalks (capitals only, no "=", "+", "(" or ")"); the large Japanese
# handwriting fonts (fonts-klee, fonts-seto: 14-90 MB for a Latin alphabet found elsewhere).
FALLBACK_FONT = "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf"  # a glyph a font lacks
# Fonts whose lower-case letters are capitals (as many people print): a reader that returns
# "N" for their "n" reads what is on the page; truth comparisons ignore case for them.
CAPITALS = frozenset(("Humor-Sans.ttf", "BecauseWeBuild-Regular.otf", "BecauseWeConnect-Regular.otf",
                      "BecauseWeCreate-Regular.otf", "BecauseWeLearn-Regular.otf",
                      "BecauseWeMentor-Regular.otf", "BecauseWeOrganize-Regular.otf"))
FONT_PACKAGES = tuple(dict.fromkeys(p for p, _, _ in HANDWRITING_FONTS))
RESERVED_FONT_PACKAGE = "fonts-breip"      # held-out checks only: never drawn here
DIGITS = "digits"                          # the hand name of scikit-learn's digits

PAGE_W_MM, PAGE_H_MM = 210.0, 297.0
BOX_W_MM, BOX_H_MM = 84.0, 44.0
BOX_COLUMNS, BOX_ROWS = 2, 5
ROW_GAP_MM = 8.0           # between box rows: room for the printed label
BOXES_PER_PAGE = BOX_COLUMNS * BOX_ROWS
DPIS = (100, 150, 200, 240, 300)
LABEL_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


@functools.cache
def fonts() -> tuple[str, ...]:
    """The handwriting font files installed here (``make setup`` installs FONT_PACKAGES)."""
    found = tuple(f for _, f, _ in HANDWRITING_FONTS if Path(f).is_file())
    if any("breip" in f.lower() for f in found):   # never, by construction; kept as a guard
        raise RuntimeError(f"{RESERVED_FONT_PACKAGE} is reserved for held-out checks")
    return found


# --------------------------------------------------------------------------------------------
# Answers: what is written, and what it stands for


@dataclass(frozen=True)
class Answer:
    kind: str                  # numeric | shape | values | expression | matrix
    lines: tuple[str, ...]     # exactly what is written, line by line
    value: object              # what it stands for (JSON): number, [dims], {name: v}, str, rows
    variables: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()


ANSWER_KINDS = ("numeric", "shape", "values", "expression", "matrix")
# Kind mix of a page: numbers and shapes are most of what the exams ask for by hand.
KIND_WEIGHTS = (0.35, 0.25, 0.12, 0.14, 0.14)


def _number(rng: np.random.Generator) -> tuple[str, object]:
    style = rng.integers(0, 7)
    if style == 0:
        v = int(rng.integers(2, 10))
        return str(v), v
    if style in (1, 2):
        v = int(rng.integers(10, 5000))
        return str(v), v
    if style == 3:
        v = -round(float(rng.integers(1, 400)) / 100, 2)
        return f"{v:g}", v
    if style == 4:
        v = round(float(rng.integers(1, 999)) / 1000, 3)
        text = f"{v:g}"
        return (text[1:] if rng.random() < 0.2 else text), v
    if style == 5:
        a, b = int(rng.integers(1, 9)), int(rng.integers(2, 10))
        return f"{a}/{b}", a / b
    v = int(rng.integers(100, 100000))
    return str(v), v


def _shape(rng: np.random.Generator) -> tuple[str, object]:
    dims = [int(rng.choice([2, 3, 4, 5, 6, 7, 8, 16, 28, 32, 64])) for _ in range(int(rng.integers(2, 5)))]
    # By hand a size is written with x or ×; "*" is mostly typed, and rarer here.
    sep = str(rng.choice([" x ", "x", " × ", "×", "*", " * "], p=[0.35, 0.2, 0.17, 0.18, 0.05, 0.05]))
    return sep.join(map(str, dims)), dims


_VALUE_NAMES = ("h2", "h3", "a", "b", "y", "z1", "w")
_EXPRESSIONS = (  # (written, canonical meaning as a SymPy-readable string, variables)
    ("sqrt(3/n)", "sqrt(3/n)", ("n",)), ("√(3/n)", "sqrt(3/n)", ("n",)),
    ("a = √(3/n)", "sqrt(3/n)", ("n",)), ("√3/√n", "sqrt(3/n)", ("n",)),
    ("sqrt(2/n)", "sqrt(2/n)", ("n",)), ("1/sqrt(n)", "1/sqrt(n)", ("n",)),
    ("2/n", "2/n", ("n",)), ("1/n", "1/n", ("n",)), ("(n+1)/2", "(n+1)/2", ("n",)),
    ("k^2", "k**2", ("k",)), ("2k+1", "2*k+1", ("k",)), ("n(n-1)/2", "n*(n-1)/2", ("n",)),
    ("a = 2/n", "2/n", ("n",)), ("√(2/n)", "sqrt(2/n)", ("n",)),
)


def sample_answer(rng: np.random.Generator, kind: str | None = None) -> Answer:
    kind = kind or str(rng.choice(ANSWER_KINDS, p=KIND_WEIGHTS))
    if kind == "numeric":
        text, value = _number(rng)
        return Answer(kind, (text,), value)
    if kind == "shape":
        text, value = _shape(rng)
        return Answer(kind, (text,), value)
    if kind == "values":
        name = str(rng.choice(_VALUE_NAMES))
        text, value = _number(rng) if rng.random() < 0.6 else (str(v := int(rng.integers(0, 10))), v)
        spacing = " = " if rng.random() < 0.7 else "="
        return Answer(kind, (f"{name}{spacing}{text}",), {name: value}, outputs=(name,))
    if kind == "expression":
        written, meaning, variables = _EXPRESSIONS[int(rng.integers(0, len(_EXPRESSIONS)))]
        return Answer(kind, (written,), meaning, variables=variables)
    rows, cols = int(rng.integers(2, 4)), int(rng.integers(2, 4))
    low = -9 if rng.random() < 0.4 else 0
    values = [[int(rng.integers(low, 20)) for _ in range(cols)] for _ in range(rows)]
    return Answer("matrix", tuple(" ".join(map(str, r)) for r in values), values)


# --------------------------------------------------------------------------------------------
# Hands: handwriting fonts and real digits


@functools.cache
def _digit_bank() -> dict[int, np.ndarray]:
    """scikit-learn's digits at even positions, by class: {digit: array (n, 8, 8) in 0..1}."""
    from sklearn.datasets import load_digits

    data = load_digits()
    even = np.arange(0, len(data.target), 2)           # odd positions: held out, never used
    images, targets = data.images[even] / 16.0, data.target[even]
    return {d: images[targets == d] for d in range(10)}


def digit_glyph(digit: int, height: int, rng: np.random.Generator) -> np.ndarray:
    """One real handwritten digit as ink coverage (0..1), ``height`` px tall, trimmed to its
    ink columns."""
    bank = _digit_bank()[digit]
    cell = bank[int(rng.integers(0, len(bank)))]
    # 8x8 counts -> smooth enlargement -> stroke-like contrast (the counts are ink coverage
    # of 4x4 blocks of the writer's 32x32 bitmap).
    image = Image.fromarray((cell * 255).astype(np.uint8)).resize((height, height), Image.BICUBIC)
    coverage = np.asarray(image, dtype=np.float32) / 255.0
    low, high = rng.uniform(0.3, 0.45), rng.uniform(0.6, 0.75)
    ink = np.clip((coverage - low) / (high - low), 0.0, 1.0)
    cols = np.flatnonzero(ink.max(axis=0) > 0.3)
    return ink[:, cols[0]:cols[-1] + 1] if cols.size else ink


@functools.cache
def _font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


@functools.cache
def _has_glyph(path: str, char: str) -> bool:
    """Whether the font draws ``char`` (not its .notdef box)."""
    if char.isspace():
        return True

    def drawn(c: str) -> bytes:
        tile = Image.new("L", (80, 80), 0)
        ImageDraw.Draw(tile).text((10, 10), c, fill=255, font=_font(path, 40))
        return tile.tobytes()
    return drawn(char) != drawn("\ue000")


def _baseline(size: int) -> int:
    """Row of the baseline in a character tile of a ``size`` px pen (tiles are 1.6 x size)."""
    return int(size * 1.2)


def _char_tile(char: str, font_path: str, size: int) -> np.ndarray:
    """Ink coverage (0..1) of one character in a font, its baseline at ``_baseline(size)``,
    cropped horizontally to its advance."""
    font = _font(font_path, size)
    left, _, right, _ = font.getbbox(char, anchor="ls")
    advance = max(int(round(font.getlength(char))), right, 1)
    tile = Image.new("L", (advance + max(0, -left) + 4, int(size * 1.6)), 0)
    ImageDraw.Draw(tile).text((2 + max(0, -left), _baseline(size)), char, fill=255, font=font,
                              anchor="ls")
    return np.asarray(tile, dtype=np.float32) / 255.0


def _pen_dot(size: int, rng: np.random.Generator) -> np.ndarray:
    """A decimal point: a dot 0.1-0.18 of the pen's size across, on the baseline."""
    d = max(2, int(round(size * rng.uniform(0.1, 0.18))))
    tile = Image.new("L", (d + 4, int(size * 1.6)), 0)
    base = _baseline(size)
    ImageDraw.Draw(tile).ellipse((2, base - d, 2 + d, base), fill=255)
    return np.asarray(tile, dtype=np.float32) / 255.0


def _stroke_symbol(char: str, size: int, width: float) -> np.ndarray:
    """A hand-drawn √ or × for fonts that lack the glyph."""
    h = int(size * 1.6)
    w = int(size * (0.75 if char == "√" else 0.6))
    tile = Image.new("L", (w + 4, h), 0)
    draw = ImageDraw.Draw(tile)
    top, base = int(size * 0.25), int(size * 1.15)
    line = max(1, int(round(width)))
    if char == "√":
        draw.line([(2, int(size * 0.8)), (int(w * 0.3), base), (int(w * 0.75), top),
                   (w + 3, top)], fill=255, width=line, joint="curve")
    else:  # ×
        mid, r = int(size * 0.75), int(size * 0.28)
        draw.line([(w / 2 - r, mid - r), (w / 2 + r, mid + r)], fill=255, width=line)
        draw.line([(w / 2 - r, mid + r), (w / 2 + r, mid - r)], fill=255, width=line)
    return np.asarray(tile, dtype=np.float32) / 255.0


@dataclass(frozen=True)
class Hand:
    """One writer: a font (or scikit-learn digits with a font for the rest), pen and habits."""

    font: str
    digits: bool               # digits from load_digits (the font writes everything else)
    size_px: int               # nominal character height
    slant: float               # degrees
    spacing: float             # extra space between characters, fraction of size
    jitter: float              # per-character baseline / size jitter, fraction of size
    pen: int                   # grey level of the ink
    weight: int                # -1 thinner, 0, +1 bolder (min/max filter)

    @property
    def name(self) -> str:
        return DIGITS if self.digits else Path(self.font).name


def sample_hand(rng: np.random.Generator, ppmm: float, digits: bool | None = None) -> Hand:
    available = fonts()
    font = available[int(rng.integers(0, len(available)))]
    digits = bool(rng.random() < 0.3) if digits is None else digits
    return Hand(font=font, digits=digits, size_px=max(12, int(rng.uniform(4.2, 6.5) * ppmm)),
                slant=float(rng.uniform(-8, 12)), spacing=float(rng.uniform(0.02, 0.18)),
                jitter=float(rng.uniform(0.02, 0.08)), pen=pen_gray(rng),
                weight=int(rng.choice([-1, 0, 0, 1])))


def write_line(text: str, hand: Hand, rng: np.random.Generator) -> np.ndarray:
    """Ink coverage (0..1) of one written line, tight-ish crop with a small margin."""
    size = hand.size_px
    pieces: list[tuple[np.ndarray, int]] = []   # (tile, baseline offset px)
    for char in text:
        scale = 1.0 + rng.normal(0, hand.jitter)
        char_size = max(8, int(round(size * scale)))
        if char == " ":
            pieces.append((np.zeros((1, int(size * rng.uniform(0.35, 0.6)))), 0))
            continue
        if hand.digits and char.isdigit():
            glyph = digit_glyph(int(char), int(char_size * 0.95), rng)
            tile = np.zeros((int(char_size * 1.6), glyph.shape[1] + 2), dtype=np.float32)
            top = _baseline(char_size) - glyph.shape[0] + int(char_size * 0.05)   # sits on the line
            tile[top:top + glyph.shape[0], 1:1 + glyph.shape[1]] = glyph
        elif char == "." and hand.digits:
            tile = _pen_dot(char_size, rng)      # a decimal point as a pen makes it
        elif char in "√×" and not _has_glyph(hand.font, char):
            tile = _stroke_symbol(char, char_size, max(1.0, size / 14))
        else:
            font = hand.font if _has_glyph(hand.font, char) else FALLBACK_FONT
            # Real digits fill their 8x8 cell: the pen writes the rest of such a line larger.
            tile = _char_tile(char, font, char_size)
        pieces.append((tile, int(round(rng.normal(0, hand.jitter) * size))))
        pieces.append((np.zeros((1, max(0, int(size * (hand.spacing + rng.normal(0, 0.03)))))), 0))
    height = int(size * 2.4)
    width = sum(p.shape[1] for p, _ in pieces) + 2 * size
    canvas = np.zeros((height, width), dtype=np.float32)
    x = size // 2
    for tile, dy in pieces:
        if tile.shape[0] > 1:
            y = int(size * 0.3) + dy
            h = min(tile.shape[0], height - max(y, 0))
            canvas[max(y, 0):max(y, 0) + h, x:x + tile.shape[1]] = np.maximum(
                canvas[max(y, 0):max(y, 0) + h, x:x + tile.shape[1]], tile[:h])
        x += tile.shape[1]
    image = Image.fromarray((canvas * 255).astype(np.uint8))
    if hand.slant:
        shear = math.tan(math.radians(hand.slant))
        image = image.transform(image.size, Image.AFFINE, (1, shear, -shear * height * 0.6, 0, 1, 0),
                                resample=Image.BILINEAR)
    if hand.weight > 0 and size >= 20:                                     # a bolder pen
        image = image.filter(ImageFilter.MaxFilter(3))
    elif hand.weight < 0 and size >= 40:                                   # a finer pen
        image = _thinned(image)
    ink = np.asarray(image, dtype=np.float32) / 255.0
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.2), np.flatnonzero(ink.max(axis=0) > 0.2)
    if not rows.size:
        return ink
    pad = max(2, size // 6)
    return ink[max(0, rows[0] - pad):rows[-1] + pad + 1, max(0, cols[0] - pad):cols[-1] + pad + 1]


def _thinned(image: Image.Image) -> Image.Image:
    """Strokes a pixel finer, never erased: a thin stroke (a minus sign, a decimal point)
    that thinning would wipe out keeps its width, so that what is written is on the page."""
    import cv2

    thin = np.asarray(image.filter(ImageFilter.MinFilter(3)))
    original = np.asarray(image)
    count, labels = cv2.connectedComponents((original > 76).astype(np.uint8), connectivity=8)
    survives = np.zeros(count, dtype=bool)
    survives[labels[thin > 76]] = True
    survives[0] = True
    return Image.fromarray(np.where(survives[labels], thin, original).astype(np.uint8))


def _bracket(height: int, width: float, left: bool) -> np.ndarray:
    w = max(6, height // 8)
    tile = Image.new("L", (w + 2, height), 0)
    line = max(1, int(round(width)))
    xs = (w, 1) if left else (1, w)
    ImageDraw.Draw(tile).line([(xs[0], 1), (xs[1], 2), (xs[1], height - 3), (xs[0], height - 2)],
                              fill=255, width=line, joint="curve")
    return np.asarray(tile, dtype=np.float32) / 255.0


def write_answer(answer: Answer, hand: Hand, rng: np.random.Generator) -> np.ndarray:
    """Ink coverage of the whole answer: its lines one under another (a matrix: columns
    aligned, sometimes between tall brackets)."""
    size = hand.size_px
    if answer.kind == "matrix":
        cells = [line.split(" ") for line in answer.lines]
        tiles = [[write_line(c, hand, rng) for c in row] for row in cells]
        col_w = [max(tiles[r][c].shape[1] for r in range(len(tiles))) for c in range(len(tiles[0]))]
        gap = int(size * rng.uniform(0.7, 1.3))
        row_h = max(t.shape[0] for row in tiles for t in row)
        line_gap = int(size * rng.uniform(0.2, 0.7))
        height = len(tiles) * row_h + (len(tiles) - 1) * line_gap
        brackets = rng.random() < 0.35
        margin = size if brackets else 0
        width = sum(col_w) + gap * (len(col_w) - 1) + 2 * margin
        canvas = np.zeros((height, width), dtype=np.float32)
        for r, row in enumerate(tiles):
            x = margin
            for c, tile in enumerate(row):
                y = r * (row_h + line_gap) + int(rng.integers(0, max(1, row_h - tile.shape[0] + 1)))
                xo = x + col_w[c] - tile.shape[1]          # numbers right-aligned
                canvas[y:y + tile.shape[0], xo:xo + tile.shape[1]] = np.maximum(
                    canvas[y:y + tile.shape[0], xo:xo + tile.shape[1]], tile)
                x += col_w[c] + gap
        if brackets:
            pen = max(1.0, size / 12)
            for left in (True, False):
                b = _bracket(height, pen, left)
                x0 = 0 if left else width - b.shape[1]
                canvas[:, x0:x0 + b.shape[1]] = np.maximum(canvas[:, x0:x0 + b.shape[1]], b)
        return canvas
    lines = [write_line(line, hand, rng) for line in answer.lines]
    gap = int(size * rng.uniform(0.3, 0.8))
    width = max(l.shape[1] for l in lines)
    canvas = np.zeros((sum(l.shape[0] for l in lines) + gap * (len(lines) - 1), width), np.float32)
    y = 0
    for line in lines:
        canvas[y:y + line.shape[0], :line.shape[1]] = line
        y += line.shape[0] + gap
    return canvas


# --------------------------------------------------------------------------------------------
# Pages: printed answer boxes, written in, scanned


@dataclass(frozen=True)
class RegionTruth:
    page: int
    label: str
    box_mm: tuple[float, float, float, float]      # x, y, w, h of the box's inside, blank page
    kind: str
    lines: tuple[str, ...]
    value: object
    hand: str
    variables: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    capitals: bool = False        # the hand writes lower-case letters as capitals

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass(frozen=True)
class CorpusPage:
    number: int
    dpi: float
    scan: Image.Image             # the scanned page (L)
    blank: Image.Image            # the blank page as printed (L), the registration target
    params: ScanParams
    regions: tuple[RegionTruth, ...]


def box_layout() -> list[tuple[str, tuple[float, float, float, float]]]:
    """(label, inside of the box in mm) for every box on a page."""
    out = []
    for row in range(BOX_ROWS):
        for col in range(BOX_COLUMNS):
            x = 15.0 + col * (BOX_W_MM + 12.0)
            y = 30.0 + row * (BOX_H_MM + ROW_GAP_MM)
            out.append((f"{row + 1}.{'ab'[col]}", (x, y, BOX_W_MM, BOX_H_MM)))
    return out


def blank_page(dpi: float) -> Image.Image:
    """The printed page: title, labels and box frames (0.3 mm), white paper, mode L."""
    ppmm = dpi / 25.4
    page = Image.new("L", (int(PAGE_W_MM * ppmm), int(PAGE_H_MM * ppmm)), 255)
    draw = ImageDraw.Draw(page)
    label_font = ImageFont.truetype(LABEL_FONT, max(8, int(3.2 * ppmm)))
    draw.text((15 * ppmm, 14 * ppmm), "Problem 3   Write your final answers into the boxes",
              fill=0, font=label_font)
    frame = max(1, int(round(0.3 * ppmm)))
    for label, (x, y, w, h) in box_layout():
        draw.text((x * ppmm, (y - 5.5) * ppmm), f"{label})", fill=0, font=label_font)
        draw.rectangle(((x - 0.3) * ppmm, (y - 0.3) * ppmm, (x + w + 0.3) * ppmm, (y + h + 0.3) * ppmm),
                       outline=0, width=frame)
    return page


def _scan_params(rng: np.random.Generator, dpi: float) -> ScanParams:
    return ScanParams(dpi=float(dpi), scale=float(rng.uniform(0.98, 1.02)),
                      rotation=float(rng.uniform(-3, 3)),
                      shift_mm=(float(rng.uniform(-4, 4)), float(rng.uniform(-4, 4))),
                      upside_down=False, blur=float(rng.uniform(0.0, 1.0)),
                      noise=float(rng.uniform(1, 8)), jpeg=int(rng.choice([0, 55, 70, 85])),
                      shadow=float(rng.uniform(0.0, 0.3)))


def page_rng(seed: int, number: int) -> np.random.Generator:
    return np.random.default_rng([seed, number])


def make_page(seed: int, number: int, *, dpi: float | None = None,
              kinds: tuple[str, ...] | None = None) -> CorpusPage:
    """Page ``number`` of the corpus for ``seed``: every box written in by one hand each."""
    rng = page_rng(seed, number)
    dpi = float(dpi if dpi is not None else rng.choice(DPIS))
    ppmm = dpi / 25.4
    blank = blank_page(dpi)
    ink = Image.new("L", blank.size, 255)
    regions = []
    for i, (label, (x, y, w, h)) in enumerate(box_layout()):
        answer = sample_answer(rng, kinds[i % len(kinds)] if kinds else None)
        hand = sample_hand(rng, ppmm)
        coverage = write_answer(answer, hand, rng)
        # Fit the box (a large hand in a small box writes smaller), place with a margin.
        room_w, room_h = (w - 4) * ppmm, (h - 4) * ppmm
        factor = min(1.0, room_w / coverage.shape[1], room_h / coverage.shape[0])
        if factor < 1.0:
            coverage = np.asarray(Image.fromarray((coverage * 255).astype(np.uint8)).resize(
                (max(1, int(coverage.shape[1] * factor)), max(1, int(coverage.shape[0] * factor))),
                Image.BILINEAR), dtype=np.float32) / 255.0
        px = int((x + 2) * ppmm + rng.uniform(0, max(0.0, room_w - coverage.shape[1]) * 0.6))
        py = int((y + 2) * ppmm + rng.uniform(0, max(0.0, room_h - coverage.shape[0]) * 0.7))
        patch = np.asarray(ink.crop((px, py, px + coverage.shape[1], py + coverage.shape[0])),
                           dtype=np.float32)
        written = patch * (1 - coverage) + hand.pen * coverage
        ink.paste(Image.fromarray(np.clip(written, 0, 255).astype(np.uint8)), (px, py))
        regions.append(RegionTruth(number, label, (x, y, w, h), answer.kind, answer.lines,
                                   answer.value, hand.name, answer.variables, answer.outputs,
                                   Path(hand.font).name in CAPITALS))
    params = _scan_params(rng, dpi)
    scan = apply_scan(compose_marks(blank, ink), params, rng)
    return CorpusPage(number, dpi, scan, blank, params, tuple(regions))


def registered_scan(page: CorpusPage, rng: np.random.Generator) -> Image.Image:
    """The scan warped back into the blank page's frame, as issue 14's registration does,
    with its error: up to 0.7 px of shift and 0.05 degrees of rotation."""
    p = page.params
    ppmm = page.dpi / 25.4
    w, h = page.scan.size
    t = math.radians(p.rotation + rng.uniform(-0.05, 0.05))
    c, s = math.cos(t), math.sin(t)
    k = p.scale
    sx = p.shift_mm[0] * ppmm + rng.uniform(-0.7, 0.7)
    sy = p.shift_mm[1] * ppmm + rng.uniform(-0.7, 0.7)
    # apply_scan: scan = centre + k R (blank - centre) + shift. PIL's transform asks, for each
    # pixel of the output (the blank's frame), where to read in the input (the scan).
    ox, oy = w / 2, h / 2
    a, b, d, e = k * c, -k * s, k * s, k * c
    coeffs = (a, b, ox + sx - a * ox - b * oy, d, e, oy + sy - d * ox - e * oy)
    return page.scan.transform((w, h), Image.AFFINE, coeffs, resample=Image.BICUBIC, fillcolor=255)


def region_ink(page: CorpusPage, region: RegionTruth, rng: np.random.Generator | None = None,
               registered: Image.Image | None = None) -> np.ndarray:
    """The region's ink as issue 14 defines it: the registered scan minus the blank (print
    removed where the blank has it, paper brought to white), uint8, white paper."""
    rng = rng or np.random.default_rng(0)
    registered = registered if registered is not None else registered_scan(page, rng)
    ppmm = page.dpi / 25.4
    x, y, w, h = region.box_mm
    rect = (int(x * ppmm), int(y * ppmm), int(math.ceil((x + w) * ppmm)), int(math.ceil((y + h) * ppmm)))
    scan = np.asarray(registered.crop(rect), dtype=np.float32)
    print_mask = np.asarray(page.blank.crop(rect).filter(ImageFilter.MinFilter(3))) < 200
    paper = float(np.percentile(scan, 90))
    ink = np.clip(scan * (255.0 / max(paper, 1.0)), 0, 255)
    ink[print_mask] = 255
    return ink.astype(np.uint8)


# --------------------------------------------------------------------------------------------
# Keys: what the question's answer key says, right or plausibly wrong relative to the writing


KEY_RIGHT_P = 0.5           # the share of regions whose key is what the student wrote
WRONG_KEY_STYLES = ("digit", "confusable", "decimal", "other")
# Digits a reader (or a hand) confuses: 1/7, 5/6, 3/8, 0/6.
CONFUSABLE = {"1": "7", "7": "1", "5": "6", "3": "8", "8": "3", "0": "6", "6": "05"}


@dataclass(frozen=True)
class KeyedRegion:
    """A region with the key its question has: ``right`` when the writing states the key;
    else ``how`` the key differs from what is written (one digit, an OCR-confusable digit,
    the decimal point, or an entirely different answer)."""

    region: RegionTruth
    key: object
    right: bool
    how: str                  # "same" | one of WRONG_KEY_STYLES


def key_rng(seed: int, number: int, label: str) -> np.random.Generator:
    return np.random.default_rng([seed, number, 2, *label.encode()])


def _number_value(text: str) -> object | None:
    from grader.compare import read_number

    value = read_number(text)
    return None if value is None or isinstance(value, float) and not math.isfinite(value) else value


def _mutate_number(text: str, style: str, rng: np.random.Generator) -> str:
    """A number written as ``text`` changed in one way (see WRONG_KEY_STYLES)."""
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if style == "confusable":
        places = [i for i in digits if text[i] in CONFUSABLE]
        if places:
            i = int(rng.choice(places))
            return text[:i] + str(rng.choice(list(CONFUSABLE[text[i]]))) + text[i + 1:]
        style = "digit"
    if style == "decimal" and "/" not in text:
        bare = text.replace(".", "")
        sign = 1 if bare[:1] in "-−" else 0
        body = bare[sign:]
        if len(body) < 2 and "." not in text:
            body = body + "0"                           # 7 -> 7.0 is the same: 0.7 instead
            places = [0]
        else:
            old = text[sign:].find(".")
            places = [k for k in range(0, len(body)) if k != old]
        k = int(rng.choice(places))
        out = bare[:sign] + ("0" if k == 0 else "") + body[:k] + "." + body[k:]
        return out.rstrip(".")
    if style in ("digit", "decimal") and digits:
        i = int(rng.choice(digits))
        other = [d for d in "0123456789" if d != text[i]]
        return text[:i] + str(rng.choice(other)) + text[i + 1:]
    return _number(rng)[0]


def _different_number(value: object, text: str, style: str, rng: np.random.Generator) -> object:
    from grader.compare import numbers_match
    from grader.types import Tolerance

    # A style that cannot change this number ("0" has no decimal point to move) gives way
    # to a changed digit, then to another number.
    for attempt in range(60):
        how = style if attempt < 20 else "digit" if attempt < 40 else "other"
        candidate = _number_value(_mutate_number(text, how, rng))
        if candidate is not None and not numbers_match(candidate, value, Tolerance()) \
                and not numbers_match(value, candidate, Tolerance()):
            return candidate
    raise RuntimeError(f"no wrong key found for {text!r}")     # never, by construction


def key_for(region: RegionTruth, rng: np.random.Generator) -> KeyedRegion:
    """The key a question about ``region`` has: with probability KEY_RIGHT_P what is
    written; else a plausible wrong value of the same kind."""
    if rng.random() < KEY_RIGHT_P:
        return KeyedRegion(region, region.value, True, "same")
    style = str(rng.choice(WRONG_KEY_STYLES))
    value = region.value
    if region.kind == "numeric":
        return KeyedRegion(region, _different_number(value, region.lines[0], style, rng), False, style)
    if region.kind == "values":
        (name, v), = value.items()
        text = region.lines[0].split("=", 1)[1].strip()
        return KeyedRegion(region, {name: _different_number(v, text, style, rng)}, False, style)
    if region.kind == "expression":
        others = sorted({meaning for _, meaning, names in _EXPRESSIONS
                         if names == region.variables} - {value})
        return KeyedRegion(region, str(rng.choice(others)), False, "other")
    if region.kind == "shape":
        dims = list(value)
        for _ in range(50):
            if style == "other":
                wrong = [int(rng.choice([2, 3, 4, 5, 6, 7, 8, 16, 28, 32, 64])) for _ in dims]
            else:
                i = int(rng.integers(0, len(dims)))
                number = _different_number(dims[i], str(dims[i]), "digit" if style == "decimal" else style, rng)
                wrong = dims[:i] + [int(abs(number))] + dims[i + 1:]
            if sorted(wrong) != sorted(dims):           # not the same numbers in another order
                return KeyedRegion(region, wrong, False, style)
        raise RuntimeError(f"no wrong shape found for {dims}")
    rows = [list(r) for r in value]                       # a matrix: one entry changed, or all
    if style == "other":
        low = min(min(r) for r in rows)
        wrong = [[int(rng.integers(low, 20)) for _ in r] for r in rows]
        if wrong != rows:
            return KeyedRegion(region, wrong, False, style)
        style = "digit"
    i, j = int(rng.integers(0, len(rows))), int(rng.integers(0, len(rows[0])))
    entry = _different_number(rows[i][j], str(rows[i][j]), "digit" if style == "decimal" else style, rng)
    rows[i][j] = int(entry) if float(entry).is_integer() else entry
    return KeyedRegion(region, rows, False, style)


def keyed_corpus(seed: int, pages: int, **options):
    """(page, keyed region, ink) for every region of ``corpus(seed, pages)``, each with the
    key its question has (``key_for``; deterministic by seed, page and label)."""
    for page, region, ink in corpus(seed, pages, **options):
        yield page, key_for(region, key_rng(seed, page.number, region.label)), ink


def corpus(seed: int, pages: int, *, kinds: tuple[str, ...] | None = None,
           dpi: float | None = None):
    """(page, region, ink) for every region of ``pages`` pages (generated lazily)."""
    for number in range(1, pages + 1):
        page = make_page(seed, number, kinds=kinds, dpi=dpi)
        registered = registered_scan(page, np.random.default_rng([seed, number, 1]))
        for region in page.regions:
            yield page, region, region_ink(page, region, registered=registered)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--pages", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--regions", action="store_true", help="also write each region's ink PNG")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    truth = []
    for number in range(1, args.pages + 1):
        page = make_page(args.seed, number)
        page.scan.save(args.out / f"page_{number:03d}.png")
        registered = registered_scan(page, np.random.default_rng([args.seed, number, 1]))
        for region in page.regions:
            entry = {**asdict(region), "dpi": page.dpi, "scan": page.params.as_dict()}
            if args.regions:
                name = f"page_{number:03d}_{region.label}.png"
                Image.fromarray(region_ink(page, region, registered=registered)).save(args.out / name)
                entry["ink"] = name
            truth.append(entry)
    (args.out / "truth.json").write_text(json.dumps(truth, indent=1, default=list))
    print(f"wrote {args.pages} pages, {len(truth)} regions to {args.out}")


if __name__ == "__main__":
    main()
