"""Where an answer is on its page, for the review queue's crop beside the parsed value.

Segmentation records where each answer is in each page's text (``Segment.spans``). Those
offsets are carried over to positioned words, OCR words with their boxes for scans and
PDFium's character boxes for text layers, by counting letter/digit runs: both read the
same characters, whatever white space, hyphen marks or control characters differ. The result
is the band of the page (top and bottom, mm) that the answer covers; the crop is the page's
full width, so that nothing written beside the answer is cut off.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

_TOKEN = re.compile(r"[a-z0-9]+")
MIN_AGREEMENT = 0.8       # share of the span's letter/digit runs the words must read alike


def _count(text: str) -> int:
    return len(_TOKEN.findall(text.lower()))


def word_range(page_text: str, words: Sequence[str], start: int, end: int
               ) -> tuple[int, int] | None:
    """(first, last) index into ``words`` (the page's positioned words, in reading order) of
    the words holding ``page_text[start:end]``; None when the span has no letters or digits
    or the words do not hold as many as the text."""
    before = _count(page_text[:start])
    wanted = _TOKEN.findall(page_text[start:end].lower())
    tokens, owners = [], []
    for index, word in enumerate(words):
        for token in _TOKEN.findall(word.lower()):
            tokens.append(token)
            owners.append(index)
    got = tokens[before:before + len(wanted)]
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


def text_layer_words(path: str | Path, page_index: int) -> tuple[list[str], list[tuple]]:
    """The words of a text-layer page and their boxes (x, y, w, h in mm from the top-left),
    from PDFium's character boxes (a word is a run of characters without white space)."""
    import pypdfium2 as pdfium

    from grader.render import _PDFIUM_LOCK

    words: list[str] = []
    boxes: list[tuple] = []
    mm = 25.4 / 72
    with _PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(str(path))
        try:
            page = pdf[page_index]
            height = page.get_height()
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            current, box = [], None
            for index, char in enumerate(text[:textpage.count_chars()]):
                if char.isspace() or char in "\x02\ufffe":
                    if current:
                        words.append("".join(current))
                        boxes.append(box)
                    current, box = [], None
                    continue
                left, bottom, right, top = textpage.get_charbox(index)
                here = (left * mm, (height - top) * mm, (right - left) * mm, (top - bottom) * mm)
                current.append(char)
                box = here if box is None else _union(box, here)
            if current:
                words.append("".join(current))
                boxes.append(box)
            textpage.close()
            page.close()
        finally:
            pdf.close()
    return words, boxes


def _union(a: tuple, b: tuple) -> tuple:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0)
