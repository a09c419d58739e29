"""The pure grading pipeline: pages + questions -> one result per question (no database)."""
import pytest

from grader.pipeline import grade_pages
from grader.types import PageText, Parsed
from rubrics.definition import parse_definition_text
from rubrics.keys import check_keys, recompute_with

RNN_EXAM = """
code: RNN
questions:
  - number: "6"
    parts:
      - part: b
        kind: numeric
        points: 1
        solver: rnn_forward
        params: {activation: relu, V: -3, W: 3, h0: 0, x: [2, 3, 1]}
        outputs: [h1]
      - part: c
        kind: values
        points: 2
        solver: rnn_forward
        params: {activation: relu, V: -3, W: 3, h0: 0, x: [2, 3, 1]}
        outputs: [h2, h3]
        depends_on: "6.b"
        carry: {h1: value}
"""


def specs(text):
    keyed, report = check_keys(parse_definition_text(text))
    return keyed.questions


def page(text):
    return [PageText(number=1, text=text)]


def by_label(results):
    return {r.label: r for r in results}


def test_keys_computed_by_solver():
    q = specs(RNN_EXAM)
    assert q[0].key == 6 and q[1].key == {"h2": 0, "h3": 3}


def test_correct_answers_are_auto():
    r = by_label(grade_pages(page("6 b) h1 = 6\nc) h2 = 0, h3 = 3"), specs(RNN_EXAM),
                             recompute=recompute_with))
    assert r["6.b"].scored.score == 1 and r["6.c"].scored.score == 2
    assert r["6.c"].status == "auto"


def test_error_carried_forward_earns_the_later_part():
    # h1 wrong (1 instead of 6); h2, h3 computed correctly from h1 = 1: h2 = relu(-3+9) = 6,
    # h3 = relu(-18+3) = 0.
    r = by_label(grade_pages(page("6 b) h1 = 1\nc) h2 = 6, h3 = 0"), specs(RNN_EXAM),
                             recompute=recompute_with))
    assert r["6.b"].scored.score == 0 and r["6.b"].status == "auto"
    assert r["6.c"].scored.score == 2
    assert "carried_forward" in r["6.c"].scored.flags and r["6.c"].status == "flagged"


def test_wrong_later_part_gets_no_carried_credit():
    r = by_label(grade_pages(page("6 b) h1 = 1\nc) h2 = 5, h3 = 5"), specs(RNN_EXAM),
                             recompute=recompute_with))
    assert r["6.c"].scored.score == 0 and "carried_forward" not in r["6.c"].scored.flags


def test_without_recompute_no_carry():
    r = by_label(grade_pages(page("6 b) h1 = 1\nc) h2 = 6, h3 = 0"), specs(RNN_EXAM)))
    assert r["6.c"].scored.score == 0


def test_box_answers_override_text_for_multiple_choice():
    exam = """
code: MC
questions:
  - number: "1"
    parts:
      - {part: a, kind: multiple_choice, points: 2, options: [w, x, y, z], correct: [3, 4]}
      - {part: b, kind: multiple_choice, points: 2, options: [w, x, y, z], correct: []}
"""
    boxes = {"1.a": Parsed([3, 4], confidence=0.97), "1.b": Parsed([1], confidence=0.5,
                                                                     flags=("uncertain_box",))}
    r = by_label(grade_pages([], specs(exam), box_answers=boxes))
    assert r["1.a"].scored.score == 2 and r["1.a"].status == "auto"
    assert r["1.b"].scored.score == 0 and r["1.b"].status == "flagged"
    assert r["1.b"].confidence == pytest.approx(0.5)


def test_inputs_are_not_mutated():
    questions = specs(RNN_EXAM)
    before = [q.key for q in questions]
    pages = page("6 b) h1 = 6")
    grade_pages(pages, questions, recompute=recompute_with)
    assert [q.key for q in questions] == before and pages[0].text == "6 b) h1 = 6"
