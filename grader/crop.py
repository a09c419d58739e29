"""Where an answer is on its page, for the review queue's crop beside the parsed value.

Segmentation records where each answer is in each page's text (``Segment.spans``). Those
offsets are carried over to positioned words, OCR words with their boxes for scans and
PDFium's character boxes for text layers, by counting letter/digit runs: both read the
same characters, whatever white space, hyphen marks or control characters differ. The result
is the band of the page (top and bottom, mm) that the answer covers; the crop is the page's
full width, so that nothing written beside the answer is cut off.
"""
from __future__ import annotations

from typing import Sequence

from grader.tokens import tokens

MIN_AGREEMENT = 0.8       # share of the span's letter/digit runs the words must read alike


def word_range(page_text: str, words: Sequence[str], start: int, end: int
               ) -> tuple[int, int] | None:
    """(first, last) index into ``words`` (the page's positioned words, in reading order) of
    the words holding ``page_text[start:end]``; None when the span has no letters or digits
    or the words do not hold as many as the text."""
    before = len(tokens(page_text[:start]))
    wanted = tokens(page_text[start:end])
    read, owners = [], []
    for index, word in enumerate(words):
        for token in tokens(word):
            read.append(token)
            owners.append(index)
    got = read[before:before + len(wanted)]
    # The words must read the same there: a page whose words come in another order than its
    # text (a turned page read by pypdf) gets no crop rather than a wrong one.
    if not wanted or len(got) < len(wanted) \
            or sum(a == b for a, b in zip(got, wanted)) < MIN_AGREEMENT * len(wanted):
        return None
    return owners[before], owners[before + len(wanted) - 1]


def band_mm(boxes: Sequence[Sequence[float]], first: int, last: int) -> tuple[float, float]:
    """Top and bottom (mm) of the word boxes ``first``..``last`` (x, y, w, h in mm)."""
    chosen = boxes[first:last + 1]
    return min(b[1] for b in chosen), max(b[1] + b[3] for b in chosen)
