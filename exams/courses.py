"""Courses around an exam: the roster (students by their institution's id, staff by role),
uploads (a student's own, staff on a student's behalf, the `grade` command) and the release
of results. Views, admin pages and commands call these functions.

Students are matched by student id: a roster row, a staff upload and `grade --student ID`
all name the student by it (a user's ``StudentProfile``; a username equal to the id counts
for accounts made before profiles existed).
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q

from exams import policies, roles, services
from exams.models import (
    Answer, Enrollment, Exam, ExamRole, ReleaseRecord, StudentProfile, Submission,
)

S = Submission.Status
STUDENT_ID_RE = re.compile(r"^[\w.@+-]{1,64}$")
MAX_ROSTER_ROWS = 5000


class RosterError(ValueError):
    """A roster change that cannot be made; the message says what to fix. ``status``: the
    HTTP status the API answers with."""

    status = 400


class NotOnRoster(RosterError):
    status = 404


class RosterConflict(RosterError):
    status = 409


# ---------------------------------------------------------------- students

def student_id_of(user) -> str:
    # A missing reverse one-to-one raises an AttributeError subclass: getattr's default.
    profile = getattr(user, "student_profile", None) if user is not None else None
    return profile.student_id if profile else ""


def display_name(user) -> str:
    return user.get_full_name() or user.get_username()


def roster_student(exam: Exam, student: str):
    """The enrolled user whose student id (or, without a profile, username) is ``student``."""
    if not student:
        return None
    enrollment = (Enrollment.objects.select_related("user").filter(exam=exam).filter(
        Q(user__student_profile__student_id=student)
        | Q(user__student_profile__isnull=True, user__username=student)).first())
    return enrollment.user if enrollment else None


def split_name(name: str) -> tuple[str, str]:
    """(first, last) from a roster's one name column: "Last, First" or "First Middle Last"."""
    name = " ".join(name.split())
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip(), last.strip()
    first, _, last = name.rpartition(" ")
    return (first, last) if first else (last, "")


@dataclass(frozen=True)
class RosterRow:
    line: int
    student_id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""


@dataclass(frozen=True)
class Enrolled:
    user: object
    created_user: bool
    newly_enrolled: bool


def _check_row(row: RosterRow) -> None:
    where = _where(row)
    if not STUDENT_ID_RE.match(row.student_id):
        raise RosterError(f"{where}student id {row.student_id!r}: 1-64 letters, digits or . @ + - _")
    if row.email:
        try:
            validate_email(row.email)
        except ValidationError:
            raise RosterError(f"{where}email {row.email!r} is not an email address") from None
    if len(row.first_name) > 150 or len(row.last_name) > 150:
        raise RosterError(f"{where}name longer than 150 characters")


def _student_account(row: RosterRow):
    """(user, created): the account with this student id; made when there is none."""
    User = get_user_model()
    profile = StudentProfile.objects.select_related("user").filter(student_id=row.student_id).first()
    user, created = (profile.user if profile else None), False
    if user is None:
        user = User.objects.filter(username=row.student_id).first()
        if user is not None:
            if roles.is_course_staff(user):
                raise RosterError(f"{_where(row)}{row.student_id!r} is the username of a staff "
                                  "account; use another student id")
            if StudentProfile.objects.filter(user=user).exists():
                raise RosterError(f"{_where(row)}username {row.student_id!r} belongs to a student "
                                  "with another student id")
        else:
            user = User(username=row.student_id)
            _without_password(user)
            user.save()
            created = True
        StudentProfile.objects.create(user=user, student_id=row.student_id)
    elif roles.is_course_staff(user):
        raise RosterError(f"{_where(row)}student id {row.student_id!r} belongs to a staff account")
    # Fill what the account lacks; never overwrite what a student or another roster set.
    changed = []
    for name in ("first_name", "last_name", "email"):
        value = getattr(row, name)
        if value and not getattr(user, name):
            setattr(user, name, value)
            changed.append(name)
    if changed:
        user.save(update_fields=changed)
    return user, created


