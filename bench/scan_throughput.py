"""Scanned PDFs: pages per second of the real page pipeline against bare Tesseract.

    python -m bench.scan_throughput --simulated 3 --procs 1 2

Pages: every page of the sample scans (samples/tum_endterm/student_*.pdf) plus, with
``--simulated K``, the pages of K more students simulated by tools.scansim (seeded: random
marks, handwriting, 150-300 dpi, skew, blur, noise, JPEG, the odd upside-down page).

In the same run, for each process count P:
  1. bare:     `tesseract PAGE.png stdout` (OMP_THREAD_LIMIT=1), P at a time, on the pages
               rendered beforehand at the pipeline's resolution (grader.scan.SCAN_DPI);
  2. pipeline: what a Celery page task does (grader.scan.read_scanned, the same function
               the task calls, without the database): render the PDF page, register and read
               the checkboxes against the blank exam's template, normalise + deskew + OCR
               (grader.ocr.read_scanned_page), in a pool of P warmed-up processes.
Prints pages/second for each, the ratio pipeline/bare (target >= 0.9) and the scaling from
the first to the last process count. Both see the same background load (interleaved);
``--repeat R`` keeps the best of R runs of each.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.ocr_throughput import bare_tesseract_words, run_bare, run_in_processes

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

SAMPLES = ROOT / "samples/tum_endterm"
SCAN_DPI = 300      # grader.scan.SCAN_DPI (imported by the pool processes, not here)
TARGET_RATIO = 0.9

# (pdf path, 0-based page index, template boxes of that page)
Job = tuple[str, int, list]


def page_jobs(folder: Path, simulated: int, seed: int) -> list[Job]:
    """Every page of the sample scans, plus ``simulated`` students from tools.scansim."""
    from grader.omr import template_from_pdf
    from grader.render import pdf_page_count

    sets = [(SAMPLES / "blank.pdf", sorted(SAMPLES.glob("student_*.pdf")))]
    if simulated:
        from tools.scansim import generate

        out = folder / "simulated"
        truth = generate(out, students=simulated, seed=seed)
        sets.append((out / "blank.pdf", [out / s["file"] for s in truth["submissions"]]))
    jobs: list[Job] = []
    for blank, pdfs in sets:
        template = template_from_pdf(blank)
        for pdf in pdfs:
            for index in range(pdf_page_count(pdf)):
                jobs.append((str(pdf), index, [b for b in template if b.page == index + 1]))
    return jobs


def render_pngs(jobs: list[Job], folder: Path) -> list[Path]:
    """The bare run's input: each page rendered as the pipeline renders it, as PNG."""
    from grader.render import render_pdf_page

    paths = []
    for n, (pdf, index, _) in enumerate(jobs):
        page = render_pdf_page(pdf, index, dpi=SCAN_DPI)
        path = folder / f"page_{n:03d}.png"
        page.image.save(path, dpi=(page.dpi, page.dpi))
        paths.append(path)
    return paths


def pipeline_page(job: Job) -> int:
    """One scanned page as the page task reads it; returns the number of words read."""
    return len(read_page(job).words)


def read_page(job: Job):
    """One scanned page as the page task reads it (a grader.pages.PageRead)."""
    from grader.exam import Checkbox, ExamSpec
    from grader.ocr import OcrOptions
    from grader.scan import pdf_renderer, read_scanned

    pdf, index, boxes = job
    exam = ExamSpec(questions=(), checkboxes=tuple(Checkbox(f"box{i}", 1, box)
                                                   for i, box in enumerate(boxes)))
    return read_scanned(index + 1, exam, pdf_renderer(pdf), OcrOptions(timeout_s=120))


