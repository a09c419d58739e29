"""Pure parts of the course side: which submission counts, roster CSV parsing, flag sentences
(no database)."""
from datetime import datetime, timedelta, timezone

import pytest

from exams.courses import RosterError, roster_parse, split_name
from exams.flags import (
    DOCUMENT_FLAG_REASONS, FLAG_REASONS, STUDENT_SENTENCES, UNKNOWN_FLAG_SENTENCE, flag_sentence,
)
from exams.policies import Candidate, choose_counting

T0 = datetime(2030, 1, 10, 9, 0, tzinfo=timezone.utc)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


CANDIDATES = [  # id, student, created, status, score
    Candidate(1, "ann", at(0), "graded", 7.0),
    Candidate(2, "ann", at(10), "needs_review", 9.0),
    Candidate(3, "ann", at(20), "failed", None),
    Candidate(4, "bob", at(5), "graded", 4.0),
    Candidate(5, "bob", at(6), "graded", 4.0),
    Candidate(6, "cat", at(1), "processing", None),
]


@pytest.mark.parametrize("rule, expected", [
    # latest: the last upload whatever became of it (ann's failed one: a TA grades it)
    ("latest", {"ann": 3, "bob": 5, "cat": 6}),
    ("first", {"ann": 1, "bob": 4, "cat": 6}),
    # best: highest finished score, ties to the later; nothing finished yet: the latest
    ("best", {"ann": 2, "bob": 5, "cat": 6}),
])
def test_choose_counting(rule, expected):
    assert choose_counting(CANDIDATES, rule) == expected


def test_choose_counting_breaks_equal_times_by_id():
    same = [Candidate(8, "d", at(0), "graded", 1.0), Candidate(7, "d", at(0), "graded", 1.0)]
    assert choose_counting(same, "latest") == {"d": 8}
    assert choose_counting(same, "first") == {"d": 7}


def test_roster_parse_reads_common_headers_and_delimiters():
    text = ("\ufeffStudent ID;Name;E-mail\n"
            "u001;Lovelace, Ada;ada@example.org\n"
            "\n"
            "u002;Alan Mathison Turing;\n")
    rows = roster_parse(text)
    assert [(r.line, r.student_id, r.first_name, r.last_name, r.email) for r in rows] == [
        (2, "u001", "Ada", "Lovelace", "ada@example.org"),
        (4, "u002", "Alan Mathison", "Turing", "")]
    rows = roster_parse("first name,last name,id number\nGrace,Hopper,g1\n")
    assert (rows[0].first_name, rows[0].last_name, rows[0].student_id) == ("Grace", "Hopper", "g1")


def test_roster_parse_reports_every_bad_line():
    text = ("student id,name,email\n"
            "u001,Ada,ada@example.org\n"
            "bad id!,Bob,\n"
            "u003,Cy,not-an-address\n"
            "u001,Ada again,\n")
    with pytest.raises(RosterError) as exc:
        roster_parse(text)
    message = str(exc.value)
    assert "line 3: student id 'bad id!'" in message
    assert "line 4: email 'not-an-address'" in message
    assert "line 5: student id 'u001' also on line 2" in message


@pytest.mark.parametrize("text", ["", "name,email\nAda,a@b.org\n"])
def test_roster_parse_needs_a_student_id_column(text):
    with pytest.raises(RosterError, match="header|student id"):
        roster_parse(text)


@pytest.mark.parametrize("name, expected", [
    ("Ada Lovelace", ("Ada", "Lovelace")), ("Lovelace, Ada", ("Ada", "Lovelace")),
    ("Plato", ("Plato", "")), ("  Jean  Paul   Sartre ", ("Jean Paul", "Sartre")), ("", ("", ""))])
def test_split_name(name, expected):
    assert split_name(name) == expected


def test_every_flag_of_the_grading_core_has_a_sentence_for_tas_and_for_students():
    from grader.types import DocumentFlag, Flag

    assert set(Flag) == set(STUDENT_SENTENCES) == set(FLAG_REASONS)
    assert set(DocumentFlag) == set(DOCUMENT_FLAG_REASONS)
    for flag, sentence in STUDENT_SENTENCES.items():
        assert flag not in sentence and sentence.endswith(".")
    assert flag_sentence("something_new") == UNKNOWN_FLAG_SENTENCE
