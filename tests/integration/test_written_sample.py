"""The handwritten sample (`samples/written_scans`: a printed exam filled in by hand, scanned
out of order and shaded, made by `tools.written_exam`) graded end to end in-process as
`make demo` grades it: every answer graded automatically deserves its score (truth.json),
empty boxes are `unanswered`, and the outcome is the reviewed one in `expected/` (the README
shows it)."""
import json
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[2] / "samples" / "written_scans"
TRUTH = json.loads((FOLDER / "truth.json").read_text())


def essentials(result: dict) -> list[tuple]:
    """What a TA and a student see of each answer (the confidences are the readers' own)."""
    return [(a["question"], a["status"], a["score"], a["flags"], a["answer"]) for a in result["answers"]]


@pytest.mark.django_db(transaction=True)
def test_the_handwritten_sample_is_graded_right_or_flagged(media_root):
    from exams import services
    from exams.results import submission_result

    exam, _ = services.exam_load(text=(FOLDER / "exam.yaml").read_text(), base_dir=FOLDER)
    written_auto = 0
    for truth in TRUTH:
        pdf = FOLDER / truth["file"]
        submission = services.submission_create(exam=exam, student=pdf.stem, content=pdf.read_bytes(),
                                                filename=pdf.name)
        submission.refresh_from_db()
        result = submission_result(submission)
        for answer in result["answers"]:
            part = truth["parts"][answer["question"]]
            if part["outcome"] == "empty":
                assert answer["flags"] == ["unanswered"] and answer["score"] == 0, answer
            if answer["status"] != "flagged":
                assert answer["score"] == part["score"], (truth["file"], answer, part)
                written_auto += part["kind"] != "multiple_choice" and part["outcome"] != "empty"
        # The TA reads what the verification decided beside each handwritten answer.
        details = {a.question.label: a.detail for a in submission.answers.select_related("question")}
        for answer in result["answers"]:
            part = truth["parts"][answer["question"]]
            if part["kind"] != "multiple_choice" and part["outcome"] != "empty":
                verdict = "unsure" if answer["status"] == "flagged" else ("the key" if answer["score"] else "not the key")
                assert f"verified against the key: {verdict}, P(full marks) = " in details[answer["question"]], \
                    (answer, details[answer["question"]])
        expected = json.loads((FOLDER / "expected" / f"{pdf.stem}.json").read_text())
        assert (result["status"], result["score"]) == (expected["status"], expected["score"])
        assert essentials(result) == essentials(expected), pdf.name
    assert written_auto >= 4, "handwritten answers should be graded automatically where sure"
