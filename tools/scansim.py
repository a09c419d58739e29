"""Scan simulator: a blank exam PDF plus filled-in, scanned submissions with ground truth.

The sample folder was generated with (deterministic; re-running reproduces it byte-for-byte
apart from PDF timestamps, which reportlab's ``invariant`` mode pins):

    python -m tools.scansim --out samples/tum_endterm --students 3 --seed 2020 --samples

The exam is TUM IN2346 endterm 2020 (seed 002): Problem 1, nine multiple-choice questions
a–i with 5 mm printed boxes, and Problem 2 with handwriting-like answers. Outputs:
``blank.pdf`` (vector, the OMR template), ``student_XX.pdf`` (image-only: one JPEG per page,
no text layer) and ``truth.json`` (per box: label, option, page, mm coordinates in the blank's
frame, truth mark, style and ``checked``; per page: the scan parameters used).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tools.scansim_layout import (CORRECT, PAGE_H_MM, PAGE_W_MM, QUESTIONS, Layout, exam_layout,
                                  write_blank_pdf)
from tools.scansim_marks import (CROSS_STYLES, apply_scan, compose_marks, draw_handwriting,
                                 draw_mark, random_scan_params, ScanParams)

CHECKED = {"empty": False, "cross": True, "filled": False, "filled_recrossed": True}


@dataclass(frozen=True)
class BoxTruth:
    label: str
    option: int
    page: int
    x: float
    y: float
    w: float
    h: float
    mark: str
    style: str

    @property
    def checked(self) -> bool:
        return CHECKED[self.mark]

    def as_dict(self) -> dict:
        return {"label": self.label, "option": self.option, "page": self.page,
                "x": round(self.x, 3), "y": round(self.y, 3), "w": self.w, "h": self.h,
                "mark": self.mark, "style": self.style, "checked": self.checked}


@dataclass(frozen=True)
class MarkMix:
    """How a simulated student marks: probabilities per decision."""

    p_correct: float = 0.6          # the whole question answered per the key
    p_filled_unchecked: float = 0.12  # an unchecked option was first crossed, then filled
    p_recross: float = 0.12         # a checked option was crossed, filled, crossed again
    styles: tuple[float, float, float] = (0.7, 0.2, 0.1)  # x, tick, slash


SAMPLE_MIXES = (MarkMix(0.7, 0.1, 0.05, (0.9, 0.1, 0.0)),
                MarkMix(0.5, 0.15, 0.2, (0.5, 0.35, 0.15)),
                MarkMix(0.4, 0.3, 0.35, (0.6, 0.2, 0.2)))


@lru_cache(maxsize=8)
def _blank_page(blank_pdf: str, page: int, dpi: float) -> Image.Image:
    from grader.render import render_pdf_page

    return render_pdf_page(blank_pdf, page - 1, dpi).image


def student_marks(layout: Layout, rng: np.random.Generator, mix: MarkMix) -> list[BoxTruth]:
    """Per-box truth for one student: a selection per question, realised as pen marks."""
    out: list[BoxTruth] = []
    for part, _, _, options in QUESTIONS:
        key = set(CORRECT[part])
        chosen = set(key)
        if rng.random() >= mix.p_correct:
            flip = int(rng.integers(1, len(options) + 1))
            chosen ^= {flip}
        for b in (b for b in layout.boxes if b.label == f"1.{part}"):
            style = "-"
            if b.option in chosen:
                mark = "filled_recrossed" if rng.random() < mix.p_recross else "cross"
                if mark == "cross":
                    style = str(rng.choice(CROSS_STYLES, p=mix.styles))
            else:
                mark = "filled" if rng.random() < mix.p_filled_unchecked else "empty"
            out.append(BoxTruth(f"1.{part}", b.option, b.page, b.x, b.y, b.side, b.side, mark, style))
    return out


def random_marks(layout: Layout, rng: np.random.Generator) -> list[BoxTruth]:
    """Benchmark marks: each box independently, all kinds well represented."""
    out = []
    for b in layout.boxes:
        mark = str(rng.choice(["empty", "cross", "filled", "filled_recrossed"], p=[0.3, 0.35, 0.18, 0.17]))
        style = str(rng.choice(CROSS_STYLES, p=[0.6, 0.25, 0.15])) if mark == "cross" else "-"
        out.append(BoxTruth(b.label, b.option, b.page, b.x, b.y, b.side, b.side, mark, style))
    return out


def render_student_page(blank_pdf: str | Path, layout: Layout, page: int, marks: list[BoxTruth],
                        params: ScanParams, rng: np.random.Generator) -> Image.Image:
    """One filled-in page as the scanner delivers it (grayscale image at ``params.dpi``)."""
    base = _blank_page(str(blank_pdf), page, float(params.dpi))
    ppm = params.dpi / 25.4
    ink = Image.new("L", base.size, 255)
    draw = ImageDraw.Draw(ink)
    for m in (m for m in marks if m.page == page):
        draw_mark(draw, m.mark, m.x + m.w / 2, m.y + m.h / 2, m.w, ppm, rng, m.style)
    for area in (a for a in layout.answers if a.page == page):
        draw_handwriting(ink, area.x, area.y, area.lines, ppm, rng)
    return apply_scan(compose_marks(base, ink), params, rng)


def images_to_pdf(images: list[Image.Image], path: Path, quality: int = 60) -> None:
    """Image-only PDF: each page one JPEG, stretched over an A4 page, no text layer."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    with tempfile.TemporaryDirectory() as tmp:
        for i, img in enumerate(images):
            f = Path(tmp) / f"p{i}.jpg"
            img.save(f, format="JPEG", quality=quality)   # a file path: reportlab embeds DCT as is
            c.drawImage(str(f), 0, 0, width=A4[0], height=A4[1])
            c.showPage()
        c.save()