def _without_password(user) -> None:
    """No password yet: the owner sets theirs through "Forgot your password?" (an email link;
    student_views.FirstPasswordResetForm). Not a random one: hashing one per roster row would
    take minutes for a large course."""
    user.set_unusable_password()


def _where(row: RosterRow) -> str:
    return f"line {row.line}: " if row.line else ""


def student_enroll(*, exam: Exam, row: RosterRow, added_by=None) -> Enrolled:
    """Put the student with ``row.student_id`` on the exam's roster (making the account)."""
    _check_row(row)
    with transaction.atomic():
        user, created = _student_account(row)
        _, newly = Enrollment.objects.get_or_create(exam=exam, user=user,
                                                    defaults={"added_by": added_by})
    return Enrolled(user=user, created_user=created, newly_enrolled=newly)


def student_unenroll(*, exam: Exam, student_id: str) -> None:
    """Take a student off the roster; their submissions and results stay."""
    user = roster_student(exam, student_id)
    if user is None:
        raise NotOnRoster(f"no student {student_id!r} on the roster of {exam.code}")
    Enrollment.objects.filter(exam=exam, user=user).delete()


HEADERS = {
    "student_id": {"student id", "student_id", "studentid", "id", "sis user id", "student number",
                   "matriculation number", "id number", "idnumber"},
    "name": {"name", "student", "full name", "student name"},
    "first_name": {"first name", "first_name", "given name", "firstname"},
    "last_name": {"last name", "last_name", "surname", "family name", "lastname"},
    "email": {"email", "e-mail", "email address", "mail"},
}


def roster_parse(text: str) -> list[RosterRow]:
    """A roster CSV (header row; columns student id, name or first/last name, email; comma,
    semicolon or tab separated) as rows. RosterError lists every bad line at once."""
    text = text.lstrip("\ufeff")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise RosterError("the roster is empty: expected a header row (student id, name, email)")
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader)]
    columns = {}
    for key, names in HEADERS.items():
        found = [i for i, h in enumerate(header) if h in names]
        if found:
            columns[key] = found[0]
    if "student_id" not in columns:
        raise RosterError(f"no student id column in the header {header}: name one 'student id'")
    rows, errors, seen = [], [], {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue

        def cell(key: str) -> str:
            i = columns.get(key)
            return values[i].strip() if i is not None and i < len(values) else ""

        first, last = cell("first_name"), cell("last_name")
        if not (first or last) and cell("name"):
            first, last = split_name(cell("name"))
        row = RosterRow(line=line, student_id=cell("student_id"), first_name=first,
                        last_name=last, email=cell("email"))
        try:
            _check_row(row)
        except RosterError as exc:
            errors.append(str(exc))
            continue
        if row.student_id in seen:
            errors.append(f"line {line}: student id {row.student_id!r} also on line {seen[row.student_id]}")
            continue
        seen[row.student_id] = line
        rows.append(row)
        if len(rows) > MAX_ROSTER_ROWS:
            raise RosterError(f"more than {MAX_ROSTER_ROWS} students; split the file")
    if errors:
        raise RosterError("; ".join(errors[:20]) + (f"; and {len(errors) - 20} more"
                                                     if len(errors) > 20 else ""))
    return rows


@dataclass
class RosterReport:
    enrolled: list[str] = field(default_factory=list)          # student ids newly enrolled
    already: list[str] = field(default_factory=list)           # already on the roster
    accounts_created: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"{len(self.enrolled)} student(s) enrolled, {len(self.already)} already on the "
                f"roster, {len(self.accounts_created)} account(s) created")

    def as_dict(self) -> dict:
        return {"enrolled": self.enrolled, "already": self.already,
                "accounts_created": self.accounts_created, "summary": self.summary()}


