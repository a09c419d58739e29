"""Scoping and list filters shared by the admin classes: staff see only the exams they are
attached to (ExamRole); superusers see everything."""
from __future__ import annotations

import json

from django.contrib import admin
from django.db.models import CharField
from django.db.models.functions import Cast

from exams import roles
from exams.flags import FLAG_REASONS, flag_label
from exams.models import Answer, Question



def short(value, width: int = 60) -> str:
    text = "—" if value is None else (value if isinstance(value, str) else json.dumps(value))
    return text if len(text) <= width else text[: width - 1] + "…"


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under their parent for reading only: machine output and the audit trail."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ExamScopedAdmin(admin.ModelAdmin):
    exam_path = "exam"

    def get_queryset(self, request):
        return roles.scope_to_staff(super().get_queryset(request), request.user, self.exam_path)

    def has_add_permission(self, request):
        return False  # rows are made by services (exam_load, uploads, grading), not by hand

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class ExamFilter(admin.SimpleListFilter):
    """Only the user's exams (the stock related-field filter would list every exam)."""

    title, parameter_name, exam_path = "exam", "exam", "exam"

    def lookups(self, request, model_admin):
        return [(e.pk, e.code) for e in roles.exams_for(request.user)]

    def queryset(self, request, qs):
        return qs.filter(**{f"{self.exam_path}__pk": self.value()}) if self.value() else qs


class AnswerExamFilter(ExamFilter):
    exam_path = "submission__exam"


class QuestionLabelFilter(admin.SimpleListFilter):
    title, parameter_name = "question", "question"

    def lookups(self, request, model_admin):
        qs = Question.objects.active().filter(exam__in=roles.exams_for(request.user))
        if request.GET.get("exam"):
            qs = qs.filter(exam__pk=request.GET["exam"])
        labels = qs.order_by("order").values_list("label", flat=True)
        return [(label, label) for label in dict.fromkeys(labels)]

    def queryset(self, request, qs):
        return qs.filter(question__label=self.value()) if self.value() else qs


class FlagFilter(admin.SimpleListFilter):
    """Over the JSON ``flags`` list. JSON containment is not portable (SQLite lacks it), so the
    list's text is searched for the quoted name, which is exact on SQLite and PostgreSQL."""

    title, parameter_name = "flag reason", "flag"

    def lookups(self, request, model_admin):
        return [(f, flag_label(f)) for f in sorted(FLAG_REASONS)]

    def queryset(self, request, qs):
        if not self.value():
            return qs
        return qs.annotate(flags_text=Cast("flags", CharField())).filter(
            flags_text__contains=json.dumps(self.value()))


class QueueFilter(admin.SimpleListFilter):
    """The review queue: shows what needs a TA (flagged) unless asked otherwise. Answers to
    archived questions (dropped from the exam file; they count nowhere) are listed apart."""

    title, parameter_name = "queue", "queue"
    default = Answer.Status.FLAGGED

    def lookups(self, request, model_admin):
        return [("flagged", "To review"), ("reviewed", "Reviewed"), ("auto", "Auto-graded"),
                ("all", "All"), ("archived", "Archived questions")]

    def value(self):
        return super().value() or self.default

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {"selected": self.value() == lookup, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup})}

    def queryset(self, request, qs):
        if self.value() == "archived":
            return qs.filter(question__archived_at__isnull=False)
        qs = qs.filter(question__archived_at__isnull=True)
        return qs if self.value() == "all" else qs.filter(status=self.value())
