"""Scans of a printed exam with answer boxes, filled in by hand, through the real service path
(in-process): never a silent zero. And documents that are not one student's copy of the exam
are never `graded`, with and without the blank PDF."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from exams import services
from exams.models import Submission
from tools import written_exam
from tests.conftest import SAMPLES
from tools.scansim import images_to_pdf

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Six students (seeded): every outcome (right, wrong, empty, scribble) by hand, 100-300
    dpi, pages turned and out of order, and one copy of the blank exam that nobody filled in."""
    folder = tmp_path_factory.mktemp("written")
    written_exam.generate(folder)
    truth = written_exam.students(folder, 6, seed=14)
    truth.append(written_exam.fill(folder, 7, seed=14, dpi=150, outcomes={
        label: "empty" for label in written_exam.WRITTEN}))
    return folder, truth


def _load(folder, *, blank: bool = True):
    text = (folder / "exam.yaml").read_text()
    if not blank:
        text = text.replace("blank_pdf: blank.pdf\n", "")
    exam, _ = services.exam_load(text=text, base_dir=folder)
    return exam


def _grade(exam, pdf: bytes, student: str) -> Submission:
    s = services.submission_create(exam=exam, student=student, content=pdf)
    s.refresh_from_db()
    return s


def test_no_silent_zero_and_no_silent_misgrade(corpus, media_root):
    folder, truth = corpus
    exam = _load(folder)
    seen = {"auto right": 0, "flagged": 0}
    for t in truth:
        s = _grade(exam, (folder / t["file"]).read_bytes(), t["file"])
        assert s.status in (Submission.Status.GRADED, Submission.Status.NEEDS_REVIEW), s.error
        assert s.flags == [], (t["file"], s.flags)        # one student's copy, every page there
        for a in s.answers.select_related("question"):
            part = t["parts"][a.question.label]
            where = (t["file"], a.question.label, part["outcome"], a.status, a.flags, a.raw_text)
            if part["outcome"] in ("right", "wrong", "scribble"):
                # Ink in the box is never "unanswered"; a scribble is never scored silently.
                assert "unanswered" not in a.flags, where
                assert part["outcome"] != "scribble" or a.status == "flagged", where
            if part["outcome"] == "empty":
                # An empty box is unanswered with its evidence: the ink measured there.
                assert a.status == "auto" and a.flags == ["unanswered"], where
                assert a.ink is not None and a.ink < 0.001, where
            if a.status == "auto":
                assert a.score == part["score"], where           # zero silent misgrades
                seen["auto right"] += 1
            else:
                seen["flagged"] += 1
    assert seen["auto right"] >= 20, seen     # boxes, empty boxes and sure readings


def _pdf(images: list[Image.Image]) -> bytes:
    """The images as a scanner's PDF (one JPEG per page, no text layer)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scan.pdf"
        images_to_pdf(images, path)
        return path.read_bytes()


def _pages(folder, name: str) -> list[Image.Image]:
    from grader.render import pdf_page_count, render_pdf_page

    path = folder / name
    return [render_pdf_page(path, i, dpi=150).image for i in range(pdf_page_count(path))]


@pytest.mark.parametrize("blank", [True, False])
def test_documents_that_are_not_one_students_copy_are_never_graded(corpus, media_root, blank):
    folder, truth = corpus
    exam = _load(folder, blank=blank)
    white = Image.fromarray(np.full((1754, 1240), 248, dtype=np.uint8))
    other = SAMPLES / "ai6126_a2" / "submissions" / "seed001_student.pdf"
    cases = {
        "white pages": _pdf([white, white]),
        "another course's exam": _pdf(_pages(other.parent, other.name)[:2]),
        "two students in one file": _pdf(_pages(folder, truth[0]["file"])
                                         + _pages(folder, truth[1]["file"])),
    }
    expected = {"white pages": "no_page_matches", "another course's exam": "no_page_matches",
                "two students in one file": "page_twice"}
    for case, pdf in cases.items():
        s = _grade(exam, pdf, case)
        assert s.status == Submission.Status.NEEDS_REVIEW, (case, s.status, s.error)
        answers = {a.question.label: (a.status, a.flags) for a in s.answers.select_related("question")}
        assert expected[case] in s.flags, (case, s.flags, answers)
        if case != "two students in one file":
            # Nothing of a foreign or empty document is a silent automatic zero.
            assert all(status == "flagged" for status, _ in answers.values()), (case, sorted(answers.items()))