def breakdown(jobs: list[Job], pngs: list[Path]) -> dict[str, float]:
    """Seconds per stage over all pages, one process, with the bare run of each page beside
    it. The stages are timed by wrapping grader.ocr's functions (read_scanned_page calls
    them through the module), so the pipeline's own logic is what runs."""
    from grader import ocr
    from grader.omr import read_template_boxes
    from grader.render import render_pdf_page

    totals: dict[str, float] = {}

    def timed(name, fn):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                totals[name] = totals.get(name, 0.0) + time.perf_counter() - start
        return wrapper

    names = {"normalise": "normalise", "deskew": "deskew", "ocr_words": "tesseract (TSV) + digit split",
             "detect_orientation": "orientation check (OSD)"}
    originals = {attr: getattr(ocr, attr) for attr in names}
    straightened: list = []

    def keep_image(fn):
        def wrapper(image, *args, **kwargs):
            straightened.append(image)
            return fn(image, *args, **kwargs)
        return wrapper

    try:
        for attr, label in names.items():
            setattr(ocr, attr, timed(label, originals[attr]))
        ocr.ocr_words = keep_image(ocr.ocr_words)
        for (pdf, index, boxes), png in zip(jobs, pngs):
            start = time.perf_counter()
            image = render_pdf_page(pdf, index, dpi=SCAN_DPI)
            totals["render"] = totals.get("render", 0.0) + time.perf_counter() - start
            rotation = None
            if boxes:
                registration, _ = timed("checkboxes (register + read)", read_template_boxes)(
                    image.array, image.dpi, boxes)
                rotation = registration.upright_turn_cw if registration.ok else None
            timed("read_scanned_page (all of OCR)", ocr.read_scanned_page)(
                image, timeout_s=120, known_rotation=rotation)
            timed("bare tesseract (same page)", bare_tesseract_words)(png)
            # The same command on the page the pipeline OCRs (straightened, turned): how much
            # of the difference is the reading of more text rather than the pipeline's work.
            prepared = png.with_name(png.stem + "_straightened.png")
            straightened.pop().save(prepared, dpi=(SCAN_DPI, SCAN_DPI))
            straightened.clear()
            timed("bare tesseract (straightened page)", bare_tesseract_words)(prepared)
    finally:
        for attr, fn in originals.items():
            setattr(ocr, attr, fn)
    return totals


def _warm(_: int) -> None:
    import grader.ocr  # noqa: F401  (imports paid before the clock starts)
    import grader.omr  # noqa: F401
    import grader.render  # noqa: F401
    import pypdfium2  # noqa: F401
    from grader.scan import warm_up

    warm_up()          # what a worker's pool process loads when it starts (worker.celery)
    time.sleep(0.05)   # long enough that every pool process gets one


def run_pipeline(jobs: list[Job], procs: int) -> tuple[float, int]:
    return run_in_processes(pipeline_page, jobs, procs, _warm)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--simulated", type=int, default=3,
                        help="extra students simulated by tools.scansim (0 = samples only)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the simulated students")
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=1, help="keep the best of R runs")
    parser.add_argument("--breakdown", action="store_true",
                        help="also time each stage, one process (where the time goes)")
    args = parser.parse_args(argv)
    command = "python -m bench.scan_throughput " + " ".join(argv if argv is not None else sys.argv[1:])

    with tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp_name:
        tmp = Path(tmp_name)
        jobs = page_jobs(tmp, args.simulated, args.seed)
        pngs = render_pngs(jobs, tmp)
        n = len(jobs)
        from_samples = sum(str(SAMPLES) in job[0] for job in jobs)
        print(f"scanned pages: {n} ({from_samples} from samples/tum_endterm, {n - from_samples} "
              f"from {args.simulated} simulated students), {os.cpu_count()} CPUs, "
              f"OMP_THREAD_LIMIT=1\n  command: {command.strip()}", flush=True)
        rows = []
        for procs in args.procs:
            bare = pipe = float("inf")
            for _ in range(args.repeat):   # interleaved: both see the same background load
                seconds, bare_words = run_bare(pngs, procs)
                bare = min(bare, seconds)
                seconds, pipe_words = run_pipeline(jobs, procs)
                pipe = min(pipe, seconds)
            row = {"procs": procs, "pages": n, "bare_pages_per_s": n / bare,
                   "pipeline_pages_per_s": n / pipe, "ratio": bare / pipe,
                   "bare_words": bare_words, "pipeline_words": pipe_words}
            row["target_met"] = row["ratio"] >= TARGET_RATIO
            rows.append(row)
            print(f"  P={procs}: bare tesseract {row['bare_pages_per_s']:.2f} pages/s "
                  f"({bare_words} words), pipeline {row['pipeline_pages_per_s']:.2f} pages/s "
                  f"({pipe_words} words), ratio pipeline/bare {row['ratio']:.2f} "
                  f"(target >= {TARGET_RATIO}: {'met' if row['target_met'] else 'NOT met'})",
                  flush=True)
        stages = breakdown(jobs, pngs) if args.breakdown else None
    result = {"pages": n, "rows": rows, "load": f"{os.getloadavg()[0]:.2f}"}
    if stages:
        result["stages_s"] = stages
        print(f"  where the time goes, 1 process, {n} pages (seconds in total):")
        for name, seconds in sorted(stages.items(), key=lambda kv: -kv[1]):
            print(f"    {name:<34} {seconds:6.2f}")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        result["bare_scaling"] = last["bare_pages_per_s"] / first["bare_pages_per_s"]
        result["pipeline_scaling"] = last["pipeline_pages_per_s"] / first["pipeline_pages_per_s"]
        print(f"  scaling {first['procs']} -> {last['procs']} processes: bare "
              f"x{result['bare_scaling']:.2f}, pipeline x{result['pipeline_scaling']:.2f}")
    print(f"  load average at the end: {result['load']}")
    return result


if __name__ == "__main__":
    main()
