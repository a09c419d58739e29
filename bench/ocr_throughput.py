"""Scanned pages: OCR pages per second of the pipeline against bare tesseract.

    python -m bench.ocr_throughput --pages 8 --procs 1 2

Builds N scanned-looking pages (the sample student answer typed with tools.typed_pdf, rendered
at grader.ocr.OCR_DPI, skewed by up to ±3°, sensor noise, saved as PNG with its dpi), then in
the same run, for each process count P:
  1. bare:     `tesseract PAGE.png stdout` with OMP_THREAD_LIMIT=1, P processes at a time,
  2. pipeline: grader.ocr.read_scanned_page (load PNG, normalise, deskew, OCR, digit-row fix)
               in a pool of P worker processes.
Prints pages/second for each, the ratio pipeline/bare (target >= 0.9), and the scaling from
the first to the last process count. The machine may be shared, so compare the ratios of one
run; `--repeat` keeps the best of several runs of each measurement.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

SOURCE = ROOT / "samples/ai6126_a2/sources/seed001_student.txt"


def make_pages(folder: Path, count: int) -> list[Path]:
    """``count`` PNG scans: the typed sample answer's pages, each skewed and noised."""
    import numpy as np
    from PIL import Image

    from grader.ocr import OCR_DPI
    from grader.render import load_document_pages
    from tools.typed_pdf import text_to_pdf

    pdf = folder / "answer.pdf"
    text_to_pdf(SOURCE.read_text(encoding="utf-8"), pdf)
    rendered = load_document_pages(pdf, dpi=OCR_DPI)
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        page = rendered[i % len(rendered)].image
        angle = float(rng.uniform(-3.0, 3.0))
        skewed = page.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=255)
        pixels = np.asarray(skewed, dtype=np.float32) + rng.normal(0.0, 10.0, skewed.size[::-1])
        scan = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        path = folder / f"scan_{i:03d}.png"
        scan.save(path, dpi=(OCR_DPI, OCR_DPI))
        paths.append(path)
    return paths


def bare_tesseract_text(path: Path) -> str:
    """Bare `tesseract PAGE stdout`, one thread: the baseline every scan bench compares with."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    return subprocess.run(["tesseract", str(path), "stdout"], env=env, check=True,
                          capture_output=True, text=True).stdout


def bare_tesseract_words(path: Path) -> int:
    return len(bare_tesseract_text(path).split())


def _pipeline_one(path: str) -> int:
    from grader.ocr import read_scanned_page
    from grader.render import load_image_file

    page = read_scanned_page(load_image_file(path), timeout_s=120).text
    return len(page.words)


def _warm_up() -> None:
    import grader.ocr  # noqa: F401  (imports paid before the clock starts)
    import grader.render  # noqa: F401
    from grader.scan import warm_up

    warm_up()          # what a worker's pool process loads when it starts (worker.celery)


def run_bare(paths: list[Path], procs: int) -> tuple[float, int]:
    # Threads only wait on the child processes: P threads = P tesseract processes at a time.
    with ThreadPoolExecutor(procs) as pool:
        start = time.perf_counter()
        words = sum(pool.map(bare_tesseract_words, paths))
        return time.perf_counter() - start, words


def run_pipeline(paths: list[Path], procs: int) -> tuple[float, int]:
    return run_in_processes(_pipeline_one, [str(p) for p in paths], procs, _warm_up_task)


def run_in_processes(fn, items: list, procs: int, warm) -> tuple[float, int]:
    """(seconds, sum of fn's results) over ``items`` in P warmed-up processes."""
    with ProcessPoolExecutor(procs) as pool:
        list(pool.map(warm, range(procs * 2)))
        start = time.perf_counter()
        words = sum(pool.map(fn, items))
        return time.perf_counter() - start, words


def _warm_up_task(_: int) -> None:
    _warm_up()
    time.sleep(0.05)  # long enough that every worker gets one


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=8)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=1, help="keep the best of R runs")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="ocr_bench_") as tmp:
        paths = make_pages(Path(tmp), args.pages)
        print(f"{len(paths)} pages, {os.cpu_count()} CPUs, OMP_THREAD_LIMIT=1")
        results: dict[int, tuple[float, float]] = {}
        for procs in args.procs:
            bare = pipe = float("inf")
            for _ in range(args.repeat):   # interleaved, so both see the same background load
                seconds, bare_words = run_bare(paths, procs)
                bare = min(bare, seconds)
                seconds, pipe_words = run_pipeline(paths, procs)
                pipe = min(pipe, seconds)
            bare_pps, pipe_pps = len(paths) / bare, len(paths) / pipe
            results[procs] = (bare_pps, pipe_pps)
            print(f"procs={procs}: bare {bare_pps:.2f} pages/s ({bare_words} words), "
                  f"pipeline {pipe_pps:.2f} pages/s ({pipe_words} words), "
                  f"ratio pipeline/bare {pipe_pps / bare_pps:.2f}")
        first, last = args.procs[0], args.procs[-1]
        if last != first:
            print(f"scaling {first} -> {last} processes: bare x{results[last][0] / results[first][0]:.2f}, "
                  f"pipeline x{results[last][1] / results[first][1]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
