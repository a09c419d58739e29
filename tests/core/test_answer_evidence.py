"""`unanswered` only with evidence, and reasons about the document as a whole, on hand-made
page reads (no images, no OCR): the rules of grader.answers and grader.document."""
from __future__ import annotations

import pytest

from grader.align import Alignment
from grader.exam import ExamSpec
from grader.layout import BlankLayout, Region
from grader.pages import BoxRead, PageRead, RegionRead, TemplateFit, text_layer_page
from grader.pipeline import grade_document
from grader.types import DocumentFlag, Flag, Kind, QuestionSpec, Source

NUM = QuestionSpec(label="1.a", number="1", part="a", kind=Kind.NUMERIC, points=2.0, key=15)
SHAPE = QuestionSpec(label="1.b", number="1", part="b", kind=Kind.SHAPE, points=2.0, key=[8, 8, 5])
MC = QuestionSpec(label="2", number="2", part=None, kind=Kind.MULTIPLE_CHOICE, points=2.0,
                  key=[1], options=("yes", "no"))
LAYOUT = BlankLayout(((210.0, 297.0), (210.0, 297.0)),
                     {"1.a": Region(1, 20, 40, 160, 20, "frame"),
                      "1.b": Region(1, 20, 80, 160, 20, "frame")})
EXAM = ExamSpec.build([NUM, SHAPE, MC], {"2": [[2, 20, 50, 5, 5], [2, 20, 60, 5, 5]]}, LAYOUT)


def aligned(number: int, template_page: int, regions=(), boxes: str | None = None) -> PageRead:
    fit = None
    if boxes is not None:
        fit = TemplateFit(template_page, True, 0.1, False, 0, tuple(
            BoxRead("2", i, "cross" if b == "x" else "empty", b == "x", 0.9, False, 50.0 + 10 * i)
            for i, b in enumerate(boxes, start=1)))
    return PageRead(number=number, source=Source.SCAN, text="", fit=fit,
                    alignment=Alignment(template_page, 1, 0, 0, 1, 0, 0, 200),
                    regions=tuple(regions))


def region(label: str, ink: float, text: str = "", confidence: float = 0.95) -> RegionRead:
    return RegionRead(label, ink, ink / 3200, text, confidence, "tesseract" if text else "")


def by_label(graded):
    return {a.label: a for a in graded.answers}


def test_answers_are_read_from_their_regions():
    pages = [aligned(1, 1, [region("1.a", 30, "15"), region("1.b", 40, "8 x 8 x 5")]),
             aligned(2, 2, boxes="x.")]
    graded = grade_document(pages, EXAM)
    got = by_label(graded)
    assert [got[q].scored.score for q in ("1.a", "1.b", "2")] == [2.0, 2.0, 2.0]
    assert all(a.status == "auto" for a in got.values()) and graded.flags == ()
    assert got["1.a"].pages == (1,) and got["1.a"].ink == pytest.approx(30 / 3200)


def test_an_empty_region_is_unanswered_with_its_ink_as_evidence():
    graded = grade_document([aligned(1, 1, [region("1.a", 0.2), region("1.b", 40, "8x8x5")]),
                             aligned(2, 2, boxes="x.")], EXAM)
    answer = by_label(graded)["1.a"]
    assert answer.scored.flags == (Flag.UNANSWERED,) and answer.status == "auto"
    assert "0.2 mm²" in answer.parsed.evidence and answer.ink == pytest.approx(0.2 / 3200)


def test_ink_that_cannot_be_read_is_flagged_never_unanswered():
    graded = grade_document([aligned(1, 1, [region("1.a", 25.0, ""), region("1.b", 0.0)]),
                             aligned(2, 2, boxes="x.")], EXAM)
    answer = by_label(graded)["1.a"]
    assert Flag.UNREADABLE in answer.scored.flags and answer.status == "flagged"
    assert answer.scored.score == 0.0 and "25 mm² of ink" in answer.parsed.evidence


