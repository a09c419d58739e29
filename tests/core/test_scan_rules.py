"""The rules that decide what a scan means, on hand-made page reads: no database, no
Tesseract, no images. (The end-to-end scan tests check the same rules on real scans.)"""
from __future__ import annotations

import pytest

from grader.choices import option_text_answers, template_answers
from grader.exam import ExamSpec
from grader.omr.by_text import PlacedMark
from grader.pages import BoxRead, PageRead, TemplateFit, text_layer_page
from grader.pipeline import grade_document
from grader.types import Flag, Kind, QuestionSpec, Source

Q1 = QuestionSpec(label="1", number="1", part=None, kind=Kind.MULTIPLE_CHOICE, points=2.0,
                  key=[2], options=("Relu", "Sigmoid", "Tanh"), title="Which saturate least?")
Q2 = QuestionSpec(label="2", number="2", part=None, kind=Kind.NUMERIC, points=1.0, key=15)
TEMPLATE = {"1": [[1, 20.0, 50.0, 4.0, 4.0], [1, 20.0, 60.0, 4.0, 4.0], [1, 20.0, 70.0, 4.0, 4.0]]}
EXAM = ExamSpec.build([Q1, Q2], TEMPLATE)


def fit(marks: str, *, ok: bool = True, uncertain: int | None = None, page: int = 1) -> TemplateFit:
    """A fit of blank page ``page`` whose three boxes read ``marks`` ('x' crossed, '.' empty)."""
    readings = tuple(BoxRead("1", i, "cross" if m == "x" else "empty", m == "x", 0.9,
                             uncertain == i, 50.0 + 10 * i if ok else None)
                     for i, m in enumerate(marks, start=1))
    return TemplateFit(page, ok, 0.2 if ok else None, False, 0, readings)


def scan(number: int, the_fit: TemplateFit | None = None, text: str = "") -> PageRead:
    return PageRead(number=number, source=Source.OCR, text=text, confidence=0.9, fit=the_fit)


def test_a_fitted_page_gives_the_checked_options():
    answer = template_answers([scan(1, fit(".x."))])["1"]
    assert answer.value == [2] and answer.flags == ()
    assert answer.evidence == "boxes 1:empty, 2:cross, 3:empty"


def test_a_page_that_does_not_fit_is_read_but_flagged():
    answer = template_answers([scan(1, fit(".x.", ok=False))])["1"]
    assert answer.value == [2] and answer.flags == (Flag.REGISTRATION_FAILED,)


def test_a_box_in_the_uncertain_band_flags_its_question():
    assert template_answers([scan(1, fit(".x.", uncertain=3))])["1"].flags == (Flag.UNCERTAIN_BOX,)


@pytest.mark.parametrize("second, flags", [(".x.", ()), ("xx.", (Flag.AMBIGUOUS,))])
def test_a_page_scanned_twice(second, flags):
    """Read from the first scan; flagged where the two scans disagree."""
    answer = template_answers([scan(1, fit(".x.")), scan(2, fit(second))])["1"]
    assert answer.value == [2] and answer.flags == flags


def test_the_fitted_scan_wins_over_one_that_did_not_fit():
    answer = template_answers([scan(1, fit("x..", ok=False)), scan(2, fit(".x."))])["1"]
    assert answer.value == [2] and answer.flags == ()


# ---------------------------------------------------------------- without a template

WORDS = [("Which", 20, 30), ("saturate", 35, 30), ("least?", 60, 30),
         ("Relu", 30, 50), ("Sigmoid", 30, 60), ("Tanh", 30, 70)]


def by_text_page(marks: list[tuple[float, bool]], words=WORDS) -> PageRead:
    return PageRead(number=1, source=Source.OCR, text=" ".join(w for w, _, _ in words),
                    words=tuple((w, 0.9) for w, _, _ in words),
                    word_boxes=tuple((x, y - 2, 5.0 * len(w) / 2, 4.0) for w, x, y in words),
                    marks=tuple(PlacedMark(1, 22.0, cy, 4.0, "cross" if checked else "empty",
                                           checked, 0.9, False) for cy, checked in marks))


