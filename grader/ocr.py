"""OCR of scanned pages with Tesseract (run by ``grader.tesseract``: libtesseract in this
process, or the command via pytesseract). Pure Python: no Django imports.

The path for one scanned page is ``read_scanned_page`` (called by ``grader.scan``): turn the
page by the rotation its checkbox fit found, if any; clip the paper to white (``normalise``)
and straighten it (``deskew``, a projection-profile search in NumPy); OCR it with one
Tesseract run (``ocr_words``, which also splits digit rows Tesseract joined); and only when
that result looks like garbage, or its words stand on end, check the orientation
(``detect_orientation``) and OCR the turned page. Orientation is checked lazily because
Tesseract OSD costs about as much as the OCR itself (0.4-0.7 s per A4 page here) while almost
every scanned page is upright. Answers get their confidence from the OCR words they contain
(``grader.segment``).
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pytesseract
from PIL import Image

from grader.levels import histogram_u8, otsu_of_counts, percentile_u8
from grader.render import PageImage
from grader.tesseract import Engine, OcrError, OcrTimeout, run_osd, run_tsv
from grader.types import PageText, Source

__all__ = ["Engine", "OcrError", "OcrOptions", "OcrTimeout", "OcrWord", "ScannedRead", "ocr_page",
           "read_scanned_page", "ocr_words", "detect_orientation", "deskew", "prepare_scan"]

log = logging.getLogger(__name__)

# Render resolution for scanned pages. Measured on rendered A4 text pages (Helvetica 7-10 pt,
# with 1.5-2 deg skew, Gaussian noise and blur), share of words read exactly:
#   150 dpi: 0.82-0.93, 0.54-0.72 s/page;  200 dpi: 0.86-0.96, 0.80-0.97 s;
#   300 dpi: 0.92-0.97, 1.48-1.76 s  (clean pages: 0.37 s at 200 dpi, 0.51 s at 300 dpi).
# 300 dpi is the only setting that keeps small print (7-8 pt subscripts, matrix entries) above
# 0.93; the ~1.7x time is paid for with processes. Scanners deliver 300 dpi too, so rendering
# an image-only PDF at 300 dpi does not resample the scan much.
OCR_DPI = 300

DESKEW_MAX_ANGLE = 5.0       # degrees; larger skews are not expected from a feeder scanner
# The search runs on a copy downscaled to about this many px on the longer side (~130 dpi for
# A4): errors <= 0.05 deg in 15 ms per page, where 1000 px gave up to 0.1 deg in 5 ms.
DESKEW_WORK_SIZE = 1500
DESKEW_MIN_ANGLE = 0.1       # below this, straightening costs sharpness and gains nothing

# A page whose OCR confidence is below this is checked for orientation. Upright typed pages
# score 0.88-0.95 (also skewed, noisy or blurred); the same page read upside down 0.31.
ORIENTATION_CHECK_BELOW = 0.6
OSD_MIN_CONFIDENCE = 2.0     # Tesseract's own "Orientation confidence"; below it, OSD guesses

# Tesseract's LSTM decides word breaks itself and joins single digits separated by one space
# ("1 4 7 6" -> "1476"; every proportional font tried). Such a word is split again where the
# ink says a space is: the distance between neighbouring digit centres, relative to the digit
# height, was measured on 3,100 digit pairs (Helvetica, Times, DejaVu Sans; 9-13 pt; 200 and
# 300 dpi): within a number 0.62-0.89, across a space 0.95-1.33. Monospace (Courier) digits sit
# 0.83-1.03 apart, so a typewriter-font number can be split wrongly; handwriting varies.
DIGIT_SPACE_PITCH = 0.92


@functools.cache
def osd_available() -> bool:
    """Whether tesseract has its orientation data (apt package tesseract-ocr-osd)."""
    try:
        return "osd" in pytesseract.get_languages(config="")
    except (pytesseract.TesseractNotFoundError, pytesseract.TesseractError, OSError):
        return False


@dataclass(frozen=True)
class OcrOptions:
    """How Tesseract is run: its per-page time limit and the engine (``grader.tesseract``)."""

    timeout_s: float = 60
    engine: Engine = Engine.AUTO


@dataclass(frozen=True)
class OcrWord:
    text: str
    confidence: float            # 0-1
    box: tuple[int, int, int, int]  # left, top, width, height in image pixels
    line: tuple[int, int, int]   # (block, paragraph, line) as Tesseract numbers them


# --------------------------------------------------------------------------------------------
# Deskew


def _otsu_threshold(gray: np.ndarray) -> int:
    """Grey level separating ink from paper (Otsu); works on any uint8 array."""
    return otsu_of_counts(histogram_u8(gray))


def _grey(image: Image.Image) -> Image.Image:
    """``image`` in mode L, without copying one that already is (a 300 dpi page: 5 ms)."""
    return image if image.mode == "L" else image.convert("L")


def _ink_points(image: Image.Image) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of dark pixels of a downscaled copy (about DESKEW_WORK_SIZE px long)."""
    gray = _grey(image)
    factor = max(1, round(max(gray.size) / DESKEW_WORK_SIZE))
    small = np.asarray(gray.reduce(factor) if factor > 1 else gray, dtype=np.uint8)
    threshold = _otsu_threshold(small)
    ink = small <= threshold
    if ink.mean() > 0.5:          # a nearly black image (or inverted scan): nothing to measure
        return np.empty(0), np.empty(0)
    ys, xs = np.nonzero(ink)
    return ys.astype(np.float64), xs.astype(np.float64)