def generate(out: Path, students: int, seed: int, samples: bool = False) -> dict:
    """Write blank.pdf, student_XX.pdf and truth.json into ``out``; returns the truth."""
    out.mkdir(parents=True, exist_ok=True)
    layout = exam_layout()
    blank = out / "blank.pdf"
    write_blank_pdf(layout, blank)
    rng = np.random.default_rng(seed)
    truth = {"exam": "IN2346-ENDTERM", "blank": "blank.pdf", "seed": seed,
             "page_size_mm": [PAGE_W_MM, PAGE_H_MM], "correct": CORRECT, "submissions": []}
    for n in range(1, students + 1):
        mix = SAMPLE_MIXES[(n - 1) % len(SAMPLE_MIXES)] if samples else MarkMix()
        marks = student_marks(layout, rng, mix)
        pages, images = [], []
        for page in range(1, layout.pages + 1):
            params = random_scan_params(rng, dpi=float(rng.choice([150, 200])) if samples else None,
                                        upside_down_rate=0.0 if samples else 0.08)
            if samples:
                # Keep sample PDFs small (noise is what JPEG pays for); the PDF's own JPEG
                # encoding supplies the artefacts. Student 2's page 2 is scanned upside down.
                params = replace(params, noise=min(params.noise, 3.0), jpeg=0,
                                 upside_down=(n == 2 and page == 2))
            images.append(render_student_page(blank, layout, page, marks, params, rng))
            pages.append({"page": page, **params.as_dict()})
        name = f"student_{n:02d}"
        images_to_pdf(images, out / f"{name}.pdf")
        selection = {}
        for m in marks:
            selection.setdefault(m.label, [])
            if m.checked:
                selection[m.label].append(m.option)
        truth["submissions"].append({"file": f"{name}.pdf", "student": name, "pages": pages,
                                     "selection": selection,
                                     "boxes": [m.as_dict() for m in marks]})
    (out / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--students", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--samples", action="store_true",
                    help="sample-folder settings: 150/200 dpi, the three mark mixes, "
                         "student 2 page 2 upside down")
    args = ap.parse_args(argv)
    truth = generate(args.out, args.students, args.seed, samples=args.samples)
    print(f"wrote {args.out}/blank.pdf, {len(truth['submissions'])} submissions, truth.json")


if __name__ == "__main__":
    main()
