from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exams.models import Exam
from exams.results import GRADEBOOKS, gradebook_csv, results_csv


class Command(BaseCommand):
    help = ("Export an exam's results as CSV: one row per student (the submission that counts "
            "under the exam's policy), one column per question. With --gradebook canvas|moodle: "
            "the totals in the CSV shape that LMS's gradebook imports.")

    def add_arguments(self, parser):
        parser.add_argument("exam_code")
        parser.add_argument("-o", "--output", help="CSV file to write (default: stdout)")
        parser.add_argument("--gradebook", choices=GRADEBOOKS,
                            help="an LMS gradebook import file instead of the results table")

    def handle(self, *args, **opts):
        try:
            exam = Exam.objects.get(code=opts["exam_code"])
        except Exam.DoesNotExist:
            raise CommandError(f"no exam {opts['exam_code']!r}") from None
        text = gradebook_csv(exam, opts["gradebook"]) if opts["gradebook"] else results_csv(exam)
        if opts["output"]:
            Path(opts["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {opts['output']}")
        else:
            self.stdout.write(text, ending="")
