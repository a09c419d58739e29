"""Running Tesseract on one image: in this process through libtesseract's C API, or as the
``tesseract`` command through pytesseract. Pure Python: no Django imports.

Both give the same words, boxes and confidences (the same library does the work; checked on
every page of the scan benchmark). The library is kept loaded for the life of the process, so
a page does not pay for starting ``tesseract``, loading its model and a PNG round trip through
a temporary file: 0.09-0.12 s of the 0.6-1.2 s a 300 dpi A4 page takes here (measured).

The caller chooses the ``Engine`` (the Django settings read it from ``GRADER_OCR_ENGINE``):
  ``auto``     (default) the library when it loads (the ``tesseract-ocr`` package installs it
               as ``libtesseract.so.5``), else the command;
  ``library``  the library, or ``OcrError`` if it cannot be loaded;
  ``command``  always the ``tesseract`` command (each page isolated in its own process).
Orientation detection (OSD) always runs the command: it is rare and has its own data file.

Time limits: the library gets Tesseract's own deadline (checked between words, so a page
stops within a word of the limit); the command is killed by pytesseract. A page that hangs
before recognition starts (layout analysis) is not interrupted in the library; the Celery
task's hard time limit is the backstop there.
"""
from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import logging
import os
import tempfile
import threading
import time
from enum import StrEnum
from pathlib import Path

import numpy as np
from PIL import Image

# One Tesseract thread per process. On this hardware OpenMP threading makes a page ~4x slower
# (measured: 300 dpi A4 page 0.51 s with OMP_THREAD_LIMIT=1 vs 2.7 s by default, the threads
# spin against each other); parallelism comes from worker processes instead. The command
# inherits os.environ, and the library reads it when it first starts its thread pool, so
# setting it here at import covers both. A value the operator set explicitly is kept.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

import pytesseract  # noqa: E402  (after the environment is set, for clarity)

log = logging.getLogger(__name__)



class Engine(StrEnum):
    AUTO = "auto"
    LIBRARY = "library"
    COMMAND = "command"

_LIBRARY_NAMES = ("libtesseract.so.5", "libtesseract.so", "libtesseract.5.dylib",
                  "libtesseract.dylib")
# The command's TSV starts with this header; the library's rows come without it.
TSV_HEADER = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


class OcrError(Exception):
    """A page could not be OCRed (no tesseract, tesseract failed, ...)."""


class OcrTimeout(OcrError):
    """Tesseract did not finish a page within its time limit."""


def as_engine(name: str) -> Engine:
    """``name`` as an Engine; a name that is not one fails loudly."""
    try:
        return Engine(str(name).strip().lower())
    except ValueError:
        raise OcrError(f"OCR engine {name!r} is not one of "
                       f"{', '.join(Engine)}") from None


def run_tsv(image: Image.Image, *, lang: str, dpi: int, psm: int, timeout_s: float,
            what: str, engine: Engine | str = Engine.AUTO) -> str:
    """Tesseract's TSV (with its header row) for a grayscale ``image``."""
    choice = as_engine(engine)
    if choice != Engine.COMMAND:
        library = _library(lang)
        if library is not None:
            return library.tsv(image, dpi=dpi, psm=psm, timeout_s=timeout_s, what=what)
        if choice == Engine.LIBRARY:
            raise OcrError(f"libtesseract could not be loaded for language {lang!r} "
                           f"(install the apt package tesseract-ocr, or use the engine 'auto')")
    return _command(image, config=f"--psm {psm} --dpi {dpi}", lang=lang, timeout_s=timeout_s,
                    what=what)


def run_osd(image: Image.Image, *, dpi: int, timeout_s: float,
            engine: Engine | str = Engine.AUTO) -> str:
    """Tesseract's orientation report (``Rotate: 180``, ``Orientation confidence: 6.05``
    lines): from libtesseract with its ``osd`` model when it loads (the same report, 0.2
    instead of 0.5 s a page: no process to start, no model to load each time), else the
    command."""
    choice = as_engine(engine)
    if choice != Engine.COMMAND:
        library = _library("osd")
        if library is not None:
            return library.osd(image, dpi=dpi, timeout_s=timeout_s)
        if choice == Engine.LIBRARY:
            raise OcrError("libtesseract could not be loaded with its orientation data (install "
                           "the apt package tesseract-ocr-osd, or use the engine 'auto')")
    return _command(image, config=f"--psm 0 --dpi {dpi}", lang="osd", timeout_s=timeout_s,
                    what="orientation", osd=True)


# --------------------------------------------------------------------------------------------
# The command (pytesseract)


