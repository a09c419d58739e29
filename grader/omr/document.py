"""The ``read_boxes`` diagnostic: every checkbox of a document, without a template."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from grader.omr.boxes import find_boxes, text_side_upside_down
from grader.omr.classify import classify_box
from grader.types import Marking


def read_page_boxes(gray: np.ndarray, dpi: float, marking: Marking = Marking.CROSS
                    ) -> tuple[bool, list[dict]]:
    """(flipped, readings) for one page; coordinates in the upright page's frame; ``checked``
    by the ``marking`` convention."""
    boxes = find_boxes(gray, dpi)
    flipped = text_side_upside_down(gray, dpi, boxes)
    if flipped:
        # Re-find on the turned page: simpler and exact, versus transforming the readings.
        gray = np.ascontiguousarray(gray[::-1, ::-1])
        boxes = find_boxes(gray, dpi)
    out = []
    for i, b in enumerate(boxes):
        r = classify_box(gray, b, dpi, others=boxes[:i] + boxes[i + 1:], marking=marking)
        x, y, w, h = b.to_mm(dpi)
        out.append({"x": round(x, 2), "y": round(y, 2), "w": round(w, 2), "h": round(h, 2),
                    "mark": r.mark, "checked": r.checked, "confidence": round(r.confidence, 3),
                    "uncertain": r.uncertain})
    return flipped, out


def read_document_boxes(path: str | Path, marking: Marking = Marking.CROSS) -> list[dict]:
    """Every page of a PDF (rendered at 300 dpi) or an image (its dpi from its metadata, else
    from its size as an A4 or Letter sheet: ``grader.render.sheet_dpi``): ``page``, ``x``,
    ``y``, ``w``, ``h`` (mm from the page's top-left), ``mark``, ``checked`` (by the
    ``marking`` convention), ``confidence`` (plus ``uncertain``, an extension). A page
    detected as upside down is read turned upright; its coordinates are those of the upright
    page."""
    from grader.render import load_document_pages

    result = []
    for page in load_document_pages(path, dpi=300.0):
        _, boxes = read_page_boxes(page.array, page.dpi, marking)
        result.extend({"page": page.number, **b} for b in boxes)
    return result
