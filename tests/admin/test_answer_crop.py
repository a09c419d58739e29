"""The review queue shows the band of the page that holds the answer: placed through the
segment's offsets into the page text, then PDFium's character boxes (typed PDFs) or the OCR
word boxes (scans). Checked by reading the crop back with Tesseract."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from PIL import Image

from exams.models import Answer

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "ai6126_a2"
TYPED = SAMPLE / "submissions" / "seed001_student.pdf"


def _scanned_copy(tmp_path) -> Path:
    """The typed sample as a scanner would give it: one 200 dpi image per page, no text."""
    from grader.render import render_pdf_page
    from pypdf import PdfReader

    count = len(PdfReader(str(TYPED)).pages)
    images = [render_pdf_page(TYPED, i, dpi=200).image.convert("L") for i in range(count)]
    path = tmp_path / "scanned.pdf"
    images[0].save(path, save_all=True, append_images=images[1:], resolution=200)
    return path


def _tokens(text: str) -> set[str]:
    return {t for t in re.findall(r"[a-z0-9]{3,}", text.lower())}


@pytest.mark.django_db(transaction=True)
def test_the_crop_holds_the_answer_typed_and_scanned(client, media_root, tmp_path):
    from grader.ocr import ocr_page

    call_command("load_exam", str(SAMPLE / "exam.yaml"), stdout=io.StringIO())
    out = io.StringIO()
    call_command("grade", "AI6126-A2", str(TYPED), str(_scanned_copy(tmp_path)), "--json",
                 stdout=out, stderr=io.StringIO())
    assert len(out.getvalue().splitlines()) == 2
    client.force_login(get_user_model().objects.create_superuser("boss", "b@x.org", "pw"))
    for student, source in (("seed001_student", "text_layer"), ("scanned", "ocr")):
        answers = Answer.objects.filter(submission__student=student).exclude(spans=[])
        assert answers.count() >= 5, student
        assert {p.source for p in answers[0].submission.pages.all()} == {source}
        # The longest answer on one page: enough words to recognise it in the crop.
        one_page = [a for a in answers if len({s[0] for s in a.spans}) == 1]
        answer = max(one_page, key=lambda a: len(_tokens(a.raw_text)))
        page = answer.spans[0][0]
        response = client.get(f"/admin/exams/answer/{answer.pk}/crop/{page}.png")
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        crop = Image.open(io.BytesIO(response.content))
        assert crop.width == pytest.approx(210 / 25.4 * 150, abs=3)      # full A4 width
        assert crop.height < 0.6 * 297 / 25.4 * 150                      # a band, not a page
        read = _tokens(ocr_page(crop, page_number=page, dpi=150).text)
        wanted = _tokens(answer.raw_text)
        assert len(read & wanted) >= 0.7 * len(wanted), (student, answer.raw_text)
        html = client.get(f"/admin/exams/answer/{answer.pk}/change/").content.decode()
        assert f"/admin/exams/answer/{answer.pk}/crop/{page}.png" in html


@pytest.mark.django_db(transaction=True)
def test_an_answer_that_cannot_be_placed_shows_the_whole_page(client, media_root):
    call_command("load_exam", str(SAMPLE / "exam.yaml"), stdout=io.StringIO())
    call_command("grade", "AI6126-A2", str(TYPED), "--json", stdout=io.StringIO(),
                 stderr=io.StringIO())
    client.force_login(get_user_model().objects.create_superuser("boss", "b@x.org", "pw"))
    answer = Answer.objects.exclude(spans=[]).first()
    page = answer.spans[0][0]
    answer.spans = [[page, 0, 0]]                 # no letters there: nothing to place
    answer.save()
    response = client.get(f"/admin/exams/answer/{answer.pk}/crop/{page}.png")
    assert response.status_code == 200
    whole = Image.open(io.BytesIO(response.content))
    assert whole.height == pytest.approx(297 / 25.4 * 100, abs=3)     # the page, at PAGE_DPI


TUM = Path(__file__).resolve().parents[2] / "samples" / "tum_endterm"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_blank", [True, False])
def test_a_checkbox_answer_shows_its_boxes_upright(client, media_root, tmp_path, with_blank):
    """Student 2's page 2 was scanned upside down: the crop of each question is turned
    upright and shows that question's options (read back with Tesseract), whether the boxes
    were placed by the blank exam or beside their printed options."""
    import yaml

    from exams.review import answer_crop_pages
    from grader.ocr import ocr_page

    definition = (TUM / "exam.yaml").read_text()
    if not with_blank:
        definition = definition.replace("blank_pdf: blank.pdf\n", "")
    (tmp_path / "exam.yaml").write_text(definition)
    if with_blank:
        (tmp_path / "blank.pdf").write_bytes((TUM / "blank.pdf").read_bytes())
    call_command("load_exam", str(tmp_path / "exam.yaml"), stdout=io.StringIO())
    call_command("grade", "IN2346-ENDTERM", str(TUM / "student_02.pdf"), "--json",
                 stdout=io.StringIO(), stderr=io.StringIO())
    client.force_login(get_user_model().objects.create_superuser("boss", "b@x.org", "pw"))
    options = {f"1.{p['part']}": p["options"]
               for p in yaml.safe_load(definition)["questions"][0]["parts"]}
    for label in ("1.a", "1.e", "1.i"):            # page 1; page 2 (upside down) top, bottom
        answer = Answer.objects.get(question__label=label)
        pages = answer_crop_pages(answer)
        assert pages == [1 if label == "1.a" else 2], label
        response = client.get(f"/admin/exams/answer/{answer.pk}/crop/{pages[0]}.png")
        crop = Image.open(io.BytesIO(response.content))
        assert crop.height < 0.3 * 297 / 25.4 * 150, label
        read = _tokens(ocr_page(crop, page_number=1, dpi=150).text)
        seen = [o for o in options[label] if _tokens(o) & read]
        assert len(seen) >= 2, (label, read)
        # and not the options of the questions around it
        own = {t for o in options[label] for t in _tokens(o)}
        others = [o for other, opts in options.items() if other != label for o in opts
                  if len(_tokens(o)) >= 2 and _tokens(o) <= read and not _tokens(o) <= own]
        assert not others, (label, others)


@pytest.mark.django_db(transaction=True)
def test_a_page_with_megabytes_of_text_is_not_searched_for_the_answer(media_root, tmp_path,
                                                                       monkeypatch):
    """The huge-text corpus page (4 MB of text, stored capped): the crop falls back to the
    whole page without asking PDFium for its character boxes (~0.5 GB)."""
    import grader.pdf
    from exams import review
    from tools.make_bad_inputs import _huge_text_pdf

    path = tmp_path / "huge.pdf"
    path.write_bytes(_huge_text_pdf())
    call_command("load_exam", str(SAMPLE / "exam.yaml"), stdout=io.StringIO())
    call_command("grade", "AI6126-A2", str(path), "--json", stdout=io.StringIO(),
                 stderr=io.StringIO())
    answer = Answer.objects.exclude(spans=[]).first()
    answer.spans = [[2, 10, 500]]
    monkeypatch.setattr(grader.pdf, "text_layer_words",
                        lambda *a: pytest.fail("character boxes asked for"))
    assert review.answer_crop(answer=answer, number=2, dpi=100) is None
