"""Templates (box positions from the blank exam) and registration of scans onto them."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from grader.omr.boxes import Box, Centred, find_boxes, refine_box, text_side_upside_down
from grader.omr.classify import BoxReading, BoxFeatures, classify_box
from grader.types import Marking

MATCH_MM = 1.5          # a scan box within this distance of a mapped template box matches it
MAX_FIT_ERROR_MM = 0.5  # rms residual above this: the page does not fit the template
MIN_MATCHED = 3
MIN_MATCHED_FRACTION = 0.8


@dataclass(frozen=True)
class TemplateBox(Centred):
    """A box of the blank exam: page (1-based) and mm from that page's top-left corner."""

    page: int
    x: float
    y: float
    w: float
    h: float

    @classmethod
    def from_list(cls, entry: Sequence[float]) -> "TemplateBox":
        """From the exam YAML form ``[page, x, y, w, h]``."""
        if len(entry) != 5:
            raise ValueError(f"a box is [page, x, y, w, h] in mm, got {list(entry)!r}")
        page, x, y, w, h = entry
        if int(page) != page or page < 1 or min(w, h) <= 0:
            raise ValueError(f"bad box {list(entry)!r}: page must be >= 1, sizes positive")
        return cls(int(page), float(x), float(y), float(w), float(h))

    def as_list(self) -> list[float]:
        return [self.page, round(self.x, 2), round(self.y, 2), round(self.w, 2), round(self.h, 2)]


def template_from_pdf(blank_pdf_path: str | Path, dpi: float = 150) -> list[TemplateBox]:
    """Every checkbox found on the blank exam PDF, in reading order per page."""
    from grader.render import load_document_pages

    out: list[TemplateBox] = []
    for page in load_document_pages(blank_pdf_path, dpi=dpi):
        for b in find_boxes(page.array, page.dpi):
            x, y, w, h = b.to_mm(page.dpi)
            out.append(TemplateBox(page.number, round(x, 2), round(y, 2), round(w, 2), round(h, 2)))
    return sort_reading_order(out)


def sort_reading_order(boxes: Sequence[TemplateBox], row_mm: float = 2.5) -> list[TemplateBox]:
    """Page, then top to bottom (boxes within ``row_mm`` share a row), then left to right."""
    out: list[TemplateBox] = []
    for page in sorted({b.page for b in boxes}):
        rest = sorted((b for b in boxes if b.page == page), key=lambda b: b.cy)
        rows: list[list[TemplateBox]] = []
        for b in rest:
            if rows and b.cy - rows[-1][0].cy <= row_mm:
                rows[-1].append(b)
            else:
                rows.append([b])
        for row in rows:
            out.extend(sorted(row, key=lambda b: b.cx))
    return out


def assign_options(template_boxes: Sequence[TemplateBox],
                   questions: Sequence[tuple[str, int]]) -> dict[str, list[TemplateBox]]:
    """Give each question its options' boxes, in reading order, question after question."""
    ordered = sort_reading_order(template_boxes)
    wanted = sum(n for _, n in questions)
    if wanted != len(ordered):
        per_page = {}
        for b in ordered:
            per_page[b.page] = per_page.get(b.page, 0) + 1
        pages = ", ".join(f"page {p}: {n}" for p, n in sorted(per_page.items())) or "none"
        raise ValueError(
            f"the blank PDF has {len(ordered)} checkboxes ({pages}) but the multiple-choice "
            f"questions have {wanted} options in total ("
            + ", ".join(f"{label}: {n}" for label, n in questions)
            + "); give explicit `boxes:` in the exam YAML or fix the options")
    out: dict[str, list[TemplateBox]] = {}
    i = 0
    for label, n in questions:
        out[label] = list(ordered[i:i + n])
        i += n
    return out