def _profile_score(ys: np.ndarray, xs: np.ndarray, angle_deg: float) -> float:
    """Sharpness of the row profile after undoing a counter-clockwise skew of ``angle_deg``.

    Text lines of a page rotated counter-clockwise by a rise to the right: y = y0 - x tan(a).
    Adding x tan(a) back puts each line's ink into few rows; the sum of squared row counts
    is largest when the lines are level.
    """
    rows = ys + xs * np.tan(np.radians(angle_deg))
    rows = np.rint(rows - rows.min()).astype(np.int64)
    counts = np.bincount(rows).astype(np.float64)
    return float(np.dot(counts, counts))


def estimate_skew(image: Image.Image) -> float:
    """The page's skew in degrees, counter-clockwise (as in ``Image.rotate``), within ±5°."""
    ys, xs = _ink_points(image)
    if ys.size < 200:             # blank page: nothing to level
        return 0.0
    best = 0.0
    # Coarse-to-fine: 0.5° steps over the range, then 0.05° steps around the best one.
    for step, half_width in ((0.5, DESKEW_MAX_ANGLE), (0.05, 0.5)):
        candidates = np.arange(best - half_width, best + half_width + step / 2, step)
        candidates = candidates[np.abs(candidates) <= DESKEW_MAX_ANGLE + 1e-9]
        scores = [_profile_score(ys, xs, a) for a in candidates]
        best = float(candidates[int(np.argmax(scores))])
    return round(best, 2)


def rotate_page(image: Image.Image, angle: float) -> Image.Image:
    """Rotate counter-clockwise by ``angle`` degrees keeping the page size (white fill)."""
    if angle % 360 == 0:
        return image
    if angle % 90 == 0:           # lossless and fast; a quarter turn swaps width and height
        turns = {90: Image.Transpose.ROTATE_90, 180: Image.Transpose.ROTATE_180,
                 270: Image.Transpose.ROTATE_270}
        return image.transpose(turns[int(angle % 360)])
    # Nearest neighbour: on a 300 dpi page it takes 0.02 s against 0.12 s (bilinear) and reads
    # as well after deskewing (word accuracy 0.989 vs 0.987 over 7-9 pt pages skewed 2.5-3.5°).
    fill = 255 if image.mode == "L" else "white"
    return image.rotate(angle, resample=Image.Resampling.NEAREST, expand=False, fillcolor=fill)


