"""Typed-answer PDFs with a real text layer, from plain text (reportlab).

Used to build the sample submissions from the seed documents and by tests that need typed
PDFs. `python -m tools.typed_pdf samples/ai6126_a2` rebuilds that folder's PDFs from its
`sources/*.txt` (one PDF per text file).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

FONT_CANDIDATES = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",)
MARGIN = 56.0
FONT_SIZE = 10.0
LEADING = 13.0


def _font() -> str:
    """DejaVu covers ×, →, Greek and Cyrillic seen in real answers; Vera ships with reportlab."""
    if "AnswerFont" in pdfmetrics.getRegisteredFontNames():
        return "AnswerFont"
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            pdfmetrics.registerFont(TTFont("AnswerFont", candidate))
            return "AnswerFont"
    import reportlab

    vera = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"
    pdfmetrics.registerFont(TTFont("AnswerFont", str(vera)))
    return "AnswerFont"


def _wrap(line: str, font: str, width: float) -> list[str]:
    if pdfmetrics.stringWidth(line, font, FONT_SIZE) <= width:
        return [line]
    out, current = [], ""
    for word in line.split(" "):
        candidate = f"{current} {word}" if current else word
        if pdfmetrics.stringWidth(candidate, font, FONT_SIZE) <= width or not current:
            current = candidate
        else:
            out.append(current)
            current = word
    if current:
        out.append(current)
    return out


def text_to_pdf(text: str, path: Path, *, page_breaks: str = "\f") -> int:
    """Write ``text`` as a typed PDF; a form feed starts a new page. Returns the page count."""
    font = _font()
    width, height = A4
    pdf = canvas.Canvas(str(path), pagesize=A4, invariant=1)  # invariant: reproducible bytes
    pages = 0
    for page_text in text.split(page_breaks):
        y = height - MARGIN
        pdf.setFont(font, FONT_SIZE)
        for raw in page_text.splitlines():
            for line in _wrap(raw.rstrip(), font, width - 2 * MARGIN) or [""]:
                if y < MARGIN:
                    pdf.showPage()
                    pages += 1
                    pdf.setFont(font, FONT_SIZE)
                    y = height - MARGIN
                pdf.drawString(MARGIN, y, line)
                y -= LEADING
        pdf.showPage()
        pages += 1
    pdf.save()
    return pages


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a sample folder with sources/*.txt")
    args = parser.parse_args(argv)
    out_dir = args.folder / "submissions"
    out_dir.mkdir(exist_ok=True)
    for source in sorted((args.folder / "sources").glob("*.txt")):
        target = out_dir / f"{source.stem}.pdf"
        pages = text_to_pdf(source.read_text(encoding="utf-8"), target)
        print(f"{target} ({pages} pages)")


if __name__ == "__main__":
    main()
