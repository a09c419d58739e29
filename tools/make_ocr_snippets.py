"""Generate OCR-noised variants of the snippet corpus (tests/fixtures/snippets/ocr_corpus.json).

Each selected snippet is typeset with reportlab (DejaVu Sans, so ×, −, ∴ render), rasterised
with pypdfium2 at scan resolution, degraded like a cheap scan (slight rotation, blur, speckle
noise, contrast loss; seeded, so reruns are reproducible), and read back with Tesseract
(``OMP_THREAD_LIMIT=1``, as the workers run it). The OCR text, its mean word confidence and the
snippet's expected value are written to the fixture, which is committed so the tests need
neither Tesseract nor fonts.

    python tools/make_ocr_snippets.py [--limit N] [--out PATH]
"""
from __future__ import annotations

import argparse
import io
import json
import os
import random
import sys
import textwrap
from pathlib import Path

os.environ.setdefault("OMP_THREAD_LIMIT", "1")

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "fixtures" / "snippets" / "corpus.json"
OUT = ROOT / "tests" / "fixtures" / "snippets" / "ocr_corpus.json"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
KINDS = {"numeric", "shape", "matrix", "values", "multiple_choice", "expression"}


def selected(entries: list[dict]) -> list[dict]:
    """Snippets a scan can carry: short, one to eight lines, no raw LaTeX environments."""
    return [e for e in entries if e["kind"] in KINDS and len(e["text"]) <= 200 and e["text"].count("\n") < 8
            and "\\begin" not in e["text"] and "\\frac" not in e["text"]]


def render_pdf(text: str) -> bytes:
    from reportlab.lib.pagesizes import A5, landscape
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    if "DejaVu" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVu", FONT))
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=landscape(A5))
    c.setFont("DejaVu", 13)
    y = landscape(A5)[1] - 50
    for para in text.split("\n"):
        # wrap like a page would; a line running off the paper is lost text, not OCR noise
        for line in textwrap.wrap(para.replace("\t", "    "), 64, drop_whitespace=False) or [""]:
            c.drawString(40, y, line)
            y -= 22
    c.showPage()
    c.save()
    return buf.getvalue()


def rasterise(pdf: bytes, dpi: int = 200):
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        return doc[0].render(scale=dpi / 72).to_pil().convert("L")
    finally:
        doc.close()


def degrade(img, rng: random.Random):
    """Mild scan noise: rotation ±0.8°, blur, salt-and-pepper specks, washed-out contrast."""
    from PIL import Image, ImageFilter

    img = img.rotate(rng.uniform(-0.8, 0.8), resample=Image.BICUBIC, expand=False, fillcolor=255)
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    px = img.load()
    w, h = img.size
    for _ in range(w * h // 900):
        x, y = rng.randrange(w), rng.randrange(h)
        px[x, y] = 0 if rng.random() < 0.5 else 255
    return img.point(lambda v: int(40 + v * 0.78))


def ocr(img) -> tuple[str, float]:
    import pytesseract

    data = pytesseract.image_to_data(img, config="--psm 6", output_type=pytesseract.Output.DICT)
    confs = [float(c) / 100 for c, t in zip(data["conf"], data["text"]) if t.strip() and float(c) >= 0]
    text = pytesseract.image_to_string(img, config="--psm 6")
    return text.strip(), round(sum(confs) / len(confs), 4) if confs else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N selected snippets")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--seed", type=int, default=2024)
    args = ap.parse_args(argv)
    entries = selected(json.loads(CORPUS.read_text())["snippets"])
    if args.limit:
        entries = entries[:args.limit]
    rng = random.Random(args.seed)
    out = []
    for e in entries:
        text, conf = ocr(degrade(rasterise(render_pdf(e["text"])), rng))
        variant = {k: v for k, v in e.items() if k not in ("text", "id")}
        variant.update({"id": "ocr-" + e["id"], "source": e["text"], "text": text, "ocr_confidence": conf})
        out.append(variant)
        print(f"{e['id']}: {e['text'][:40]!r} -> {text[:40]!r} ({conf})", file=sys.stderr)
    args.out.write_text(json.dumps({"generator": "tools/make_ocr_snippets.py", "seed": args.seed,
                                    "snippets": out}, indent=1, ensure_ascii=False))
    print(f"wrote {len(out)} OCR snippets to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
