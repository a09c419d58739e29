"""Text layers of typed PDFs, and deciding which pages need OCR.

pypdf opens the file (encryption, damage, page count) and bounds every page's content before
anything else parses it; PDFium reads the text layer, about 5x faster than pypdf's
``extract_text`` on the same pages with the same words (measured on the sample submissions:
10 ms against 123 ms for 23 pages). pypdf's extraction remains the fallback for a file or
page PDFium cannot read.

Every failure is a ``PdfError`` with a message a student or TA can act on; callers fail the
one submission, never the worker.
"""
from __future__ import annotations

import bisect
import logging
import math
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium

from grader import limits
from grader.pdfium import PdfiumError, open_document

# A page whose text layer has fewer visible characters than this is treated as a scan
# (scanners often add a few stray characters or an invisible page number).
MIN_TEXT_LAYER_CHARS = 25
MAX_TEXT_CHARS_PER_PAGE = 200_000
# PDFium keeps ~110 bytes per character of a page's text (484 MB peak for a page of 4 MB of
# text, against 48 MB in pypdf): pages with more content than this are read by pypdf. Typed
# exam pages have 5-100 kB.
PDFIUM_TEXT_MAX_CONTENT_BYTES = 2_000_000
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
            except limits.INTERRUPTS:  # a caller's time limit is not the file's fault
                raise
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
    except limits.INTERRUPTS:  # a caller's time limit is not the file's fault
        raise
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
    pages = []
    for index in range(count):
        try:
            pages.append(reader.pages[index])
        except limits.INTERRUPTS:  # a caller's time limit is not the file's fault
            raise
        except Exception as exc:  # noqa: BLE001 - a broken page tree is the file's fault
            raise PdfError(f"page {index + 1} of the PDF is damaged; {RESCAN_ADVICE}") from exc
    # PDFium inflates a content stream without limit (a 2 GB bomb took 3.1 GB); pypdf's
    # decoder stops at 75 MB. So every page is decoded by pypdf once before PDFium sees it.
    sizes = [_check_content(page, number) for number, page in enumerate(pages, start=1)]
    fast = _pdfium_text_layers(path, count, skip={index for index, size in enumerate(sizes)
                                                  if size > PDFIUM_TEXT_MAX_CONTENT_BYTES})
    texts: list[str | None] = []
    for number, page in enumerate(pages, start=1):
        text = fast[number - 1]
        if text is None or _visible_chars(text) < MIN_TEXT_LAYER_CHARS:
            # PDFium could not read the page, or found (almost) no text: pypdf decodes some
            # fonts differently, and on a scanned page it costs next to nothing.
            text = _pypdf_text(page, number)
        if _visible_chars(text) >= MIN_TEXT_LAYER_CHARS:
            texts.append(text)
        else:
            # This page will be rendered and OCRed: refuse what would blow up the renderer
            # (its content was checked above).
            _check_image_sizes(page, number)
            texts.append(None)
    return PdfPages(count=count, texts=tuple(texts))


# Control characters other than tab and newline: pypdf writes \x00 for glyphs it cannot map
# (tabs, some symbols); they are not text.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# PDFium joins a line that ends in a hyphen to the next, writing the hyphen as \x02 or \ufffe.
# In answers that hyphen is usually real ("j-" + "1}" in a LaTeX exponent, "ImageNet-" +
# "classification" in a LibreOffice export) and the next line may start with a part label, so
# the hyphen and the line break are both put back, as pypdf reads them.
_PDFIUM_LINE_END_HYPHEN = re.compile("[\x02\ufffe]")


def _clean(text: str) -> str:
    # Cap before anything else: a page's text layer can be megabytes (bounded by the content
    # check); grading only ever needs the first MAX_TEXT_CHARS_PER_PAGE characters.
    # (Twice the cap first, so the characters dropped here do not make the page shorter.)
    text = text[:2 * MAX_TEXT_CHARS_PER_PAGE].replace("\r\n", "\n").replace("\r", "\n")
    text = _PDFIUM_LINE_END_HYPHEN.sub("-\n", text)
    return _CONTROL.sub("", text)[:MAX_TEXT_CHARS_PER_PAGE]


def _visible_chars(text: str) -> int:
    return len(text) - sum(text.count(ch) for ch in " \t\n\xa0")


def _pdfium_text_layers(path: str | Path, count: int, skip: Collection[int] = ()
                        ) -> list[str | None]:
    """Each page's text as PDFium reads it (None for a page it cannot read or in ``skip``)."""
    texts: list[str | None] = [None] * count
    try:
        with open_document(path) as pdf:
            for index in range(min(count, len(pdf))):
                if index in skip:
                    continue
                try:
                    page = pdf[index]
                    textpage = page.get_textpage()
                    if page.get_rotation() % 360 == 0 and _upright(textpage):
                        texts[index] = _clean(textpage.get_text_range())
                    textpage.close()
                    page.close()
                except (PdfiumError, ValueError, MemoryError) as exc:
                    logging.getLogger(__name__).info("PDFium cannot read page %d of %s: %s",
                                                     index + 1, path, exc)
    except PdfiumError as exc:
        logging.getLogger(__name__).info("PDFium cannot open %s: %s", path, exc)
    return texts


