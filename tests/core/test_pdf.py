"""Reading typed PDFs, and readable errors for files that are not usable PDFs."""
from pathlib import Path

import pytest

from grader.pdf import PdfError, read_pdf_pages
from tools.typed_pdf import text_to_pdf


def test_text_layer_round_trip(tmp_path):
    path = tmp_path / "a.pdf"
    text_to_pdf("Question 1\nii) the receptive field is 15×15\n\fQuestion 2\nVQ-VAE quantizes.", path)
    pdf = read_pdf_pages(path)
    assert pdf.count == 2 and pdf.needs_ocr() == []
    assert "15×15" in pdf.texts[0] and pdf.texts[1].startswith("Question 2")


def test_image_only_page_needs_ocr(tmp_path):
    from PIL import Image

    path = tmp_path / "scan.pdf"
    Image.new("L", (600, 800), 255).save(path, "PDF", resolution=72)
    assert read_pdf_pages(path).needs_ocr() == [1]


@pytest.mark.parametrize("content,message", [
    (b"", "empty"),
    (b"hello, I am not a PDF", "not a PDF"),
    (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF", "no pages|damaged|cannot be read"),
])
def test_bad_files_give_readable_errors(tmp_path, content, message):
    import re

    path = tmp_path / "bad.pdf"
    path.write_bytes(content)
    with pytest.raises(PdfError) as info:
        read_pdf_pages(path)
    assert re.search(message, str(info.value))


def test_truncated_pdf(tmp_path):
    good = tmp_path / "good.pdf"
    text_to_pdf("Question 1\n" + "x " * 2000, good)
    data = good.read_bytes()
    bad = tmp_path / "truncated.pdf"
    bad.write_bytes(data[: len(data) // 3])
    with pytest.raises(PdfError, match="^the PDF is damaged and cannot be read"):
        read_pdf_pages(bad)


def encrypted_pdf(tmp_path, user_password: str):
    from pypdf import PdfReader, PdfWriter

    plain = tmp_path / "plain.pdf"
    text_to_pdf("Question 1\nanswer 15 and some more words to pass the threshold", plain)
    writer = PdfWriter(clone_from=PdfReader(plain))
    writer.encrypt(user_password=user_password, owner_password="owner")
    locked = tmp_path / "locked.pdf"
    with open(locked, "wb") as fh:
        writer.write(fh)
    return locked


def test_encrypted_with_user_password(tmp_path):
    with pytest.raises(PdfError, match="password"):
        read_pdf_pages(encrypted_pdf(tmp_path, "secret"))


def test_encrypted_without_user_password_is_read(tmp_path):
    assert "answer 15" in read_pdf_pages(encrypted_pdf(tmp_path, "")).texts[0]


def test_page_limit(tmp_path):
    path = tmp_path / "long.pdf"
    text_to_pdf("\f".join(f"page {i} with enough text to count as typed" for i in range(5)), path)
    with pytest.raises(PdfError, match="limit is 3"):
        read_pdf_pages(path, max_pages=3)


SAMPLE_SUBMISSIONS = sorted((Path(__file__).resolve().parents[2] / "samples").glob("*/submissions/*.pdf"))


@pytest.mark.parametrize("path", SAMPLE_SUBMISSIONS, ids=lambda p: p.name)
def test_text_layer_has_the_words_pypdf_reads(path):
    """PDFium reads the text layer; pypdf, the fallback, must agree on every word and line."""
    from pypdf import PdfReader

    pdf = read_pdf_pages(path)
    for index, page in enumerate(PdfReader(str(path)).pages):
        slow = (page.extract_text() or "").replace("\x00", "")
        fast = pdf.texts[index]
        if fast is None:
            assert len("".join(slow.split())) < 25, index   # pypdf finds no text layer either
            continue
        lines = [line.split() for line in slow.splitlines() if line.strip()]
        if all(len("".join(words)) == 1 for words in lines):
            # A column of single letters (seed 002's answer-sheet margins): PDFium reads it as
            # one line, pypdf as one line per letter; the letters must be the same.
            assert "".join(fast.split()) == "".join(slow.split()), index
        else:
            assert [line.split() for line in fast.splitlines() if line.strip()] == lines, index


def test_turned_and_rotated_pages_keep_line_order(tmp_path):
    """PDFium lists the lines of a turned page last first; such pages are read by pypdf."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    lines = [f"Line {i}: part {i} is {i * 7}" for i in range(1, 6)]
    path = tmp_path / "turned.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    for angle, origin in ((-90, (0, A4[1])), (90, (A4[0], 0)), (0, (0, 0))):
        c.translate(*origin)
        c.rotate(angle)
        for n, line in enumerate(lines):
            c.drawString(72, 500 - 14 * n, line)
        c.showPage()
    c.save()
    writer = PdfWriter(clone_from=PdfReader(str(path)))
    writer.pages[2].rotate(90)
    writer.write(str(path))
    for number, text in enumerate(read_pdf_pages(path).texts, start=1):
        assert [line for line in text.splitlines() if line.strip()] == lines, number


def test_control_characters_are_dropped(tmp_path):
    from grader.pdf import _clean

    assert _clean("a\x00b\x01c\r\nd\re\tf") == "abc\nd\ne\tf"
    assert _clean("^{j\x021}") == _clean("^{j\ufffe1}") == "^{j-\n1}"   # PDFium's line-end hyphen


def test_hyphen_at_a_line_end_is_kept(tmp_path):
    """PDFium joins "j-" + "1" across a line break and marks the hyphen; the hyphen is text."""
    from reportlab.pdfgen import canvas

    path = tmp_path / "hyphen.pdf"
    c = canvas.Canvas(str(path))
    for n, line in enumerate(["Question 1: the receptive field is R = 1 + (F_j - 1) S_{j-",
                              "1} = 15 for the ImageNet-", "classification network."]):
        c.drawString(72, 700 - 14 * n, line)
    c.save()
    text = read_pdf_pages(path).texts[0]
    assert "S_{j-1}" in text.replace("\n", "") and "ImageNet-classification" in text.replace("\n", "")


def test_a_page_with_megabytes_of_text_is_read_by_pypdf_not_pdfium(tmp_path, monkeypatch):
    """PDFium keeps ~110 bytes per character of a page's text (484 MB for 4 MB of text);
    such a page goes to pypdf (48 MB), the ordinary page beside it to PDFium."""
    import grader.pdf as pdf
    from tools.make_bad_inputs import _huge_text_pdf

    path = tmp_path / "huge.pdf"
    path.write_bytes(_huge_text_pdf())
    asked = []
    original = pdf._pdfium_text_layers
    monkeypatch.setattr(pdf, "_pdfium_text_layers",
                        lambda p, count, skip=frozenset(): asked.append(set(skip)) or
                        original(p, count, skip))
    pages = read_pdf_pages(path)
    assert asked == [{1}]
    assert len(pages.texts[1]) == pdf.MAX_TEXT_CHARS_PER_PAGE
    assert pages.texts[1].startswith("Lorem ipsum dolor sit amet")
    assert "Question" in pages.texts[0] or "Problem" in pages.texts[0]


@pytest.mark.parametrize("content, refused", [
    (b"q BI /W 45000 /H 45000 /BPC 8 /CS /G /F /Fl ID xx EI Q", True),
    (b"BI/W 45000/H 45000/D[1 0]ID x EI", True),                      # delimiters, no spaces
    (b"BI /#57 45000 /#48eight 45000 ID x EI", True),                 # #xx escapes in names
    (b"BI /Width 45000 /Height 45000 /Foo [" + b"0 " * 5000 + b"] ID x EI", True),   # padded
    (b"BI /W 9000 /H 9000 ID x EI", True),                            # 81 Mpx: just over
    (b"q BI /W 600 /H 400 /BPC 8 /CS /RGB /F /DCT ID " + b"\xff" * 500 + b" EI Q", False),
    (b"BT (A BIG answer: BI /W 45000 /H 9 ID) Tj ET", False),         # text, and small anyway
    (b"/BI /W 99999 /H 99999 ID", False),                             # a name, not the operator
    (b" BI " * 1000 + b"/W 99999 /H 99999", False),                   # no ID: no image
])
def test_inline_image_sizes_are_read_from_the_content(content, refused):
    from grader.pdf import _check_inline_images

    if refused:
        with pytest.raises(PdfError, match=r"^page 3 contains an image of"):
            _check_inline_images(content, 3)
    else:
        _check_inline_images(content, 3)
