"""Segmentation rules on small constructed submissions (the seeds are in test_seeds.py)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from grader.segment import PAGE_JOIN, segment_answers
from grader.types import PageText, QuestionSpec


def q(label, title=""):
    number, _, part = label.partition(".")
    return QuestionSpec(label=label, number=number, part=part or None, kind="text", points=1, title=title)


def seg(text_or_pages, exam):
    pages = text_or_pages if isinstance(text_or_pages, list) else [PageText(1, text_or_pages)]
    return segment_answers(pages, exam)


LETTER_EXAM = [q("1.a"), q("1.b"), q("1.c"), q("2")]
ROMAN_EXAM = [q("1.i"), q("1.ii"), q("1.iii"), q("2")]


def test_heading_styles():
    for heading in ["Question 2", "Question 2: Title (3 marks)", "Problem 2", "Q2", "A2", "Q 2"]:
        got = seg(f"Question 1\na) x\n\n{heading}\nthe answer", LETTER_EXAM)
        assert got["2"].text == "the answer", heading


def test_part_styles():
    for style in ["b)", "(b)", "b.", "- b)", "B:", "$$b \\quad"]:
        got = seg(f"Problem 1\na) first\n{style} second\nc) third", LETTER_EXAM)
        assert got["1.b"].text.endswith("second"), style
        assert got["1.a"].text == "first" and got["1.c"].text == "third"


def test_roman_or_letter_decided_by_the_exam():
    text = "Question 1\ni) one\nii) two\niii) three"
    assert seg(text, ROMAN_EXAM)["1.ii"].text == "two"
    letters = [q("1.h"), q("1.i"), q("2")]
    got = seg("Question 1\nh) eight\ni) nine\nii) not a part here", letters)
    assert got["1.i"].text.startswith("nine") and "not a part here" in got["1.i"].text


def test_latex_text_heading():
    got = seg("Question 1\n$$\\begin{aligned} \\text{ii) } R &= 15 \\end{aligned}$$", ROMAN_EXAM)
    assert got["1.ii"].text.startswith("R &= 15")


def test_any_order_and_combined_labels():
    got = seg("Q2\nsecond\n\nQ1\nc) cee\na) ay\n\n1b) bee", LETTER_EXAM)
    assert (got["2"].text, got["1.a"].text, got["1.b"].text, got["1.c"].text) == ("second", "ay", "bee", "cee")


def test_repeated_prompt_then_answer_last_content_wins():
    exam = [q("1.a", "What is the receptive field of the network?"), q("1.b", "Name two pooling layers."), q("2")]
    text = ("Question 1\na) What is the receptive field of the network?\nb) Name two pooling layers.\n\n"
            "Question 1\na) What is the receptive field of the network?\n\n15\n\nb) max and average")
    got = seg(text, exam)
    assert got["1.a"].text == "15" and got["1.b"].text == "max and average"


def test_prompt_without_title_repeated_is_not_an_answer():
    text = "Question 2: What is X? (2 marks)\n\nQuestion 2: What is X? (2 marks)\n\nX is Y."
    assert seg(text, [q("2")])["2"].text == "X is Y."


def test_prompt_only_is_absent():
    exam = [q("1.a", "Compute the output size of the layer."), q("1.b"), q("2")]
    got = seg("Question 1\na) Compute the output size of the layer.\n\n0\n1\n\nb) 7", exam)
    assert "1.a" not in got and got["1.b"].text == "7"


def test_additional_space_is_appended():
    pages = [PageText(1, "Question 1\na) start of answer\nb) bee\n\nQuestion 2\ntwo"),
             PageText(2, "Additional space for solutions—clearly mark the (sub)problem\n\n"
                         "additional space for 1a\nrest of answer\n\nQuestion 2 (continued)\nmore two")]
    got = seg(pages, LETTER_EXAM)
    assert got["1.a"].text == "start of answer\nrest of answer" and got["1.a"].pages == (1, 2)
    assert got["2"].text == "two\nmore two"
    assert got["1.b"].text == "bee"


def test_answer_spanning_pages():
    pages = [PageText(1, "Question 1\na) long answer begins"), PageText(2, "and continues here\nb) bee")]
    got = seg(pages, LETTER_EXAM)
    assert got["1.a"].pages == (1, 2) and "continues here" in got["1.a"].text
    joined = PAGE_JOIN.join(p.text for p in pages)
    assert joined[got["1.b"].start:got["1.b"].end] == "bee"


def test_ocr_word_confidence_is_averaged_inside_the_span():
    page = PageText(1, "Question 1\na) sure\nb) unsure words", source="ocr",
                    words=(("Question", 0.9), ("1", 0.9), ("a)", 0.9), ("sure", 1.0), ("b)", 0.9),
                           ("unsure", 0.4), ("words", 0.6)))
    got = seg([page], LETTER_EXAM)
    assert got["1.a"].confidence == 1.0 and abs(got["1.b"].confidence - 0.5) < 1e-9


def test_bare_numbers_only_without_keyword_headings():
    exam = [q(str(i)) for i in range(1, 4)]
    assert seg("1. one\n2. two\n3. three", exam)["2"].text == "two"
    got = seg("Q1 pick\n1. option one\n2. option two\nQ2 x\nQ3 y", exam)
    assert "option two" in got["1"].text and got["2"].text == "x"


_LINES = st.lists(st.sampled_from(["Question 1", "Question 2", "a) x", "b) y", "(c) z", "answer text", "",
                                   "additional space for 1b", "Q2 (continued)", "i) w", "1a) v", "12"]),
                  max_size=25)


@settings(derandomize=True, max_examples=150, deadline=None)
@given(_LINES)
def test_no_character_is_in_two_segments(lines):
    text = "\n".join(lines)
    got = seg(text, LETTER_EXAM)
    spans = sorted((s.start, s.end) for s in got.values())
    for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
        assert a1 <= b0
    for s in got.values():
        assert s.label in {x.label for x in LETTER_EXAM} and 0 <= s.start <= s.end <= len(text)


def test_parts_written_on_one_line():
    for text in ["Question 1\na) 15   b) 20 c) 7", "Question 1\n(a) 15; (b) 20, (c) 7",
                 "Q1: (a) 15 (b) 20 (c) 7", "1. a) 15 b) 20 c) 7"]:
        got = seg(text + "\nQuestion 2\nlast", LETTER_EXAM)
        assert [got[k].text for k in ("1.a", "1.b", "1.c", "2")] == ["15", "20", "7", "last"], text
    roman = seg("Question 1\n(i) 3; (ii) 5\niii) 9", ROMAN_EXAM)
    assert [roman[k].text for k in ("1.i", "1.ii", "1.iii")] == ["3", "5", "9"]


def test_inline_labels_are_not_parts_when_the_part_has_its_own_line():
    """An answer that enumerates its own a) b) inside part a keeps them when part b heads a
    line below; only the next part is looked for, and never inside a word or call."""
    got = seg("Question 1\na) two causes: a) noise b) overfitting\nb) 20\nc) f(c) = 3", LETTER_EXAM)
    assert got["1.a"].text == "two causes: a) noise b) overfitting"
    assert (got["1.b"].text, got["1.c"].text) == ("20", "f(c) = 3")
    got = seg("Question 1\na) g(b) and h b)x c) 7", LETTER_EXAM)
    assert got["1.a"].text == "g(b) and h b)x" and got["1.c"].text == "7"
    assert "1.b" not in got or not got["1.b"].text


def test_spans_point_into_each_page_text():
    """Segment.spans give where the answer is in each page's own text, page by page."""
    pages = [PageText(1, "Question 1\na) first answer\nb) runs on"), PageText(2, "over the page\nc) third")]
    got = seg(pages, LETTER_EXAM)
    assert [pages[n - 1].text[s:e] for n, s, e in got["1.b"].spans] == ["runs on", "over the page"]
    assert [pages[n - 1].text[s:e] for n, s, e in got["1.a"].spans] == ["first answer"]
    assert got["1.c"].spans == ((2, 17, 22),)