def test_a_missing_page_is_not_located_and_flags_the_document():
    graded = grade_document([aligned(1, 2, boxes=".x")], EXAM)
    got = by_label(graded)
    assert got["1.a"].scored.flags == (Flag.NOT_LOCATED,) and got["1.a"].status == "flagged"
    assert got["2"].parsed.value == [2]
    assert graded.flags == (DocumentFlag.PAGES_MISSING,)


def test_white_pages_or_another_exam_match_no_page():
    pages = [PageRead(number=1, source=Source.SCAN, text=""),
             PageRead(number=2, source=Source.SCAN, text="")]
    graded = grade_document(pages, EXAM)
    assert graded.flags == (DocumentFlag.NO_PAGE_MATCHES,)
    assert all(a.status == "flagged" and Flag.NOT_LOCATED in a.scored.flags
               for a in graded.answers)


def test_two_students_in_one_file():
    first = [aligned(1, 1, [region("1.a", 30, "15"), region("1.b", 0.0)]), aligned(2, 2, boxes="x.")]
    second = [aligned(3, 1, [region("1.a", 30, "17"), region("1.b", 40, "8x8x5")]),
              aligned(4, 2, boxes=".x")]
    graded = grade_document(first + second, EXAM)
    assert DocumentFlag.PAGE_TWICE in graded.flags
    got = by_label(graded)
    assert Flag.AMBIGUOUS in got["1.a"].scored.flags and Flag.AMBIGUOUS in got["2"].scored.flags
    # The same page scanned twice, alike, is one student's: no flag.
    again = grade_document(first + [aligned(3, 1, [region("1.a", 31, "15"), region("1.b", 0.1)])],
                           EXAM)
    assert again.flags == ()


# ---------------------------------------------------------------- scans without a blank PDF

PLAIN = ExamSpec.build([NUM, SHAPE])


def ocr_page(text: str, unread=(), number: int = 1) -> PageRead:
    """An OCR page whose words sit one per line, 10 mm apart."""
    words = text.split()
    return PageRead(number=number, source=Source.OCR, text="\n".join(words), confidence=0.9,
                    words=tuple((w, 0.9) for w in words),
                    word_boxes=tuple((20.0, 20.0 + 10 * i, 10.0, 5.0) for i in range(len(words))),
                    unread_ink=tuple(unread))


def test_without_a_blank_a_heading_with_nothing_after_it_is_unanswered():
    got = by_label(grade_document([ocr_page("Question 1 a) 15 b)")], PLAIN))
    assert got["1.a"].scored.score == 2.0
    assert got["1.b"].scored.flags == (Flag.UNANSWERED,) and got["1.b"].status == "auto"


def test_without_a_blank_unread_marks_below_the_heading_are_unreadable():
    # "b)" is word 5 at y=60; a scribble no OCR word covers at y=66.
    got = by_label(grade_document([ocr_page("Question 1 a) 15 b)", [(30.0, 66.0, 20.0, 8.0)])],
                                  PLAIN))
    assert Flag.UNREADABLE in got["1.b"].scored.flags and got["1.b"].status == "flagged"


def test_without_a_blank_a_heading_not_found_is_never_unanswered():
    """Tesseract garbled the heading: the answers are on the page, their headings are not."""
    graded = grade_document([ocr_page("Ouestiom Z a) 15 b) 8x8x5")], PLAIN)
    assert all(Flag.NOT_LOCATED in a.scored.flags for a in graded.answers)
    assert graded.flags == (DocumentFlag.NO_PAGE_MATCHES,)


def test_without_a_blank_two_copies_of_the_exam_are_two_students():
    pages = [ocr_page("Question 1 a) 15 b) 8x8x5", number=1),
             ocr_page("Question 1 a) 17 b) 9x9x5", number=2)]
    assert DocumentFlag.PAGE_TWICE in grade_document(pages, PLAIN).flags


def test_typed_documents_keep_their_rule():
    """A text layer holds all the student typed: a heading that is not there is unanswered."""
    graded = grade_document([text_layer_page(1, "Question 1\na) 15")], PLAIN)
    assert by_label(graded)["1.b"].scored.flags == (Flag.UNANSWERED,)
    assert graded.flags == ()
