"""Placing an answer's span of page text on the page's positioned words."""
import pytest

from grader.crop import band_mm, word_range

TEXT = "Question 1\na) RF = 15\nb) the memory-\nefficient one"
WORDS = ["Question", "1", "a)", "RF", "=", "15", "b)", "the", "memory-efficient", "one"]
BOXES = [(10, 10 + 5 * i, 20, 4) for i in range(len(WORDS))]


@pytest.mark.parametrize("answer, expected", [
    ("RF = 15", (3, 5)),
    ("the memory-\nefficient one", (7, 9)),   # a line-end hyphen joined differently: same runs
    ("15", (5, 5)),
    ("= ", None),                             # no letters or digits: nothing to place
])
def test_word_range(answer, expected):
    start = TEXT.index(answer)
    assert word_range(TEXT, WORDS, start, start + len(answer)) == expected


def test_words_in_another_order_give_no_range():
    """A page whose words come in another order than its text is not cropped wrongly."""
    start = TEXT.index("RF = 15")
    shuffled = WORDS[:3] + ["one", "the", "b)", "memory-efficient", "15", "=", "RF"]
    assert word_range(TEXT, shuffled, start, start + 7) is None


def test_band():
    assert band_mm(BOXES, 3, 5) == (25, 39)
