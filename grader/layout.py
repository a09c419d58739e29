"""The blank exam's layout: its pages, and where each written answer goes (answer regions).

Built once when the exam is loaded, from the blank PDF, and stored with the exam:

- a region given in the exam YAML (``region: {page, x, y, w, h}``, mm on the blank page) wins;
- else a drawn answer frame under the part's printed label (a rectangle at least
  ``MIN_FRAME_MM`` on each side, found in the rendered page);
- else the space from the end of the part's printed prompt to the next thing printed below it
  (the next part's label, a footer), across the page's text column.

Labels are found in the blank PDF's own text layer by the same heading rules that segment a
submission (``grader.segment.heading_spans``), with the word boxes from PDFium. Multiple-choice
questions have no region: their boxes are the checkbox template.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from grader.crop import word_range
from grader.pdf import read_pdf_pages, text_layer_words
from grader.pdfium import open_document
from grader.render import render_pdf_page
from grader.segment import heading_spans
from grader.types import Kind, PageText, QuestionSpec

LAYOUT_DPI = 100.0          # the blank is rendered at this resolution to find frames
MIN_FRAME_MM = (20.0, 6.0)  # a drawn answer frame is at least this wide and high
FRAME_INSET_MM = 1.0        # the region is the frame's inside, clear of its lines
MIN_REGION_MM = 8.0         # less room than this below a prompt is not an answer space
GAP_MM = 1.0                # kept clear of the prompt above and the print below


@dataclass(frozen=True)
class Region:
    """Where an answer is written on the blank exam: page (1-based) and mm from its top-left."""

    page: int
    x: float
    y: float
    w: float
    h: float
    source: str = "yaml"     # yaml | frame | labels

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "x": self.x, "y": self.y, "w": self.w, "h": self.h,
                "source": self.source}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Region:
        return cls(int(data["page"]), float(data["x"]), float(data["y"]), float(data["w"]),
                   float(data["h"]), str(data.get("source", "yaml")))


@dataclass(frozen=True)
class BlankLayout:
    page_sizes: tuple[tuple[float, float], ...]          # (width, height) mm per blank page
    regions: Mapping[str, Region] = field(default_factory=dict)

    def regions_on(self, page: int) -> dict[str, Region]:
        return {label: r for label, r in self.regions.items() if r.page == page}

    def to_json(self) -> dict[str, Any]:
        return {"page_sizes": [list(size) for size in self.page_sizes],
                "regions": {label: r.to_json() for label, r in self.regions.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> BlankLayout | None:
        if not data:
            return None
        return cls(tuple((float(w), float(h)) for w, h in data["page_sizes"]),
                   {label: Region.from_json(r) for label, r in data.get("regions", {}).items()})


def blank_layout(path: str | Path, questions: Sequence[QuestionSpec],
                 given: Mapping[str, Region] | None = None) -> BlankLayout:
    """The layout of the blank PDF at ``path`` for ``questions`` (see the module text).
    ``given``: regions the exam file states, by label."""
    pdf = read_pdf_pages(path, max_pages=200)
    texts = [t or "" for t in pdf.texts]
    words = [text_layer_words(path, i) if texts[i] else ([], []) for i in range(pdf.count)]
    images = [render_pdf_page(path, i, dpi=LAYOUT_DPI) for i in range(pdf.count)]
    with open_document(path) as document:
        sizes = tuple((round(w * 25.4 / 72, 2), round(h * 25.4 / 72, 2))
                      for w, h in (document[i].get_size() for i in range(pdf.count)))
    frames = [_frames(im.array, im.dpi) for im in images]
    regions: dict[str, Region] = dict(given or {})
    pages = [PageText(number=i + 1, text=t) for i, t in enumerate(texts)]
    written = [q for q in questions if q.kind != Kind.MULTIPLE_CHOICE and q.label not in regions]
    for label, spans in heading_spans(pages, written).items():
        page, start, end = spans[0]
        found = _region_below(texts[page - 1], *words[page - 1], start, end, sizes[page - 1],
                              frames[page - 1], page)
        if found is not None:
            regions[label] = found
    return BlankLayout(sizes, regions)


def _region_below(text: str, page_words: list[str], boxes: list[tuple], start: int, end: int,
                  size: tuple[float, float], frames: list[tuple[float, float, float, float]],
                  page: int) -> Region | None:
    """The answer space of the label whose heading starts at ``text[start:]``: a frame below
    its prompt, else the room from the prompt down to the next thing printed.

    The prompt is the heading's words down to the first vertical gap of at least
    MIN_REGION_MM in the print; that gap is the answer space."""
    found = word_range(text, page_words, start, end)
    if found is None or len(boxes) != len(page_words):
        return None
    first = found[0]
    top = boxes[first][1]
    prompt_bottom = boxes[first][1] + boxes[first][3]
    bottom = None
    for x, y, w, h in sorted(boxes[first + 1:], key=lambda b: b[1]):
        if y - prompt_bottom >= MIN_REGION_MM:
            bottom = y
            break
        prompt_bottom = max(prompt_bottom, y + h)
    if bottom is None:
        bottom = size[1] - 10.0
    inside = [f for f in frames if f[1] >= top - GAP_MM and f[1] + f[3] <= bottom + GAP_MM]
    if inside:
        x, y, w, h = max(inside, key=lambda f: f[2] * f[3])
        return Region(page, round(x + FRAME_INSET_MM, 2), round(y + FRAME_INSET_MM, 2),
                      round(w - 2 * FRAME_INSET_MM, 2), round(h - 2 * FRAME_INSET_MM, 2), "frame")
    left = min(b[0] for b in boxes)
    right = max(b[0] + b[2] for b in boxes)
    y0, y1 = prompt_bottom + GAP_MM, bottom - GAP_MM
    if y1 - y0 < MIN_REGION_MM:
        return None
    return Region(page, round(left, 2), round(y0, 2), round(right - left, 2), round(y1 - y0, 2),
                  "labels")


def _frames(gray: np.ndarray, dpi: float) -> list[tuple[float, float, float, float]]:
    """Drawn rectangles at least MIN_FRAME_MM a side, as (x, y, w, h) mm of their outline."""
    import cv2

    px = dpi / 25.4
    dark = (gray < 160).astype(np.uint8)
    min_w, min_h = (int(v * px) for v in MIN_FRAME_MM)
    horizontal = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((1, min_w), np.uint8))
    vertical = cv2.morphologyEx(dark, cv2.MORPH_OPEN, np.ones((min_h, 1), np.uint8))
    lines = cv2.dilate(horizontal | vertical, np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(lines, connectivity=8)
    out = []
    for x, y, w, h, _ in stats[1:count]:
        if w < min_w or h < min_h:
            continue
        # All four sides drawn: the outline's rows and columns are mostly line pixels.
        sides = (horizontal[y:y + 3, x:x + w], horizontal[y + h - 3:y + h, x:x + w],
                 vertical[y:y + h, x:x + 3], vertical[y:y + h, x + w - 3:x + w])
        if all(side.any(axis=0 if side.shape[0] <= 3 else 1).mean() > 0.7 for side in sides):
            out.append((float(x / px), float(y / px), float(w / px), float(h / px)))
    return out