def deskew(image: Image.Image) -> tuple[Image.Image, float]:
    """Straighten a page skewed by up to ±5°. Returns (straightened image, skew angle).

    The angle is counter-clockwise in degrees as in ``Image.rotate``: the input looks like an
    upright page rotated by ``angle``, and was rotated by ``-angle`` to level it. Skews under
    0.1° are left alone (resampling would blur the text for no gain).
    """
    angle = estimate_skew(image)
    if abs(angle) < DESKEW_MIN_ANGLE:
        return image, 0.0
    return rotate_page(image, -angle), angle


# --------------------------------------------------------------------------------------------
# Running tesseract


def _parse_tsv(tsv: str) -> list[OcrWord]:
    """Words of Tesseract's TSV output in reading order (empty and layout rows dropped)."""
    words: list[OcrWord] = []
    lines = tsv.splitlines()
    if not lines:
        return words
    header = lines[0].split("\t")
    col = {name: i for i, name in enumerate(header)}
    for row in lines[1:]:
        cells = row.split("\t")
        if len(cells) < len(header):
            continue
        text = cells[col["text"]].strip()
        conf = float(cells[col["conf"]])
        if not text or conf < 0:
            continue
        box = tuple(int(cells[col[k]]) for k in ("left", "top", "width", "height"))
        line = tuple(int(cells[col[k]]) for k in ("block_num", "par_num", "line_num"))
        words.append(OcrWord(text, min(max(conf / 100.0, 0.0), 1.0), box, line))  # type: ignore[arg-type]
    return words


# --------------------------------------------------------------------------------------------
# Digit rows ("1 4 7 6" read as "1476")


def _digit_blobs(gray: np.ndarray) -> tuple[list[tuple[int, int]], int]:
    """Column runs of ink in a word crop, and the height of the inked rows."""
    if gray.size == 0:
        return [], 0
    lo, hi = int(gray.min()), int(gray.max())
    if hi - lo < 40:              # no contrast: nothing to measure
        return [], 0
    ink = gray < (lo + hi) / 2
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    if cols.size == 0:
        return [], 0
    breaks = np.flatnonzero(np.diff(cols) > 1)
    starts = np.r_[cols[0], cols[breaks + 1]]
    ends = np.r_[cols[breaks], cols[-1]]
    return list(zip(starts.tolist(), ends.tolist())), int(rows[-1] - rows[0] + 1)


def split_digit_word(word: OcrWord, page: np.ndarray) -> list[OcrWord]:
    """Split an all-digit word where the digits are a space apart (see DIGIT_SPACE_PITCH).

    Only words whose ink falls into exactly one column run per digit are considered, so each
    gap can be tied to a character boundary; anything else is returned unchanged.
    """
    if len(word.text) < 2 or not word.text.isdigit():
        return [word]
    left, top, width, height = word.box
    blobs, ink_height = _digit_blobs(page[top:top + height, left:left + width])
    if len(blobs) != len(word.text) or ink_height < 8:
        return [word]
    centres = [(a + b) / 2 for a, b in blobs]
    parts: list[OcrWord] = []
    start = 0
    for i in range(1, len(word.text) + 1):
        if i == len(word.text) or (centres[i] - centres[i - 1]) / ink_height >= DIGIT_SPACE_PITCH:
            x0 = blobs[start][0]
            x1 = blobs[i - 1][1]
            parts.append(OcrWord(word.text[start:i], word.confidence,
                                 (left + x0, top, x1 - x0 + 1, height), word.line))
            start = i
    return parts


# --------------------------------------------------------------------------------------------
# Page OCR


def _page_text(words: Sequence[OcrWord]) -> str:
    """Words joined into lines (one per Tesseract line), paragraphs separated by a blank line."""
    out: list[str] = []
    previous: tuple[int, int, int] | None = None
    for word in words:
        if previous is None:
            pass
        elif word.line == previous:
            out.append(" ")
        elif word.line[:2] == previous[:2]:
            out.append("\n")
        else:
            out.append("\n\n")
        out.append(word.text)
        previous = word.line
    return "".join(out)


def _weighted_confidence(pairs: Sequence[tuple[str, float]]) -> float | None:
    """Mean confidence weighted by word length (a misread long word weighs more)."""
    total = sum(len(w) for w, _ in pairs)
    if total == 0:
        return None
    return sum(len(w) * c for w, c in pairs) / total


