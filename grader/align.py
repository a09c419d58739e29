"""Where a scanned page sits on the blank exam, found from the printed content itself.

Every scanned page is aligned to the blank page it is a copy of: ORB features of the page's
print (text, rules, frames, footers), matched against each blank page and fitted with a
robust similarity transform (RANSAC). That recovers any rotation (a sheet fed sideways or
upside down), skew, scale (shrink-to-fit printing, 100-600 dpi scans) and shift, and tells
which blank page a scan is when pages come out of order, are missing or belong to another
exam (then nothing fits). Checkbox pages keep their own, more precise fit from the boxes
(``grader.omr``); its transform is turned into the same ``Alignment``.

Costs: the work is done at ``ALIGN_DPI``; a blank page's features are computed once per
process (``BlankPages`` keeps them) and a scanned page's once per page (``ScanPrint``).
Matching a page's features against a blank page's is the dear part (~20 ms of CPU), so a
page out of order is first placed by a thumbnail of its print (``guess_page``, ~2 ms): the
blank page it names is matched first, and kept on the same terms as the expected page.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from grader.render import PageImage

ALIGN_DPI = 100.0
ORB_FEATURES = 1500
RATIO_TEST = 0.8            # Lowe's ratio: a match must be clearly better than the runner-up
RANSAC_PX = 3.0             # reprojection tolerance at ALIGN_DPI (~1 mm)
# Measured on the sample scans against their blank pages: the right page keeps 160-400
# inliers, every wrong page 3-18. A fit is accepted with at least MIN_INLIERS inliers and
# clearly more than any other page's.
MIN_INLIERS = 40
MIN_MARGIN = 2.0            # times the runner-up's inliers
SCALE_RANGE = (0.75, 1.33)  # shrink-to-fit printing is ~0.94; more is not the same sheet
# The thumbnail that names a page before its features are matched: the print at HINT_DPI,
# its darkness band-passed (a Gaussian of HINT_BLUR[0] px minus one of HINT_BLUR[1] px: a
# shadow's or the paper's slow changes are not print), each blank page's slid over it in
# its four quarter turns within HINT_SHIFT_MM. Measured on 59 scans (32 pages of 16
# students of tools.written_exam at 100-300 dpi, seed 21, and the 27 multiple-choice pages
# of bench.scan_regions): every page named right, its score ahead of the next page's by
# 0.205 or more. A page is named only when its score is at least HINT_MIN_SCORE and ahead of
# every other page's by HINT_MARGIN; else nothing is named and the pages are matched in
# their usual order.
HINT_DPI = 8.0
HINT_BLUR = (1.0, 6.0)
HINT_SHIFT_MM = 12.0
HINT_MIN_SCORE = 0.35
HINT_MARGIN = 0.12

Render = Callable[[int], PageImage]


@dataclass(frozen=True)
class Alignment:
    """The transform from blank-page mm to scan mm (on the scanned page as given):
    ``scan = [[a, b], [c, d]] @ blank + [tx, ty]``, a similarity (rotation + scale + shift)."""

    template_page: int
    a: float
    b: float
    c: float
    d: float
    tx: float
    ty: float
    inliers: int = 0
    method: str = "content"          # content (printed matter) | boxes (checkbox fit)

    @property
    def scale(self) -> float:
        return math.hypot(self.a, self.c)

    @property
    def angle(self) -> float:
        """Degrees the print is turned by on the scan, clockwise on screen (y points down)."""
        return math.degrees(math.atan2(self.c, self.a))

    @property
    def upright_turn_cw(self) -> int:
        """Clockwise quarter turns (degrees) that make the scan upright, to the nearest."""
        return int(round(-self.angle / 90.0)) % 4 * 90

    def to_scan(self, x: float, y: float) -> tuple[float, float]:
        return self.a * x + self.b * y + self.tx, self.c * x + self.d * y + self.ty

    def matrix(self, scale_in: float = 1.0, scale_out: float = 1.0) -> np.ndarray:
        """2x3 matrix from blank units (mm * scale_in) to scan units (mm * scale_out)."""
        k = scale_out / scale_in
        return np.array([[self.a * k, self.b * k, self.tx * scale_out],
                         [self.c * k, self.d * k, self.ty * scale_out]], dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {"template_page": self.template_page, "a": self.a, "b": self.b, "c": self.c,
                "d": self.d, "tx": self.tx, "ty": self.ty, "inliers": self.inliers,
                "method": self.method}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Alignment:
        return cls(**{**data, "template_page": int(data["template_page"])})


@dataclass(frozen=True)
class _Features:
    points_mm: np.ndarray            # (n, 2)
    descriptors: np.ndarray | None


def _orb():
    import cv2

    return cv2.ORB_create(nfeatures=ORB_FEATURES)


def _features(gray: np.ndarray, dpi: float) -> _Features:
    keypoints, descriptors = _orb().detectAndCompute(gray, None)
    mm = 25.4 / dpi
    points = np.array([k.pt for k in keypoints], dtype=np.float64).reshape(-1, 2) * mm
    return _Features(points, descriptors)


def _work_image(page: PageImage) -> tuple[np.ndarray, float]:
    """The page at about ALIGN_DPI (area-averaged), uint8, and its resolution."""
    factor = max(1, int(round(page.dpi / ALIGN_DPI)))
    image = page.image.reduce(factor) if factor > 1 else page.image
    return np.asarray(image, dtype=np.uint8), page.dpi / factor


def _thumbnail(gray: np.ndarray, dpi: float) -> np.ndarray:
    """The print's darkness at HINT_DPI, band-passed (float32)."""
    import cv2

    from PIL import Image

    h, w = gray.shape
    size = (max(1, round(w * HINT_DPI / dpi)), max(1, round(h * HINT_DPI / dpi)))
    # Pillow's integer reduction to about twice HINT_DPI first: an area resize of the whole
    # page straight to the thumbnail's odd factor took 2.5 ms, this 0.5.
    factor = max(1, int(dpi / (2 * HINT_DPI)))
    if factor > 1:
        gray = np.asarray(Image.fromarray(np.ascontiguousarray(gray)).reduce(factor))
    ink = 255.0 - cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    return cv2.GaussianBlur(ink, (0, 0), HINT_BLUR[0]) - cv2.GaussianBlur(ink, (0, 0), HINT_BLUR[1])


