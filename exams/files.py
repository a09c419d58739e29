"""Stored files, opened only through Django's storage API.

Submissions and blank exams live in the default storage: the local folder (``MEDIA_ROOT``) or
S3-compatible object storage (settings). The grading core reads PDFs by path (PDFium, pypdf),
so a file in object storage is copied to a local temporary file first. The copies are kept in
a per-process cache, keyed by the file's storage name and reused while the stored file still
has the copy's size (one HEAD request), so the page tasks of one scanned submission that land
in the same worker process download it once, not once per page.
The cache is bounded (``GRADER_FILE_CACHE_MB``; least recently used copies go first) and
removed when the process exits, or by the next process that finds it orphaned.

- ``local_copy(field_file)``: a context manager yielding a local path, kept while inside.
- ``local_path(field_file)``: the same path without the context, for a caller that uses it at
  once (never evicted within ``GRACE_S`` of its last use).

Storage that has local files (``FileSystemStorage``) needs no copy: its own path is used.
Errors: a missing file raises FileNotFoundError; storage that cannot be reached raises
StorageUnavailable (a ConnectionError, which the Celery tasks retry).
"""
from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from django.conf import settings
from django.db.models.fields.files import FieldFile

log = logging.getLogger(__name__)

# Under the temporary folder, one per user (another user may not enter it), then per process.
CACHE_PARENT = f"grader-files-{os.getuid()}"
# A copy handed out by local_path() is not evicted for this long after its last use.
GRACE_S = 60.0
_CHUNK = 1024 * 1024


class StorageUnavailable(ConnectionError):
    """The storage could not be reached (network, endpoint down, throttled): worth a retry."""


@dataclass
class _Entry:
    copy: Path
    size: int
    used_at: float
    pins: int = 0
    stale: bool = False


class _FileCache:
    """Local copies of stored files for this process (reset after a fork)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._dir: Path | None = None
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._downloading: dict[tuple[str, str], threading.Lock] = {}

    # ---- the folder
    def _folder(self) -> Path:
        """This process's cache folder; a forked child starts its own (the parent's index
        and files are the parent's)."""
        if self._pid != os.getpid() or self._dir is None:
            self._pid = os.getpid()
            self._entries = OrderedDict()
            self._downloading = {}
            parent = Path(tempfile.gettempdir()) / CACHE_PARENT
            parent.mkdir(mode=0o700, exist_ok=True)
            _remove_orphans(parent)
            self._dir = Path(tempfile.mkdtemp(prefix=f"{self._pid}-", dir=parent))
            atexit.register(_remove_folder, self._dir, self._pid)
        return self._dir

    @property
    def budget(self) -> int:
        return int(getattr(settings, "GRADER_FILE_CACHE_MB", 256)) * 1024 * 1024

    # ---- use
    @contextmanager
    def pinned(self, field_file: FieldFile) -> Iterator[Path]:
        key = _key(field_file)
        with self._lock:
            folder = self._folder()
            entry = self._pin(key)
        if entry is not None:
            try:
                same = entry.size == _stored_size(field_file)
            except BaseException:   # gone, or storage unreachable: release, then report it
                self._unpin(key, entry)
                raise
            if not same:
                self._unpin(key, entry, stale=True)    # the name now holds other content
                entry = None
        if entry is None:
            with self._lock:
                fetch_lock = self._downloading.setdefault(key, threading.Lock())
            # One download per file at a time; other threads asking for it wait for it.
            with fetch_lock:
                with self._lock:
                    entry = self._pin(key)
                if entry is None:
                    copy = _download(field_file, folder)
                    with self._lock:
                        self._entries[key] = _Entry(copy, copy.stat().st_size, time.monotonic())
                        self._downloading.pop(key, None)
                        entry = self._pin(key)
        with self._lock:
            self._evict()
        try:
            yield entry.copy
        finally:
            self._unpin(key, entry)

    def _unpin(self, key: tuple[str, str], entry: _Entry, *, stale: bool = False) -> None:
        """Release a use; a stale copy leaves the index at once and the disk when unused."""
        with self._lock:
            entry.pins -= 1
            entry.used_at = time.monotonic()
            if stale and self._entries.get(key) is entry:
                del self._entries[key]
                entry.stale = True
            if entry.stale and not entry.pins:
                entry.copy.unlink(missing_ok=True)

    def _pin(self, key: tuple[str, str]) -> _Entry | None:
        """The cached copy, marked in use (under the lock, so it cannot be evicted between
        being found and being pinned), or None."""
        entry = self._entries.get(key)
        if entry is not None:
            entry.pins += 1
            entry.used_at = time.monotonic()
            self._entries.move_to_end(key)
        return entry

    def after_fork(self) -> None:
        """A forked child must not inherit a lock another thread of the parent held."""
        self._lock = threading.Lock()

    def _evict(self) -> None:
        """Least recently used first, until within budget; never a copy in use (pinned or
        handed out by local_path within GRACE_S)."""
        total = sum(e.size for e in self._entries.values())
        now = time.monotonic()
        for key in list(self._entries):
            if total <= self.budget:
                return
            entry = self._entries[key]
            if entry.pins or now - entry.used_at < GRACE_S:
                continue
            del self._entries[key]
            total -= entry.size
            entry.copy.unlink(missing_ok=True)

    def stats(self) -> dict[str, int]:
        with self._lock:
            return {"files": len(self._entries),
                    "bytes": sum(e.size for e in self._entries.values())}

    def clear(self) -> None:
        """Forget and delete every copy not in use."""
        with self._lock:
            for key, entry in list(self._entries.items()):
                if not entry.pins:
                    del self._entries[key]
                    entry.copy.unlink(missing_ok=True)


