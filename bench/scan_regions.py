"""Scanned sheets read where the answers are: pages per second of the real page reader against
bare Tesseract on the same pages, for multiple-choice-only sheets and for sheets with written
answer boxes.

    python -m bench.scan_regions --mc 6 --written 4 --procs 1

- multiple-choice sheets: the sample scans (``samples/tum_endterm``) and ``--mc`` more students
  simulated by ``tools.scansim`` (their exam has a blank PDF: every page is aligned to it and its
  boxes read; nothing is OCRed);
- written sheets: ``--written`` students of ``tools.written_exam`` (answer frames filled in by
  hand, two engines read each answer's ink; the printed question is never OCRed).

In the same run, for each process count P: bare ``tesseract PAGE stdout`` on every page
(rendered at 300 dpi, P at a time), and the page task's reader (``grader.scan.read_page``
with the exam's template, layout and blank pages, in P warmed-up processes). Prints pages/s,
the ratio reader/bare and the targets (issue 14: >= 10x for multiple-choice sheets, >= 2.5x
for written sheets), and the accuracy of what was read (box readings against the truth; the
written parts graded right, flagged, silently wrong).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_THREAD_LIMIT", "1")

from bench.ocr_throughput import bare_tesseract_words, run_bare  # noqa: E402

TARGETS = {"multiple choice": 10.0, "written": 2.5}
SCAN_DPI = 300

# (pdf, 1-based page, exam folder) of every page read
Job = tuple[str, int, str]
_EXAMS: dict = {}


def _exam(folder: str):
    """The exam of ``folder`` as the page task sees it: spec (with template and layout) and
    the blank pages, loaded and prepared once per process (as a worker keeps them)."""
    if folder not in _EXAMS:
        from grader.align import BlankPages
        from grader.exam import ExamSpec
        from grader.layout import blank_layout
        from grader.omr import assign_options, template_from_pdf
        from grader.render import render_pdf_page
        from grader.scan import BLANK_INK_DPI
        from rubrics.definition import parse_definition_text
        from rubrics.keys import check_keys

        path = Path(folder)
        keyed, _ = check_keys(parse_definition_text((path / "exam.yaml").read_text()))
        blank = path / "blank.pdf"
        choices = [(q.label, len(q.options)) for q in keyed.questions if q.options]
        template = {label: [[b.page, b.x, b.y, b.w, b.h] for b in boxes] for label, boxes in
                    assign_options(template_from_pdf(blank), choices).items()}
        layout = blank_layout(blank, keyed.questions)
        spec = ExamSpec.build(keyed.questions, template, layout)
        pages = BlankPages(lambda page, dpi: render_pdf_page(blank, page - 1, dpi=dpi),
                           len(layout.page_sizes), key=("bench", folder))
        # What a worker has of an exam once it has read a page of each of its pages (it keeps
        # them for the exam's other students): each blank page's features and thumbnail for
        # alignment, and its image at the resolution the answer regions are read against.
        for page in range(1, pages.pages + 1):
            pages.features(page)
            pages.thumbnail(page)
            pages.image(page, BLANK_INK_DPI)
        _EXAMS[folder] = (spec, pages)
    return _EXAMS[folder]


def read_one(job: Job) -> int:
    """One page as the page task reads it; returns how many boxes and regions it read."""
    from grader.ocr import OcrOptions
    from grader.scan import pdf_renderer, read_page

    pdf, number, folder = job
    spec, blank = _exam(folder)
    page = read_page(number, None, spec, pdf_renderer(pdf), OcrOptions(timeout_s=120), blank)
    return len(page.fit.readings if page.fit else ()) + len(page.regions)


def _warm(folders: tuple[str, ...]) -> None:
    """Imports, the exam and its blank pages, and what a worker's pool process loads when it
    starts (``grader.scan.warm_up``: libtesseract, the handwriting readers' models, ~0.3 s)
    before the clock starts."""
    from grader.pipeline import expression_checker
    from grader.scan import warm_up

    expression_checker()
    warm_up()
    for folder in folders:
        _exam(folder)
    time.sleep(0.05)     # long enough that every pool process gets one


def mc_jobs(tmp: Path, students: int, seed: int) -> list[Job]:
    from grader.render import pdf_page_count
    from tools.scansim import generate

    samples = ROOT / "samples/tum_endterm"
    jobs = [(str(pdf), n, str(samples)) for pdf in sorted(samples.glob("student_*.pdf"))
            for n in range(1, pdf_page_count(pdf) + 1)]
    if students:
        out = tmp / "mc"
        truth = generate(out, students=students, seed=seed)
        (out / "exam.yaml").write_text((samples / "exam.yaml").read_text())
        jobs += [(str(out / s["file"]), n, str(out)) for s in truth["submissions"]
                 for n in range(1, pdf_page_count(out / s["file"]) + 1)]
    return jobs


def written_jobs(tmp: Path, students: int, seed: int) -> tuple[list[Job], Path, list[dict]]:
    from tools import written_exam

    out = tmp / "written"
    written_exam.generate(out)
    truth = written_exam.students(out, students, seed)
    return [(str(out / t["file"]), n, str(out)) for t in truth for n in (1, 2)], out, truth


def render_pngs(jobs: list[Job], folder: Path) -> list[Path]:
    from grader.render import render_pdf_page

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (pdf, number, _) in enumerate(jobs):
        page = render_pdf_page(pdf, number - 1, dpi=SCAN_DPI)
        path = folder / f"page_{i:03d}.png"
        page.image.save(path, dpi=(page.dpi, page.dpi))
        paths.append(path)
    return paths


def run_reader(jobs: list[Job], procs: int) -> tuple[float, int]:
    from concurrent.futures import ProcessPoolExecutor

    folders = tuple(sorted({folder for _, _, folder in jobs}))
    with ProcessPoolExecutor(procs) as pool:
        list(pool.map(_warm, [folders] * (procs * 2)))
        start = time.perf_counter()
        count = sum(pool.map(read_one, jobs))
        return time.perf_counter() - start, count


def written_accuracy(folder: Path, truth: list[dict]) -> dict:
    """Grade the written students end to end (in this process) and count what came out:
    overall, by kind of answer, and how the written regions' scores were verified against
    their keys (grader.verify: key / not_key / unsure)."""
    from grader.ocr import OcrOptions
    from grader.pipeline import grade_document
    from grader.scan import pdf_renderer, read_page
    from rubrics.keys import recompute_with

    spec, blank = _exam(str(folder))
    counts: dict = {"parts": 0, "auto right": 0, "flagged": 0, "silently wrong": 0,
                    "written but unanswered": 0, "empty and unanswered": 0}
    by_kind: dict[str, dict[str, int]] = {}
    decisions: dict[str, int] = {}
    for t in truth:
        render = pdf_renderer(folder / t["file"])
        pages = [read_page(n, None, spec, render, OcrOptions(timeout_s=120), blank) for n in (1, 2)]
        for read in (r for page in pages for r in page.regions if r.has_ink):
            decision = read.decision or "not verified"
            decisions[decision] = decisions.get(decision, 0) + 1
        graded = grade_document(pages, spec, render=render, recompute=recompute_with)
        for answer in graded.answers:
            part = t["parts"][answer.label]
            # By kind: the answers written by hand (right or wrong), and the boxes crossed.
            group = part["kind"] if part["outcome"] in ("right", "wrong", "boxes") \
                else part["outcome"]
            kind = by_kind.setdefault(group, {"parts": 0, "auto right": 0, "flagged": 0,
                                              "silently wrong": 0})
            if answer.status == "flagged":
                outcome = "flagged"
            elif answer.scored.score == part["score"]:
                outcome = "auto right"
            else:
                outcome = "silently wrong"
                print(f"  silently wrong: {t['file']} {answer.label} {part} read "
                      f"{answer.raw_text!r} -> {answer.scored}", flush=True)
            for bucket in (counts, kind):
                bucket["parts"] += 1
                bucket[outcome] += 1
            unanswered = "unanswered" in answer.scored.flags
            if unanswered and part["outcome"] in ("right", "wrong", "scribble"):
                counts["written but unanswered"] += 1
            if unanswered and part["outcome"] == "empty":
                counts["empty and unanswered"] += 1
    return {**counts, "by kind": by_kind, "region decisions": decisions}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mc", type=int, default=6, help="simulated multiple-choice students")
    parser.add_argument("--written", type=int, default=4, help="simulated written students")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--procs", type=int, nargs="+", default=[1])
    parser.add_argument("--repeat", type=int, default=1, help="keep the best of R runs")
    args = parser.parse_args(argv)
    command = "python -m bench.scan_regions " + " ".join(argv if argv is not None else sys.argv[1:])
    result: dict = {"rows": []}
    with tempfile.TemporaryDirectory(prefix="bench-regions-") as name:
        tmp = Path(name)
        w_jobs, w_folder, w_truth = written_jobs(tmp, args.written, args.seed)
        sets = {"multiple choice": mc_jobs(tmp, args.mc, args.seed), "written": w_jobs}
        print(f"{os.cpu_count()} CPUs, OMP_THREAD_LIMIT=1\n  command: {command.strip()}", flush=True)
        for kind, jobs in sets.items():
            pngs = render_pngs(jobs, tmp / f"png-{kind.replace(' ', '-')}")
            for procs in args.procs:
                bare = reader = float("inf")
                for _ in range(args.repeat):     # interleaved: both see the same load
                    seconds, _ = run_bare(pngs, procs)
                    bare = min(bare, seconds)
                    seconds, read = run_reader(jobs, procs)
                    reader = min(reader, seconds)
                row = {"sheets": kind, "procs": procs, "pages": len(jobs),
                       "bare_pages_per_s": len(jobs) / bare,
                       "reader_pages_per_s": len(jobs) / reader, "ratio": bare / reader,
                       "target": TARGETS[kind]}
                row["target_met"] = row["ratio"] >= row["target"]
                result["rows"].append(row)
                print(f"  {kind}, P={procs}, {len(jobs)} pages: bare tesseract "
                      f"{row['bare_pages_per_s']:.2f} pages/s, reader "
                      f"{row['reader_pages_per_s']:.2f} pages/s ({read} boxes and regions), "
                      f"ratio x{row['ratio']:.1f} (target >= x{row['target']:g}: "
                      f"{'met' if row['target_met'] else 'NOT met'})", flush=True)
        counts = written_accuracy(w_folder, w_truth)
        result["written_accuracy"] = counts
        print("  written parts, graded end to end: " + ", ".join(
            f"{k} {v}" for k, v in counts.items() if not isinstance(v, dict)))
        for kind, c in counts["by kind"].items():
            print(f"    {kind:16} " + ", ".join(f"{k} {v}" for k, v in c.items()))
        print("  written regions with ink, verified against their keys: " + ", ".join(
            f"{k} {v}" for k, v in sorted(counts["region decisions"].items())))
    result["load"] = f"{os.getloadavg()[0]:.2f}"
    print(f"  load average at the end: {result['load']}")
    return result


if __name__ == "__main__":
    print(json.dumps(main(), indent=1))