def text_layer_words(path: str | Path, page_index: int) -> tuple[list[str], list[tuple]]:
    """The words of a text-layer page as PDFium reads them, with their boxes (x, y, w, h in
    mm from the page's top-left): a word is a run of characters between white space or
    PDFium's line-end hyphen marks, its box the union of the characters' boxes."""
    words: list[str] = []
    boxes: list[tuple] = []
    mm = 25.4 / 72

    def end_word(chars: list[str], charboxes: list[tuple]) -> None:
        if chars:
            x0, y0 = min(b[0] for b in charboxes), min(b[1] for b in charboxes)
            x1, y1 = max(b[2] for b in charboxes), max(b[3] for b in charboxes)
            words.append("".join(chars))
            boxes.append((x0, y0, x1 - x0, y1 - y0))
        chars.clear()
        charboxes.clear()

    with open_document(path) as pdf:
        page = pdf[page_index]
        height = page.get_height()
        textpage = page.get_textpage()
        chars: list[str] = []
        charboxes: list[tuple] = []
        for index, char in enumerate(textpage.get_text_range()[:textpage.count_chars()]):
            if char.isspace() or _PDFIUM_LINE_END_HYPHEN.match(char):
                end_word(chars, charboxes)
                continue
            left, bottom, right, top = textpage.get_charbox(index)
            chars.append(char)
            charboxes.append((left * mm, (height - top) * mm, right * mm, (height - bottom) * mm))
        end_word(chars, charboxes)
        textpage.close()
        page.close()
    return words, boxes


# Characters sampled per page for their angle; a page of text is almost always one direction.
_ANGLE_SAMPLES = 24


