"""Question headings whose number OCR misread ("Question |") are found by the exam's own
labels; look-alike letters in prose never become headings."""
import pytest

from grader.segment import segment_answers
from grader.types import PageText, QuestionSpec


def questions(*numbers):
    return [QuestionSpec(label=str(n), number=str(n), part=None, kind="numeric", points=1) for n in numbers]


def segments(text, *numbers):
    return segment_answers([PageText(1, text, source="ocr")], questions(*numbers))


@pytest.mark.parametrize("heading,number", [
    ("Question |", "1"), ("Question l", "1"), ("Question I", "1"), ("Question !", "1"),
    ("QUESTION |", "1"), ("Problem S", "5"), ("Question 1O", "10"), ("Question l5", "15"),
    ("Question S.", "5"), ("Task | (4 points)", "1"), ("Aufgabe I", "1"),
])
def test_misread_question_numbers_are_repaired_to_the_exams_labels(heading, number):
    others = [n for n in (1, 2, 5, 10, 15) if str(n) != number][:1]
    text = f"{heading}\n289\n\nQuestion {others[0]}\n17\n"
    got = segments(text, int(number), *others)
    assert got[number].text.strip() == "289"
    assert got[str(others[0])].text.strip() == "17"


def test_a_part_label_after_a_misread_number():
    qs = [QuestionSpec(label="1.a", number="1", part="a", kind="numeric", points=1),
          QuestionSpec(label="1.b", number="1", part="b", kind="numeric", points=1)]
    got = segment_answers([PageText(1, "Question |\na) 15\nb) 20\n", source="ocr")], qs)
    assert got["1.a"].text.strip() == "15" and got["1.b"].text.strip() == "20"


@pytest.mark.parametrize("line", [
    "Question I have is about the padding",   # prose: more words follow the look-alike
    "Question is: what is the stride?",        # lower-case i/s are not digit look-alikes
    "Question IS answered below",
    "The Question | above",                     # not at the start of a line
    "Question OS",                              # two letters, no digit
    "Question S",                               # the exam has no question 5
    "Question O",                               # nor a question 0
])
def test_look_alikes_in_prose_are_not_headings(line):
    text = f"Question 2\n{line}\n42\n"
    got = segments(text, 1, 2)
    assert "1" not in got
    assert "42" in got["2"].text


def test_bare_numbers_stay_off_when_a_repaired_heading_exists():
    # A repaired keyword heading counts as a keyword heading: "3." inside an answer is no heading.
    got = segments("Question |\n3. we get 15\nQuestion 3\n17\n", 1, 3)
    assert "15" in got["1"].text and got["3"].text.strip() == "17"
