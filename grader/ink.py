"""The student's ink in an answer region: the scan minus the registered blank page.

A region (mm on the blank page) is cut out of the scan through the page's alignment, upright
and at ``INK_DPI`` whatever the scan's own resolution and turn. What is darker than the paper
there and is not printed on the blank (the blank's print, grown by ``PRINT_GROWTH_MM`` for
registration error and scanner blur) is ink; specks smaller than ``MIN_SPECK_MM2`` (dust,
JPEG noise) are not. The result keeps the scan's grey levels on the ink and white elsewhere,
which is what the readers get: the printed question never reaches them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from grader.align import Alignment
from grader.layout import Region
from grader.levels import median_abs_deviation_of_counts, percentile_u8
from grader.render import PageImage

INK_DPI = 200.0
PRINT_GROWTH_MM = 0.6
MIN_SPECK_MM2 = 0.25
# A region holding less ink than this (mm², after specks) holds no answer: a short stroke of
# a "1" written 4 mm high is ~1.6 mm²; a speck of dust or a stray dot is below.
MIN_INK_MM2 = 1.0
PAPER_PERCENTILE = 90       # the paper's grey level, from the region's brightest pixels
# Hysteresis: a stroke is traced where it is darker than the paper by WEAK (grey levels, or
# that many times the paper's noise) and kept where part of it is darker by STRONG and below
# INK_CONTRAST of the paper. Measured on the written-exam corpus (tools/written_exam.py): a
# light pen's "11" at 100 dpi is 45-65 levels below the paper; JPEG and sensor noise on empty
# paper stay within 3-4 sigma.
WEAK_MIN, WEAK_NOISE = 18.0, 4.0
STRONG_MIN, STRONG_NOISE = 40.0, 7.0
INK_CONTRAST = 0.85


@dataclass(frozen=True)
class RegionInk:
    image: np.ndarray        # uint8, INK_DPI, upright: the ink's grey levels on white
    ink_mm2: float           # how much ink, in mm² of paper covered
    fraction: float          # ink_mm2 / the region's area

    @property
    def has_ink(self) -> bool:
        return self.ink_mm2 >= MIN_INK_MM2

    def bounds(self) -> tuple[int, int, int, int] | None:
        """(x, y, w, h) px of the ink in ``image``, or None when there is none."""
        ys, xs = np.nonzero(self.image < 255)
        if xs.size == 0:
            return None
        return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def region_crop(scan: PageImage, alignment: Alignment, region: Region,
                dpi: float = INK_DPI) -> np.ndarray:
    """The scan under ``region``, upright, at ``dpi`` (white outside the scan)."""
    import cv2

    k = 25.4 / dpi                                   # mm per crop pixel
    width, height = max(1, round(region.w / k)), max(1, round(region.h / k))
    # crop px -> blank mm -> scan mm -> scan px
    to_blank = np.array([[k, 0, region.x], [0, k, region.y], [0, 0, 1]], dtype=np.float64)
    to_scan = np.vstack([alignment.matrix(scale_out=scan.dpi / 25.4), [0, 0, 1]])
    matrix = (to_scan @ to_blank)[:2]
    return cv2.warpAffine(scan.array, matrix, (width, height),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=255)


def blank_crop(blank: PageImage, region: Region, shape: tuple[int, int]) -> np.ndarray:
    """The blank page under ``region``, resized to ``shape`` (rows, columns)."""
    import cv2

    px = blank.dpi / 25.4
    x0, y0 = int(round(region.x * px)), int(round(region.y * px))
    x1, y1 = int(round((region.x + region.w) * px)), int(round((region.y + region.h) * px))
    gray = blank.array
    patch = np.full((max(1, y1 - y0), max(1, x1 - x0)), 255, dtype=np.uint8)
    sy0, sx0 = max(0, y0), max(0, x0)
    sy1, sx1 = min(gray.shape[0], y1), min(gray.shape[1], x1)
    if sy1 > sy0 and sx1 > sx0:
        patch[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = gray[sy0:sy1, sx0:sx1]
    return cv2.resize(patch, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def ink_of(crop: np.ndarray, blank: np.ndarray, region: Region, dpi: float = INK_DPI,
           paper: float | None = None, margin: int = 0) -> RegionInk:
    """The ink in a region's crop of the scan, given the blank's crop of the same shape.
    ``paper``: the page's paper level, when known (the floor of the paper's shading: a region
    full of ink has no paper to measure). ``margin``: pixels of both crops beyond the region
    on every side, so that print just outside it (a frame's line) is grown into it before the
    region is cut out.

    Ink is measured against the paper where it is (``paper_background``: a shadow or a
    scanner's uneven lighting darkens paper by up to a third) and traced with hysteresis,
    against the paper's own noise: a stroke is the pixels darker than their paper by more than
    its noise (faint, thin, blurred strokes of a light pen at 100 dpi stay whole), kept where
    some of it is clearly ink (``STRONG``); what the blank prints there is not ink; specks
    smaller than MIN_SPECK_MM2 are not either."""
    import cv2

    px = dpi / 25.4
    reference = float(paper) if paper is not None else percentile_u8(crop, PAPER_PERCENTILE)
    background = paper_background(crop, dpi, floor=SHADOW_FLOOR * reference)
    darker = np.subtract(background, crop, dtype=np.float32)
    # The paper's noise, from every other pixel of every other row (a region's statistics at
    # a quarter of the counting).
    noise = 1.4826 * _median_abs_deviation(darker[::2, ::2])
    grow = max(1, int(round(PRINT_GROWTH_MM * px)))
    printed = cv2.dilate((blank < 200).astype(np.uint8),
                         cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    if margin:
        inner = (slice(margin, -margin), slice(margin, -margin))
        crop, background, darker, printed = crop[inner], background[inner], darker[inner], \
            printed[inner]
    unprinted = printed == 0
    weak = darker > max(WEAK_MIN, WEAK_NOISE * noise)
    weak &= unprinted
    # Every strong pixel is a weak one (STRONG_* > WEAK_*), and ink is a few per cent of a
    # region: the rest is decided at the weak pixels only, the same arithmetic on fewer of
    # them (a 68 x 64 mm region without a frame: 53 -> ~20 ms, the same ink bit for bit).
    # The crops are views inside their margin: read at (row, column), never flattened (a copy).
    at = np.flatnonzero(weak)
    where = np.divmod(at, weak.shape[1])
    strong = (darker[where] > max(STRONG_MIN, STRONG_NOISE * noise)) \
        & (crop[where] < INK_CONTRAST * np.maximum(background[where], 64.0))
    # Labels only (no statistics: ~10x cheaper); areas counted at the weak pixels.
    count, labels = cv2.connectedComponents(weak.view(np.uint8), connectivity=8)
    at_labels = labels.reshape(-1)[at]
    keep = np.zeros(count, dtype=bool)
    keep[at_labels[strong]] = True
    keep[0] = False
    keep &= np.bincount(at_labels, minlength=count) >= MIN_SPECK_MM2 * px * px
    inked = at[keep[at_labels]]
    ink = np.zeros(crop.shape, dtype=np.uint8)
    ink.reshape(-1)[inked] = 1
    ink_mm2 = float(inked.size) / (px * px)
    # The readers get the strokes with their soft edges: the ink grown by a pixel, in the
    # scan's grey levels on even paper (its shading divided out), on white.
    shown = np.divmod(np.flatnonzero(cv2.dilate(ink, np.ones((3, 3), np.uint8)).view(bool)
                                     & unprinted), ink.shape[1])
    image = np.full(crop.shape, 255, dtype=np.uint8)
    image[shown] = np.clip(crop[shown].astype(np.float32) * (255.0 / background[shown]), 0, 255
                           ).astype(np.uint8)
    return RegionInk(image, round(ink_mm2, 3), round(ink_mm2 / max(region.w * region.h, 1e-9), 6))


# The paper's own level under a region: uneven lighting (a ramp across the page, the shadow
# of a book's binding, 8-25 mm wide) follows the page, strokes do not. A grey closing removes
# what is darker than its surroundings and narrower than CLOSING_MM (pen strokes, a frame's
# line); what is left, smoothed, is the paper. Never below SHADOW_FLOOR of the page's paper:
# a solid scribble wider than CLOSING_MM is ink, not shade.
CLOSING_MM = 4.0
BACKGROUND_DPI = 50.0
SHADOW_FLOOR = 0.6


def paper_background(crop: np.ndarray, dpi: float, floor: float) -> np.ndarray:
    """The paper's grey level at every pixel of ``crop`` (float32, same shape)."""
    import cv2

    height, width = crop.shape
    factor = max(1, int(round(dpi / BACKGROUND_DPI)))
    small = cv2.resize(crop, (max(1, -(-width // factor)), max(1, -(-height // factor))),
                       interpolation=cv2.INTER_AREA)
    side = max(3, int(round(CLOSING_MM * dpi / factor / 25.4)) | 1)
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE,
                              cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)),
                              borderType=cv2.BORDER_REPLICATE)
    smooth = cv2.GaussianBlur(closed.astype(np.float32), (0, 0), sigmaX=side / 2.0,
                              borderType=cv2.BORDER_REPLICATE)
    background = cv2.resize(smooth, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.maximum(background, max(float(floor), 1.0), out=background)


def _median_abs_deviation(values: np.ndarray) -> float:
    """median(|v - median(v)|) of float grey-level differences, to a level (histogram)."""
    levels = np.clip(np.rint(values), -255, 255).astype(np.int16) + 255
    return median_abs_deviation_of_counts(np.bincount(levels.reshape(-1), minlength=511))


def paper_level(scan: PageImage) -> float:
    """The scan's paper grey level (a high percentile of a reduced copy of the page)."""
    small = np.asarray(scan.image.reduce(4) if min(scan.image.size) >= 64 else scan.image,
                       dtype=np.uint8)
    return percentile_u8(small, PAPER_PERCENTILE)


REFINE_DPI = 100.0
REFINE_MARGIN_MM = 4.0      # print around the region that pins it down (frame, prompt)
REFINE_SEARCH_MM = 2.5      # the page alignment is within this of the truth
REFINE_MIN_SCORE = 0.35     # a weaker match than this leaves the page alignment as it is


def refined(scan: PageImage, alignment: Alignment, region: Region, blank: PageImage) -> Region:
    """``region`` moved by the local misfit of the page's alignment there (scanner distortion,
    the page fit's own error): the blank's print around the region is matched against the
    scan around it, within REFINE_SEARCH_MM. The region's coordinates stay in the blank's
    frame; only where the scan is read moves."""
    import cv2

    px = REFINE_DPI / 25.4
    around = Region(region.page, region.x - REFINE_MARGIN_MM, region.y - REFINE_MARGIN_MM,
                    region.w + 2 * REFINE_MARGIN_MM, region.h + 2 * REFINE_MARGIN_MM)
    wider = Region(region.page, around.x - REFINE_SEARCH_MM, around.y - REFINE_SEARCH_MM,
                   around.w + 2 * REFINE_SEARCH_MM, around.h + 2 * REFINE_SEARCH_MM)
    searched = region_crop(scan, alignment, wider, dpi=REFINE_DPI)
    template = blank_crop(blank, around, (round(around.h * px), round(around.w * px)))
    if (template < 200).mean() < 0.002 or template.shape[0] > searched.shape[0] \
            or template.shape[1] > searched.shape[1]:
        return region              # nothing printed around it to go by
    scores = cv2.matchTemplate(searched, template, cv2.TM_CCOEFF_NORMED)
    _, best, _, (x, y) = cv2.minMaxLoc(scores)
    if best < REFINE_MIN_SCORE:
        return region
    dx, dy = x / px - REFINE_SEARCH_MM, y / px - REFINE_SEARCH_MM
    return Region(region.page, region.x + dx, region.y + dy, region.w, region.h, region.source)


def region_ink(scan: PageImage, alignment: Alignment, region: Region, blank: PageImage,
               paper: float | None = None) -> RegionInk:
    """The ink in ``region`` of the scan (the blank's print subtracted)."""
    where = _grown(refined(scan, alignment, region, blank), EDGE_MM)
    crop = region_crop(scan, alignment, where)
    return ink_of(crop, blank_crop(blank, _grown(region, EDGE_MM), crop.shape), region,
                  paper=paper, margin=int(round(EDGE_MM * INK_DPI / 25.4)))


EDGE_MM = 1.5       # read beyond the region's edges, so print just outside it is recognised


def _grown(region: Region, by: float) -> Region:
    return Region(region.page, region.x - by, region.y - by, region.w + 2 * by,
                  region.h + 2 * by, region.source)


HIGHLIGHT_RGB = (25, 60, 190)     # the student's ink on the review crop
FADE = 0.3                        # the printed page behind it, this much of its contrast


def highlighted(scan: PageImage, alignment: Alignment, region: Region, blank: PageImage,
                margin_mm: float = 3.0, dpi: float = 150.0) -> Image.Image:
    """The review crop of an answer region: the student's ink in colour over the faded page,
    upright, with a margin around the region."""
    shown = Region(region.page, region.x - margin_mm, region.y - margin_mm,
                   region.w + 2 * margin_mm, region.h + 2 * margin_mm, region.source)
    crop = region_crop(scan, alignment, shown, dpi=dpi)
    ink = ink_of(crop, blank_crop(blank, shown, crop.shape), shown, dpi=dpi,
                 paper=paper_level(scan))
    mask = ink.image < 255
    faded = (255 - (255 - crop.astype(np.float32)) * FADE).astype(np.uint8)
    rgb = np.repeat(faded[:, :, None], 3, axis=2)
    strength = (1 - crop.astype(np.float32) / 255)[mask][:, None]
    colour = np.array(HIGHLIGHT_RGB, dtype=np.float32)
    rgb[mask] = (255 - (255 - colour) * np.clip(strength * 2.5, 0.65, 1.0)).astype(np.uint8)
    return Image.fromarray(rgb, mode="RGB")
