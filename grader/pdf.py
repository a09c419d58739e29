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
# A page without a text layer is rendered by PDFium, which decodes every image on it at full
# resolution (a 30,000 x 30,000 px 8-bit image took 1.1 GB of worker memory). A 600 dpi A3 scan
# is 70 Mpx; anything above this is refused before rendering, with a message naming the page.
MAX_IMAGE_PIXELS = 80_000_000
# How deep to follow Form XObjects when looking for images (hostile files nest them in cycles).
MAX_XOBJECT_DEPTH = 8
RESCAN_ADVICE = "export or scan it again and upload the new file"

# What students upload by mistake instead of a PDF, by their first bytes (so the message can
# say what the file is rather than only what it is not).
_OTHER_FORMATS: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a ZIP archive, e.g. a Word .docx file"),
    (b"\xd0\xcf\x11\xe0", "an old Microsoft Office document"),
    (b"{\\rtf", "an RTF document"),
)


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
        raise PdfError(f"the file is not a PDF ({_describe(head)}); save or scan your answers "
                       f"as a PDF and upload that")
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
        # The exception class is for the logs; the student gets what to do about it.
        logging.getLogger(__name__).info("unreadable PDF %s: %r", path, exc)
        raise PdfError(f"the PDF is damaged and cannot be read; {RESCAN_ADVICE}") from exc
    except Exception as exc:  # noqa: BLE001 - a hostile file must not take down the worker
        logging.getLogger(__name__).info("unreadable PDF %s: %r", path, exc)
        raise PdfError(f"the PDF cannot be read; {RESCAN_ADVICE}") from exc
    return reader, count


def _describe(head: bytes) -> str:
    for magic, name in _OTHER_FORMATS:
        if head.startswith(magic):
            return f"it is {name}"
    lowered = head.lstrip().lower()
    if lowered.startswith((b"<!doctype html", b"<html")) or b"<html" in lowered[:512]:
        return "it is an HTML web page"
    return "it does not start with %PDF-"


def read_pdf_pages(path: str | Path, *, max_pages: int = 100) -> PdfPages:
    """The text layer of every page (None where a page needs OCR)."""
    reader, count = _open(path)
    if count == 0:
        raise PdfError("the PDF has no pages")
    if count > max_pages:
        raise PdfError(f"the PDF has {count} pages; the limit is {max_pages}")
    from pypdf.errors import LimitReachedError

    texts: list[str | None] = []
    for index in range(count):
        number = index + 1
        try:
            page = reader.pages[index]
            text = page.extract_text() or ""
        except LimitReachedError as exc:
            raise PdfError(_too_much_content(number)) from exc
        except Exception as exc:  # noqa: BLE001 - a broken page stream is the file's fault
            raise PdfError(f"page {number} of the PDF is damaged; {RESCAN_ADVICE}") from exc
        # Cap before counting: a page's text layer can be megabytes (bounded by pypdf's own
        # decompression limit); grading only ever needs the first MAX_TEXT_CHARS_PER_PAGE.
        text = text[:MAX_TEXT_CHARS_PER_PAGE].replace("\x00", "")
        visible = sum(1 for ch in text if not ch.isspace())
        if visible >= MIN_TEXT_LAYER_CHARS:
            texts.append(text)
        else:
            # This page will be rendered and OCRed: refuse what would blow up the renderer.
            check_renderable(page, number)
            texts.append(None)
    return PdfPages(count=count, texts=tuple(texts))


def _too_much_content(number: int) -> str:
    return (f"page {number} of the PDF holds more data than a page can (its content inflates "
            f"to tens of megabytes; the file may be corrupt or deliberately oversized); "
            f"{RESCAN_ADVICE}")


def check_renderable(page, number: int) -> None:
    """Raise PdfError if rendering ``page`` would need unbounded memory.

    pypdf's extract_text swallows stream errors (a page whose content is a decompression bomb
    or random bytes reads as empty, i.e. "a scan"), while PDFium would inflate the whole stream
    (a 2 GB bomb took 3.1 GB of memory) or render a silently blank page. So the content is
    decoded here through pypdf, whose decompression limit (75 MB) bounds the work, and image
    sizes are read from their dictionaries without decoding anything.
    """
    from pypdf.errors import LimitReachedError

    try:
        contents = page.get_contents()
        decoded = contents.get_data() if contents is not None else b""
        # pypdf (strict=False) logs a corrupt Flate stream and returns nothing: a page whose
        # content was kilobytes before decoding and is empty after is damaged, not blank.
        if not decoded.strip() and _raw_content_size(page) > 64:
            raise ValueError("content stream decodes to nothing")
    except LimitReachedError as exc:
        raise PdfError(_too_much_content(number)) from exc
    except Exception as exc:  # noqa: BLE001 - undecodable content is the file's fault
        raise PdfError(f"page {number} of the PDF is damaged (its content cannot be decoded); "
                       f"{RESCAN_ADVICE}") from exc
    try:
        largest = _largest_image(page.get("/Resources"), depth=0, seen=set())
    except (RecursionError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PdfError(f"page {number} of the PDF is damaged; {RESCAN_ADVICE}") from exc
    if largest is not None and largest[0] * largest[1] > MAX_IMAGE_PIXELS:
        w, h = largest
        raise PdfError(
            f"page {number} contains an image of {w:,} x {h:,} pixels "
            f"({w * h / 1e6:,.0f} megapixels; the limit is {MAX_IMAGE_PIXELS / 1e6:,.0f}); "
            f"scan at 300 dpi and upload again")


def _raw_content_size(page) -> int:
    """Bytes of the page's content stream(s) as stored (before any filter is undone)."""
    contents = page.get("/Contents")
    if contents is None:
        return 0
    contents = contents.get_object()
    streams = contents if isinstance(contents, list) else [contents]
    # `_data` is pypdf's raw (still encoded) stream payload; there is no public accessor.
    return sum(len(getattr(s.get_object(), "_data", b"") or b"") for s in streams)


def _largest_image(resources, *, depth: int, seen: set[int]) -> tuple[int, int] | None:
    """(width, height) of the largest image XObject reachable from ``resources``."""
    if resources is None or depth > MAX_XOBJECT_DEPTH:
        return None
    resources = resources.get_object()
    if not hasattr(resources, "get"):
        return None
    xobjects = resources.get("/XObject")
    if xobjects is None:
        return None
    xobjects = xobjects.get_object()
    if not hasattr(xobjects, "values"):
        return None
    best: tuple[int, int] | None = None
    for ref in xobjects.values():
        key = getattr(ref, "idnum", None)
        if key is not None:
            if key in seen:        # shared or cyclic forms: each object is looked at once
                continue
            seen.add(key)
        obj = ref.get_object()
        if not hasattr(obj, "get"):
            continue
        subtype = obj.get("/Subtype")
        if subtype == "/Image":
            size = (_as_int(obj.get("/Width")), _as_int(obj.get("/Height")))
        elif subtype == "/Form":
            size = _largest_image(obj.get("/Resources"), depth=depth + 1, seen=seen)
        else:
            continue
        if size is not None and (best is None or size[0] * size[1] > best[0] * best[1]):
            best = size
    return best


def _as_int(value) -> int:
    try:
        return max(0, int(value))
    except (TypeError, ValueError):
        return 0


def text_layer_pages(pdf: PdfPages) -> list[PageText]:
    return [PageText(number=i + 1, text=t, source="text_layer", confidence=1.0)
            for i, t in enumerate(pdf.texts) if t is not None]
