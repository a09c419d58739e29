"""Every snippet of the hand-written corpus parses to its expected value, or carries the
expected flag. A clean expectation also means: no review flag (a silent wrong value fails)."""
from __future__ import annotations

import pytest

from grader.parse import parse_answer
from tests.parse.helpers import REVIEW_FLAGS, load, matches, spec_for

CORPUS = load("corpus.json")


def test_corpus_is_large_and_covers_every_kind():
    kinds = {e["kind"] for e in CORPUS}
    assert len(CORPUS) >= 150
    assert kinds == {"numeric", "shape", "matrix", "values", "expression", "multiple_choice", "text"}


@pytest.mark.parametrize("entry", CORPUS, ids=[e["id"] for e in CORPUS])
def test_snippet(entry):
    parsed = parse_answer(spec_for(entry), entry["text"])
    flag = entry.get("expected_flag")
    if flag:
        assert flag in parsed.flags, (parsed, entry)
    else:
        assert not REVIEW_FLAGS & set(parsed.flags), (parsed, entry)
    if "expected" in entry:
        assert matches(parsed.value, entry["expected"], entry["kind"], tuple(entry.get("variables", ()))), \
            (parsed, entry)
    if "alternatives" in entry:
        assert len(parsed.alternatives) == len(entry["alternatives"])
        assert all(matches(a, e) for a, e in zip(parsed.alternatives, entry["alternatives"]))
    if parsed.value is not None and entry["kind"] != "text":
        assert parsed.evidence, "a value must come with the text it was read from"
