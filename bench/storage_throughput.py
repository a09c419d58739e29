"""Graded submissions per second with the files in object storage vs the local folder.

    python -m bench.storage_throughput --submissions 200 --procs 1 2

Typed 10-page submissions (the same files as bench.redis_typed) through Redis, Celery worker
processes and PostgreSQL, with P worker processes for each P in --procs, once with the
default storage in the local folder and once in S3 (moto's standalone S3 server, its own
process on 127.0.0.1, spoken to over HTTP by django-storages/boto3 like AWS or MinIO), in the
same run and alternating (local, S3 for P=1, then for P=2) so both see the same machine load.
In the S3 phases the workers' MEDIA_ROOT is an empty folder that must stay empty.

Per phase the submissions are stored first (uploaded to the phase's storage, not enqueued),
the worker is started and warmed up, then all are enqueued at once; the time is the grading
window from the database (first claim -> last result stored), as in bench.redis_typed.
Typed submissions are where file access weighs most (~30 ms of grading each); a scanned page
spends ~1 s in OCR, against one download per worker process of the whole file. Then, per file
from S3 in one process: a HEAD, django-storages' own open().read(), and exams.files' local copy
(new, and cached).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.api_load import TYPED_EXAM, load_note, manage, project, shell  # noqa: E402
from bench.redis_typed import run_phase  # noqa: E402
from bench.typed_throughput import make_pdfs  # noqa: E402
from tests.integration.s3server import moto_s3_server  # noqa: E402

REDIS_DB_STORAGE = 6
# Per-file costs, in a process set up with the S3 settings: what a worker pays per submission.
FETCH_SCRIPT = """
import json, time
from pathlib import Path
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile
from exams import files
from exams.models import Submission
field = Submission._meta.get_field("file")
content = Path({pdf!r}).read_bytes()
names = [default_storage.save("fetch-bench/f.pdf", ContentFile(content)) for _ in range({n})]
def each(call):
    start = time.perf_counter()
    for name in names:
        call(FieldFile(None, field, name))
    return 1000 * (time.perf_counter() - start) / len(names)
out = {{"head_ms": each(lambda f: f.storage.size(f.name)),
        "storage_open_read_ms": each(lambda f: f.storage.open(f.name).read()),
        "local_copy_miss_ms": each(files.local_path),
        "local_copy_hit_ms": each(files.local_path),
        "bytes": len(content)}}
print(json.dumps(out))
"""


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--redis-db", type=int, default=REDIS_DB_STORAGE)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)
    command = "python -m bench.storage_throughput " + " ".join(
        argv if argv is not None else sys.argv[1:])
    print(f"typed {args.pages}-page submissions through Redis + Celery + PostgreSQL: "
          f"object storage (S3 API) vs local folder\n  command: {command.strip()}", flush=True)

    n, phases = args.submissions, []
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp_name:
        tmp = Path(tmp_name)
        pdfs = make_pdfs(tmp, n, args.pages)
        pdf_list = tmp / "pdfs.json"
        pdf_list.write_text(json.dumps([str(p) for p in pdfs]))
        warm_list = tmp / "warm.json"
        warm_list.write_text(json.dumps([str(p) for p in pdfs[:2 * max(args.procs)]]))
        empty_media = tmp / "s3-phase-media"
        empty_media.mkdir()
        with moto_s3_server(log=tmp / "moto.log") as s3, project(tmp, redis_db=args.redis_db) as env:
            bucket = s3.create_bucket("bench")
            storages = {"local": env,
                        "s3": {**env, **s3.env(bucket), "MEDIA_ROOT": str(empty_media)}}
            manage(env, "load_exam", str(TYPED_EXAM))
            for procs in args.procs:
                for storage, phase_env in storages.items():
                    phase = run_phase(phase_env, tmp, pdf_list, warm_list, procs, n,
                                      args.timeout, None)
                    phase["storage"] = storage
                    phases.append(phase)
                    print(f"  {storage:>5}, {procs} worker process(es): {phase['per_s']:.1f} "
                          f"submissions/s ({phase['per_s_per_process']:.1f} per process), "
                          f"statuses {phase['statuses']}; {load_note()}", flush=True)
            fetch = json.loads(shell(storages["s3"], FETCH_SCRIPT.format(pdf=str(pdfs[0]), n=40)))
            print(f"  per file of {fetch['bytes'] / 1024:.0f} KiB from S3: HEAD {fetch['head_ms']:.1f} ms; "
                  f"storage.open().read() {fetch['storage_open_read_ms']:.1f} ms; local copy: "
                  f"{fetch['local_copy_miss_ms']:.1f} ms new, {fetch['local_copy_hit_ms']:.1f} ms "
                  f"cached; {load_note()}", flush=True)
            stored = len(s3.keys(bucket))
        untouched = not any(empty_media.iterdir())
    print(f"  S3 bucket holds {stored} files; the S3 phases' local media folder stayed "
          f"{'empty' if untouched else 'NOT EMPTY'}")
    by_key = {(p["storage"], p["procs"]): p for p in phases}
    comparison = []
    for procs in args.procs:
        local, s3 = by_key[("local", procs)], by_key[("s3", procs)]
        ratio = s3["per_s"] / local["per_s"]
        # Extra time per submission in one process: 1/rate_per_process difference.
        extra_ms = 1000 * (1 / s3["per_s_per_process"] - 1 / local["per_s_per_process"])
        comparison.append({"procs": procs, "local_per_s": local["per_s"], "s3_per_s": s3["per_s"],
                           "s3_over_local": ratio, "extra_ms_per_submission": extra_ms})
        print(f"  P={procs}: local {local['per_s']:.1f}/s, S3 {s3['per_s']:.1f}/s "
              f"(x{ratio:.2f}; {extra_ms:+.1f} ms per submission per process)")
    for storage in ("local", "s3"):
        first, last = by_key[(storage, args.procs[0])], by_key[(storage, args.procs[-1])]
        if len(args.procs) > 1:
            print(f"  {storage}: scaling {args.procs[0]} -> {args.procs[-1]} processes "
                  f"x{last['per_s'] / first['per_s']:.2f}")
    return {"submissions": n, "pages": args.pages, "phases": phases, "comparison": comparison,
            "fetch": fetch, "s3_objects": stored, "s3_media_untouched": untouched, "load": load_note()}


if __name__ == "__main__":
    main()
