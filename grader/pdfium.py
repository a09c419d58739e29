"""The one way this project opens a document with PDFium (pypdfium2).

PDFium is not thread-safe: a threaded web server rendering two pages at once crashes with a
double free. Every use holds ``LOCK`` from opening the document to closing it; processes
(Celery workers) do not share it, so the lock costs them nothing.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pypdfium2 as pdfium

LOCK = threading.Lock()
PdfiumError = pdfium.PdfiumError


@contextmanager
def open_document(path: str | Path, *, error: Callable[[PdfiumError], Exception] | None = None
                  ) -> Iterator[pdfium.PdfDocument]:
    """The document, open and locked for the block. A file PDFium cannot open raises
    ``error(exc)`` when given (the caller's own exception), else ``PdfiumError``."""
    with LOCK:
        try:
            document = pdfium.PdfDocument(str(path))
        except PdfiumError as exc:
            if error is None:
                raise
            raise error(exc) from exc
        try:
            yield document
        finally:
            document.close()
