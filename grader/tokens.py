"""The unit texts are compared by across readers: lower-cased runs of letters and digits.

OCR, PDFium and pypdf agree on these whatever white space, punctuation, hyphen marks or
control characters they differ in, so positions and matches are counted in them."""
from __future__ import annotations

import re

_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())
