"""Boxes placed by their printed option text (exams without a blank PDF): constructed pages of
words and marks in mm, as the OCR and ``read_marks`` give them."""
from __future__ import annotations

import pytest

from grader.omr.boxes import Box
from grader.omr.by_text import (ChoiceQuestion, PlacedMark, PlacedWord, _column_spots,
                                marks_by_option_text)

LINE_MM = 7.5          # one option per line
CHAR_MM = 2.0


def line(page: int, y: float, x: float, text: str) -> list[PlacedWord]:
    """The words of one printed line starting at x."""
    words = []
    for word in text.split():
        words.append(PlacedWord(page, word, x, y - 1.5, len(word) * CHAR_MM, 3.0))
        x += (len(word) + 1) * CHAR_MM
    return words


def mark(page: int, x: float, y: float, checked: bool = False, **kw) -> PlacedMark:
    return PlacedMark(page, x, y, 5.0, "cross" if checked else "empty", checked,
                      kw.pop("confidence", 1.0), kw.pop("uncertain", False), **kw)


def question_block(page: int, y: float, label: str, title: str, options: list[str],
                   checked: set[int], box_x: float = 25.0, text_x: float = 32.0,
                   drop: frozenset[int] = frozenset()):
    """A title line, then one line per option with its box on the left; options in ``drop``
    have a box but no text read (Tesseract dropped the line)."""
    words = line(page, y, 20.0, f"{label}) {title}")
    marks = []
    for k, option in enumerate(options, start=1):
        oy = y + k * LINE_MM
        if k not in drop:
            words += line(page, oy, text_x, option)
        marks.append(mark(page, box_x, oy, k in checked))
    return words, marks


def read(questions, words, marks):
    placed = marks_by_option_text(questions, words, marks)
    return {label: [None if m is None else (m.cy, m.checked) for m in found]
            for label, found in placed.items()}


RELU = ChoiceQuestion("1.a", "Which activation functions can saturate?",
                      ("ReLU.", "Leaky ReLU.", "Tanh.", "Sigmoid."))
TRUE_FALSE = [ChoiceQuestion("1.b", "Adam always converges faster than SGD.", ("True", "False")),
              ChoiceQuestion("1.c", "Batch normalisation has learnable parameters.",
                             ("True", "False"))]


def test_each_option_gets_the_box_beside_its_text():
    words, marks = question_block(1, 50, "a", RELU.title, list(RELU.options), {3, 4})
    got = read([RELU], words, marks)
    assert [c for _, c in got["1.a"]] == [False, False, True, True]
    assert [y for y, _ in got["1.a"]] == [57.5, 65.0, 72.5, 80.0]


def test_an_option_inside_another_option_is_not_taken_for_it():
    """"ReLU" also ends the line "Leaky ReLU": with the ReLU line unread, the Leaky ReLU box
    must not be given to option 1 (a word lies between that box and "ReLU")."""
    words, marks = question_block(1, 50, "a", RELU.title, list(RELU.options), {2},
                                  drop=frozenset({1}))
    marks = marks[1:]                     # and its box was not found either
    got = read([RELU], words, marks)
    assert got["1.a"][0] is None and got["1.a"][1] == (65.0, True)


def test_the_same_option_text_in_two_questions_stays_with_its_question():
    w1, m1 = question_block(1, 40, "b", TRUE_FALSE[0].title, ["True", "False"], {2})
    w2, m2 = question_block(1, 80, "c", TRUE_FALSE[1].title, ["True", "False"], {1})
    got = read(TRUE_FALSE, w1 + w2, m1 + m2)
    assert got == {"1.b": [(47.5, False), (55.0, True)], "1.c": [(87.5, True), (95.0, False)]}


def test_boxes_after_their_text_and_boxes_in_a_row():
    q = ChoiceQuestion("2", "Pick the pooling layers.", ("Max pooling", "Average pooling",
                                                         "Dropout"))
    words = line(1, 30, 20, "2) Pick the pooling layers.")
    # "Max pooling [x]   Average pooling [ ]   Dropout [x]" on one line
    words += line(1, 40, 20, "Max pooling") + line(1, 40, 60, "Average pooling") + \
        line(1, 40, 110, "Dropout")
    marks = [mark(1, 47, 40, True), mark(1, 95, 40), mark(1, 130, 40, True)]
    assert read([q], words, marks) == {"2": [(40, True), (40, False), (40, True)]}
    # "[x] A  [ ] B  [ ] C" with single-letter options
    q = ChoiceQuestion("3", "Which letter?", ("A", "B", "C"))
    words = line(1, 30, 20, "3) Which letter?") + line(1, 40, 30, "A") + \
        line(1, 40, 50, "B") + line(1, 40, 70, "C")
    marks = [mark(1, 25, 40, True), mark(1, 45, 40), mark(1, 65, 40)]
    assert read([q], words, marks) == {"3": [(40, True), (40, False), (40, False)]}


def test_options_whose_text_was_not_read_are_placed_by_order_when_the_count_fits():
    words, marks = question_block(1, 50, "a", RELU.title, list(RELU.options), {4},
                                  drop=frozenset({3, 4}))
    following, _ = question_block(1, 120, "b", "Next question here please", ["x"], set())
    got = read([RELU, ChoiceQuestion("1.b", "Next question here please", ("x",))],
               words + following, marks)
    assert got["1.a"] == [(57.5, False), (65.0, False), (72.5, False), (80.0, True)]
    # one box short: the unread options stay unplaced (flagged by the caller), never guessed
    got = read([RELU], words, marks[:3])
    assert got["1.a"] == [(57.5, False), (65.0, False), None, None]


def test_a_predicted_mark_makes_up_the_count_unless_it_lies_on_text():
    words, marks = question_block(1, 50, "a", RELU.title, list(RELU.options), {4},
                                  drop=frozenset({4}))
    lost = marks[3]
    predicted = PlacedMark(1, lost.cx, lost.cy, 5.0, "cross", True, 1.0, False, True)
    got = read([RELU], words, marks[:3] + [predicted])
    assert got["1.a"][3] == (80.0, True)
    # the same spot with a printed word over it is text, not a box
    on_text = words + line(1, 80.0, 24.0, "Note")
    assert read([RELU], on_text, marks[:3] + [predicted])["1.a"][3] is None


def test_a_question_not_on_the_pages_is_left_out():
    words, marks = question_block(1, 50, "a", RELU.title, list(RELU.options), set())
    other = ChoiceQuestion("9", "Completely different wording entirely", ("Foo bar", "Baz qux"))
    got = read([RELU, other], words, marks)
    assert "9" not in got and len(got["1.a"]) == 4


@pytest.mark.parametrize("ys, expected", [
    ([10, 20, 30, 40], [0, 50]),            # a run of four: one pitch before and after it
    ([10, 20, 40, 50], [30]),               # a gap of two pitches (runs of two: no ends)
    ([10, 20], []),                         # too few boxes to know a pitch
    ([10, 20, 30, 70, 80, 90], [0, 40, 60, 100]),   # two questions' runs
])
def test_column_spots(ys, expected):
    px = 300 / 25.4
    boxes = [Box.from_center(25 * px, y * px, 5 * px) for y in ys]
    assert sorted(round(b.cy / px) for b in _column_spots(boxes, 300)) == expected