def ocr_words(image: Image.Image, *, timeout_s: float = 60, lang: str = "eng",
              dpi: float | None = None, what: str = "the page",
              engine: Engine | str = Engine.AUTO, psm: int = 3) -> list[OcrWord]:
    """Words of a page image with boxes and confidences, from one ``tesseract`` run."""
    gray = _grey(image)
    dpi = dpi or (image.info.get("dpi") or (OCR_DPI,))[0]
    # Stating the dpi avoids tesseract's "Invalid resolution 0 dpi" guess (scaled-down heuristics).
    tsv = run_tsv(gray, lang=lang, dpi=int(round(dpi)), psm=psm, timeout_s=timeout_s, what=what,
                  engine=engine)
    words = _parse_tsv(tsv)
    if any(len(w.text) > 1 and w.text.isdigit() for w in words):
        page = np.asarray(gray, dtype=np.uint8)
        words = [part for w in words for part in split_digit_word(w, page)]
    return words


LINE_MIN_CONFIDENCE = 0.3   # a word read below this in a one-line crop is the crop's noise


def ocr_line(image: Image.Image, *, dpi: float, timeout_s: float = 10,
             engine: Engine | str = Engine.AUTO, lang: str = "eng") -> str:
    """The text of a small crop holding one line (Tesseract's single-line mode), e.g. the
    label printed beside a checkbox; words read with little confidence are left out.
    (Stacking many such crops into one image read as a block was tried: no faster per crop,
    and it read fewer labels right.)"""
    tsv = run_tsv(_grey(image), lang=lang, dpi=int(round(dpi)), psm=7, timeout_s=timeout_s,
                  what="a checkbox's label", engine=engine)
    return " ".join(w.text for w in _parse_tsv(tsv) if w.confidence >= LINE_MIN_CONFIDENCE)


def page_text_from_words(words: Sequence[OcrWord], page_number: int) -> PageText:
    pairs = tuple((w.text, round(w.confidence, 4)) for w in words)
    confidence = _weighted_confidence(pairs)
    # A page where nothing could be read has confidence 0: nothing on it is known to be right.
    return PageText(number=page_number, text=_page_text(words), source=Source.OCR,
                    confidence=round(confidence, 4) if confidence is not None else 0.0,
                    words=pairs)


def ocr_page(image: Image.Image, *, page_number: int, timeout_s: float = 60,
             lang: str = "eng", dpi: float | None = None,
             engine: Engine | str = Engine.AUTO) -> PageText:
    """OCR one page image as it is (no orientation or skew correction).

    ``text`` keeps Tesseract's lines in reading order; ``words`` are (word, confidence 0-1);
    ``confidence`` is their length-weighted mean. Raises ``OcrTimeout`` past ``timeout_s``
    seconds and ``OcrError`` when tesseract is missing or fails.
    """
    words = ocr_words(image, timeout_s=timeout_s, lang=lang, dpi=dpi,
                      what=f"page {page_number}", engine=engine)
    return page_text_from_words(words, page_number)


# --------------------------------------------------------------------------------------------
# Orientation


def _osd_orientation(image: Image.Image, timeout_s: float,
                     engine: Engine | str = Engine.AUTO) -> int | None:
    """Tesseract OSD's rotation (0/90/180/270, clockwise to apply), or None when unsure."""
    # Half resolution: OSD is as reliable at 150 dpi (confidence 14-15 vs 14-16 at 300 dpi on
    # the test pages) and takes 0.42 s instead of 0.60-0.74 s; at 100 dpi it guessed 90 as 270.
    small = image.convert("L").reduce(2)
    try:
        out = run_osd(small, dpi=150, timeout_s=timeout_s, engine=engine)
    except OcrTimeout:
        raise
    except OcrError as exc:       # "Too few characters", no osd data, ...
        if "not installed" in str(exc):
            raise
        log.debug("OSD failed: %s", exc)
        return None
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    try:
        rotate = int(fields["Rotate"].strip())
        confidence = float(fields["Orientation confidence"].strip())
    except (KeyError, ValueError):
        return None
    return rotate if confidence >= OSD_MIN_CONFIDENCE else None