def _command(image: Image.Image, *, config: str, lang: str | None, timeout_s: float,
             what: str, osd: bool = False) -> str:
    """One ``tesseract`` run on ``image``; returns its TSV (or OSD) output.

    The image is written by us as PNG with the fastest compression: pytesseract's default PNG
    encoding costs ~50 ms on a 300 dpi page, level 1 ~30 ms, and tesseract reads it as fast
    (0.48-0.50 s per page either way). Uncompressed PGM saves in 3 ms but leptonica reads it
    ~0.1 s slower, BMP ~0.03 s slower (measured).
    """
    with tempfile.TemporaryDirectory(prefix="ocr_") as tmp:
        path = str(Path(tmp) / "page.png")
        image.convert("L").save(path, format="PNG", compress_level=1)
        try:
            if osd:
                return pytesseract.image_to_osd(path, config=config, timeout=timeout_s)
            return pytesseract.image_to_data(path, lang=lang, config=config, timeout=timeout_s)
        except pytesseract.TesseractNotFoundError as exc:
            raise OcrError(
                "tesseract is not installed or not on PATH "
                f"(tried {pytesseract.pytesseract.tesseract_cmd!r}; "
                "install the apt package tesseract-ocr)") from exc
        except RuntimeError as exc:
            # pytesseract kills the process and raises a bare RuntimeError on timeout;
            # TesseractError (a RuntimeError too) means tesseract itself failed.
            if isinstance(exc, pytesseract.TesseractError):
                raise OcrError(f"tesseract failed on {what}: {exc.message}") from exc
            if "timeout" in str(exc).lower():
                raise _timeout(what, timeout_s) from exc
            raise OcrError(f"tesseract failed on {what}: {exc}") from exc


def _timeout(what: str, timeout_s: float) -> OcrTimeout:
    return OcrTimeout(f"OCR of {what} took longer than {timeout_s:g} s and was stopped")


# --------------------------------------------------------------------------------------------
# The library (libtesseract's C API through ctypes)


class _Library:
    """One initialised TessBaseAPI for one language, used by one thread at a time."""

    def __init__(self, lib: ctypes.CDLL, lang: str) -> None:
        self._lib = lib
        self._lock = threading.Lock()
        self._handle = lib.TessBaseAPICreate()
        if not self._handle or lib.TessBaseAPIInit3(self._handle, None, lang.encode()) != 0:
            self.close()
            raise OSError(f"TessBaseAPIInit3 failed for language {lang!r}")

    def tsv(self, image: Image.Image, *, dpi: int, psm: int, timeout_s: float, what: str) -> str:
        grey = image if image.mode == "L" else image.convert("L")
        pixels = np.ascontiguousarray(np.asarray(grey, dtype=np.uint8))
        height, width = pixels.shape
        lib, handle = self._lib, self._handle
        with self._lock:
            monitor = lib.TessMonitorCreate()
            try:
                lib.TessBaseAPISetPageSegMode(handle, psm)
                lib.TessBaseAPISetImage(handle, pixels.ctypes.data, width, height, 1, width)
                lib.TessBaseAPISetSourceResolution(handle, dpi)
                lib.TessMonitorSetDeadlineMSecs(monitor, max(1, int(timeout_s * 1000)))
                start = time.monotonic()
                status = lib.TessBaseAPIRecognize(handle, monitor)
                if time.monotonic() - start >= timeout_s:
                    raise _timeout(what, timeout_s)
                if status != 0:
                    raise OcrError(f"tesseract failed on {what} (status {status})")
                text = lib.TessBaseAPIGetTsvText(handle, 0)
                if not text:
                    raise OcrError(f"tesseract failed on {what} (no result)")
                try:
                    rows = ctypes.string_at(text).decode("utf-8", errors="replace")
                finally:
                    lib.TessDeleteText(text)
            finally:
                lib.TessMonitorDelete(monitor)
                lib.TessBaseAPIClear(handle)    # frees the image and results, keeps the model
        return f"{TSV_HEADER}\n{rows}"

    def osd(self, image: Image.Image, *, dpi: int, timeout_s: float) -> str:
        """The orientation report the command prints (its ``Rotate`` and ``Orientation
        confidence`` lines) for a library initialised with the ``osd`` model. OSD takes no
        deadline; it looks at a bounded number of characters (~1.2 s on an A3 page of tiny
        random print), and a run past ``timeout_s`` is reported as the timeout."""
        grey = image if image.mode == "L" else image.convert("L")
        pixels = np.ascontiguousarray(np.asarray(grey, dtype=np.uint8))
        height, width = pixels.shape
        lib, handle = self._lib, self._handle
        degrees, confidence = ctypes.c_int(), ctypes.c_float()
        script, script_confidence = ctypes.c_char_p(), ctypes.c_float()
        with self._lock:
            try:
                lib.TessBaseAPISetPageSegMode(handle, 0)        # orientation and script only
                lib.TessBaseAPISetImage(handle, pixels.ctypes.data, width, height, 1, width)
                lib.TessBaseAPISetSourceResolution(handle, dpi)
                start = time.monotonic()
                found = lib.TessBaseAPIDetectOrientationScript(
                    handle, ctypes.byref(degrees), ctypes.byref(confidence), ctypes.byref(script),
                    ctypes.byref(script_confidence))
                if time.monotonic() - start >= timeout_s:
                    raise _timeout("orientation", timeout_s)
            finally:
                lib.TessBaseAPIClear(handle)
        if not found:
            raise OcrError("tesseract failed on orientation: too few characters to decide")
        # The page's orientation, turned into the clockwise rotation that makes it upright
        # (the command's "Rotate", tesseract's OrientationIdToValue).
        rotate = _ROTATE_FOR_ORIENTATION[degrees.value % 360]
        return (f"Orientation in degrees: {degrees.value}\nRotate: {rotate}\n"
                f"Orientation confidence: {confidence.value:.2f}\n")

    def close(self) -> None:
        if self._handle:
            self._lib.TessBaseAPIEnd(self._handle)
            self._lib.TessBaseAPIDelete(self._handle)
            self._handle = None