def test_boxes_beside_their_printed_options():
    found = option_text_answers([by_text_page([(50, False), (60, True), (70, False)])], [Q1])
    assert found.answers["1"].value == [2] and found.answers["1"].flags == ()
    assert found.boxes == {1: {"1": (50, 60, 70)}}


def test_an_option_whose_box_cannot_be_placed_is_flagged():
    found = option_text_answers([by_text_page([(50, False), (60, True)])], [Q1])
    assert found.answers["1"].value == [2]
    assert found.answers["1"].flags == (Flag.REGISTRATION_FAILED,)
    assert "3:not found" in found.answers["1"].evidence


def test_a_question_with_no_box_placed_is_flagged_never_read_from_its_text():
    """On a scan the question's text is the printed options, which the text parser would read
    as if the student had written them all: nothing read, flagged (never `unanswered`)."""
    for page in (by_text_page([]), by_text_page([(50, True)], words=[("Other", 30, 50)])):
        answer = option_text_answers([page], [Q1]).answers["1"]
        assert answer.value is None and answer.flags == (Flag.REGISTRATION_FAILED,)
    graded = grade_document([by_text_page([])], ExamSpec.build([Q1, Q2]))
    assert graded.answers[0].status == "flagged" and graded.answers[0].scored.score == 0


def test_a_placement_that_fails_flags_its_questions(monkeypatch, caplog):
    """No exception escapes the by-text path: a bug there flags the questions (and is
    logged), it does not fail the submission."""
    from grader import choices

    def broken(*args, **kwargs):
        raise IndexError("list index out of range")

    monkeypatch.setattr(choices, "place_by_option_text", broken)
    answer = option_text_answers([by_text_page([(50, False), (60, True)])], [Q1]).answers["1"]
    assert answer.flags == (Flag.REGISTRATION_FAILED,) and answer.value is None
    assert "placing checkboxes by their option text failed" in caplog.text


# ---------------------------------------------------------------- the whole back half

def test_grade_document_scores_boxes_and_text_and_keeps_the_pages():
    pages = [scan(1, fit(".x.")), text_layer_page(2, "Question 2\nThe receptive field is 15.")]
    graded = grade_document(list(reversed(pages)), EXAM)
    assert [p.number for p in graded.pages] == [1, 2]
    one, two = graded.answers
    assert (one.label, one.parsed.value, one.scored.score, one.status) == ("1", [2], 2.0, "auto")
    assert (two.label, two.parsed.value, two.scored.score) == ("2", 15, 1.0)


def test_grade_document_reads_untemplated_choices_by_their_text_and_records_where():
    exam = ExamSpec.build([Q1, Q2])
    graded = grade_document([by_text_page([(50, False), (60, True), (70, True)])], exam)
    answer = graded.answers[0]
    assert answer.parsed.value == [2, 3] and answer.scored.score == 0.0
    assert graded.pages[0].choice_boxes == {"1": (50, 60, 70)}
    # The numeric question's heading is nowhere on the scan: not located, never "unanswered".
    assert graded.answers[1].scored.flags == (Flag.NOT_LOCATED,)


def test_page_reads_travel_as_json_unchanged():
    pages = [scan(1, fit(".x.", uncertain=2)), by_text_page([(50, False), (60, True)]),
             text_layer_page(3, "typed")]
    for page in pages:
        assert PageRead.from_json(page.to_json()) == page


def test_question_specs_travel_as_json_unchanged():
    from pathlib import Path

    from rubrics.definition import parse_definition_text
    from rubrics.keys import check_keys

    samples = Path(__file__).resolve().parents[2] / "samples"
    specs = [spec for path in sorted(samples.glob("*/exam.yaml"))
             for spec in check_keys(parse_definition_text(path.read_text()))[0].questions]
    assert len(specs) > 20
    for spec in specs:
        assert QuestionSpec.from_json(spec.to_json()) == spec
