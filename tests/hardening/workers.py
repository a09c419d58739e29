"""Helpers for hardening tests that run real worker processes: peak memory of a worker's
processes (from /proc, no psutil needed) and direct SQL on the test database."""
from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _hwm_kb(pid: int) -> int:
    """Peak resident set size (VmHWM) of a live process, in kB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class PeakRss:
    """Samples the worker's main process and its pool children (not tesseract, a separate
    program) every 0.2 s; a child replaced mid-run keeps its last sampled peak."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in [self.pid, *_children(self.pid)]:
                try:
                    if b"python" not in Path(f"/proc/{pid}/cmdline").read_bytes():
                        continue
                except OSError:
                    continue
                self.peaks[pid] = max(self.peaks.get(pid, 0), _hwm_kb(pid))
            self._stop.wait(0.2)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def max_mb(self) -> float:
        return max(self.peaks.values(), default=0) / 1024


@contextmanager
def db(url: str):
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        yield conn


def wait_for(predicate, timeout: float, what: str, interval: float = 0.2):
    """Poll ``predicate`` until it returns something truthy (a deadline, not a timing check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")


def worker_alive(proc) -> bool:
    return proc.poll() is None and os.path.exists(f"/proc/{proc.pid}")


def wait_ready(proc, log: Path, timeout: float = 60) -> None:
    """Until the worker logs "ready." (fails at once if it died during start-up)."""
    def ready():
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited at start-up:\n{log.read_text()[-3000:]}")
        return log.exists() and " ready." in log.read_text()

    wait_for(ready, timeout, "the worker to start")


# A test-only trigger that makes a page task's "one more page read" (the UPDATE of
# exams_submission.pages_done) wait ``seconds`` in the database, so that a test can act while
# a page task is surely in the middle of its page: a page of the sample scans is read in
# ~0.1 s, faster than a test can watch a log for it.
_HOLD = """
CREATE OR REPLACE FUNCTION test_hold_page() RETURNS trigger AS $$
BEGIN
  IF NEW.pages_done > OLD.pages_done THEN PERFORM pg_sleep({seconds}); END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER test_hold_page BEFORE UPDATE ON exams_submission
  FOR EACH ROW EXECUTE FUNCTION test_hold_page();
"""
_HELD = ("SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
         "AND datname = current_database() AND query ILIKE '%pages_done%' AND state = 'active'")


def hold_page_count(url: str, seconds: float) -> None:
    with db(url) as conn:
        conn.execute(_HOLD.format(seconds=float(seconds)))


def held_page_tasks(url: str) -> int:
    """How many page tasks are waiting in the hold now."""
    with db(url) as conn:
        return conn.execute(_HELD).fetchone()[0]


def release_page_count(url: str) -> None:
    """The hold removed; the sessions waiting in it (a killed worker's) ended first, since
    dropping the trigger waits for them."""
    with db(url) as conn:
        conn.execute(_HELD.replace("count(*)", "pg_terminate_backend(pid)"))
        conn.execute("DROP TRIGGER test_hold_page ON exams_submission")
        conn.execute("DROP FUNCTION test_hold_page()")