_ROTATE_FOR_ORIENTATION = {0: 0, 90: 270, 180: 180, 270: 90}

_LIBRARIES: dict[tuple[int, str], _Library | None] = {}
_LIBRARIES_LOCK = threading.Lock()


def load(lang: str) -> bool:
    """Load this process's libtesseract for ``lang`` now rather than on first use (a worker
    process at start); whether it loaded (if not, the command is used, as on first use)."""
    return _library(lang) is not None


def _library(lang: str) -> _Library | None:
    """This process's initialised library for ``lang``; None if it cannot be loaded.

    Keyed by process id: a pool process forked from a parent that used the library starts
    its own instead of sharing the parent's half-copied state."""
    key = (os.getpid(), lang)
    with _LIBRARIES_LOCK:
        if key not in _LIBRARIES:
            try:
                _LIBRARIES[key] = _Library(_load(), lang)
            except OSError as exc:
                log.info("libtesseract unavailable (%s); using the tesseract command", exc)
                _LIBRARIES[key] = None
        return _LIBRARIES[key]


def _load() -> ctypes.CDLL:
    names = list(_LIBRARY_NAMES)
    found = ctypes.util.find_library("tesseract")
    if found:
        names.append(found)
    errors = []
    for name in names:
        try:
            return _declare(ctypes.CDLL(name))
        except (OSError, AttributeError) as exc:
            errors.append(f"{name}: {exc}")
    raise OSError("; ".join(errors))


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    """Argument and result types of the C functions used (ctypes guesses int otherwise)."""
    p, i = ctypes.c_void_p, ctypes.c_int
    signatures = {
        "TessBaseAPICreate": ([], p), "TessBaseAPIInit3": ([p, ctypes.c_char_p, ctypes.c_char_p], i),
        "TessBaseAPISetPageSegMode": ([p, i], None),
        "TessBaseAPISetImage": ([p, p, i, i, i, i], None),
        "TessBaseAPISetSourceResolution": ([p, i], None),
        "TessBaseAPIRecognize": ([p, p], i), "TessBaseAPIGetTsvText": ([p, i], p),
        "TessDeleteText": ([p], None), "TessBaseAPIClear": ([p], None),
        "TessBaseAPIEnd": ([p], None), "TessBaseAPIDelete": ([p], None),
        "TessMonitorCreate": ([], p), "TessMonitorDelete": ([p], None),
        "TessMonitorSetDeadlineMSecs": ([p, i], None),
        "TessBaseAPIDetectOrientationScript": (
            [p, ctypes.POINTER(i), ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_char_p),
             ctypes.POINTER(ctypes.c_float)], i),
    }
    for name, (args, result) in signatures.items():
        function = getattr(lib, name)
        function.argtypes, function.restype = args, result
    return lib


@atexit.register
def _close_libraries() -> None:
    # Without End/Delete, libtesseract prints "WARNING! LEAK!" for its dictionaries at exit.
    for key, library in list(_LIBRARIES.items()):
        if library is not None and key[0] == os.getpid():
            library.close()
