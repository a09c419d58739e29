"""Who may do what: the `instructor` / `ta` groups, attaching staff to exams, and the
per-exam scoping every API view and admin queryset goes through.

A Django group gives model permissions (what the admin lets a user do at all); an ExamRole
decides *which* exams that applies to. Both are needed: a TA of exam A has the `ta` group's
permissions, but only on exam A's rows.
"""
from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import QuerySet

from exams.models import Exam, ExamRole, Submission

INSTRUCTOR = ExamRole.Role.INSTRUCTOR.value
TA = ExamRole.Role.TA.value
STAFF_ROLES = (INSTRUCTOR, TA)

# Model permissions per group (codename prefixes on exams models). Also used by the data
# migration 0002_groups (kept as plain data so the migration does not import this module).
GROUP_PERMISSIONS: dict[str, list[str]] = {
    INSTRUCTOR: [
        "add_exam", "view_exam", "change_exam",
        "view_question",
        "view_submission", "change_submission",
        "view_answer", "change_answer",
        "view_review", "add_review",
        "view_examrole",
        # issue 17 (migration 0005_issue17_courses adds them to existing groups)
        "view_enrollment", "add_enrollment", "delete_enrollment", "view_studentprofile",
        "view_releaserecord", "view_regraderequest", "change_regraderequest",
    ],
    TA: [
        "view_exam", "view_question", "view_submission",
        "view_answer", "change_answer",
        "view_review", "add_review",
        "view_enrollment", "view_studentprofile", "view_regraderequest", "change_regraderequest",
    ],
}


def groups_ensure() -> dict[str, Group]:
    """Create the groups with their permissions (idempotent; the migration does the same)."""
    groups = {}
    for name, codenames in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(content_type__app_label="exams", codename__in=codenames)
        group.permissions.add(*perms)
        groups[name] = group
    return groups


def role_assign(*, exam: Exam, user, role: str) -> ExamRole:
    """Attach ``user`` to ``exam`` as ``role``; puts them in the group and lets them log in to
    the admin (is_staff), which is where TAs review."""
    if role not in STAFF_ROLES:
        raise ValueError(f"unknown role {role!r}")
    with transaction.atomic():
        groups = groups_ensure()
        exam_role, _ = ExamRole.objects.get_or_create(exam=exam, user=user, role=role)
        user.groups.add(groups[role])
        if not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    return exam_role


def role_remove(*, exam: Exam, user, role: str) -> None:
    """Detach; the group goes too once the user holds that role on no exam."""
    with transaction.atomic():
        ExamRole.objects.filter(exam=exam, user=user, role=role).delete()
        if not ExamRole.objects.filter(user=user, role=role).exists():
            user.groups.remove(*Group.objects.filter(name=role))


# ---------------------------------------------------------------- questions asked by views

def is_instructor(user) -> bool:
    """May create exams: superusers and members of the `instructor` group."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or user.groups.filter(name=INSTRUCTOR).exists()


def is_course_staff(user) -> bool:
    """Superuser, Django staff, a member of a staff group, or attached to any exam."""
    if not user.is_authenticated:
        return False
    return (user.is_superuser or user.is_staff
            or user.groups.filter(name__in=STAFF_ROLES).exists()
            or ExamRole.objects.filter(user=user).exists())


def is_student(user) -> bool:
    """Students are every authenticated user who is not course staff."""
    return user.is_authenticated and not is_course_staff(user)


def has_exam_role(user, exam: Exam, roles: tuple[str, ...] = STAFF_ROLES) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return ExamRole.objects.filter(user=user, exam=exam, role__in=roles).exists()


def exams_for(user, roles: tuple[str, ...] = STAFF_ROLES) -> QuerySet[Exam]:
    """The exams ``user`` is staff of (all of them for superusers)."""
    if not user.is_authenticated:
        return Exam.objects.none()
    if user.is_superuser:
        return Exam.objects.all()
    return Exam.objects.filter(roles__user=user, roles__role__in=roles).distinct()


def scope_to_staff(qs: QuerySet, user, exam_path: str = "exam") -> QuerySet:
    """Restrict any queryset with a path to Exam to the exams ``user`` is staff of."""
    if user.is_superuser:
        return qs
    if not user.is_authenticated:
        return qs.none()
    return qs.filter(**{f"{exam_path}__in": exams_for(user).values("pk")})


def submission_visible_to(user, submission: Submission) -> bool:
    """Its student, or staff of its exam. (Views answer 404 otherwise, never 403.)"""
    if not user.is_authenticated:
        return False
    if submission.user_id is not None and submission.user_id == user.pk:
        return True
    return has_exam_role(user, submission.exam)
