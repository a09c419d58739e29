from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from exams import services
from rubrics.definition import DefinitionError


class Command(BaseCommand):
    help = ("Create or update an exam from its YAML definition; recompute every solver-backed "
            "key, compare literal keys, and print the key check. On an update, print what "
            "changed: questions added, changed, archived (dropped from the file; their answers "
            "and reviews are kept) and restored. Exits 1 on an invalid file, 3 when a key "
            "mismatch keeps the exam unpublished.")

    def add_arguments(self, parser):
        parser.add_argument("path", help="exam definition YAML")
        parser.add_argument("--accept-key", action="append", default=[], metavar="LABEL",
                            help="accept a key mismatch for this question (recorded); repeatable")
        parser.add_argument("--by", default="", help="who accepts the mismatches (recorded)")

    def handle(self, *args, **opts):
        path = Path(opts["path"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not a UTF-8 text file") from None
        try:
            loaded = services.exam_upsert(text=text, base_dir=path.parent,
                                          accept_mismatch=tuple(opts["accept_key"]),
                                          user=opts["by"])
        except DefinitionError as exc:
            raise CommandError(f"{path}: {exc}") from None
        exam, report = loaded.exam, loaded.report
        self.stdout.write(f"exam {exam.code}: {exam.title} — {exam.questions.active().count()} "
                          f"questions, {exam.max_score:g} points"
                          + ("" if loaded.created else " (updated)"))
        if not loaded.created:
            for line in loaded.changes.lines() or ["  no question changed"]:
                self.stdout.write(line)
        self.stdout.write(f"  marking: {exam.marking}")
        if exam.omr_template:
            n = sum(len(v) for v in exam.omr_template.values())
            self.stdout.write(f"  checkbox template: {n} boxes for {len(exam.omr_template)} questions")
        for entry in report.entries:
            line = f"  {entry.label:<8} {entry.status:<9}"
            if entry.status == "mismatch":
                line += f" {entry.detail}"
                if entry.label in opts["accept_key"]:
                    line += "  [accepted: literal key used]"
            elif entry.key is not None:
                line += f" key {_short(entry.key)}"
            self.stdout.write(line)
        blocking = [e for e in report.mismatched if e not in opts["accept_key"]]
        if blocking:
            # Loaded but unusable: a non-zero exit stops `load_exam && grade` scripts here.
            raise CommandError(
                f"key check FAILED for {', '.join(blocking)}: the exam is saved but not published. "
                f"Fix the key or accept it with --accept-key LABEL.", returncode=3)
        else:
            self.stdout.write(self.style.SUCCESS("key check passed; exam published"))


def _short(value, width: int = 60) -> str:
    text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
