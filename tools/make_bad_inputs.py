"""A corpus of bad, hostile and odd submission files, generated (never committed: some are huge
when decoded — a 30,000×30,000 image, a stream inflating to gigabytes, 500+ pages — but all are
small on disk, at most a few MB).

    python -m tools.make_bad_inputs OUT_FOLDER          # writes every kind, prints name -> file

``make_all(folder)`` returns ``{kind: path}``; ``KINDS`` describes each kind and what grading
must do with it (``tests/hardening`` holds the expectations). Typed variants are built from
the AI6126 sample submission, so a correct reading gives the same score as the original.
"""
from __future__ import annotations

import argparse
import io
import random
import zipfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TYPED_SAMPLE = ROOT / "samples" / "ai6126_a2" / "submissions" / "seed001_student.pdf"

A4 = (595.2756, 841.8898)
LETTER = (612.0, 792.0)
A3 = (841.8898, 1190.5512)

KINDS: dict[str, str] = {
    "empty": "a 0-byte file",
    "png_bytes": "PNG image bytes saved with a .pdf name",
    "html": "an HTML page (a saved login page) with a .pdf name",
    "zip": "a ZIP archive (e.g. a .docx) with a .pdf name",
    "png_renamed_scan": "a real scan saved as PNG and renamed to .pdf",
    "pdf_magic_garbage": "%PDF- header followed by random bytes",
    "truncated": "the first third of a valid typed PDF",
    "broken_xref": "valid typed PDF whose xref offsets are all wrong (recoverable)",
    "encrypted_user_password": "needs a password to open",
    "encrypted_owner_only": "owner password only (opens without one; must be graded)",
    "zero_pages": "a valid PDF with an empty page tree",
    "too_many_pages": "501 blank pages (over MAX_PDF_PAGES)",
    "huge_page": "a 30,000 x 30,000 pt page (no text layer, so it would be rendered)",
    "huge_image_a4": "an A4 page holding a 30,000 x 30,000 px image scaled down",
    "zero_size_page": "a page with MediaBox [0 0 0 0]",
    "deflate_bomb": "a FlateDecode content stream that inflates to ~2 GB",
    "form_xobject_bomb": "typed answers, plus a Form XObject whose stream inflates to ~2 GB",
    "inline_image_bomb": "typed answers, plus a 45,000 x 45,000 inline image (BI ... ID ... EI) in "
                         "the page's own content, ~2 MB compressed",
    "javascript_attachment": "typed PDF with an OpenAction JavaScript and an embedded file",
    "ocr_hang": "an A3 scan of tiny random characters: Tesseract needs ~70 s for it",
    "rotated_pages": "typed PDF, page 1 /Rotate 90, page 2 /Rotate 180",
    "turned_text": "typed PDF whose text is drawn turned by -90 degrees on landscape pages",
    "mixed_sizes": "typed PDF with A4, Letter and A3 pages",
    "blank_scan": "two blank scanned pages (image-only)",
    "photo_jpeg": "a photo-like JPEG (smooth noise) as an image-only page",
    "odd_encodings": "text layer in WinAnsi bytes, UTF-16 strings, bad /Differences, garbage ToUnicode",
    "huge_text_layer": "one page whose text layer is ~4 MB of text, plus the typed answers",
    "broken_page_among_good": "typed answers on pages 1 and 3, page 2's content stream corrupt",
    "cyclic_page_tree": "the page tree's /Kids contains its own /Pages node",
    "deep_nesting": "an array nested 100,000 levels deep inside the page dictionary",
}


# ---------------------------------------------------------------------------------- raw PDFs

