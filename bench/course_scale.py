"""The course side at the size of a large course: which submission counts, the results and
gradebook CSVs, statistics, the release check and a student's feedback, timed.

    python -m bench.course_scale --students 1000 --resubmissions 3 --questions 20

Builds, in a fresh SQLite database in a temporary folder (no server needed), one exam with
``--questions`` questions, ``--students`` students on its roster, each with
``--resubmissions`` graded submissions (every answer a row, 5 % flagged), then times each
operation (best of 3) and prints the query count of the per-request ones.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.embedded import setup_embedded_django  # noqa: E402 - needs ROOT on sys.path


def build(students: int, resubmissions: int, questions: int):
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from exams.models import Answer, Enrollment, Exam, Question, StudentProfile, Submission
    from grader.types import Kind, QuestionSpec

    exam = Exam.objects.create(code="BIG-1", title="Large course", published=True)
    qs = []
    for i in range(questions):
        question = Question(exam=exam)
        question.set_spec(QuestionSpec(label=str(i + 1), number=str(i + 1), part=None,
                                       kind=Kind.NUMERIC, points=2.0, key=1), order=i)
        qs.append(question)
    qs = Question.objects.bulk_create(qs)
    User = get_user_model()
    with transaction.atomic():
        users = User.objects.bulk_create([User(username=f"u{i:05d}") for i in range(students)])
        StudentProfile.objects.bulk_create([StudentProfile(user=u, student_id=u.username)
                                            for u in users])
        Enrollment.objects.bulk_create([Enrollment(exam=exam, user=u) for u in users])
        subs = Submission.objects.bulk_create([
            Submission(exam=exam, user=u, student=u.username, sha256=f"{i:064d}", file="x.pdf",
                       status=Submission.Status.GRADED, score=0.0, max_score=2.0 * questions)
            for u in users for i in range(resubmissions)])
        n = 0
        answers = []
        for s in subs:
            for q in qs:
                n += 1
                flagged = n % 20 == 0
                answers.append(Answer(submission=s, question=q, max_score=2.0, score=float(n % 3),
                                      status="flagged" if flagged else "auto",
                                      flags=["unparsed"] if flagged else [], pages=[1]))
        Answer.objects.bulk_create(answers, batch_size=5000)
    return exam, subs[-1]


def best_of(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--resubmissions", type=int, default=3)
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args(argv)
    folder = setup_embedded_django("grader-course-scale-")
    try:
        from exams import courses, policies
        from exams.feedback import submission_feedback
        from exams.results import gradebook_csv, results_csv
        from exams.stats import question_stats

        start = time.perf_counter()
        exam, last = build(args.students, args.resubmissions, args.questions)
        built = time.perf_counter() - start
        ops = {
            "counting_ids": lambda: policies.counting_ids(exam),
            "results_csv": lambda: results_csv(exam),
            "gradebook_csv canvas": lambda: gradebook_csv(exam, "canvas"),
            "question_stats": lambda: question_stats(exam),
            "release_check": lambda: courses.release_check(exam),
            "submission_feedback (one)": lambda: submission_feedback(last),
        }
        rows = {name: {"seconds": round(best_of(fn), 4)} for name, fn in ops.items()}
        rows["submission_feedback (one)"]["queries"] = queries(ops["submission_feedback (one)"])
        rows["release_check"]["queries"] = queries(ops["release_check"])
        size = (f"{args.students} students x {args.resubmissions} submissions x "
                f"{args.questions} questions = {args.students * args.resubmissions * args.questions} answers")
        print(f"course scale: {size} (built in {built:.1f} s, SQLite)")
        for name, row in rows.items():
            extra = f"  ({row['queries']} queries)" if "queries" in row else ""
            print(f"  {name:<28} {row['seconds'] * 1000:8.1f} ms{extra}")
        return {"size": size, "ops": rows}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
