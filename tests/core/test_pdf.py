"""Reading typed PDFs, and readable errors for files that are not usable PDFs."""
import pytest

from grader.pdf import PdfError, read_pdf_pages, text_layer_pages
from tools.typed_pdf import text_to_pdf


def test_text_layer_round_trip(tmp_path):
    path = tmp_path / "a.pdf"
    text_to_pdf("Question 1\nii) the receptive field is 15×15\n\fQuestion 2\nVQ-VAE quantizes.", path)
    pdf = read_pdf_pages(path)
    assert pdf.count == 2 and pdf.needs_ocr() == []
    pages = text_layer_pages(pdf)
    assert "15×15" in pages[0].text and pages[1].text.startswith("Question 2")


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
