"""Scanned TUM-style multiple-choice submissions graded end to end: rendering, OCR, checkbox
registration and classification, all-or-nothing scoring — in-process on the embedded default,
and through Redis with two worker processes (pages fanned out as a chord)."""
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.integration.realservices import grade_through_workers

FOLDER = Path(__file__).resolve().parents[2] / "samples" / "tum_endterm"
TRUTH = json.loads((FOLDER / "truth.json").read_text())


def expected_scores(student: dict) -> dict[str, float]:
    """All-or-nothing from the simulator's ground truth (what the student really marked)."""
    return {label: 2.0 if sorted(chosen) == sorted(TRUTH["correct"][label.split(".")[1]]) else 0.0
            for label, chosen in student["selection"].items()}


def check(objs: list[dict]) -> None:
    assert [o["student"] for o in objs] == [s["student"] for s in TRUTH["submissions"]]
    for obj, student in zip(objs, TRUTH["submissions"]):
        assert obj["status"] == "graded", obj
        answers = {a["question"]: a for a in obj["answers"]}
        for label, chosen in student["selection"].items():
            assert answers[label]["answer"] == sorted(chosen), (student["student"], label)
        assert {k: a["score"] for k, a in answers.items()} == expected_scores(student)
        assert obj["score"] == sum(expected_scores(student).values())


def test_three_mark_states_honoured_in_samples():
    marks = {b["mark"] for s in TRUTH["submissions"] for b in s["boxes"]}
    assert {"cross", "filled", "filled_recrossed", "empty"} <= marks


@pytest.mark.django_db(transaction=True)
def test_scanned_submissions_in_process(media_root):
    out = io.StringIO()
    call_command("load_exam", str(FOLDER / "exam.yaml"), stdout=out)
    assert "36 boxes for 9 questions" in out.getvalue()
    out = io.StringIO()
    pdfs = [str(FOLDER / s["file"]) for s in TRUTH["submissions"]]
    call_command("grade", "IN2346-ENDTERM", *pdfs, "--json", stdout=out, stderr=io.StringIO())
    check([json.loads(line) for line in out.getvalue().splitlines()])


@pytest.mark.redis
@pytest.mark.postgres
def test_scanned_submissions_through_redis_and_two_workers(tmp_path):
    pdfs = [str(FOLDER / s["file"]) for s in TRUTH["submissions"]]
    stdout, log = grade_through_workers(tmp_path, FOLDER / "exam.yaml", "IN2346-ENDTERM", pdfs,
                                        redis_db=12)
    check([json.loads(line) for line in stdout.splitlines()])
    # pages were fanned out to page tasks and joined
    assert "exams.read_page" in log and "exams.assemble_submission" in log


@pytest.mark.django_db
def test_checkbox_template_is_built_on_every_load_path(media_root, tmp_path):
    """The template comes from the exam service, so API and command loads both have it;
    explicit YAML `boxes:` work without a blank PDF."""
    from exams import services

    exam, _ = services.exam_load(text=(FOLDER / "exam.yaml").read_text(), base_dir=FOLDER)
    assert sum(len(v) for v in exam.omr_template.values()) == 36
    first = exam.omr_template["1.a"][0]
    truth = TRUTH["submissions"][0]["boxes"][0]          # 1.a option 1, as printed
    assert first[0] == 1 and abs(first[1] - truth["x"]) < 1 and abs(first[2] - truth["y"]) < 1

    explicit = ("code: BOXES\nquestions:\n - number: '1'\n   parts:\n"
                "    - {part: a, kind: multiple_choice, points: 2, options: [x, y], correct: [1],\n"
                "       boxes: [[1, 20, 30, 5, 5], [1, 20, 40, 5, 5]]}\n")
    exam, _ = services.exam_load(text=explicit)
    assert exam.omr_template == {"1.a": [[1.0, 20.0, 30.0, 5.0, 5.0], [1.0, 20.0, 40.0, 5.0, 5.0]]}


def _rearranged(tmp_path, student: str, order: list, name: str, turn: dict | None = None,
                shrink: dict | None = None) -> str:
    """The student's scan with its pages in ``order`` (1-based; None = an extra blank sheet),
    page n turned clockwise by ``turn[n]`` degrees (a page fed sideways) or printed at
    ``shrink[n]`` of its size."""
    from pypdf import PdfReader, PdfWriter

    source = PdfReader(str(FOLDER / f"{student}.pdf"))
    writer = PdfWriter()
    for n in order:
        if n is None:
            box = source.pages[0].mediabox
            writer.add_blank_page(width=box.width, height=box.height)
        else:
            page = writer.add_page(source.pages[n - 1])
            if turn and n in turn:
                page.rotate(turn[n])
            if shrink and n in shrink:
                page.scale_by(shrink[n])
    path = tmp_path / f"{name}.pdf"
    writer.write(str(path))
    return str(path)