def roster_import(*, exam: Exam, text: str, added_by=None) -> RosterReport:
    """Enroll every student of a roster CSV; all or nothing (a bad line changes nothing)."""
    rows = roster_parse(text)
    report = RosterReport()
    with transaction.atomic():
        for row in rows:
            outcome = student_enroll(exam=exam, row=row, added_by=added_by)
            (report.enrolled if outcome.newly_enrolled else report.already).append(row.student_id)
            if outcome.created_user:
                report.accounts_created.append(row.student_id)
    return report


def roster_of(exam: Exam) -> dict:
    """The exam's students (with how many submissions each made) and staff."""
    made: dict[int, int] = {}
    for user_id in exam.submissions.exclude(user=None).values_list("user_id", flat=True):
        made[user_id] = made.get(user_id, 0) + 1
    students = [{"student_id": student_id_of(e.user), "username": e.user.get_username(),
                 "name": e.user.get_full_name(), "email": e.user.email,
                 "submissions": made.get(e.user_id, 0)}
                for e in exam.enrollments.select_related("user__student_profile")]
    staff = [{"username": r.user.get_username(), "role": r.role, "email": r.user.email}
             for r in exam.roles.select_related("user").order_by("role", "user__username")]
    return {"exam": exam.code, "students": students, "staff": staff}


# ---------------------------------------------------------------- staff

def staff_add(*, exam: Exam, username: str, role: str, email: str = "") -> tuple[object, bool]:
    """Attach ``username`` to the exam as ``role`` (instructor or ta); the account is made
    when there is none. Returns (user, created). A student's account cannot become staff
    (staff cannot submit, so their submissions would be orphaned)."""
    if role not in roles.STAFF_ROLES:
        raise RosterError(f"role: one of {', '.join(roles.STAFF_ROLES)}")
    username = (username or "").strip()
    if not STUDENT_ID_RE.match(username):
        raise RosterError("username: 1-64 letters, digits or . @ + - _")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise RosterError(f"email {email!r} is not an email address") from None
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        created = user is None
        if created:
            user = User(username=username, email=email)
            _without_password(user)
            user.save()
        elif not roles.is_course_staff(user) and (
                user.submissions.exists() or user.enrollments.exists()
                or StudentProfile.objects.filter(user=user).exists()):
            raise RosterError(f"{username} is a student's account; staff need their own account")
        roles.role_assign(exam=exam, user=user, role=role)
    return user, created


def staff_remove(*, exam: Exam, username: str, role: str) -> None:
    role_row = ExamRole.objects.filter(exam=exam, user__username=username, role=role).first()
    if role_row is None:
        raise NotOnRoster(f"{username} is not {role} of {exam.code}")
    if role == roles.INSTRUCTOR and ExamRole.objects.filter(exam=exam, role=role).count() == 1:
        raise RosterConflict(f"{username} is the only instructor of {exam.code}; add another first")
    roles.role_remove(exam=exam, user=role_row.user, role=role)


# ---------------------------------------------------------------- uploads

@dataclass(frozen=True)
class Submitted:
    submission: Submission
    created: bool   # False: this student had submitted the very same file; nothing new was made


def submission_submit(*, exam: Exam, content: bytes, filename: str = "submission.pdf",
                      user=None, student: str = "", uploaded_by=None,
                      enqueue: bool = True) -> Submitted:
    """Every upload goes through here.

    ``user``: a student submitting their own file; the exam's policies apply
    (SubmissionRefused). Otherwise a staff act (``uploaded_by`` staff, or the `grade` command):
    ``student`` names the student, matched to the roster by student id (the submission is then
    theirs); outside the roster it is a label only. The same file for the same student and
    exam is the existing submission (idempotent), whoever uploads it.
    """
    if user is not None:
        label, owner = user.get_username(), user
    else:
        owner = roster_student(exam, student)
        label = owner.get_username() if owner is not None else student
    if not label:
        raise RosterError("name the student")
    digest = hashlib.sha256(content).hexdigest()
    with transaction.atomic():
        if owner is not None:
            # One upload at a time per student: the resubmission check and the duplicate
            # check must see each other's rows.
            get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
        mine = exam.submissions.filter(student=label)
        same = mine.filter(sha256=digest).order_by("id").first()
        if same is not None:
            return Submitted(submission=same, created=False)
        if user is not None:
            policies.student_submission_check(exam, previous=mine.count())
        submission = services.submission_create(exam=exam, student=label, content=content,
                                                filename=filename, user=owner, enqueue=enqueue)
        if uploaded_by is not None:
            Submission.objects.filter(pk=submission.pk).update(uploaded_by=uploaded_by)
            submission.uploaded_by = uploaded_by
    return Submitted(submission=submission, created=True)


