"""Reading the ink of a written answer region (``grader.ink``) into text.

Only the student's ink is read (the printed question was subtracted), cut to its bounds with
a white margin. Tesseract reads it as a block of text (page segmentation mode 6). What the
reading is worth is decided by the caller from what comes back: ink with no text read is
``unreadable``, never "no answer".
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from grader.ink import INK_DPI, RegionInk
from grader.ocr import OcrOptions, ocr_words, page_text_from_words
from grader.pages import Reading, RegionRead

MARGIN_MM = 2.0
TESSERACT = "tesseract"


def ink_patch(ink: RegionInk, dpi: float = INK_DPI) -> Image.Image | None:
    """The ink cut to its bounds with a white margin, or None when the region has none."""
    bounds = ink.bounds()
    if bounds is None:
        return None
    x, y, w, h = bounds
    margin = int(round(MARGIN_MM * dpi / 25.4))
    patch = np.full((h + 2 * margin, w + 2 * margin), 255, dtype=np.uint8)
    patch[margin:margin + h, margin:margin + w] = ink.image[y:y + h, x:x + w]
    return Image.fromarray(patch, mode="L")


def read_region(label: str, ink: RegionInk, ocr: OcrOptions, what: str) -> RegionRead:
    """The region's ink read into text (empty when it has no ink, or none could be read)."""
    if not ink.has_ink:
        return RegionRead(label, ink.ink_mm2, ink.fraction)
    patch = ink_patch(ink)
    words = ocr_words(patch, timeout_s=ocr.timeout_s, dpi=INK_DPI, what=what, engine=ocr.engine,
                      psm=6)
    read = page_text_from_words(words, 0)
    return RegionRead(label, ink.ink_mm2, ink.fraction, read.text, read.confidence,
                      TESSERACT if read.text else "", (Reading(TESSERACT, read.text, read.confidence),))
