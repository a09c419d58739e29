"""Scanned pages: how much of the printed text the page pipeline reads right.

    python -m bench.scan_accuracy --simulated 5 --seed 11 --procs 2
    python -m bench.scan_accuracy ... --save before.json      # then, after a change:
    python -m bench.scan_accuracy ... --compare before.json

The speed benches compare time; this one keeps a speed change honest. Every page of the
sample scans (samples/tum_endterm) and of K students simulated by tools.scansim is read as the
Celery page task reads it (bench.scan_throughput.read_page: render, checkboxes, straighten,
OCR). The truth is the blank exam's text layer for that page: the printed questions are on
every scan (the simulated marks add crosses, not words). Reported per page and in total:
  recall     share of the printed words (lower-cased runs of letters and digits, counted as a
             multiset) that the OCR read;
  extra      words read that are not printed on the page (marks, misreadings).
``--compare`` also counts the pages whose text changed against a saved run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from bench.ocr_throughput import bare_tesseract_text  # noqa: E402
from bench.scan_throughput import SAMPLES, page_jobs, read_page, render_pngs  # noqa: E402
from grader.tokens import tokens as word_tokens  # noqa: E402



def tokens(text: str) -> Counter:
    return Counter(word_tokens(text))


def blank_texts(pdf: str) -> list[str]:
    """The text layer of each page of the blank exam that ``pdf`` was scanned from."""
    from grader.pdf import read_pdf_pages

    pages = read_pdf_pages(Path(pdf).with_name("blank.pdf"))
    return [text or "" for text in pages.texts]


def score(truth: str, read: str) -> dict:
    want, got = tokens(truth), tokens(read)
    hit = sum((want & got).values())
    return {"printed": sum(want.values()), "read": hit,
            "extra": sum(got.values()) - hit}


def _read(job) -> str:
    return read_page(job).text


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--simulated", type=int, default=5, help="students simulated by tools.scansim")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--save", type=Path, help="write the text read from each page here")
    parser.add_argument("--compare", type=Path, help="a file written by --save, to count changes")
    parser.add_argument("--bare", action="store_true",
                        help="also score bare `tesseract PAGE stdout` on the rendered pages")
    parser.add_argument("--quiet", action="store_true", help="totals only")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-scan-accuracy-") as tmp:
        jobs = page_jobs(Path(tmp), args.simulated, args.seed)
        with ProcessPoolExecutor(args.procs) as pool:
            texts = list(pool.map(_read, jobs))
        truths = {pdf: blank_texts(pdf) for pdf in {job[0] for job in jobs}}
        names = [f"{'sample' if str(SAMPLES) in pdf else 'simulated'}/{Path(pdf).stem} p{index + 1}"
                 for pdf, index, _ in jobs]
        rows = [dict(page=name, **score(truths[pdf][index], text))
                for name, (pdf, index, _), text in zip(names, jobs, texts)]
        bare = None
        if args.bare:
            with ThreadPoolExecutor(args.procs) as threads:
                bare_texts = list(threads.map(bare_tesseract_text, render_pngs(jobs, Path(tmp))))
            bare = [score(truths[pdf][index], text) for (pdf, index, _), text in zip(jobs, bare_texts)]

    before = json.loads(args.compare.read_text()) if args.compare else None
    changed = 0
    for row, text in zip(rows, texts):
        note = ""
        if before is not None:
            old = before.get(row["page"])
            if old is not None and old != text:
                changed += 1
                old_read = sum((tokens(old) & tokens(text)).values())
                note = f"  changed ({old_read} of {sum(tokens(text).values())} words in common)"
        if not args.quiet:
            print(f"  {row['page']:<24} printed {row['printed']:4d}  read "
                  f"{row['read'] / max(row['printed'], 1):6.1%}  extra {row['extra']:4d}{note}")
    printed = sum(r["printed"] for r in rows)
    read = sum(r["read"] for r in rows)
    extra = sum(r["extra"] for r in rows)
    result = {"pages": len(rows), "printed_words": printed, "recall": read / printed,
              "extra_words": extra, "rows": rows}
    print(f"{len(rows)} pages: printed words read {read}/{printed} = {read / printed:.2%}, "
          f"extra words {extra}")
    if bare is not None:
        bare_read = sum(r["read"] for r in bare)
        bare_extra = sum(r["extra"] for r in bare)
        result.update(bare_recall=bare_read / printed, bare_extra_words=bare_extra)
        print(f"bare tesseract on the same rendered pages: {bare_read}/{printed} = "
              f"{bare_read / printed:.2%}, extra words {bare_extra}")
    if before is not None:
        result["pages_changed"] = changed
        print(f"pages whose text changed against {args.compare}: {changed} of {len(rows)}")
    if args.save:
        args.save.write_text(json.dumps(dict(zip(names, texts)), indent=1))
    return result


if __name__ == "__main__":
    main()