@dataclass(frozen=True)
class ScanPrint:
    """A scanned page's print as alignment reads it, each part computed once when first
    asked for: the page at ALIGN_DPI, its ORB features and its thumbnail."""

    gray: np.ndarray
    dpi: float

    @classmethod
    def of(cls, scan: PageImage) -> ScanPrint:
        return cls(*_work_image(scan))

    @cached_property
    def features(self) -> _Features:
        return _features(self.gray, self.dpi)

    @cached_property
    def thumbnail(self) -> np.ndarray:
        return _thumbnail(self.gray, self.dpi)


class BlankPages:
    """The blank exam's pages as alignment needs them, computed on first use and kept.

    ``render`` draws a blank page (1-based) at a resolution; ``key`` names the blank PDF's
    content, so that the pages of one exam are computed once per process whichever task asks
    (a process keeps the ``CACHE_SIZE`` most recently used exams)."""

    CACHE_SIZE = 4
    _cache: OrderedDict[Any, dict] = OrderedDict()
    _lock = threading.Lock()

    def __init__(self, render: Callable[[int, float], PageImage], pages: int, key: Any):
        self._render, self.pages, self._key = render, pages, key

    def _store(self) -> dict:
        with self._lock:
            store = self._cache.pop(self._key, None) or {}
            self._cache[self._key] = store
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
            return store

    def image(self, page: int, dpi: float) -> PageImage:
        store = self._store()
        if ("image", page, dpi) not in store:
            store[("image", page, dpi)] = self._render(page, dpi)
        return store[("image", page, dpi)]

    def features(self, page: int) -> _Features:
        store = self._store()
        if ("features", page) not in store:
            blank = self.image(page, ALIGN_DPI)
            store[("features", page)] = _features(blank.array, blank.dpi)
        return store[("features", page)]

    def thumbnail(self, page: int) -> np.ndarray:
        store = self._store()
        if ("thumbnail", page) not in store:
            blank = self.image(page, ALIGN_DPI)
            store[("thumbnail", page)] = _thumbnail(blank.array, blank.dpi)
        return store[("thumbnail", page)]


def guess_page(scan: PageImage | ScanPrint, blank: BlankPages, candidates: Iterable[int]
               ) -> int | None:
    """The blank page the scan's thumbnail names clearly (see HINT_*), or None. A guess
    only says which page to match first: ``align_page`` and ``confirm_page`` decide."""
    import cv2

    candidates = list(candidates)
    if len(candidates) < 2:
        return None
    scan = scan if isinstance(scan, ScanPrint) else ScanPrint.of(scan)
    m = int(round(HINT_SHIFT_MM * HINT_DPI / 25.4))
    padded = cv2.copyMakeBorder(scan.thumbnail, m, m, m, m, cv2.BORDER_CONSTANT, value=0)
    scores = {}
    for page in candidates:
        scores[page] = -1.0
        for turns in range(4):
            inner = np.ascontiguousarray(np.rot90(blank.thumbnail(page), turns)[m:-m, m:-m])
            if inner.size == 0 or inner.shape[0] > padded.shape[0] \
                    or inner.shape[1] > padded.shape[1]:
                continue
            score = float(cv2.matchTemplate(padded, inner, cv2.TM_CCOEFF_NORMED).max())
            scores[page] = max(scores[page], score if math.isfinite(score) else -1.0)
    best = max(candidates, key=lambda page: scores[page])
    runner_up = max(scores[page] for page in candidates if page != best)
    if scores[best] < HINT_MIN_SCORE or scores[best] - runner_up < HINT_MARGIN:
        return None
    return best


