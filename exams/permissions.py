"""DRF permission classes; the decisions themselves live in exams.roles."""
from __future__ import annotations

from rest_framework.permissions import BasePermission

from exams import roles


class IsInstructorUser(BasePermission):
    message = "Only instructors can upload exams."

    def has_permission(self, request, view) -> bool:
        return roles.is_instructor(request.user)


class IsExamStaff(BasePermission):
    """Object permission on an Exam: its instructors and TAs (and superusers)."""

    message = "You are not staff of this exam."

    def has_object_permission(self, request, view, obj) -> bool:
        return roles.has_exam_role(request.user, obj)


class IsExamInstructor(BasePermission):
    message = "Only an instructor of this exam can do that."

    def has_object_permission(self, request, view, obj) -> bool:
        return roles.has_exam_role(request.user, obj, roles=(roles.INSTRUCTOR,))