@dataclass(frozen=True)
class Registration:
    """Similarity transform template mm -> scan mm: scan = scale * R(rotation) @ t + shift."""

    ok: bool
    scale: float
    rotation_deg: float       # positive = clockwise on screen; ~180 for an upside-down scan
    shift_x_mm: float
    shift_y_mm: float
    fit_error_mm: float       # rms distance of matched box centres after the fit
    matched: int
    expected: int
    reason: str = ""
    # The scan was turned this many quarter turns counter-clockwise before the fit (a page
    # fed sideways); the transform above maps onto the turned scan.
    quarter_turns: int = 0

    @property
    def upside_down(self) -> bool:
        return abs(self.rotation_deg) > 90

    @property
    def upright_turn_cw(self) -> int:
        """Clockwise degrees (0, 90, 180, 270) that turn the scan as given upright."""
        return (-90 * self.quarter_turns - (180 if self.upside_down else 0)) % 360

    def apply(self, x_mm: float, y_mm: float) -> tuple[float, float]:
        t = math.radians(self.rotation_deg)
        c, s = math.cos(t), math.sin(t)
        return (self.scale * (c * x_mm - s * y_mm) + self.shift_x_mm,
                self.scale * (s * x_mm + c * y_mm) + self.shift_y_mm)


def _fit_similarity(src: np.ndarray, dst: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Least-squares (Umeyama) scale, angle (rad) and shift mapping src -> dst."""
    ms, md = src.mean(axis=0), dst.mean(axis=0)
    a, b = src - ms, dst - md
    zs = a[:, 0] + 1j * a[:, 1]
    zd = b[:, 0] + 1j * b[:, 1]
    k = np.vdot(zs, zd) / max(np.vdot(zs, zs).real, 1e-12)   # complex scale*e^{i angle}
    scale, angle = abs(k), math.atan2(k.imag, k.real)
    zm = k * (ms[0] + 1j * ms[1])
    shift = md - np.array([zm.real, zm.imag])
    return float(scale), float(angle), shift


def _transform(pts: np.ndarray, scale: float, angle: float, shift: np.ndarray) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, -s], [s, c]])
    return scale * pts @ rot.T + shift


def _match(mapped: np.ndarray, scan: np.ndarray, gate: float) -> list[tuple[int, int]]:
    """Mutual nearest neighbours closer than ``gate``."""
    if len(scan) == 0:
        return []
    d = np.linalg.norm(mapped[:, None, :] - scan[None, :, :], axis=2)
    best_s = d.argmin(axis=1)
    best_t = d.argmin(axis=0)
    return [(i, int(j)) for i, j in enumerate(best_s) if d[i, j] < gate and best_t[j] == i]


def _hypotheses(tpl: np.ndarray, scan: np.ndarray):
    """Similarity transforms from a template pair matched to a scan pair of the same length
    (±6 %) and direction (±6°, or ±6° around 180° for upside-down pages)."""
    d = np.linalg.norm(tpl[:, None] - tpl[None, :], axis=2)
    order = np.dstack(np.unravel_index(np.argsort(-d, axis=None), d.shape))[0]
    pairs = [(int(i), int(j)) for i, j in order if i < j][:8]
    if len(scan) < 2:
        return
    si, sj = np.nonzero(~np.eye(len(scan), dtype=bool))
    sv = scan[sj] - scan[si]
    s_len = np.linalg.norm(sv, axis=1)
    s_ang = np.arctan2(sv[:, 1], sv[:, 0])
    for i, j in pairs:
        tv = tpl[j] - tpl[i]
        t_len = np.linalg.norm(tv)
        if t_len < 1e-6:
            continue
        ratio = s_len / t_len
        dang = (s_ang - math.atan2(tv[1], tv[0]) + math.pi) % (2 * math.pi) - math.pi
        near = np.minimum(np.abs(dang), math.pi - np.abs(dang))
        ok = (np.abs(ratio - 1) < 0.06) & (near < math.radians(6))
        for k in np.nonzero(ok)[0]:
            scale, angle = float(ratio[k]), float(dang[k])
            c, s = math.cos(angle), math.sin(angle)
            shift = scan[si[k]] - scale * np.array([c * tpl[i][0] - s * tpl[i][1],
                                                    s * tpl[i][0] + c * tpl[i][1]])
            yield scale, angle, shift


def _best_per_orientation(tpl: np.ndarray, scan: np.ndarray,
                          hypotheses: list[tuple[float, float, np.ndarray]]) -> dict[bool, tuple]:
    """{flipped: (score, scale, angle, shift)}: per orientation the hypothesis under which
    most template boxes land on a scan box (then the smallest summed distance; then the
    first). All hypotheses (~120 a page) are scored at once: register_page went from
    ~7.7 to ~4.5 ms a page, same registrations as the loop it replaced."""
    if not hypotheses:
        return {}
    scales = np.array([h[0] for h in hypotheses])
    angles = np.array([h[1] for h in hypotheses])
    shifts = np.array([h[2] for h in hypotheses])
    c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
    sx, sy = scales[:, None] * tpl[None, :, 0], scales[:, None] * tpl[None, :, 1]
    mx, my = sx * c - sy * s + shifts[:, 0:1], sx * s + sy * c + shifts[:, 1:2]
    dx, dy = mx[:, :, None] - scan[None, None, :, 0], my[:, :, None] - scan[None, None, :, 1]
    d = np.sqrt(dx * dx + dy * dy).min(axis=2)                   # (hypothesis, template box)
    counts = (d < MATCH_MM).sum(axis=1)
    closeness = -np.minimum(d, MATCH_MM).sum(axis=1)
    flipped = np.abs(angles) > math.pi / 2
    best: dict[bool, tuple] = {}
    for side in (False, True):
        idx = np.nonzero(flipped == side)[0]
        if len(idx):
            k = idx[np.lexsort((idx, -closeness[idx], -counts[idx]))[0]]
            best[side] = ((int(counts[k]), float(closeness[k])), float(scales[k]),
                          float(angles[k]), shifts[k])
    return best


def register_page(scan_gray: np.ndarray, scan_dpi: float,
                  template_boxes_for_page: Sequence[TemplateBox],
                  found: Sequence[Box] | None = None) -> Registration:
    """Fit the boxes found on a scanned page to the page's template boxes.

    Shift, rotation (±6°, and upside-down pages at ~180°) and scale (±6 %) are recovered by
    scoring pair-to-pair hypotheses on how many template boxes land on a scan box, then an
    iterated least-squares fit over mutual nearest neighbours. ``ok`` is False — the page is
    flagged, never guessed — when too few boxes match or the residual is too large.
    """
    expected = len(template_boxes_for_page)
    if found is None:
        found = find_boxes(scan_gray, scan_dpi)
    k = 25.4 / scan_dpi
    tpl = np.array([[b.cx, b.cy] for b in template_boxes_for_page], dtype=float).reshape(-1, 2)
    sides = np.array([(b.w + b.h) / 2 for b in template_boxes_for_page], dtype=float)
    median_side = float(np.median(sides)) if expected else 5.0
    scan = np.array([[b.cx * k, b.cy * k] for b in found
                     if 0.75 < b.side * k / median_side < 1.33], dtype=float).reshape(-1, 2)
    fail = Registration(False, 1.0, 0.0, 0.0, 0.0, float("inf"), 0, expected)
    if expected < 2 or len(scan) < 2:
        return _with(fail, reason=f"{len(scan)} boxes found on the scan, {expected} expected")
    # Best hypothesis per orientation: a single column of evenly spaced boxes looks the same
    # turned by 180°, so when both orientations fit equally well the page's text decides.
    best = _best_per_orientation(tpl, scan, list(_hypotheses(tpl, scan)))
    if not best:
        return _with(fail, reason="no consistent box pairs between scan and template")
    if len(best) == 2 and best[True][0][0] == best[False][0][0]:
        best = best[text_side_upside_down(scan_gray, scan_dpi, list(found))]
    else:
        best = max(best.values(), key=lambda h: h[0])
    _, scale, angle, shift = best
    pairs: list[tuple[int, int]] = []
    for gate in (2.0, MATCH_MM, MATCH_MM, MATCH_MM):
        pairs = _match(_transform(tpl, scale, angle, shift), scan, gate)
        if len(pairs) < 2:
            break
        ti, si = zip(*pairs)
        scale, angle, shift = _fit_similarity(tpl[list(ti)], scan[list(si)])
    matched = len(pairs)
    if matched >= 2:
        ti, si = zip(*pairs)
        res = _transform(tpl[list(ti)], scale, angle, shift) - scan[list(si)]
        rms = float(np.sqrt((res ** 2).sum(axis=1).mean()))
    else:
        rms = float("inf")
    need = max(MIN_MATCHED, math.ceil(MIN_MATCHED_FRACTION * expected))
    reasons = []
    if matched < need:
        reasons.append(f"{matched} of {expected} template boxes matched (need {need})")
    # Symmetric: a scan of another page with a similar grid of boxes (pages out of order) can
    # land most template boxes on its own with a shift, but leaves many of its boxes
    # unexplained (14 of 20 on the sample exam's page 2 fitted to page 1, against 16 of 16
    # and 19-20 of 20 for every true fit).
    if matched < MIN_MATCHED_FRACTION * len(scan):
        reasons.append(f"{len(scan) - matched} of the {len(scan)} boxes on the scan are not "
                       f"on this page of the blank exam")
    if rms > MAX_FIT_ERROR_MM:
        reasons.append(f"fit error {rms:.2f} mm > {MAX_FIT_ERROR_MM} mm")
    if not 0.9 < scale < 1.1:
        reasons.append(f"scale {scale:.3f} out of range")
    return Registration(ok=not reasons, scale=round(scale, 5),
                        rotation_deg=round(math.degrees(angle), 3),
                        shift_x_mm=round(float(shift[0]), 3), shift_y_mm=round(float(shift[1]), 3),
                        fit_error_mm=round(rms, 3) if math.isfinite(rms) else rms,
                        matched=matched, expected=expected, reason="; ".join(reasons))


def _with(reg: Registration, **changes) -> Registration:
    from dataclasses import replace

    return replace(reg, **changes)


def read_template_boxes(scan_gray: np.ndarray, scan_dpi: float,
                        template_boxes_for_page: Sequence[TemplateBox],
                        found: Sequence[Box] | None = None,
                        registration: Registration | None = None,
                        marking: Marking = Marking.CROSS,
                        ) -> tuple[Registration, list[BoxReading]]:
    """Register the page, then read every template box (same order as given), under the
    exam's ``marking`` convention.

    Each box is read at its registered position, re-centred on the outline found near the
    predicted spot. If the page cannot be registered at all, every reading is uncertain.
    ``found`` and ``registration`` skip finding and fitting again when the caller has them.
    """
    if found is None:
        found = find_boxes(scan_gray, scan_dpi)
    reg = registration or register_page(scan_gray, scan_dpi, template_boxes_for_page, found=found)
    px = scan_dpi / 25.4
    if not math.isfinite(reg.fit_error_mm) and reg.matched < 2:
        blank = BoxFeatures(0.0, 0.0, 0.0)
        return reg, [BoxReading(Box.from_center(0, 0, 1), "empty", False, 0.0, True, blank)
                     for _ in template_boxes_for_page]
    boxes = []
    for t in template_boxes_for_page:
        x, y = reg.apply(t.cx, t.cy)
        side = (t.w + t.h) / 2 * reg.scale * px
        guess = Box.from_center(x * px, y * px, side, reg.rotation_deg)
        boxes.append(_recentre(scan_gray, scan_dpi, guess, found))
    readings = [classify_box(scan_gray, b, scan_dpi, others=boxes[:i] + boxes[i + 1:],
                             marking=marking)
                for i, b in enumerate(boxes)]
    return reg, readings


def _recentre(gray: np.ndarray, dpi: float, guess: Box, found: Sequence[Box]) -> Box:
    """The found box at the predicted spot if there is one, else the outline measured
    there, else the prediction itself. The registered angle is kept (one per page)."""
    tol = 1.2 * dpi / 25.4
    near = [b for b in found if math.hypot(b.cx - guess.cx, b.cy - guess.cy) < tol
            and 0.8 < b.side / guess.side < 1.25]
    if near:
        b = min(near, key=lambda b: math.hypot(b.cx - guess.cx, b.cy - guess.cy))
        return Box.from_center(b.cx, b.cy, b.side, guess.angle)
    measured = refine_box(gray, guess.cx, guess.cy, guess.side, guess.angle, dpi)
    if measured is not None and math.hypot(measured.cx - guess.cx, measured.cy - guess.cy) < tol \
            and 0.8 < measured.side / guess.side < 1.25:
        return Box.from_center(measured.cx, measured.cy, measured.side, guess.angle)
    return guess


def read_matching_template_page(scan_gray: np.ndarray, scan_dpi: float,
                                template_pages: Mapping[int, Sequence[TemplateBox]],
                                expected_page: int | None,
                                marking: Marking = Marking.CROSS,
                                found_boxes: dict[int, list[Box]] | None = None,
                                ) -> tuple[int, Registration, list[BoxReading]] | None:
    """Read a scanned page against the page of the blank exam it fits (its boxes read under
    the exam's ``marking`` convention).

    The expected page (the scan's own page number) is tried first, and a page that fits it is
    never moved. When it does not fit (a page scanned out of order, an extra sheet in front)
    the boxes already found are fitted to every other template page, and the page is read
    as the one that fits, provided exactly one does: two blank pages with the same box layout
    cannot be told apart by their boxes, so such a page stays unfitted and is flagged.
    When nothing fits, the same is tried once more on the page turned a quarter turn (a sheet
    fed sideways; the fit itself covers the other half turn), and ``quarter_turns`` records it.
    Returns (template page, registration, readings); the expected page's failed fit when
    nothing fits; None when there is no expected page and nothing fits.
    ``found_boxes``: the boxes found on this same image, by quarter turns (0, 1), kept there
    for the next call (a page read against another template page after its print placed it
    is not searched for boxes again).
    """
    cache = {} if found_boxes is None else found_boxes
    if 0 not in cache:
        cache[0] = find_boxes(scan_gray, scan_dpi)
    found = cache[0]
    match = _matching_page(scan_gray, scan_dpi, found, template_pages, expected_page, marking)
    if match is not None and match[1].ok:
        return match
    if len(found) < MIN_MATCHED:    # a quarter turn finds the same boxes: too few either way
        return match
    turned = np.ascontiguousarray(np.rot90(scan_gray))
    if 1 not in cache:
        cache[1] = find_boxes(turned, scan_dpi)
    turned_match = _matching_page(turned, scan_dpi, cache[1], template_pages, expected_page,
                                  marking)
    if turned_match is None or not turned_match[1].ok:
        return match
    page, reg, readings = turned_match
    return page, _with(reg, quarter_turns=1), readings


def _matching_page(scan_gray: np.ndarray, scan_dpi: float, found: Sequence[Box],
                   template_pages: Mapping[int, Sequence[TemplateBox]],
                   expected_page: int | None, marking: Marking,
                   ) -> tuple[int, Registration, list[BoxReading]] | None:
    failed = None
    if expected_page in template_pages:
        reg, readings = read_template_boxes(scan_gray, scan_dpi, template_pages[expected_page],
                                            found=found, marking=marking)
        if reg.ok:
            return expected_page, reg, readings
        failed = (expected_page, reg, readings)
    fits = []
    for page, boxes in template_pages.items():
        if page != expected_page:
            reg = register_page(scan_gray, scan_dpi, boxes, found=found)
            if reg.ok:
                fits.append((page, reg))
    if len(fits) != 1:
        return failed
    page, reg = fits[0]
    reg, readings = read_template_boxes(scan_gray, scan_dpi, template_pages[page], found=found,
                                        registration=reg, marking=marking)
    return page, reg, readings
