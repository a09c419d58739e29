"""Scanned TUM-style multiple-choice submissions graded end to end: rendering, OCR, checkbox
registration and classification, all-or-nothing scoring — in-process on the embedded default,
and through Redis with two worker processes (pages fanned out as a chord)."""
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.conftest import have_tesseract
from tests.integration.realservices import grade_through_workers

FOLDER = Path(__file__).resolve().parents[2] / "samples" / "tum_endterm"
TRUTH = json.loads((FOLDER / "truth.json").read_text())
pytestmark = pytest.mark.skipif(not have_tesseract(), reason="tesseract is not installed")


def expected_scores(student: dict) -> dict[str, float]:
    """All-or-nothing from the simulator's ground truth (what the student really marked)."""
    return {label: 2.0 if sorted(chosen) == sorted(TRUTH["correct"][label.split(".")[1]]) else 0.0
            for label, chosen in student["selection"].items()}


def check(objs: list[dict]) -> None:
    assert [o["student"] for o in objs] == [s["student"] for s in TRUTH["submissions"]]
    for obj, student in zip(objs, TRUTH["submissions"]):
        assert obj["status"] == "graded", obj
        answers = {a["question"]: a for a in obj["answers"]}
        for label, chosen in student["selection"].items():
            assert answers[label]["answer"] == sorted(chosen), (student["student"], label)
        assert {k: a["score"] for k, a in answers.items()} == expected_scores(student)
        assert obj["score"] == sum(expected_scores(student).values())


def test_three_mark_states_honoured_in_samples():
    marks = {b["mark"] for s in TRUTH["submissions"] for b in s["boxes"]}
    assert {"cross", "filled", "filled_recrossed", "empty"} <= marks


@pytest.mark.django_db(transaction=True)
def test_scanned_submissions_in_process(media_root):
    out = io.StringIO()
    call_command("load_exam", str(FOLDER / "exam.yaml"), stdout=out)
    assert "36 boxes for 9 questions" in out.getvalue()
    out = io.StringIO()
    pdfs = [str(FOLDER / s["file"]) for s in TRUTH["submissions"]]
    call_command("grade", "IN2346-ENDTERM", *pdfs, "--json", stdout=out, stderr=io.StringIO())
    check([json.loads(line) for line in out.getvalue().splitlines()])


@pytest.mark.redis
@pytest.mark.postgres
def test_scanned_submissions_through_redis_and_two_workers(tmp_path):
    pdfs = [str(FOLDER / s["file"]) for s in TRUTH["submissions"]]
    stdout, log = grade_through_workers(tmp_path, FOLDER / "exam.yaml", "IN2346-ENDTERM", pdfs,
                                        redis_db=12)
    check([json.loads(line) for line in stdout.splitlines()])
    # pages were fanned out to page tasks and joined
    assert "worker.tasks.extract_page" in log and "worker.tasks.assemble_submission" in log
