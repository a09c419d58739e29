"""Result views of graded submissions: the `grade --json` object, tables, the results CSV
and the LMS gradebook CSVs."""
from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from exams.courses import display_name, student_id_of
from exams.models import Answer, Exam, Submission
from grader.types import Flag
from exams.policies import counting_ids


def submission_result(submission: Submission) -> dict[str, Any]:
    """The DESIGN.md `grade --json` object (contract: keep the keys and their order)."""
    answers = {a.question_id: a for a in submission.answers.select_related("question")}
    rows = []
    for q in submission.exam.questions.active().order_by("order"):
        a: Answer | None = answers.get(q.pk)
        if a is None:
            rows.append({"question": q.label, "kind": q.kind, "status": "auto", "score": 0.0,
                         "max_score": q.points, "flags": [Flag.UNANSWERED], "answer": None,
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
        "flags": list(submission.flags),
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
    """One row per student (the submission that counts under the exam's policy), one column
    per question, then total, max_score and how many submissions the student made."""
    questions = list(exam.questions.active().order_by("order").values_list("pk", "label", "points"))
    max_score = f"{sum(points for _, _, points in questions):g}"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["submission", "student", "status"] + [label for _, label, _ in questions]
                    + ["total", "max_score", "submissions"])
    made = Counter(exam.submissions.values_list("student", flat=True))
    counting = list(counting_ids(exam).values())
    scores: dict[int, dict[int, float]] = {}
    # Plain values, not model rows: a course of 1000 students has tens of thousands of answers.
    for sid, qid, score in Answer.objects.filter(submission__in=counting).values_list(
            "submission_id", "question_id", "score"):
        scores.setdefault(sid, {})[qid] = score
    for sid, student, status, total in (exam.submissions.filter(pk__in=counting)
                                        .order_by("student", "id")
                                        .values_list("pk", "student", "status", "score")):
        mine = scores.get(sid, {})
        writer.writerow([sid, _csv_safe(student), status]
                        + [f"{mine[qid]:g}" if qid in mine else "" for qid, _, _ in questions]
                        + ["" if total is None else f"{total:g}", max_score, made[student]])
    return out.getvalue()


GRADEBOOKS = ("canvas", "moodle")


def gradebook_csv(exam: Exam, lms: str) -> str:
    """The exam's totals in the CSV shape an LMS gradebook imports: one row per student on
    the roster or with a submission. A total is given only for a counting submission that is
    fully graded (none flagged, not failed); other cells stay empty, which both LMS leave
    unchanged on import.

    Canvas (Grades > Import): Student, ID, SIS User ID, SIS Login ID, Section, then one
    column per assignment, and a "Points Possible" row. Canvas matches rows by its own ID,
    which we cannot know, or by SIS User ID: we fill that with the student id.

    Moodle (Grades > Import > CSV file): First name, Last name, ID number, Email address, then
    one grade column; map "ID number" to the user field "idnumber" (or "Email address" to
    "email") and the grade column to a grade item when importing.
    """
    if lms not in GRADEBOOKS:
        raise ValueError(f"lms: one of {', '.join(GRADEBOOKS)}")
    counting = {s.student: s for s in exam.submissions.filter(
        pk__in=list(counting_ids(exam).values())).select_related("user__student_profile")}
    people: dict[str, Any] = {}     # student label -> user (None: a `grade --student` label)
    for e in exam.enrollments.select_related("user__student_profile"):
        people[e.user.get_username()] = e.user
    for label, s in counting.items():
        people.setdefault(label, s.user)

    def total(label: str) -> str:
        s = counting.get(label)
        if s is None or s.status != Submission.Status.GRADED or s.score is None:
            return ""
        return f"{s.score:g}"

    out = io.StringIO()
    writer = csv.writer(out)
    column = exam.title or exam.code
    if lms == "canvas":
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column])
        writer.writerow(["Points Possible", "", "", "", "", f"{exam.max_score:g}"])
    else:
        writer.writerow(["First name", "Last name", "ID number", "Email address", column])
    for label in sorted(people, key=lambda k: _sort_name(people[k], k)):
        user = people[label]
        sid = (student_id_of(user) if user is not None else "") or label
        if lms == "canvas":
            name = f"{user.last_name}, {user.first_name}" if user is not None and user.last_name \
                else (display_name(user) if user is not None else label)
            writer.writerow([_csv_safe(name), "", _csv_safe(sid), "", "", total(label)])
        else:
            writer.writerow([_csv_safe(user.first_name if user else ""),
                             _csv_safe(user.last_name if user else ""), _csv_safe(sid),
                             _csv_safe(user.email if user else ""), total(label)])
    return out.getvalue()


def _sort_name(user, label: str) -> tuple[str, str, str]:
    if user is None:
        return ("", "", label)
    return (user.last_name.lower(), user.first_name.lower(), label)


def _csv_safe(text: str) -> str:
    # Spreadsheet formula injection: a cell starting with = + - @ is run by Excel/LibreOffice.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
