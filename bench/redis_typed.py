"""Typed PDFs through the real services: Redis broker, Celery worker processes, PostgreSQL.

    python -m bench.redis_typed --submissions 100 --pages 10 --procs 1 2

The same typed 10-page submissions as bench.typed_throughput (tools.typed_pdf, seeded text),
graded by a Celery worker with P prefork processes for each P in --procs, on a fresh
PostgreSQL database with a flushed Redis database number as broker. Per phase: the
submissions are stored first (not enqueued), the worker is started and ready, then all are
enqueued at once (after a small untimed warm-up batch, so each pool process has paid its
lazy imports); the time is the grading window from the database (first claim ->
last result stored), so worker start-up and the upload path are not in it. In the same run,
pypdf's own extraction of the same files (this process, one core) is the baseline.

Prints submissions/second end to end and per worker process, and the ratio of the worker's
time per submission to pypdf's. Target: >= 20 typed 10-page submissions/s per worker process.
``--profile DIR`` also records the busiest phase-1 pool process with py-spy (if installed).
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api_load import (  # noqa: E402
    GRADED, REDIS_DB_TYPED, TYPED_CODE, TYPED_EXAM, celery_workers, grading_window, load_note,
    manage, project, shell, status_counts, wait_final,
)
from bench.typed_throughput import make_pdfs  # noqa: E402

TARGET_PER_PROCESS = 20.0

CREATE_SCRIPT = """
import json
from pathlib import Path
from exams import services
from exams.models import Exam
exam = Exam.objects.get(code={code!r})
ids = []
for i, path in enumerate(json.loads(Path({paths!r}).read_text())):
    s = services.submission_create(exam=exam, student="{prefix}%03d" % i,
                                   content=Path(path).read_bytes(), enqueue=False)
    ids.append(s.pk)
print(json.dumps(ids))
"""
ENQUEUE_SCRIPT = """
from exams import services
for pk in {ids!r}:
    services.submission_enqueue(submission_id=pk)
print("enqueued")
"""


def pypdf_seconds(pdfs: list[Path], repeat: int = 2) -> float:
    """Best of ``repeat``: pypdf text extraction of every page of every file (one process)."""
    from pypdf import PdfReader

    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for p in pdfs:
            for page in PdfReader(str(p)).pages:
                page.extract_text()
        best = min(best, time.perf_counter() - start)
    return best


def py_spy_record(pid: int, out: Path, seconds: float) -> subprocess.Popen | None:
    exe = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(exe).exists():
        print("  (--profile: py-spy is not installed; pip install py-spy)")
        return None
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(int(seconds)),
                             "--rate", "200", "--format", "raw", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


def run_phase(env: dict, tmp: Path, pdf_list: Path, warm_list: Path, procs: int, n: int,
              timeout: float, profile: Path | None) -> dict:
    ids = json.loads(shell(env, CREATE_SCRIPT.format(code=TYPED_CODE, paths=str(pdf_list),
                                                     prefix=f"p{procs}-s")))
    warm = json.loads(shell(env, CREATE_SCRIPT.format(code=TYPED_CODE, paths=str(warm_list),
                                                      prefix=f"p{procs}-warm")))
    with celery_workers(env, concurrency=procs, log=tmp / f"worker-{procs}.log") as workers:
        # Warm-up, not timed: each pool process pays its lazy imports (SymPy, pypdf, the
        # grader) on its first task; the timed batch measures the steady state.
        shell(env, ENQUEUE_SCRIPT.format(ids=warm))
        wait_final(env, warm, expected=len(warm), timeout=timeout)
        spy = None
        if profile is not None and procs == 1:
            spy = py_spy_record(workers.pool_pids()[0], profile / "redis_typed_worker.txt",
                                seconds=5 + 1.2 * n / 6)   # ~6/s measured on 2 cores
        t0 = time.monotonic()
        shell(env, ENQUEUE_SCRIPT.format(ids=ids))
        rows, _ = wait_final(env, ids, expected=len(ids), timeout=timeout)
        wall = time.monotonic() - t0
        if spy is not None:
            spy.wait(timeout=120)
            print(f"  py-spy profile: {profile / 'redis_typed_worker.txt'}")
    window = grading_window(rows) or float("nan")
    graded = sum(r["status"] in GRADED for r in rows)
    return {"procs": procs, "submissions": n, "graded": graded, "statuses": status_counts(rows),
            "window_s": window, "wall_s": wall, "per_s": graded / window,
            "per_s_per_process": graded / window / procs}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=100)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--redis-db", type=int, default=REDIS_DB_TYPED)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--profile", type=Path, help="py-spy raw profile of phase 1 into DIR")
    args = parser.parse_args(argv)
    command = "python -m bench.redis_typed " + " ".join(argv if argv is not None else sys.argv[1:])
    print(f"typed {args.pages}-page submissions through Redis + Celery + PostgreSQL\n"
          f"  command: {command.strip()}", flush=True)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    n = args.submissions
    phases = []
    with tempfile.TemporaryDirectory(prefix="bench-redis-typed-") as tmp_name:
        tmp = Path(tmp_name)
        pdfs = make_pdfs(tmp, n, args.pages)
        pdf_list = tmp / "pdfs.json"
        pdf_list.write_text(json.dumps([str(p) for p in pdfs]))
        warm_list = tmp / "warm.json"   # 2 per process (same files; the students differ)
        warm_list.write_text(json.dumps([str(p) for p in pdfs[:2 * max(args.procs)]]))
        with project(tmp, redis_db=args.redis_db) as env:
            manage(env, "load_exam", str(TYPED_EXAM))
            baselines = []
            for procs in args.procs:
                baselines.append(pypdf_seconds(pdfs))   # right before each phase: same load
                phases.append(run_phase(env, tmp, pdf_list, warm_list, procs, n, args.timeout,
                                        args.profile))
                print(f"  {procs} worker process(es): {phases[-1]['per_s']:.1f} submissions/s "
                      f"({phases[-1]['per_s_per_process']:.1f} per process), "
                      f"statuses {phases[-1]['statuses']}; {load_note()}", flush=True)
    t_base = min(baselines)
    pypdf_per_s = n / t_base
    print(f"  pypdf extraction only (1 process): {pypdf_per_s:.1f} submissions/s "
          f"({1000 * t_base / n:.1f} ms per submission)")
    for ph in phases:
        ph["time_over_pypdf"] = pypdf_per_s / ph["per_s_per_process"]
        ph["target_met"] = ph["per_s_per_process"] >= TARGET_PER_PROCESS
        print(f"  P={ph['procs']}: {ph['per_s']:6.1f} submissions/s end to end, "
              f"{ph['per_s_per_process']:6.1f} per worker process "
              f"(time per submission x{ph['time_over_pypdf']:.2f} of pypdf's); "
              f"grading window {ph['window_s']:.1f} s; target >= {TARGET_PER_PROCESS:g}/s "
              f"per process: {'met' if ph['target_met'] else 'NOT met'}")
    if len(phases) > 1:
        print(f"  scaling {phases[0]['procs']} -> {phases[-1]['procs']} processes: "
              f"x{phases[-1]['per_s'] / phases[0]['per_s']:.2f}")
    return {"submissions": n, "pages": args.pages, "pypdf_per_s": pypdf_per_s,
            "phases": phases, "load": load_note()}


if __name__ == "__main__":
    main()