_cache = _FileCache()
os.register_at_fork(after_in_child=_cache.after_fork)


def _key(field_file: FieldFile) -> tuple[str, str]:
    """(storage, name) of a stored file."""
    storage = field_file.storage
    where = f"{type(storage).__module__}.{type(storage).__qualname__}:" \
            f"{getattr(storage, 'bucket_name', '')}/{getattr(storage, 'location', '')}"
    return where, field_file.name


def _stored_size(field_file: FieldFile) -> int:
    """The stored file's size now (one HEAD request on object storage): a cached copy is used
    only while the name still holds a file of its size (an overwriting storage, or a name
    freed and taken again, almost always comes with another size)."""
    return _storage_call(field_file, lambda: field_file.storage.size(field_file.name))


def _download(field_file: FieldFile, folder: Path) -> Path:
    """Stream the stored file into ``folder`` (through the storage API), read-only."""
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            def copy() -> None:
                with _open_stream(field_file) as stored:
                    shutil.copyfileobj(stored, out, _CHUNK)
            _storage_call(field_file, copy)
        final = Path(tmp).with_suffix(Path(field_file.name).suffix or ".bin")
        os.replace(tmp, final)
        final.chmod(0o400)
        return final
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _open_stream(field_file: FieldFile):
    """The stored file as a readable stream, through its storage.

    django-storages' S3 backend answers ``storage.open()`` with two HEAD requests before the
    GET (S3File checks that the object exists, then s3transfer asks for its size): measured
    against the test S3 server, 3 requests and ~60 ms per file where one GET takes ~20 ms. So
    an S3 storage streams the object with a single GET, from the storage's own bucket, key
    (its ``location`` prefix applied as it does) and object parameters (e.g. SSE-C keys);
    any other storage is opened the standard way."""
    storage = field_file.storage
    bucket = getattr(storage, "bucket", None)
    if bucket is None or not hasattr(storage, "get_object_parameters"):
        return storage.open(field_file.name, "rb")
    from s3transfer.manager import TransferManager
    from storages.utils import clean_name, safe_join

    name = clean_name(field_file.name)
    params = {k: v for k, v in storage.get_object_parameters(name).items()
              if k in TransferManager.ALLOWED_DOWNLOAD_ARGS}
    return closing(bucket.Object(safe_join(storage.location, name)).get(**params)["Body"])


def _storage_call(field_file: FieldFile, call):
    """Run a storage call; a missing file becomes FileNotFoundError, an unreachable store
    StorageUnavailable (S3 errors are botocore's own types)."""
    try:
        return call()
    except FileNotFoundError:
        raise FileNotFoundError(f"stored file {field_file.name} is missing from storage") from None
    except Exception as exc:
        kind = _classify(exc)
        if kind == "missing":
            raise FileNotFoundError(
                f"stored file {field_file.name} is missing from storage") from None
        if kind == "unavailable":
            raise StorageUnavailable(
                f"file storage unreachable while reading {field_file.name}: "
                f"{type(exc).__name__}") from exc
        raise


def _classify(exc: Exception) -> str:
    try:
        from botocore.exceptions import ClientError, ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:   # local storage only: nothing botocore-specific to recognise
        return ""
    if isinstance(exc, (BotoConnectionError, HTTPClientError)):
        return "unavailable"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if str(error.get("Code")) in ("404", "NoSuchKey", "NotFound") or status == 404:
            return "missing"
        if status >= 500 or error.get("Code") in ("SlowDown", "RequestTimeout", "Throttling"):
            return "unavailable"
    return ""


def _local_file(field_file: FieldFile) -> Path | None:
    """The storage's own local path, when it keeps files on this machine's disk."""
    try:
        return Path(field_file.storage.path(field_file.name))
    except NotImplementedError:   # object storage: no local path
        return None


@contextmanager
def local_copy(field_file: FieldFile) -> Iterator[Path]:
    """A local path holding the stored file's content, valid inside the ``with`` block."""
    if not field_file:
        raise FileNotFoundError("no file stored")
    local = _local_file(field_file)
    if local is not None:
        yield local
        return
    with _cache.pinned(field_file) as path:
        yield path


def local_path(field_file: FieldFile) -> str:
    """A local path holding the stored file's content, for immediate use by this thread
    (the copy is kept at least GRACE_S after this call; see ``local_copy`` otherwise)."""
    with local_copy(field_file) as path:
        return str(path)


def cache_stats() -> dict[str, int]:
    return _cache.stats()


def clear_cache() -> None:
    _cache.clear()


def _remove_folder(folder: Path, pid: int) -> None:
    if os.getpid() == pid:   # a forked child exiting must not delete its parent's copies
        shutil.rmtree(folder, ignore_errors=True)


def _remove_orphans(parent: Path) -> None:
    """Delete the cache folders of processes that no longer run (killed, or exited without
    running atexit handlers, as pool processes may)."""
    for folder in parent.iterdir():
        pid = folder.name.split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