@pytest.mark.django_db(transaction=True)
def test_pages_out_of_order_and_an_extra_sheet_are_placed_by_their_boxes(media_root, tmp_path):
    """Page 2 first, a blank sheet, then pages 1 and 3: every box page is found where it is,
    including page 1, which landed where the blank exam has no boxes at all."""
    call_command("load_exam", str(FOLDER / "exam.yaml"), stdout=io.StringIO())
    students = TRUTH["submissions"]
    pdfs = [_rearranged(tmp_path, s["student"], [2, None, 1, 3], s["student"]) for s in students]
    out = io.StringIO()
    call_command("grade", "IN2346-ENDTERM", *pdfs, "--json", stdout=out, stderr=io.StringIO())
    check([json.loads(line) for line in out.getvalue().splitlines()])


@pytest.mark.django_db(transaction=True)
def test_pages_fed_sideways_are_turned_by_their_boxes(media_root, tmp_path):
    """Page 1 turned a quarter turn one way, page 2 the other (the sheet shown sideways, as a
    scanner that was fed it sideways stores it): both fit their blank page turned back, and
    are graded as if upright."""
    call_command("load_exam", str(FOLDER / "exam.yaml"), stdout=io.StringIO())
    students = TRUTH["submissions"]
    pdfs = [_rearranged(tmp_path, s["student"], [1, 2, 3], s["student"], turn={1: 270, 2: 90})
            for s in students]
    out = io.StringIO()
    call_command("grade", "IN2346-ENDTERM", *pdfs, "--json", stdout=out, stderr=io.StringIO())
    check([json.loads(line) for line in out.getvalue().splitlines()])


@pytest.mark.django_db(transaction=True)
def test_a_page_whose_boxes_fit_nowhere_is_flagged_not_failed(media_root, tmp_path):
    """A page printed at 80 % fits no page of the blank exam, upright or turned: its
    questions are flagged for review, the rest graded, nothing crashes."""
    call_command("load_exam", str(FOLDER / "exam.yaml"), stdout=io.StringIO())
    student = TRUTH["submissions"][0]
    pdf = _rearranged(tmp_path, student["student"], [1, 2, 3], "shrunk", shrink={2: 0.8})
    out = io.StringIO()
    call_command("grade", "IN2346-ENDTERM", pdf, "--json", stdout=out, stderr=io.StringIO())
    obj = json.loads(out.getvalue())
    assert obj["status"] == "needs_review", obj
    answers = {a["question"]: a for a in obj["answers"]}
    page_2 = [label for label, boxes in _template_labels_by_page().items() if boxes == 2]
    assert page_2 and all("registration_failed" in answers[label]["flags"] for label in page_2)
    for label, chosen in student["selection"].items():
        if label not in page_2:
            assert answers[label]["answer"] == sorted(chosen) and not answers[label]["flags"]


def _template_labels_by_page() -> dict[str, int]:
    from exams.models import Exam

    template = Exam.objects.get(code="IN2346-ENDTERM").omr_template
    return {label: int(entries[0][0]) for label, entries in template.items()}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("turn", [None, {1: 270, 2: 90}], ids=["upright", "sideways"])
def test_without_a_blank_pdf_boxes_are_read_beside_their_printed_options(media_root, tmp_path,
                                                                         turn):
    """The same exam loaded without blank.pdf: no template, so each option's box is the one
    beside its printed text, found through the OCR words, or, where Tesseract dropped a short
    option line, the question's boxes in order. One box crossed with strokes far outside it
    is not found as a box: it is read where its column of boxes goes on. Sheets fed sideways
    are turned upright by their text first (Tesseract reads them on end, boxes and all)."""
    definition = (FOLDER / "exam.yaml").read_text().replace("blank_pdf: blank.pdf\n", "")
    definition = definition.replace("code: IN2346-ENDTERM", "code: IN2346-NOBLANK")
    assert "blank_pdf" not in definition
    (tmp_path / "exam.yaml").write_text(definition)
    call_command("load_exam", str(tmp_path / "exam.yaml"), stdout=io.StringIO())
    out = io.StringIO()
    pdfs = [_rearranged(tmp_path, s["student"], [1, 2, 3], s["student"], turn=turn)
            for s in TRUTH["submissions"]]
    call_command("grade", "IN2346-NOBLANK", *pdfs, "--json", stdout=out, stderr=io.StringIO())
    check([json.loads(line) for line in out.getvalue().splitlines()])
    from exams.models import Answer

    evidence = Answer.objects.filter(submission__exam__code="IN2346-NOBLANK").values_list(
        "evidence", flat=True)
    assert len(evidence) == 27 and all("beside the options" in e for e in evidence)