Fits = MutableMapping[int, "Alignment | None"]


def confirm_page(scan: PageImage | ScanPrint, blank: BlankPages, page: int,
                 fits: Fits | None = None) -> Alignment | None:
    """The scan's fit to ``page`` when it holds as an expected page's must (2 x MIN_INLIERS
    inliers), else None. ``fits``: the fits already made for this scan, by page (added to)."""
    scan = scan if isinstance(scan, ScanPrint) else ScanPrint.of(scan)
    if scan.features.descriptors is None or len(scan.features.points_mm) < MIN_INLIERS:
        return None
    fit = _fit_cached(scan, blank, page, {} if fits is None else fits)
    return fit if fit is not None and fit.inliers >= 2 * MIN_INLIERS else None


def _fit_cached(scan: ScanPrint, blank: BlankPages, page: int, fits: Fits) -> Alignment | None:
    if page not in fits:
        fits[page] = _fit(scan.features, blank.features(page), page)
    return fits[page]


def align_page(scan: PageImage | ScanPrint, blank: BlankPages, candidates: Iterable[int],
               expected_page: int | None = None, *, hint: int | None = None,
               fits: Fits | None = None) -> Alignment | None:
    """The blank page the scan is a copy of, and the transform; None when no page fits.

    The expected page (the scan's own position) is tried first and kept when it fits; else
    every candidate is tried and the best is taken if it clearly beats the rest. ``hint``: a
    page to try before the expected one, kept on the same terms (``guess_page`` names it).
    ``fits``: the fits already made for this scan, by page (added to)."""
    scan = scan if isinstance(scan, ScanPrint) else ScanPrint.of(scan)
    features = scan.features
    if features.descriptors is None or len(features.points_mm) < MIN_INLIERS:
        return None
    fits = {} if fits is None else fits
    candidates = list(candidates)
    if hint in candidates and hint != expected_page:
        fit = confirm_page(scan, blank, hint, fits)
        if fit is not None:
            return fit
    if expected_page in candidates:
        fit = _fit_cached(scan, blank, expected_page, fits)
        if fit is not None and fit.inliers >= 2 * MIN_INLIERS:
            return fit
    # The expected page first: among fits with as many inliers, it is taken.
    order = [expected_page] * (expected_page in candidates) \
        + [page for page in candidates if page != expected_page]
    made = [f for f in (_fit_cached(scan, blank, page, fits) for page in order) if f is not None]
    if not made:
        return None
    made.sort(key=lambda f: -f.inliers)
    best = made[0]
    runner_up = made[1].inliers if len(made) > 1 else 0
    if best.inliers < MIN_INLIERS or best.inliers < MIN_MARGIN * runner_up:
        return None
    return best


def _fit(scan: _Features, blank: _Features, page: int) -> Alignment | None:
    import cv2

    if blank.descriptors is None or len(blank.points_mm) < 4:
        return None
    matcher = cv2.BFMatcher(cv2.NORM_HAMMING)
    pairs = matcher.knnMatch(scan.descriptors, blank.descriptors, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO_TEST * p[1].distance]
    if len(good) < 8:
        return None
    src = np.float32([blank.points_mm[m.trainIdx] for m in good])
    dst = np.float32([scan.points_mm[m.queryIdx] for m in good])
    matrix, inliers = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX * 25.4 / ALIGN_DPI,
        maxIters=2000, confidence=0.995)
    if matrix is None or inliers is None:
        return None
    (a, b, tx), (c, d, ty) = matrix.tolist()
    fit = Alignment(page, a, b, c, d, tx, ty, int(inliers.sum()))
    if not SCALE_RANGE[0] <= fit.scale <= SCALE_RANGE[1]:
        return None
    return fit


def from_box_fit(template_page: int, scale: float, rotation_deg: float, shift_x_mm: float,
                 shift_y_mm: float, quarter_turns: int, page_size_mm: tuple[float, float],
                 matched: int) -> Alignment:
    """The checkbox fit (``grader.omr.Registration``) as an Alignment on the scan as given.

    The box fit maps blank mm onto the scan turned ``quarter_turns`` quarter turns
    counter-clockwise (``np.rot90``): that turn is undone here so that every Alignment maps
    onto the page as scanned."""
    t = math.radians(rotation_deg)
    a, b = scale * math.cos(t), -scale * math.sin(t)
    c, d = scale * math.sin(t), scale * math.cos(t)
    tx, ty = shift_x_mm, shift_y_mm
    if quarter_turns % 2:
        # A point (x, y) of the turned image came from (width - y, x) of the page as given.
        a, b, c, d, tx, ty = -c, -d, a, b, page_size_mm[0] - ty, tx
    return Alignment(template_page, a, b, c, d, tx, ty, matched, "boxes")
