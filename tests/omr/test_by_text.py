"""Boxes placed by their printed option text (exams without a blank PDF): constructed pages of
words and marks in mm, as the OCR and ``read_marks`` give them."""
from __future__ import annotations

import numpy as np
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


# ---------------------------------------------------------------- real sheets' layouts

def placements(questions, words, marks):
    from grader.omr.by_text import place_by_option_text

    return place_by_option_text(questions, words, marks)


@pytest.mark.parametrize("options", [("—", "yes"), ("✓", "✗"), ("", "no")])
def test_options_with_no_letters_or_digits_are_not_found_and_nothing_raises(options):
    """An option printed as a dash or a symbol has no text to find: it is not placed by its
    text; at most by its order, flagged (``by_order_only``: nothing on the page shows the
    order holds). It used to raise IndexError (an empty match in ``_beside``)."""
    q = ChoiceQuestion("1", "Pick one", options)
    words = line(1, 30, 20, "Q1) Pick one") + line(1, 40, 32, options[0] or "x") + \
        line(1, 47.5, 32, options[1])
    marks = [mark(1, 25, 40, True), mark(1, 25, 47.5)]
    got = placements([q], words, marks)["1"]
    assert got.marks[0] is None or got.by_order_only


def test_options_printed_in_another_order_are_found_where_they_are():
    """Exams shuffle options per copy (AMC): each option takes the box beside its own text."""
    q = ChoiceQuestion("1", "Voulez-vous 7 points ?", ("oui", "non"))
    words, marks = question_block(1, 50, "1", q.title, ["non", "oui"], {2})
    assert read([q], words, marks) == {"1": [(65.0, True), (57.5, False)]}


def test_shuffled_questions_with_titles_a_number_apart_keep_their_own_boxes():
    """"Voulez-vous 6 points ?" printed before "... 7 points ?", the exam listing 7 first:
    each title is found where it is, not the first one like it."""
    seven = ChoiceQuestion("1", "Voulez-vous 7 points ?", ("oui", "non"))
    six = ChoiceQuestion("2", "Voulez-vous 6 points ?", ("oui", "non"))
    w1, m1 = question_block(1, 40, "1", six.title, ["oui", "non"], {2})
    w2, m2 = question_block(1, 70, "2", seven.title, ["non", "oui"], {2})
    got = read([seven, six], w1 + w2, m1 + m2)
    assert got == {"1": [(85.0, True), (77.5, False)], "2": [(47.5, False), (55.0, True)]}


def test_questions_with_the_same_title_take_its_copies_in_exam_order():
    """The second copy read better than the first: the first copy is still the first
    question's."""
    a = ChoiceQuestion("1.a", "Which of these are true?", ("Alpha", "Beta"))
    b = ChoiceQuestion("1.b", "Which of these are true?", ("Alpha", "Beta"))
    w1, m1 = question_block(1, 40, "a", "Whicb of thesc are true?", ["Alpha", "Beta"], {1})
    w2, m2 = question_block(1, 70, "b", a.title, ["Alpha", "Beta"], {2})
    got = read([a, b], w1 + w2, m1 + m2)
    assert got == {"1.a": [(47.5, True), (55.0, False)], "1.b": [(77.5, False), (85.0, True)]}


def test_two_columns_read_line_by_line_keep_each_question_in_its_column():
    """Tesseract reads two columns as one line after another ("Question 1 ... Question 5 ..."
    then both columns' options): each question takes the words and boxes under its own
    title, in its own column."""
    left = ChoiceQuestion("1", "Voulez-vous 6 points ?", ("oui", "non"))
    right = ChoiceQuestion("2", "Voulez-vous 7 points ?", ("oui", "non"))
    words, marks = [], []
    for y, lt, rt in ((120, f"1) {left.title}", f"5) {right.title}"),
                      (127.5, "non", "non"), (135, "oui", "oui")):
        words += line(1, y, 20 if lt[0].isdigit() else 32, lt)
        words += line(1, y, 105 if rt[0].isdigit() else 117, rt)
    marks = [mark(1, 25, 127.5, True), mark(1, 25, 135), mark(1, 110, 127.5),
             mark(1, 110, 135, True)]
    got = read([right, left], words, marks)
    assert got == {"2": [(135, True), (127.5, False)], "1": [(135, False), (127.5, True)]}


def test_options_that_differ_only_by_their_sign_match_with_it():
    """"1" and "-1" are the same token: the "-1" line is never taken for option "1"."""
    q = ChoiceQuestion("7", "Ajoutez vos points :", ("2", "1", "-1", "-2"))
    words, marks = question_block(1, 50, "7", q.title, ["-1", "2", "1", "-2"], {1})
    assert read([q], words, marks) == {"7": [(65.0, False), (72.5, False), (57.5, True),
                                              (80.0, False)]}
    # the "1" line unread (its box found): "1" is not placed on the "-1" line
    words, marks = question_block(1, 50, "7", q.title, ["-1", "2", "1", "-2"], {1},
                                  drop=frozenset({3}))
    got = placements([q], words, marks)["7"]
    assert got.marks[1] is None or got.marks[1].cy == 72.5


