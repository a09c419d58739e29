"""Rubric grading at course size: how long a TA's decisions and a rubric change take.

    python -m bench.rubric_rescore --answers 100 500            # SQLite (the embedded default)
    python -m bench.rubric_rescore --answers 500 --postgres      # a fresh PostgreSQL database

For each size N: N submissions with one flagged free-text answer each; times N rubric
decisions (``rubric.answer_grade``, one Review and one total each, as save-and-next does), then
one change of an item's points applied to all N (``rubric.rubric_item_update``: N re-scores,
N Reviews, N totals, in one transaction) and one group decision over N identical answers.
Rows are made through the ORM (no PDF reading), so this measures the grading services only.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def run(sizes: list[int]) -> list[dict]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from exams import groups, roles, rubric
    from exams.models import Answer
    from tests.api.factories import make_exam, make_submission, make_user

    results = []
    for n in sizes:
        exam = make_exam(f"BENCH-{n}")
        ta = make_user(f"ta{n}", exam=exam, role=roles.TA)
        q2 = exam.questions.get(label="2")
        item = rubric.rubric_item_create(question=q2, points=1, text="reduces memory")
        subs = [make_submission(exam, student=f"s{k:04d}", answers={"2": {
            "status": Answer.Status.FLAGGED, "flags": ["free_text"], "raw_text": "less memory"}})
            for k in range(n)]
        answers = list(Answer.objects.filter(submission__in=subs).order_by("pk"))
        half = answers[: n // 2]
        start = time.perf_counter()
        for a in half:
            rubric.answer_grade(answer=a, reviewer=ta, item_ids=[item.pk])
        decide = (time.perf_counter() - start) / len(half)
        group = groups.answer_groups(Answer.objects.filter(question=q2))[0]
        start = time.perf_counter()
        groups.answer_group_decide(answers=Answer.objects.filter(question=q2), group=group.id,
                                   reviewer=ta, item_ids=[item.pk])
        group_s = time.perf_counter() - start
        start = time.perf_counter()
        change = rubric.rubric_item_update(item=item, user=ta, points=0.5)
        rescore_s = time.perf_counter() - start
        assert change.answers == n
        results.append({"answers": n, "decision_ms": round(decide * 1000, 1),
                        "group_decision_s": round(group_s, 2), "group_size": len(group.answers),
                        "item_change_s": round(rescore_s, 2),
                        "item_change_ms_per_answer": round(rescore_s * 1000 / n, 1)})
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        os.environ["MEDIA_ROOT"] = str(Path(tmp) / "media")
        if args.postgres:
            from tests.integration.realservices import postgres_database

            os.environ["DATABASE_URL"] = stack.enter_context(postgres_database())
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        database = "PostgreSQL" if args.postgres else "SQLite"
        for row in run(args.answers):
            print(f"{database}: {row}")
        from django.db import connections

        connections.close_all()


if __name__ == "__main__":
    main()
