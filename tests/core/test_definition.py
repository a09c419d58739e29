"""Exam YAML validation: every error names the question and the field."""
from pathlib import Path

import pytest

from rubrics.definition import DefinitionError, parse_definition_text

ROOT = Path(__file__).resolve().parents[2]

BASE = """
code: T-1
title: Test
questions:
  - number: "1"
    parts:
{part}
"""


def one_part(body: str) -> str:
    lines = body.strip("\n").splitlines()
    return BASE.format(part="\n".join("      " + ("- " if i == 0 else "  ") + line
                                      for i, line in enumerate(lines)))


@pytest.mark.parametrize("text,message", [
    ("code: [", "not valid YAML"),
    ("- a\n- b", "must be a mapping"),
    ("title: x\nquestions: []", "field 'code'"),
    ("code: 'bad code!'\nquestions: [{number: 1, kind: text, points: 1}]", "field 'code'"),
    ("code: X\nquestions: []", "field 'questions'"),
    ("code: X\nquestions: [{kind: text, points: 1}]", "field 'number'"),
    (one_part("part: a\nkind: essay\npoints: 1"), "question 1.a, field 'kind'"),
    (one_part("part: a\nkind: numeric\nanswer: 3"), "question 1.a, field 'points'"),
    (one_part("part: a\nkind: numeric\npoints: -1\nanswer: 3"), "question 1.a, field 'points'"),
    (one_part("part: a\nkind: numeric\npoints: '2'\nanswer: 3"), "question 1.a, field 'points'"),
    (one_part("part: a\nkind: numeric\npoints: 1"), "question 1.a: needs 'answer' or 'solver'"),
    (one_part("part: a\nkind: numeric\npoints: 1\nanswer: abc"), "question 1.a, field 'answer'"),
    (one_part("part: a\nkind: numeric\npoints: 1\nanswer: .nan"), "NaN"),
    (one_part("part: a\nkind: shape\npoints: 1\nanswer: [8, 8.5]"), "question 1.a, field 'answer'"),
    (one_part("part: a\nkind: matrix\npoints: 1\nanswer: [[1, 2], [3]]"), "rows of different lengths"),
    (one_part("part: a\nkind: multiple_choice\npoints: 1\ncorrect: [1]"), "field 'options'"),
    (one_part("part: a\nkind: multiple_choice\npoints: 1\noptions: [x, y]\ncorrect: [3]"),
     "question 1.a, field 'correct'"),
    (one_part("part: a\nkind: multiple_choice\npoints: 1\noptions: [x, y]\ncorrect: [1]\nscoring: best"),
     "field 'scoring'"),
    (one_part("part: a\nkind: numeric\npoints: 1\nanswer: 1\ntolerance: {abs: -1}"), "tolerance.abs"),
    (one_part("part: a\nkind: numeric\npoints: 1\nanswer: 1\ntolerance: 0.1"), "field 'tolerance'"),
    (one_part("part: a\nkind: values\npoints: 1\nsolver: rnn_forward"), "field 'outputs'"),
    (one_part("part: a\nkind: numeric\npoints: 1\nparams: {a: 1}\nanswer: 1"), "without a 'solver'"),
    (one_part("part: a\nkind: numeric\npoints: 1\nanswer: 1\ndepends_on: '9.z'"), "field 'depends_on'"),
    (one_part("part: a\nkind: matrix\npoints: 1\nanswer: " + str([[0] * 200] * 60)), "more than"),
    ("code: X\nquestions:\n - {number: 1, kind: text, points: 1}\n - {number: 1, kind: text, points: 1}",
     "question 1: duplicate label"),
    ("code: X\nquestions:\n - {number: 1, kind: text, points: 1, parts: [{part: a, kind: text, points: 1}]}",
     "has 'parts' and its own kind/points"),
    ("code: X\nmarking: ticks\nquestions: [{number: 1, kind: text, points: 1}]",
     "field 'marking': 'ticks' is not one of cross, bubble"),
    ("code: X\nmarking: [cross]\nquestions: [{number: 1, kind: text, points: 1}]", "field 'marking'"),
    ("code: X\nmarking:\nquestions: [{number: 1, kind: text, points: 1}]", "field 'marking'"),
])
def test_invalid_definitions_name_question_and_field(text, message):
    with pytest.raises(DefinitionError) as info:
        parse_definition_text(text)
    assert message in str(info.value)


def test_fraction_strings_and_labels():
    defn = parse_definition_text(one_part("part: ii\nkind: numeric\npoints: 2\nanswer: '3/2'"))
    (q,) = defn.questions
    assert (q.label, q.number, q.part, q.key, q.points) == ("1.ii", "1", "ii", 1.5, 2.0)


def test_sample_exam_is_valid():
    defn = parse_definition_text((ROOT / "samples/ai6126_a2/exam.yaml").read_text())
    assert [q.label for q in defn.questions] == ["1.i", "1.ii", "1.iii", "1.iv", "2", "3"]
    assert defn.max_score == 12
    assert defn.literal_keys["1.iv"][1] == [5, 17, 27, 20]


@pytest.mark.parametrize("line,marking", [("", "cross"), ("marking: cross\n", "cross"),
                                          ("marking: bubble\n", "bubble"),
                                          ("marking: ' Bubble '\n", "bubble")])
def test_the_marking_convention(line, marking):
    from grader.types import Marking

    defn = parse_definition_text(f"code: X\n{line}questions: [{{number: 1, kind: text, points: 1}}]")
    assert defn.marking == Marking(marking) and isinstance(defn.marking, Marking)
