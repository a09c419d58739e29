"""Reading the ink of a written answer region (``grader.ink``) into text.

Only the student's ink is read (the printed question was subtracted). Two readers read it, on
the same lines cut from the ink (``grader.handwriting``): the handwriting recogniser and
Tesseract. The reading accepted is chosen by evidence (``choose_reading``); when neither is
sure, the region is ``unsure`` (flagged ``low_confidence``) and both readings are kept for the
TA. Ink from which nothing at all is read comes back with empty text: the caller flags it
``unreadable``, never "no answer".
"""
from __future__ import annotations

from grader.handwriting import choose_reading, read_handwritten_region, read_region_tesseract
from grader.ink import INK_DPI, RegionInk
from grader.ocr import OcrOptions
from grader.pages import RegionRead
from grader.types import Reading


def read_region(label: str, ink: RegionInk, ocr: OcrOptions) -> RegionRead:
    """The region's ink read into text (empty when it has no ink, or none could be read)."""
    if not ink.has_ink:
        return RegionRead(label, ink.ink_mm2, ink.fraction)
    handwriting = read_handwritten_region(ink.image, INK_DPI)
    tesseract = read_region_tesseract(ink.image, INK_DPI, lines=handwriting.cuts,
                                      timeout_s=ocr.timeout_s, engine=ocr.engine)
    choice = choose_reading(tesseract.reading(), handwriting.reading())
    readings = tuple(Reading(str(r.engine), r.text, round(r.confidence, 4))
                     for r in (choice.handwriting, choice.tesseract))
    return RegionRead(label, ink.ink_mm2, ink.fraction, choice.text, round(choice.confidence, 4),
                      str(choice.engine or ""), readings, choice.low_confidence)