def build_pdf(objects: list[bytes], *, root: int = 1, trailer_extra: bytes = b"",
              version: bytes = b"1.7") -> bytes:
    """A PDF from object bodies (object n is ``objects[n-1]``) with a correct xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for off in offsets:
        out.write(b"%010d 00000 n \n" % off)
    out.write(b"trailer\n<< /Size %d /Root %d 0 R " % (len(objects) + 1, root) + trailer_extra
              + b">>\nstartxref\n%d\n%%%%EOF\n" % xref)
    return out.getvalue()


def stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< " + dictionary + b" /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def _one_page_pdf(content: bytes, *, media: tuple[float, float] = A4, resources: bytes = b"<< >>",
                  content_dict: bytes = b"", extra_objects: list[bytes] = ()) -> bytes:
    """Catalog 1, Pages 2, Page 3, Contents 4, then ``extra_objects`` from 5 on."""
    w, h = media
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources %s /Contents 4 0 R >>"
        % (_num(w), _num(h), resources),
        stream(content_dict, content),
        *extra_objects,
    ])


def _num(v: float) -> bytes:
    return (b"%d" % v) if float(v).is_integer() else (b"%.4f" % v)


def _typed_answers_text() -> str:
    return (ROOT / "samples" / "ai6126_a2" / "sources").glob("*001*.txt").__next__().read_text()


def _text_content(lines: list[str], font: bytes = b"/F1", size: int = 10) -> bytes:
    """A content stream writing ``lines`` top-down with the standard Helvetica font."""
    parts = [b"BT %s %d Tf 14 TL 56 790 Td" % (font, size)]
    for line in lines:
        escaped = line.encode("latin-1", "replace").replace(b"\\", b"\\\\") \
            .replace(b"(", b"\\(").replace(b")", b"\\)")
        parts.append(b"(" + escaped + b") Tj T*")
    parts.append(b"ET")
    return b"\n".join(parts)


HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


# ---------------------------------------------------------------------------------- images

def _png_bytes(size=(200, 100)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", size, 255).save(buf, "PNG")
    return buf.getvalue()


def _image_only_pdf(images, path: Path, *, quality: int = 75) -> None:
    """Each PIL image as one JPEG page stretched over A4 (as scanners deliver)."""
    from tools.scansim import images_to_pdf

    images_to_pdf(list(images), path, quality=quality)


def _huge_image_object(side: int = 30_000) -> bytes:
    """An 8-bit ``side``×``side`` grey image of white paper with a black border, Flate-compressed.

    900 MB raw, under 1 MB compressed; PDFium decodes it whole (measured: 1.1 GB resident).
    """
    row_bytes = side
    comp = zlib.compressobj(9)
    chunks = []
    black_row = b"\x00" * row_bytes
    inner = bytearray(b"\xff" * row_bytes)
    inner[:40] = b"\x00" * 40   # a black left margin
    white_row = bytes(inner)
    block = white_row * 1000
    border = 50
    chunks.append(comp.compress(black_row * border))
    remaining = side - 2 * border
    while remaining > 0:
        n = min(1000, remaining)
        chunks.append(comp.compress(block if n == 1000 else white_row * n))
        remaining -= n
    chunks.append(comp.compress(black_row * border))
    chunks.append(comp.flush())
    data = b"".join(chunks)
    return stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                  b"/BitsPerComponent 8 /Filter /FlateDecode" % (side, side), data)


# ---------------------------------------------------------------------------------- kinds

def _typed(path: Path) -> None:
    path.write_bytes(TYPED_SAMPLE.read_bytes())


def _writer_from_sample():
    from pypdf import PdfReader, PdfWriter

    return PdfWriter(clone_from=PdfReader(str(TYPED_SAMPLE)))


def _save(writer, path: Path) -> None:
    with open(path, "wb") as fh:
        writer.write(fh)


def make_all(folder: str | Path) -> dict[str, Path]:
    """Write every kind into ``folder`` (created); returns ``{kind: path}``. Deterministic."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(6126)
    out: dict[str, Path] = {}

    def target(kind: str) -> Path:
        out[kind] = folder / f"{kind}.pdf"
        return out[kind]

    target("empty").write_bytes(b"")
    target("png_bytes").write_bytes(_png_bytes())
    target("html").write_bytes(b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
                               b"<body><form>Session expired</form></body></html>\n")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document>Question 1 ...</w:document>")
    target("zip").write_bytes(buf.getvalue())
    scan = Image.new("L", (1240, 1754), 255)
    scan_buf = io.BytesIO()
    scan.save(scan_buf, "PNG", dpi=(150, 150))
    target("png_renamed_scan").write_bytes(scan_buf.getvalue())
    target("pdf_magic_garbage").write_bytes(b"%PDF-1.7\n" + rng.randbytes(64 * 1024))

    typed = TYPED_SAMPLE.read_bytes()
    target("truncated").write_bytes(typed[: len(typed) // 3])
    # Every xref offset shifted: pypdf (strict=False) and PDFium rebuild the table by scanning.
    xref_at = typed.rindex(b"xref")
    head, tail = typed[:xref_at], typed[xref_at:]
    broken = bytearray(tail)
    for i in range(len(broken) - 19):
        if broken[i:i + 10].isdigit() and broken[i + 10:i + 17] == b" 00000 ":
            broken[i:i + 10] = b"%010d" % (int(broken[i:i + 10]) + 7)
    target("broken_xref").write_bytes(head + bytes(broken))

    w = _writer_from_sample()
    w.encrypt(user_password="secret", owner_password="owner", algorithm="RC4-128")
    _save(w, target("encrypted_user_password"))
    w = _writer_from_sample()
    w.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    _save(w, target("encrypted_owner_only"))

    target("zero_pages").write_bytes(build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"]))
    n = 501
    kids = b" ".join(b"%d 0 R" % (3 + i) for i in range(n))
    pages = [b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"] * n
    target("too_many_pages").write_bytes(build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n, *pages]))

    image = _huge_image_object()
    # A page 30,000 pt (10.6 m) square: at 300 dpi a 15.6 gigapixel bitmap if rendered as is.
    target("huge_page").write_bytes(_one_page_pdf(
        b"2 w 100 100 m 29900 29900 l S", media=(30000, 30000)))
    target("huge_image_a4").write_bytes(_one_page_pdf(
        b"q 595 0 0 842 0 0 cm /Im1 Do Q", resources=b"<< /XObject << /Im1 5 0 R >> >>",
        extra_objects=[image]))
    target("zero_size_page").write_bytes(_one_page_pdf(b"", media=(0, 0)))

    # ~2 GB of spaces (valid content-stream whitespace) in ~2 MB: a content-stream bomb.
    comp = zlib.compressobj(9)
    chunk = b" " * (16 * 1024 * 1024)
    bomb = b"".join(comp.compress(chunk) for _ in range(128)) + comp.flush()
    target("deflate_bomb").write_bytes(_one_page_pdf(bomb, content_dict=b"/Filter /FlateDecode"))
    # The same bomb one level down, where a check of the page's own stream does not look.
    target("form_xobject_bomb").write_bytes(_one_page_pdf(
        _text_content(_answer_lines()) + b"\nq /Fm1 Do Q",
        resources=b"<< /Font << /F1 5 0 R >> /XObject << /Fm1 6 0 R >> >>",
        extra_objects=[HELVETICA, stream(b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] "
                                         b"/Filter /FlateDecode", bomb)]))

    # The same ~2 GB of Flate data as the pixels of an inline image: it is not an XObject, so
    # a check of the page's image resources does not see it, and PDFium decodes it even to
    # read the text layer.
    target("inline_image_bomb").write_bytes(_one_page_pdf(
        _text_content(_answer_lines()) + b"\nq 595 0 0 842 0 0 cm\nBI /W 45000 /H 45000 /BPC 8 "
        b"/CS /G /F /Fl ID\n" + bomb + b"\nEI Q", resources=b"<< /Font << /F1 5 0 R >> >>",
        extra_objects=[HELVETICA]))

    w = _writer_from_sample()
    from pypdf.actions import JavaScript

    w.add_open_action(JavaScript("app.alert('graded?'); this.submitForm('http://127.0.0.1:9/x');"))
    w.add_attachment("payload.exe", b"MZ" + b"\x00" * 1022)
    _save(w, target("javascript_attachment"))

    target("ocr_hang").write_bytes(_ocr_hang_pdf())

    w = _writer_from_sample()
    w.pages[0].rotate(90)
    w.pages[1].rotate(180)
    _save(w, target("rotated_pages"))

    from pypdf import Transformation
    from pypdf.generic import RectangleObject

    w = _writer_from_sample()
    for page in w.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        # Portrait content turned -90 degrees onto a landscape page (reads top to bottom).
        page.add_transformation(Transformation().rotate(-90).translate(0, width))
        page.mediabox = RectangleObject([0, 0, height, width])
    _save(w, target("turned_text"))

    from pypdf import PdfReader, PdfWriter

    reader = PdfReader(str(TYPED_SAMPLE))
    w = PdfWriter()
    for index, size in enumerate((A4, LETTER)):
        page = w.add_page(reader.pages[index])
        page.mediabox = RectangleObject([0, 0, *size])
    extra = w.add_blank_page(*A3)
    extra.merge_page(PdfReader(io.BytesIO(_one_page_pdf(
        _text_content(["Appendix: nothing further to add to the answers above, thank you."]), media=A3,
        resources=b"<< /Font << /F1 5 0 R >> >>", extra_objects=[HELVETICA]))).pages[0])
    _save(w, target("mixed_sizes"))

    blank = Image.new("L", (2480, 3508), 250)
    _image_only_pdf([blank, blank], target("blank_scan"))
    import numpy as np

    smooth = np.asarray(Image.fromarray(
        (np.random.default_rng(2).random((60, 42)) * 255).astype("uint8"), "L")
        .resize((2480, 3508), Image.Resampling.BICUBIC))
    _image_only_pdf([Image.fromarray(smooth, "L")], target("photo_jpeg"))

    target("odd_encodings").write_bytes(_odd_encodings_pdf())
    target("huge_text_layer").write_bytes(_huge_text_pdf())
    target("broken_page_among_good").write_bytes(_broken_middle_page_pdf())

    target("cyclic_page_tree").write_bytes(build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]))
    target("deep_nesting").write_bytes(_one_page_pdf(
        b"", resources=b"<< /Junk " + b"[" * 100_000 + b"]" * 100_000 + b" >>"))
    assert set(out) == set(KINDS), set(KINDS) ^ set(out)
    return out


