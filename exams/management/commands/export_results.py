from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exams.models import Exam
from exams.results import results_csv


class Command(BaseCommand):
    help = "Export an exam's results as CSV: one row per submission, one column per question."

    def add_arguments(self, parser):
        parser.add_argument("exam_code")
        parser.add_argument("-o", "--output", help="CSV file to write (default: stdout)")

    def handle(self, *args, **opts):
        try:
            exam = Exam.objects.get(code=opts["exam_code"])
        except Exam.DoesNotExist:
            raise CommandError(f"no exam {opts['exam_code']!r}") from None
        text = results_csv(exam)
        if opts["output"]:
            Path(opts["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {opts['output']}")
        else:
            self.stdout.write(text, ending="")
