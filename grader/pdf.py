"""Text layers of typed PDFs (pypdf), and deciding which pages need OCR.

Every failure is a ``PdfError`` with a message a student or TA can act on; callers fail the
one submission, never the worker.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from grader.types import PageText

# A page whose text layer has fewer visible characters than this is treated as a scan
# (scanners often add a few stray characters or an invisible page number).
MIN_TEXT_LAYER_CHARS = 25
MAX_TEXT_CHARS_PER_PAGE = 200_000


class PdfError(Exception):
    """The file cannot be read as a PDF submission."""


@dataclass(frozen=True)
class PdfPages:
    count: int
    texts: tuple[str | None, ...]   # None where the page has no usable text layer

    def needs_ocr(self) -> list[int]:
        return [i + 1 for i, t in enumerate(self.texts) if t is None]


def _open(path: str | Path):
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    with open(path, "rb") as fh:
        head = fh.read(1024)
    if not head:
        raise PdfError("the file is empty")
    if b"%PDF-" not in head:
        raise PdfError("the file is not a PDF (it does not start with %PDF-)")
    # pypdf logs every recoverable oddity of real-world files; they are not our errors.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        reader = PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:  # noqa: BLE001 - pypdf raises several types for odd crypto
                ok = 0
            if not ok:
                raise PdfError("the PDF is password-protected; upload it without a password")
        count = len(reader.pages)
    except PdfError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, OSError) as exc:
        raise PdfError(f"the PDF is damaged and cannot be read ({type(exc).__name__})") from exc
    except Exception as exc:  # noqa: BLE001 - a hostile file must not take down the worker
        raise PdfError(f"the PDF cannot be read ({type(exc).__name__})") from exc
    return reader, count


def read_pdf_pages(path: str | Path, *, max_pages: int = 100) -> PdfPages:
    """The text layer of every page (None where a page needs OCR)."""
    reader, count = _open(path)
    if count == 0:
        raise PdfError("the PDF has no pages")
    if count > max_pages:
        raise PdfError(f"the PDF has {count} pages; the limit is {max_pages}")
    texts: list[str | None] = []
    for index in range(count):
        try:
            text = reader.pages[index].extract_text() or ""
        except Exception as exc:  # noqa: BLE001 - a broken page stream is the file's fault
            raise PdfError(f"page {index + 1} of the PDF is damaged ({type(exc).__name__})") from exc
        text = text.replace("\x00", "")[:MAX_TEXT_CHARS_PER_PAGE]
        visible = sum(1 for ch in text if not ch.isspace())
        texts.append(text if visible >= MIN_TEXT_LAYER_CHARS else None)
    return PdfPages(count=count, texts=tuple(texts))


def text_layer_pages(pdf: PdfPages) -> list[PageText]:
    return [PageText(number=i + 1, text=t, source="text_layer", confidence=1.0)
            for i, t in enumerate(pdf.texts) if t is not None]