def _text_band(image: Image.Image) -> Image.Image:
    """A full-width band (a quarter of the page) around the inkiest rows, for cheap test OCR."""
    gray = image.convert("L")
    factor = max(1, round(max(gray.size) / DESKEW_WORK_SIZE))
    small = np.asarray(gray.reduce(factor), dtype=np.uint8)
    ink_rows = (small <= _otsu_threshold(small)).sum(axis=1).astype(np.float64)
    band = max(1, small.shape[0] // 4)
    window = np.convolve(ink_rows, np.ones(band), mode="valid")
    top = int(np.argmax(window)) * factor
    return gray.crop((0, top, gray.width, min(gray.height, top + band * factor)))


def _confidence_orientation(image: Image.Image, timeout_s: float,
                            candidates: Sequence[int], engine: Engine | str) -> int:
    """The rotation whose OCR of a text band has the highest confidence."""
    band = _text_band(image)
    best_rotation, best_score = 0, -1.0
    for rotation in candidates:
        # Tesseract's "Rotate" is clockwise; PIL rotates counter-clockwise.
        words = ocr_words(rotate_page(band, -rotation), timeout_s=timeout_s, what="orientation",
                          engine=engine)
        score = _weighted_confidence([(w.text, w.confidence) for w in words]) or 0.0
        # Weight by how much was read: a rotated band yields a few short, confident "words".
        score *= min(1.0, sum(len(w.text) for w in words) / 40)
        if score > best_score:
            best_rotation, best_score = rotation, score
    return best_rotation


def detect_orientation(image: Image.Image, *, timeout_s: float = 30,
                       engine: Engine | str = Engine.AUTO) -> int:
    """How far the page must be turned clockwise to be upright: 0, 90, 180 or 270.

    Tesseract OSD (0.4-0.6 s per page) when its data is installed and it is confident;
    otherwise the reading confidence of a text band read upright and upside down decides
    (0 or 180 only: a band across a quarter-turned page holds no text lines to compare).
    """
    if osd_available():
        rotation = _osd_orientation(image, timeout_s, engine)
        if rotation is not None:
            return rotation
    return _confidence_orientation(image, timeout_s, (0, 180), engine)


# --------------------------------------------------------------------------------------------
# Scanned pages


def normalise(image: Image.Image) -> Image.Image:
    """Grayscale with the paper clipped to pure white and the darkest ink stretched to black.

    Clipping the paper's sensor noise to white makes tesseract faster on scans (0.90-2.91 s vs
    1.07-3.59 s on three noisy pages, its binariser has fewer specks to sort out) and slightly
    more accurate (word accuracy 0.993 vs 0.988 on six skewed, noisy, blurred 7-9 pt pages).
    The white point is the 2nd percentile of the paper (pixels above Otsu's threshold), so
    faint strokes darker than the paper's noise are kept.
    """
    gray = _grey(image)
    sample = np.asarray(gray.reduce(4) if min(gray.size) >= 64 else gray, dtype=np.uint8)
    paper = sample[sample > _otsu_threshold(sample)]
    if paper.size == 0:
        return gray
    white = percentile_u8(paper, 2)
    black = percentile_u8(sample, 0.5)
    if white - black < 30 or (black <= 0 and white >= 255):   # flat page, or nothing to do
        return gray
    levels = (np.arange(256, dtype=np.float64) - black) * (255.0 / (white - black))
    return gray.point(np.clip(np.rint(levels), 0, 255).astype(np.uint8).tolist())


def prepare_scan(image: Image.Image, *, check_orientation: bool = True,
                 timeout_s: float = 30, engine: Engine | str = Engine.AUTO
                 ) -> tuple[Image.Image, dict]:
    """Level and orient a scanned page; returns the image and what was done.

    Report keys: ``rotation`` (clockwise quarter turns applied, degrees), ``skew`` (degrees
    removed, counter-clockwise as in ``Image.rotate``), ``normalised`` (contrast stretched).
    """
    report: dict = {"rotation": 0, "skew": 0.0, "normalised": False}
    page = normalise(image)
    report["normalised"] = page is not image
    if check_orientation:
        rotation = detect_orientation(page, timeout_s=timeout_s, engine=engine)
        if rotation:
            page = rotate_page(page, -rotation)
            report["rotation"] = rotation
    page, report["skew"] = deskew(page)
    return page, report


SIDEWAYS_WORDS = 0.5             # share of words standing on end that marks a page sideways
SIDEWAYS_CONFIDENCE_SLACK = 0.1  # an upright reading may score this much lower and still win
# (measured: a sample page fed sideways read 0.914 on end, 0.905 upright)


def _vertical_share(words: Sequence[OcrWord]) -> float:
    """Share of the words of three or more characters whose box is taller than wide."""
    long = [w for w in words if len(w.text) >= 3]
    return sum(w.box[3] > w.box[2] for w in long) / len(long) if long else 0.0


@dataclass(frozen=True)
class ScannedRead:
    """A scanned page as read: its text, and the words with their boxes in ``image``, the
    upright, straightened page they were read on (where its checkboxes are to be found too)."""

    text: PageText
    words: tuple[OcrWord, ...]
    image: Image.Image
    turned_cw: int = 0          # quarter turns (clockwise degrees) applied to the page given


def read_scanned_page(page: PageImage, timeout_s: float = 60, *, lang: str = "eng",
                      known_rotation: int | None = None,
                      engine: Engine | str = Engine.AUTO) -> ScannedRead:
    """Straighten, OCR and (only if the text looks unreadable or stands on end) re-orient one
    scanned page; the text with the word boxes and the upright image they refer to.

    ``known_rotation`` (clockwise degrees, e.g. 180 from checkbox registration against the
    blank exam) is applied first and skips the orientation check: an upside-down page is then
    read once instead of three times (OCR, orientation detection, OCR again)."""
    source = page.image if not known_rotation else rotate_page(page.image, -known_rotation)
    image, report = prepare_scan(source, check_orientation=False, timeout_s=timeout_s,
                                 engine=engine)
    what = f"page {page.number}"
    words = ocr_words(image, timeout_s=timeout_s, lang=lang, dpi=page.dpi, what=what,
                      engine=engine)
    result = page_text_from_words(words, page.number)
    # Tesseract reads a sheet fed sideways well enough (its lines run down the page), but
    # its words' boxes then stand on end: such a page is turned upright too, so that its
    # lines and boxes are where the page shows them.
    sideways = _vertical_share(words) > SIDEWAYS_WORDS
    if known_rotation is None and (result.confidence < ORIENTATION_CHECK_BELOW or sideways):
        rotations = [detect_orientation(image, timeout_s=timeout_s, engine=engine)]
        if sideways and rotations[0] in (0, 180):
            rotations = [90, 270]     # orientation detection missed words standing on end
        first_read, turned_already = image, False
        for rotation in (r for r in rotations if r):
            turned, skew = deskew(rotate_page(first_read, -rotation))
            turned_words = ocr_words(turned, timeout_s=timeout_s, lang=lang, dpi=page.dpi,
                                     what=what, engine=engine)
            retry = page_text_from_words(turned_words, page.number)
            # The first upright reading of a sideways page wins over the reading on end even
            # when a little less confident; after that, only a better reading does.
            upright = sideways and not turned_already \
                and _vertical_share(turned_words) <= SIDEWAYS_WORDS \
                and retry.confidence > result.confidence - SIDEWAYS_CONFIDENCE_SLACK
            if retry.confidence > result.confidence or upright:
                result, words, image, turned_already = retry, turned_words, turned, True
                report.update(rotation=rotation, skew=round(report["skew"] + skew, 2))
    log.debug("page %s prepared: %s; confidence %.2f", page.number, report, result.confidence)
    return ScannedRead(result, tuple(words), image, (known_rotation or report["rotation"]) % 360)