def _upright(textpage) -> bool:
    """Whether the page's text runs left to right, upright.

    PDFium reverses the order of lines on turned pages (a /Rotate 90 page, or text drawn
    turned by -90 degrees, came out last line first, measured); pypdf keeps the content
    order, so those pages are left to it.
    """
    count = textpage.count_chars()
    for index in range(0, count, max(1, count // _ANGLE_SAMPLES)):
        angle = pdfium.raw.FPDFText_GetCharAngle(textpage.raw, index)
        if angle >= 0 and min(angle, 2 * math.pi - angle) > 0.02:   # -1: no angle (error)
            return False
    return True


def _pypdf_text(page, number: int) -> str:
    from pypdf.errors import LimitReachedError

    try:
        return _clean(page.extract_text() or "")
    except LimitReachedError as exc:
        raise PdfError(_too_much_content(number)) from exc
    except limits.INTERRUPTS:  # a caller's time limit is not the file's fault
        raise
    except Exception as exc:  # noqa: BLE001 - a broken page stream is the file's fault
        raise PdfError(f"page {number} of the PDF is damaged; {RESCAN_ADVICE}") from exc


def _too_much_content(number: int) -> str:
    return (f"page {number} of the PDF holds more data than a page can (its content inflates "
            f"to tens of megabytes; the file may be corrupt or deliberately oversized); "
            f"{RESCAN_ADVICE}")


def _check_image_sizes(page, number: int) -> None:
    """Raise PdfError if rendering ``page`` would decode an image beyond MAX_IMAGE_PIXELS; sizes
    are read from the image dictionaries without decoding anything."""
    try:
        largest = _largest_image(page.get("/Resources"), depth=0, seen=set())
    except (RecursionError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise PdfError(f"page {number} of the PDF is damaged; {RESCAN_ADVICE}") from exc
    if largest is not None:
        _refuse_large_image(*largest, number)


# Decoded content (page stream plus Form XObjects) one page may have. A dense typed page is
# ~50 KB; pypdf's own limit per stream is 75 MB.
MAX_PAGE_CONTENT_BYTES = 100_000_000


def _check_content(page, number: int) -> int:
    """The page's decoded content size in bytes; PdfError if the page's content cannot be
    decoded or inflates without bound.

    PDFium inflates whatever it parses (a 2 GB bomb took 3.1 GB of memory) and renders an
    undecodable stream as a silently blank page; pypdf decodes with a limit and says when it
    fails. So the page stream and its Form XObjects are decoded here through pypdf first.
    """
    from pypdf.errors import LimitReachedError

    try:
        contents = page.get_contents()
        decoded = contents.get_data() if contents is not None else b""
        # pypdf (strict=False) logs a corrupt Flate stream and returns nothing: a page whose
        # content was kilobytes before decoding and is empty after is damaged, not blank.
        if not decoded.strip() and _raw_content_size(page) > 64:
            raise ValueError("content stream decodes to nothing")
        _check_inline_images(decoded, number)
        total = len(decoded) + _form_bytes(page.get("/Resources"), depth=0, seen=set(),
                                           number=number)
    except PdfError:
        raise
    except LimitReachedError as exc:
        raise PdfError(_too_much_content(number)) from exc
    except limits.INTERRUPTS:  # a caller's time limit is not the file's fault
        raise
    except Exception as exc:  # noqa: BLE001 - undecodable content is the file's fault
        raise PdfError(f"page {number} of the PDF is damaged (its content cannot be decoded); "
                       f"{RESCAN_ADVICE}") from exc
    if total > MAX_PAGE_CONTENT_BYTES:
        raise PdfError(_too_much_content(number))
    return total


def _form_bytes(resources, *, depth: int, seen: set[int], number: int) -> int:
    """Decoded size of the Form XObjects reachable from ``resources`` (each counted once);
    their inline images are checked on the way."""
    total = 0
    for obj in _xobjects(resources, depth=depth, seen=seen):
        if obj.get("/Subtype") == "/Form":
            data = obj.get_data()
            _check_inline_images(data, number)
            total += len(data)
            total += _form_bytes(obj.get("/Resources"), depth=depth + 1, seen=seen, number=number)
            if total > MAX_PAGE_CONTENT_BYTES:
                break
    return total


# An inline image (``BI <dict> ID <data> EI``) lives inside a content stream, not in the
# page's /XObject resources. PDFium decodes it while it parses the page, for text extraction
# too (a 45,000 x 45,000 inline image in a 2 MB file took a worker to 3.3 GB), so its size is
# read from the decoded content before PDFium opens the file. "BI" is an operator only as a
# token of its own: after a delimiter or whitespace (PDF whitespace includes NUL), before
# whitespace, a delimiter or the end.
_WHITESPACE = frozenset(b"\x00\t\n\x0c\r ")
_DELIMITERS = frozenset(b"[]()<>{}")
_INLINE_ENTRY = re.compile(rb"/(Width|W|Height|H)(?=[\x00\t\n\x0c\r +\-.0-9])[\x00\t\n\x0c\r ]*"
                           rb"([+-]?[0-9]*\.?[0-9]+)")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")


def _operator_positions(content: bytes, operator: bytes, before: frozenset, after: frozenset) -> list[int]:
    """Where ``operator`` stands as a token of its own: preceded by a byte of ``before`` (or the
    start), followed by one of ``after`` (or the end). A plain substring search: fast."""
    found, at, size = [], content.find(operator), len(content)
    while at >= 0:
        end = at + len(operator)
        if (at == 0 or content[at - 1] in before) and (end == size or content[end] in after):
            found.append(at)
        at = content.find(operator, end)
    return found


def _check_inline_images(content: bytes, number: int) -> None:
    """PdfError when an inline image in ``content`` is beyond MAX_IMAGE_PIXELS. Nothing is
    decoded, and a page without ``BI`` costs one substring search. Each image's dictionary
    runs from ``BI`` to the next ``ID`` however long it is (padding cannot hide the size),
    and names are read with their #xx escapes undone (``/#57`` is ``/W``)."""
    if b"BI" not in content or b"ID" not in content:
        return
    ends = _operator_positions(content, b"ID", _WHITESPACE | frozenset(b"])>"), _WHITESPACE)
    if not ends:
        return
    starts = _operator_positions(content, b"BI", _WHITESPACE | _DELIMITERS,
                                 _WHITESPACE | _DELIMITERS | frozenset(b"/%"))
    # The dictionary of the image ending at each ID starts at the last BI before it (a BI
    # without an ID after it starts no image): every byte is looked at once at most.
    nearest: dict[int, int] = {}
    for start in starts:
        index = bisect.bisect_left(ends, start)
        if index < len(ends):
            nearest[index] = start
    for index, start in nearest.items():
        span = content[start + 2:ends[index]]
        if b"#" in span:
            span = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), span)
        size = {b"W": 0, b"H": 0}
        for key, value in _INLINE_ENTRY.findall(span):
            size[key[:1]] = max(0, int(float(value)))
        _refuse_large_image(size[b"W"], size[b"H"], number)


def _refuse_large_image(w: int, h: int, number: int) -> None:
    if w * h > MAX_IMAGE_PIXELS:
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


def _xobjects(resources, *, depth: int, seen: set[int]):
    """The XObjects of ``resources``, skipping ones already seen (shared or cyclic forms)."""
    if resources is None or depth > MAX_XOBJECT_DEPTH:
        return
    resources = resources.get_object()
    if not hasattr(resources, "get"):
        return
    xobjects = resources.get("/XObject")
    if xobjects is None:
        return
    xobjects = xobjects.get_object()
    if not hasattr(xobjects, "values"):
        return
    for ref in xobjects.values():
        key = getattr(ref, "idnum", None)
        if key is not None:
            if key in seen:
                continue
            seen.add(key)
        obj = ref.get_object()
        if hasattr(obj, "get"):
            yield obj


def _largest_image(resources, *, depth: int, seen: set[int]) -> tuple[int, int] | None:
    """(width, height) of the largest image XObject reachable from ``resources``."""
    best: tuple[int, int] | None = None
    for obj in _xobjects(resources, depth=depth, seen=seen):
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