def test_a_word_glued_to_its_box_is_read_without_the_box():
    """Tesseract reads a box and the digit after it as one word ("C1"): the option's text
    is what follows the box."""
    q = ChoiceQuestion("1", "Choose a digit", ("1", "2"))
    words = line(1, 30, 20, "1) Choose a digit")
    words += [PlacedWord(1, "C1", 22.6, 38.5, 5.5, 3.0), PlacedWord(1, "(2", 22.6, 46.0, 5.5, 3.0)]
    marks = [mark(1, 25, 40, True), mark(1, 25, 47.5)]
    assert read([q], words, marks) == {"1": [(40, True), (47.5, False)]}


def test_a_label_read_beside_a_box_stands_for_the_unread_line():
    q = ChoiceQuestion("1", "Choose a letter:", ("A", "B", "C"))
    words = line(1, 30, 20, "1) Choose a letter:")
    marks = [mark(1, 25, 40, label="A"), mark(1, 25, 47.5, True, label="B"),
             mark(1, 25, 55, label="C")]
    assert read([q], words, marks) == {"1": [(40, False), (47.5, True), (55, False)]}


def test_boxes_are_given_by_their_order_only_with_evidence_the_order_holds():
    """Options whose text was not read take the remaining boxes in order when other options
    show the exam's order; flagged (``by_order_only``) when nothing shows it; not at all on
    a copy that shows options out of order (a shuffled copy)."""
    q = ChoiceQuestion("1", "Choose a letter:", ("A", "B", "C", "D"))
    words, marks = question_block(1, 50, "1", q.title, list(q.options), {3},
                                  drop=frozenset({3, 4}))
    got = placements([q], words, marks)["1"]
    assert [m.cy for m in got.marks] == [57.5, 65.0, 72.5, 80.0] and not got.by_order_only
    words, marks = question_block(1, 50, "1", q.title, list(q.options), {3},
                                  drop=frozenset({1, 2, 3, 4}))
    got = placements([q], words, marks)["1"]
    assert [m.cy for m in got.marks] == [57.5, 65.0, 72.5, 80.0] and got.by_order_only
    other = ChoiceQuestion("2", "Pick the odd one out", ("Alpha", "Beta"))
    w2, m2 = question_block(1, 100, "2", other.title, ["Beta", "Alpha"], set())
    got = placements([q, other], words + w2, marks + m2)
    assert "1" not in got and [m.cy for m in got["2"].marks] == [115.0, 107.5]


def test_a_gap_of_up_to_three_pitches_is_boxes_not_found():
    px = 300 / 25.4
    boxes = [Box.from_center(25 * px, y * px, 5 * px) for y in (10, 20, 50)]
    assert sorted(round(b.cy / px) for b in _column_spots(boxes, 300)) == [30, 40]


def test_labels_are_read_only_beside_boxes_with_no_word_there():
    """``read_labels`` crops the text right of a box whose line the page's OCR did not read,
    past the box's outline and any fill spilling out of it, up to the next box."""
    from PIL import Image, ImageDraw

    from grader.omr.by_text import read_labels

    ppm = 300 / 25.4
    img = Image.new("L", (int(120 * ppm), int(40 * ppm)), 255)
    d = ImageDraw.Draw(img)
    for cx in (25.0, 60.0):
        d.rectangle([(cx - 2.5) * ppm, 7.5 * ppm, (cx + 2.5) * ppm, 12.5 * ppm], outline=0, width=3)
        d.rectangle([(cx + 5) * ppm, 9 * ppm, (cx + 8) * ppm, 11 * ppm], fill=0)   # "the label"
    d.ellipse([22 * ppm, 7 * ppm, 29.5 * ppm, 13 * ppm], fill=0)    # a fill spilling right
    marks = [mark(1, 25.0, 10.0, True), mark(1, 60.0, 10.0)]
    words = [PlacedWord(1, "read", 65.5, 8.5, 8.0, 3.0)]            # the second one's label
    crops = []

    def read_line(image):
        crops.append(image)
        return "A"

    got = read_labels(np.asarray(img), 300, marks, words, read_line)
    assert [m.label for m in got] == ["A", ""] and len(crops) == 1
    width_mm = crops[0].width / ppm
    assert 20 < width_mm < 33 - 0.5 and np.asarray(crops[0])[:, :3].min() > 128   # starts on paper


def test_options_over_a_page_break_stay_with_the_question_above():
    """The options at the top of page 2, before any title there, belong to the last question
    of page 1 (its right column's, when it has two)."""
    left = ChoiceQuestion("1", "Voulez-vous 6 points ?", ("oui", "non"))
    right = ChoiceQuestion("2", "Voulez-vous 7 points ?", ("oui", "non"))
    words = line(1, 250, 20, f"1) {left.title}") + line(1, 257.5, 32, "oui") + \
        line(1, 265, 32, "non") + line(1, 250, 105, f"5) {right.title}")
    marks = [mark(1, 25, 257.5, True), mark(1, 25, 265)]
    words += line(2, 20, 32, "non") + line(2, 27.5, 32, "oui")
    marks += [mark(2, 25, 20), mark(2, 25, 27.5, True)]
    got = read([left, right], words, marks)
    assert got == {"1": [(257.5, True), (265, False)], "2": [(27.5, True), (20, False)]}
