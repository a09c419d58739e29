"""Typed PDFs: submissions per second end to end, against pypdf's own extraction time.

    python -m bench.typed_throughput --submissions 40 --pages 10

Measured in one run on the same files (the machine is noisy, so only ratios are compared):
  1. baseline: pypdf text extraction of every page (what any grader must pay),
  2. core:     grader core only (pdf -> segment -> parse -> score), no database,
  3. embedded: the whole path with the database (SQLite, in-process tasks): submission saved,
               graded, answers stored.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.embedded import setup_embedded_django  # noqa: E402


def make_pdfs(folder: Path, count: int, pages: int) -> list[Path]:
    from tools.typed_pdf import text_to_pdf

    source = (ROOT / "samples/ai6126_a2/sources/seed001_student.txt").read_text(encoding="utf-8")
    # Half a page of working per extra page (a full page of it wrapped onto two pages, which
    # made the "10-page" files 18 pages long until 2026-11-23).
    filler = ("Additional working, not part of any answer. " * 20 + "\n") * 3
    body = source + "".join(f"\f{filler}" for _ in range(max(0, pages - 2)))
    paths = []
    for i in range(count):
        path = folder / f"student_{i:03d}.pdf"
        text_to_pdf(body.replace("Deadline", f"Student {i} deadline"), path)
        paths.append(path)
    from grader.render import pdf_page_count

    assert pdf_page_count(paths[0]) == pages, (pdf_page_count(paths[0]), pages)
    return paths


def time_it(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--submissions", type=int, default=40)
    parser.add_argument("--pages", type=int, default=10)
    args = parser.parse_args(argv)

    tmp = setup_embedded_django("bench-typed-")
    from django.db.models import Count

    from exams import grading, services
    from grader.pages import text_layer_page
    from grader.pdf import read_pdf_pages
    from grader.pipeline import grade_document

    exam, _ = services.exam_load(text=(ROOT / "samples/ai6126_a2/exam.yaml").read_text())
    spec = grading.exam_spec(exam)
    pdfs = make_pdfs(tmp, args.submissions, args.pages)
    blobs = [p.read_bytes() for p in pdfs]

    def baseline():
        from pypdf import PdfReader

        for p in pdfs:
            for page in PdfReader(str(p)).pages:
                page.extract_text()

    def core():
        for p in pdfs:
            texts = read_pdf_pages(p).texts
            grade_document([text_layer_page(n, t) for n, t in enumerate(texts, start=1)], spec)

    def embedded():
        for i, blob in enumerate(blobs):
            services.submission_create(exam=exam, student=f"s{i}", content=blob)

    core()  # warm-up: imports, SymPy caches
    t_base, t_core, t_emb = time_it(baseline), time_it(core), time_it(embedded)
    n = args.submissions
    # A grading error is swallowed on commit (the upload must not fail): without this check a
    # broken grader would show up as a very fast "end to end".
    from exams.models import Submission

    statuses = dict(Submission.objects.order_by().values_list("status").annotate(n=Count("id")))
    row = {
        "submissions": n, "pages": args.pages,
        "pypdf_per_s": n / t_base, "core_per_s": n / t_core, "embedded_per_s": n / t_emb,
        "core_over_pypdf": t_core / t_base, "embedded_over_pypdf": t_emb / t_base,
        "embedded_statuses": statuses,
        "embedded_all_graded": sum(statuses.get(k, 0) for k in ("graded", "needs_review")) == n,
    }
    print(f"typed {args.pages}-page submissions, {n} of them, one process:")
    print(f"  pypdf extraction only   {row['pypdf_per_s']:7.1f} submissions/s")
    print(f"  grader core (no DB)     {row['core_per_s']:7.1f} submissions/s  "
          f"(time ×{row['core_over_pypdf']:.2f} of pypdf)")
    print(f"  embedded end to end     {row['embedded_per_s']:7.1f} submissions/s  "
          f"(time ×{row['embedded_over_pypdf']:.2f} of pypdf)")
    if not row["embedded_all_graded"]:
        print(f"  WARNING: not every embedded submission was graded: {statuses}; "
              f"the embedded figure is not a grading time")
    return row


if __name__ == "__main__":
    main()
