"""Result views of graded submissions: the `grade --json` object, tables and CSV export."""
from __future__ import annotations

import csv
import io
from typing import Any

from exams.models import Answer, Exam, Submission


def submission_result(submission: Submission) -> dict[str, Any]:
    """The DESIGN.md `grade --json` object (contract: keep the keys and their order)."""
    answers = {a.question_id: a for a in submission.answers.select_related("question")}
    rows = []
    for q in submission.exam.questions.active().order_by("order"):
        a: Answer | None = answers.get(q.pk)
        if a is None:
            rows.append({"question": q.label, "kind": q.kind, "status": "auto", "score": 0.0,
                         "max_score": q.points, "flags": ["unanswered"], "answer": None,
                         "expected": q.key, "confidence": 0.0})
            continue
        rows.append({"question": q.label, "kind": q.kind, "status": a.status,
                     "score": round(a.score, 4), "max_score": a.max_score, "flags": list(a.flags),
                     "answer": a.parsed, "expected": a.expected, "confidence": round(a.confidence, 4)})
    failed = submission.status == Submission.Status.FAILED
    return {
        "exam": submission.exam.code,
        "submission": submission.pk,
        "student": submission.student,
        "status": submission.status,
        "error": submission.error or None,
        "score": None if failed or submission.score is None else round(submission.score, 4),
        "max_score": submission.exam.max_score,
        "answers": rows,
    }


def _short(value: Any, width: int = 34) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def submission_table(submission: Submission) -> str:
    """A readable table for the terminal (the demo prints one per submission)."""
    result = submission_result(submission)
    lines = [f"Submission #{result['submission']}  exam {result['exam']}  student "
             f"{result['student']}  status {result['status']}"]
    if result["error"]:
        lines.append(f"  error: {result['error']}")
    header = f"  {'question':<9} {'kind':<16} {'score':>11}  {'status':<8} {'answer':<34} flags"
    lines.append(header)
    lines.append("  " + "-" * (len(header) + 10))
    for row in result["answers"]:
        score = f"{row['score']:g}/{row['max_score']:g}"
        lines.append(f"  {row['question']:<9} {row['kind']:<16} {score:>11}  {row['status']:<8} "
                     f"{_short(row['answer']):<34} {', '.join(row['flags'])}")
    if result["score"] is not None:
        lines.append(f"  total: {result['score']:g} / {result['max_score']:g}")
    return "\n".join(lines)


def results_csv(exam: Exam) -> str:
    """One row per submission, one column per question, then total and status."""
    questions = list(exam.questions.active().order_by("order"))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["submission", "student", "status"] + [q.label for q in questions]
                    + ["total", "max_score"])
    submissions = exam.submissions.order_by("student", "id").prefetch_related("answers")
    for s in submissions:
        scores = {a.question_id: a.score for a in s.answers.all()}
        writer.writerow([s.pk, _csv_safe(s.student), s.status]
                        + [f"{scores[q.pk]:g}" if q.pk in scores else "" for q in questions]
                        + ["" if s.score is None else f"{s.score:g}", f"{exam.max_score:g}"])
    return out.getvalue()


def _csv_safe(text: str) -> str:
    # Spreadsheet formula injection: a cell starting with = + - @ is run by Excel/LibreOffice.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