def _answer_lines() -> list[str]:
    return [line for line in _typed_answers_text().splitlines()]


def _ocr_hang_pdf() -> bytes:
    """An A3 image-only page (300 dpi, 1 bit) packed with 14 px random characters.

    Measured: one tesseract run takes ~70 s on it (23 s at 22 px), so any per-page OCR
    timeout of a few seconds must stop it. 1-bit Flate keeps the file small.
    """
    from PIL import Image, ImageDraw, ImageFont

    from tools.typed_pdf import FONT_CANDIDATES

    width, height = 3508, 4961          # A3 at 300 dpi
    size = 14
    font_path = next((f for f in FONT_CANDIDATES if Path(f).is_file()), None)
    font = ImageFont.truetype(font_path, size) if font_path else ImageFont.load_default(size)
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    rng = random.Random(14)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 "
    for y in range(10, height - size, int(size * 1.2)):
        draw.text((10, y), "".join(rng.choice(alphabet) for _ in range(width * 2 // size)),
                  font=font, fill=0)
    data = zlib.compress(image.tobytes(), 9)   # mode "1" packs 8 px per byte, 1 = white
    return _one_page_pdf(
        b"q %s 0 0 %s 0 0 cm /Im1 Do Q" % (_num(A3[0]), _num(A3[1])), media=A3,
        resources=b"<< /XObject << /Im1 5 0 R >> >>",
        extra_objects=[stream(b"/Type /XObject /Subtype /Image /Width %d /Height %d "
                              b"/ColorSpace /DeviceGray /BitsPerComponent 1 /Filter /FlateDecode"
                              % (width, height), data)])


def _odd_encodings_pdf() -> bytes:
    """Answers written with three differently-broken fonts; the text must still be graded."""
    lines = _answer_lines()
    # F1: WinAnsi, bytes >= 0x80 (é, ×, ü) as single bytes; F2: a /Differences array naming
    # glyphs that do not exist; F3: a ToUnicode CMap that is garbage.
    f2 = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding << /Type /Encoding " \
         b"/BaseEncoding /WinAnsiEncoding /Differences [65 /notaglyph /uni00 /g123456789] >> >>"
    cmap = stream(b"", b"/CIDInit /ProcSet findresource begin \xff\xfe garbage beginbfchar <zz> "
                       b"<0041 endbfchar \x00\x01")
    f3 = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 8 0 R >>"
    content = _text_content(lines) + b"\n" + \
        b"BT /F1 10 Tf 56 60 Td (Caf\xe9 r\xe9sum\xe9 15\xd715 \xfc\x80\x81\x8d) Tj ET\n" \
        b"BT /F2 10 Tf 56 48 Td (ABC odd glyphs) Tj ET\n" \
        b"BT /F3 10 Tf 56 36 Td (\xfe\xff\x00A\x00B) Tj <feff00e90041> Tj ET\n"
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font "
        b"<< /F1 5 0 R /F2 6 0 R /F3 7 0 R >> >> /Contents 4 0 R >>",
        stream(b"", content), HELVETICA, f2, f3, cmap])


