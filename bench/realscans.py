"""Real scans from other OMR tools' test suites, graded through the service path.

    python -m bench.realscans              # every sheet in tests/fixtures/realscans/truth.yaml
    python -m bench.realscans --only amc   # the sheets whose id or scan path has "amc"

Each scan in ``../shared/realscans/`` (Auto Multiple Choice's ``tests/t/*`` and OMRChecker's
samples; never copied into this repository) is wrapped into a PDF the way a scanner or a
phone app would (the page the image's size at its DPI metadata, or at 72 dpi without any),
loaded with its exam definition (``tests/fixtures/realscans/*.yaml``: no blank PDF, so boxes
are placed beside their printed option texts) and submitted with
``exams.services.submission_create`` (in-process grading). Every question is then compared
with what the sheet has marked (``truth.yaml``): read right (unflagged and the same
selection), flagged (for a TA, whatever was read), or WRONG (unflagged and not what is marked:
a silent misgrade). Options with the same text are interchangeable, so selections are
compared as the multiset of their option texts. A sheet whose marks were not transcribed
(``selected: null``) counts every unflagged answer as wrong.

The test ``tests/integration/test_realscans.py`` runs the same function and asserts no
internal error and no WRONG answer. Needs Tesseract; ~3-6 s a sheet.
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from bench.embedded import setup_embedded_django

ROOT = Path(__file__).resolve().parent.parent
REALSCANS = ROOT.parent / "shared" / "realscans"
FIXTURES = ROOT / "tests" / "fixtures" / "realscans"
OUTCOMES = ("right", "flagged", "WRONG")


@dataclass
class SheetResult:
    id: str
    status: str                      # the submission's status
    error: str = ""
    counts: Counter = field(default_factory=Counter)
    rows: list[tuple[str, str, Any, Any, tuple[str, ...]]] = field(default_factory=list)
    seconds: float = 0.0


def sheets(only: str = "") -> list[dict]:
    """The sheets of truth.yaml (optionally those whose id or scan path contains ``only``)."""
    entries = yaml.safe_load((FIXTURES / "truth.yaml").read_text())["sheets"]
    return [s for s in entries if only in s["id"] or only in s["scan"]]


def scan_pdf(sheet: dict) -> bytes:
    """The sheet's scan (its frame, for a multi-page TIFF) as a one-page image-only PDF: the
    page is the image's size at its DPI metadata, or at 72 dpi when it has none (as PDF
    makers place a photo)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    with Image.open(REALSCANS / sheet["scan"]) as img:
        img.seek(sheet.get("frame", 1) - 1)
        dpi = float((img.info.get("dpi") or (72.0,))[0]) or 72.0
        page = img.convert("L")
    out = io.BytesIO()
    size = (page.width * 72.0 / dpi, page.height * 72.0 / dpi)
    c = canvas.Canvas(out, pagesize=size, invariant=1)
    c.drawImage(ImageReader(page), 0, 0, width=size[0], height=size[1])
    c.showPage()
    c.save()
    return out.getvalue()


def exam_text(sheet: dict) -> str:
    """The sheet's exam definition; ``marking:`` from the sheet when it overrides it (the
    same scan read under another convention), under its own exam code."""
    text = (FIXTURES / sheet["exam"]).read_text()
    if "marking" in sheet:
        data = yaml.safe_load(text)
        data["marking"] = sheet["marking"]
        data["code"] = f"{data['code']}-{sheet['marking'].upper()}"
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    return text


def grade_sheet(sheet: dict) -> SheetResult:
    """Load the sheet's exam, submit its scan through ``submission_create`` (in-process) and
    compare every answer with the truth. Needs a database (Django set up)."""
    from exams import services
    from exams.models import Submission

    exam, _ = services.exam_load(text=exam_text(sheet))
    options = {q.label: q.definition.options for q in exam.questions.all()}
    start = time.monotonic()
    submission = services.submission_create(exam=exam, student=sheet["id"],
                                            content=scan_pdf(sheet), filename=f"{sheet['id']}.pdf")
    submission = Submission.objects.get(pk=submission.pk)
    result = SheetResult(sheet["id"], submission.status, submission.error,
                         seconds=time.monotonic() - start)
    truth = sheet["selected"]
    for answer in submission.answers.select_related("question").order_by("question__order"):
        label = answer.question.label
        want = None if truth is None else truth.get(label)
        texts = options[label]
        got = answer.parsed
        same = (want is not None and isinstance(got, list)
                and sorted(texts[i - 1] for i in got) == sorted(texts[i - 1] for i in want))
        outcome = "flagged" if answer.status == "flagged" else ("right" if same else "WRONG")
        result.counts[outcome] += 1
        result.rows.append((label, outcome, got, want, tuple(answer.flags)))
    return result


def report(results: list[SheetResult], details: bool = False) -> str:
    lines = [f"{'sheet':<22}{'status':<14}{'questions':>10}{'right':>7}{'flagged':>9}"
             f"{'WRONG':>7}{'s':>6}"]
    total = Counter()
    for r in results:
        n = sum(r.counts.values())
        total.update(r.counts)
        lines.append(f"{r.id:<22}{r.status:<14}{n:>10}{r.counts['right']:>7}"
                     f"{r.counts['flagged']:>9}{r.counts['WRONG']:>7}{r.seconds:>6.1f}")
        if r.error:
            lines.append(f"    error: {r.error}")
        if details:
            lines += [f"    {label:>4} {outcome:<8} read {got} marked {want} {', '.join(flags)}"
                      for label, outcome, got, want, flags in r.rows if outcome != "right"]
    lines.append(f"{'total':<36}{sum(total.values()):>10}{total['right']:>7}"
                 f"{total['flagged']:>9}{total['WRONG']:>7}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="", help="the sheets whose id or scan path has this")
    ap.add_argument("--details", action="store_true", help="list every answer not read right")
    args = ap.parse_args(argv)
    setup_embedded_django("bench-realscans-")
    results = [grade_sheet(s) for s in sheets(args.only)]
    print(report(results, details=args.details))
    total = Counter()
    for r in results:
        total.update(r.counts)
    failed = [r.id for r in results if r.status == "failed"]
    return {"sheets": len(results), **{k: total[k] for k in OUTCOMES}, "failed": failed}


if __name__ == "__main__":
    outcome = main()
    sys.exit(1 if outcome["WRONG"] or outcome["failed"] else 0)
