"""Worker memory: peak RSS of each Celery pool process while grading a long scanned submission.

    python -m bench.worker_memory --pages 40 --procs 2

Builds a ``--pages``-page scanned PDF by concatenating the pages of the sample scans
(samples/tum_endterm/student_*.pdf, 3 pages each, in order, repeated: 14 x 3 = 42, cut to 40)
with pypdf, loads the IN2346 exam (checkbox template from its blank PDF) into a fresh
PostgreSQL database, starts a Celery worker with ``--procs`` prefork processes on a flushed
Redis database number, and grades the file through the broker with `manage.py grade` (pages
fanned out as one task each, joined by the assemble task). Reads VmHWM (peak resident set)
and VmRSS from /proc/<pid>/status of every pool process when idle after start-up and after
grading, and of the worker's main process. VmHWM counts pages shared with the parent after
fork too, so the figures are upper bounds of what each process adds.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api_load import (  # noqa: E402
    REDIS_DB_MEMORY, celery_workers, load_note, manage, proc_status_kib, project,
)

SAMPLES = ROOT / "samples/tum_endterm"
SCAN_CODE = "IN2346-ENDTERM"


def build_scan(path: Path, pages: int) -> int:
    """``pages`` pages of the sample scans, cycled in order; returns the file size in bytes."""
    from pypdf import PdfReader, PdfWriter

    sources = [PdfReader(str(p)) for p in sorted(SAMPLES.glob("student_*.pdf"))]
    all_pages = [page for reader in sources for page in reader.pages]
    writer = PdfWriter()
    for i in range(pages):
        writer.add_page(all_pages[i % len(all_pages)])
    with open(path, "wb") as fh:
        writer.write(fh)
    return path.stat().st_size


def memory(pids: list[int]) -> list[dict]:
    return [{"pid": pid, "hwm_mib": (proc_status_kib(pid, "VmHWM") or 0) / 1024,
             "rss_mib": (proc_status_kib(pid, "VmRSS") or 0) / 1024} for pid in pids]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=40)
    parser.add_argument("--procs", type=int, default=2, help="worker pool processes")
    parser.add_argument("--redis-db", type=int, default=REDIS_DB_MEMORY)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args(argv)
    command = "python -m bench.worker_memory " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"worker memory: one {args.pages}-page scanned submission, {args.procs} pool processes\n"
          f"  command: {command.strip()}", flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp_name:
        tmp = Path(tmp_name)
        scan = tmp / f"scan_{args.pages}_pages.pdf"
        size = build_scan(scan, args.pages)
        with project(tmp, redis_db=args.redis_db) as env:
            manage(env, "load_exam", str(SAMPLES / "exam.yaml"))
            with celery_workers(env, concurrency=args.procs, log=tmp / "worker.log") as workers:
                pool = workers.pool_pids()
                idle = memory(pool)
                main_before = memory([workers.proc.pid])[0]
                start = time.monotonic()
                out = manage(env, "grade", SCAN_CODE, str(scan), "--json", "--timeout",
                             str(args.timeout), timeout=args.timeout + 60).stdout
                seconds = time.monotonic() - start
                after = memory(pool)
                main_after = memory([workers.proc.pid])[0]
                still = workers.pool_pids()
    result = json.loads(out.strip().splitlines()[-1])
    peak = max(p["hwm_mib"] for p in after)
    row = {"pages": args.pages, "file_mib": size / 2**20, "procs": args.procs,
           "status": result["status"], "error": result.get("error"),
           "seconds": seconds, "pages_per_s": args.pages / seconds,
           "pool_idle": idle, "pool_after": after, "main_before": main_before,
           "main_after": main_after, "pool_replaced": sorted(still) != sorted(pool),
           "peak_hwm_mib": peak, "load": load_note()}
    print(f"  {args.pages} pages ({row['file_mib']:.1f} MiB PDF) graded in {seconds:.1f} s "
          f"({row['pages_per_s']:.2f} pages/s), status {row['status']}"
          + (f" ({row['error']})" if row["error"] else ""))
    for before, now in zip(idle, after):
        print(f"  pool process {now['pid']}: peak RSS (VmHWM) {now['hwm_mib']:.0f} MiB "
              f"(idle after start-up {before['hwm_mib']:.0f} MiB), RSS now {now['rss_mib']:.0f} MiB")
    print(f"  worker main process: VmHWM {main_after['hwm_mib']:.0f} MiB "
          f"(at start {main_before['hwm_mib']:.0f} MiB)")
    if row["pool_replaced"]:
        print("  WARNING: pool processes were replaced during the run (killed?); "
              "their peaks are lost")
    print(f"  peak per worker process: {peak:.0f} MiB; {load_note()}")
    return row


if __name__ == "__main__":
    main()