def _huge_text_pdf() -> bytes:
    """Page 1: the typed answers; page 2: ~4 MB of text (one long Tj string per line).

    The lines are 0.3 pt type 0.4 pt apart: all on the page and none overlapping (PDFium
    drops text drawn on top of the same text, as for fake bold)."""
    filler = ("Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 40)[:2000]
    big = b"BT /F1 0.3 Tf 0.4 TL 10 800 Td\n" + (b"(" + filler.encode() + b") Tj T*\n") * 2000 + b"ET"
    comp = zlib.compress(big, 9)
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 7 0 R"
        b" >> >> /Contents 5 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 7 0 R"
        b" >> >> /Contents 6 0 R >>",
        stream(b"", _text_content(_answer_lines())),
        stream(b"/Filter /FlateDecode", comp),
        HELVETICA])


def _broken_middle_page_pdf() -> bytes:
    """Pages 1 and 3 carry the answers; page 2's Flate stream is random bytes."""
    lines = _answer_lines()
    half = len(lines) // 2
    junk = random.Random(2).randbytes(4096)
    font = b"<< /Font << /F1 8 0 R >> >>"
    return build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources " + font +
        b" /Contents 6 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources " + font +
        b" /Contents 9 0 R >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources " + font +
        b" /Contents 7 0 R >>",
        stream(b"", _text_content(lines[:half])),
        stream(b"", _text_content(lines[half:])),
        HELVETICA,
        stream(b"/Filter /FlateDecode", junk),
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the bad-input corpus into a folder.")
    parser.add_argument("folder", type=Path)
    args = parser.parse_args(argv)
    for kind, path in make_all(args.folder).items():
        print(f"{kind:<26} {path.stat().st_size:>9} B  {KINDS[kind]}")


if __name__ == "__main__":
    main()
