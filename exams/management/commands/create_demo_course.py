"""Demo users for trying the API and the review queue locally. Idempotent: running it again
resets the demo passwords and keeps the tokens."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from exams import courses, roles, services
from exams.models import Exam
from rubrics.definition import DefinitionError, parse_definition_text

SAMPLE = Path(settings.BASE_DIR) / "samples" / "ai6126_a2" / "exam.yaml"
# Known on purpose (a demo); never run this on a production database.
DEMO_USERS = [
    ("instructor", "demo-instructor", roles.INSTRUCTOR),
    ("ta", "demo-ta", roles.TA),
    ("student1", "demo-student1", None),
    ("student2", "demo-student2", None),
    ("student3", "demo-student3", None),
]


class Command(BaseCommand):
    help = ("Create a demo course: an instructor, a TA and three students with known passwords "
            "and API tokens, attached to the sample exam (loaded if missing); the students are "
            "on its roster.")

    def add_arguments(self, parser):
        parser.add_argument("--exam", default=str(SAMPLE), help="exam YAML (default: the sample)")

    def handle(self, *args, **options):
        path = Path(options["exam"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        text = path.read_text(encoding="utf-8")
        try:
            code = parse_definition_text(text).code
            exam = Exam.objects.filter(code=code).first()
            if exam is None:
                exam, _ = services.exam_load(text=text, base_dir=path.parent,
                                             user="create_demo_course")
                self.stdout.write(f"loaded exam {exam.code}")
        except DefinitionError as exc:
            raise CommandError(f"{path}: {exc}") from exc
        roles.groups_ensure()
        User = get_user_model()
        self.stdout.write(f"exam {exam.code} (published: {exam.published})\n")
        self.stdout.write(f"{'user':<12} {'password':<16} {'role':<11} token")
        for username, password, role in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.save()
            if role:
                roles.role_assign(exam=exam, user=user, role=role)
            else:  # on the exam's roster, their username as student id
                courses.student_enroll(exam=exam, row=courses.RosterRow(line=0, student_id=username))
            token, _ = Token.objects.get_or_create(user=user)
            self.stdout.write(f"{username:<12} {password:<16} {role or 'student':<11} {token.key}")
        self.stdout.write(self.style.WARNING(
            "Demo passwords are public: use this on a development database only."))
