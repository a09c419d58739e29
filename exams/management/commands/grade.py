from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from exams import courses
from exams.models import Exam, Submission
from exams.results import submission_result, submission_table


class Command(BaseCommand):
    help = ("Submit and grade PDF files for an exam. With --json, print one JSON object per "
            "submission (JSON Lines). Uses the broker when one is configured, else in-process. "
            "A file already submitted for the same student is not submitted again: its existing "
            "submission is shown. A student on the exam's roster is matched by student id.")

    def add_arguments(self, parser):
        parser.add_argument("exam_code")
        parser.add_argument("files", nargs="+", metavar="FILE.pdf")
        parser.add_argument("--student", help="student id or name (default: the file name); "
                            "a student id on the exam's roster links the submission to them")
        parser.add_argument("--json", action="store_true", help="JSON Lines on stdout")
        parser.add_argument("--timeout", type=float, default=600.0,
                            help="seconds to wait for the workers (broker mode)")

    def handle(self, *args, **opts):
        try:
            exam = Exam.objects.get(code=opts["exam_code"])
        except Exam.DoesNotExist:
            raise CommandError(f"no exam {opts['exam_code']!r}; load it with load_exam") from None
        if not exam.published:
            raise CommandError(f"exam {exam.code} is not published: its key check failed "
                               f"(see load_exam output)")
        paths = [Path(f) for f in opts["files"]]
        for p in paths:
            if not p.is_file():
                raise CommandError(f"{p}: no such file")
        progress = len(paths) > 1
        ids, again = [], {}
        for i, path in enumerate(paths, start=1):
            student = opts["student"] or path.stem
            # The same file for the same student is the submission made before (idempotent).
            done = courses.submission_submit(exam=exam, student=student, content=path.read_bytes(),
                                             filename=path.name)
            if not done.created:
                again[done.submission.pk] = path
            if done.submission.pk not in ids:
                ids.append(done.submission.pk)
            if progress:
                self._progress(i, len(paths), "submitted" if not settings.CELERY_TASK_ALWAYS_EAGER
                               else "graded")
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            self._wait(ids, opts["timeout"], progress)
        if progress:
            sys.stderr.write("\n")
        for pk, path in again.items():
            # With --json on stderr: stdout stays JSON Lines.
            (self.stderr if opts["json"] else self.stdout).write(f"{path}: already submitted for this student as submission #{pk} "
                              f"(same file); shown as it is, not submitted again")
        for submission in Submission.objects.filter(pk__in=ids).order_by("id"):
            if opts["json"]:
                self.stdout.write(json.dumps(submission_result(submission), ensure_ascii=False))
            else:
                self.stdout.write(submission_table(submission) + "\n")

    def _wait(self, ids, timeout, progress):
        deadline = time.monotonic() + timeout
        while True:
            done = Submission.objects.filter(pk__in=ids, status__in=Submission.FINISHED).count()
            if progress:
                self._progress(done, len(ids), "graded")
            if done == len(ids):
                return
            if time.monotonic() > deadline:
                raise CommandError(f"timed out after {timeout:g}s: {done}/{len(ids)} graded; "
                                   f"are workers running?")
            time.sleep(0.2)

    @staticmethod
    def _progress(done, total, what):
        width = 30
        filled = int(width * done / total)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {what}")
        sys.stderr.flush()