def submission_submit_for(*, exam: Exam, student_id: str, content: bytes, filename: str,
                          uploaded_by) -> Submitted:
    """A staff upload on a student's behalf: the student must be on the roster."""
    if roster_student(exam, student_id) is None:
        raise RosterError(f"no student {student_id!r} on the roster of {exam.code}; add them "
                          "first (the upload is matched to the student by id)")
    return submission_submit(exam=exam, content=content, filename=filename, student=student_id,
                             uploaded_by=uploaded_by)


# ---------------------------------------------------------------- release

@dataclass(frozen=True)
class ReleaseCheck:
    unreviewed: int     # flagged answers, not reviewed, of the submissions that count
    grading: int        # submissions still being graded
    failed: int         # submissions that could not be graded (counting ones)

    @property
    def blocking(self) -> bool:
        return bool(self.unreviewed or self.grading)

    def message(self, exam: Exam) -> str:
        parts = []
        if self.unreviewed:
            parts.append(f"{self.unreviewed} flagged answer(s) are not reviewed yet")
        if self.grading:
            parts.append(f"{self.grading} submission(s) are still being graded")
        text = f"{exam.code}: " + " and ".join(parts) + (
            "; students would see provisional scores. Review them first, or release anyway "
            "with force.")
        if self.failed:
            text += f" ({self.failed} submission(s) could not be graded.)"
        return text


class ReleaseBlocked(Exception):
    def __init__(self, exam: Exam, check: ReleaseCheck):
        self.check = check
        super().__init__(check.message(exam))


def release_check(exam: Exam) -> ReleaseCheck:
    counting = list(policies.counting_ids(exam).values())
    return ReleaseCheck(
        unreviewed=Answer.objects.filter(submission_id__in=counting,
                                         status=Answer.Status.FLAGGED).count(),
        grading=exam.submissions.filter(status__in=(S.RECEIVED, S.PROCESSING)).count(),
        failed=exam.submissions.filter(pk__in=counting, status=S.FAILED).count())


def exam_release(*, exam: Exam, user, released: bool = True, force: bool = False) -> ReleaseRecord:
    """Release (or withdraw) the exam's results to students. Releasing is refused
    (ReleaseBlocked) while flagged answers are unreviewed or submissions are still being
    graded, unless ``force``; every release and withdrawal is recorded (who, when, forced
    past how many)."""
    with transaction.atomic():
        exam = Exam.objects.select_for_update().get(pk=exam.pk)
        check = release_check(exam) if released else ReleaseCheck(0, 0, 0)
        if released and check.blocking and not force:
            raise ReleaseBlocked(exam, check)
        Exam.objects.filter(pk=exam.pk).update(results_released=released)
        return ReleaseRecord.objects.create(
            exam=exam, by=user, released=released, forced=bool(released and force and check.blocking),
            unreviewed=check.unreviewed, grading=check.grading)


# ---------------------------------------------------------------- who sees which exam

def exams_visible_to(user):
    """Staff: the exams they teach (superusers: all). Students: those they are enrolled in
    or submitted to."""
    if not user.is_authenticated:
        return Exam.objects.none()
    if roles.is_course_staff(user):
        return roles.exams_for(user)
    return Exam.objects.filter(Q(enrollments__user=user) | Q(submissions__user=user)).distinct()

