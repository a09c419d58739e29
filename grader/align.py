"""Where a scanned page sits on the blank exam, found from the printed content itself.

Every scanned page is aligned to the blank page it is a copy of: ORB features of the page's
print (text, rules, frames, footers), matched against each blank page and fitted with a
robust similarity transform (RANSAC). That recovers any rotation (a sheet fed sideways or
upside down), skew, scale (shrink-to-fit printing, 100-600 dpi scans) and shift, and tells
which blank page a scan is when pages come out of order, are missing or belong to another
exam (then nothing fits). Checkbox pages keep their own, more precise fit from the boxes
(``grader.omr``); its transform is turned into the same ``Alignment``.

Costs: the work is done at ``ALIGN_DPI``; a blank page's features are computed once per
process (``BlankPages`` keeps them) and a scanned page's once per page.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
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


def _work_image(page: PageImage) -> np.ndarray:
    """The page at about ALIGN_DPI (area-averaged), uint8."""
    factor = max(1, int(round(page.dpi / ALIGN_DPI)))
    image = page.image.reduce(factor) if factor > 1 else page.image
    return np.asarray(image, dtype=np.uint8), page.dpi / factor


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


def align_page(scan: PageImage, blank: BlankPages, candidates: Iterable[int],
               expected_page: int | None = None) -> Alignment | None:
    """The blank page the scan is a copy of, and the transform; None when no page fits.

    The expected page (the scan's own position) is tried first and kept when it fits; else
    every candidate is tried and the best is taken if it clearly beats the rest."""
    gray, dpi = _work_image(scan)
    features = _features(gray, dpi)
    if features.descriptors is None or len(features.points_mm) < MIN_INLIERS:
        return None
    candidates = list(candidates)
    fits = []
    if expected_page in candidates:
        fit = _fit(features, blank.features(expected_page), expected_page)
        if fit is not None and fit.inliers >= 2 * MIN_INLIERS:
            return fit
        fits.append(fit)
        candidates.remove(expected_page)
    fits += [_fit(features, blank.features(page), page) for page in candidates]
    fits = [f for f in fits if f is not None]
    if not fits:
        return None
    fits.sort(key=lambda f: -f.inliers)
    best = fits[0]
    runner_up = fits[1].inliers if len(fits) > 1 else 0
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
