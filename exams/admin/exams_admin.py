"""Exams (policies; actions: release, regrade, CSV; statistics and roster pages), roles,
questions, submissions. Machine output is read-only; each action calls one service."""
from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import CharField, Count, Q
from django.db.models.functions import Cast
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from exams import courses, policies, review, roles, services, stats
from exams.admin.roster import roster_page
from exams.admin.base import ExamFilter, ExamScopedAdmin, ReadOnlyInline, short
from exams.flags import DOCUMENT_FLAG_REASONS, flag_label, flag_reason
from exams.models import Answer, Exam, ExamRole, Question, ReleaseRecord, RubricItem, Submission
from exams.results import GRADEBOOKS, gradebook_csv, results_csv

# ---------------------------------------------------------------- exams

class ExamPoliciesForm(forms.ModelForm):
    """Only the policies are editable on an exam (the YAML is the source of truth for the
    rest); saving goes through policies.exam_policies_set."""

    class Meta:
        model = Exam
        fields = list(policies.POLICY_FIELDS)

    def clean(self):
        data = super().clean()
        if not self.errors:
            values = {name: data.get(name, getattr(self.instance, name))
                      for name in policies.POLICY_FIELDS}
            try:
                policies.policies_check(**values)
            except policies.PolicyError as exc:
                field, _, message = str(exc).partition(": ")
                raise forms.ValidationError({field: message} if field in values else str(exc))
        return data


class ReleaseInline(ReadOnlyInline):
    model = ReleaseRecord
    fields = readonly_fields = ["at", "by", "released", "forced", "unreviewed", "grading"]
    verbose_name_plural = "releases and withdrawals"


class ExamRoleInline(admin.TabularInline):
    model = ExamRole
    extra = 0
    fields = readonly_fields = ["user", "role"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # roles change through ExamRoleAdmin (roles.role_assign keeps groups in sync)


@admin.register(Exam)
class ExamAdmin(ExamScopedAdmin):
    exam_path = "pk"
    list_display = ["code", "title", "published", "results_released", "n_submissions",
                    "n_to_review", "links"]
    search_fields = ["code", "title"]
    form = ExamPoliciesForm
    readonly_fields = ["code", "title", "published", "results_released", "blank_pdf",
                       "key_report_table", "source_yaml", "omr_template", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["code", "title", "published", "results_released", "blank_pdf",
                           "key_report_table"]}),
        ("Policies", {"fields": list(policies.POLICY_FIELDS),
                      "description": "They bind students; staff uploads on a student's behalf "
                                     "are accepted at any time."}),
        ("Definition", {"classes": ["collapse"],
                        "fields": ["source_yaml", "omr_template", "created_at", "updated_at"]}),
    ]
    inlines = [ExamRoleInline, ReleaseInline]
    actions = ["release_results", "release_results_force", "withdraw_results",
               "regrade_keep_overrides", "regrade_discard_overrides", "export_csv"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _n=Count("submissions", distinct=True),
            _flagged=Count("submissions__answers", distinct=True,
                           filter=Q(submissions__answers__status=Answer.Status.FLAGGED,
                                    submissions__answers__question__archived_at__isnull=True)))

    @admin.display(description="submissions", ordering="_n")
    def n_submissions(self, exam):
        return exam._n

    @admin.display(description="to review")
    def n_to_review(self, exam):
        url = reverse("admin:exams_answer_changelist") + f"?exam={exam.pk}"
        return format_html('<a href="{}">{}</a>', url, exam._flagged)

    @admin.display(description="")
    def links(self, exam):
        return format_html('<a href="{}">statistics</a> · <a href="{}">roster</a> · '
                           '<a href="{}">results.csv</a>',
                           reverse("admin:exams_exam_stats", args=[exam.pk]),
                           reverse("admin:exams_exam_roster", args=[exam.pk]),
                           reverse("admin:exams_exam_csv", args=[exam.pk]))

    def has_change_permission(self, request, obj=None):
        # Policies are the instructor's: of *this* exam, not any exam (the group permission).
        allowed = super().has_change_permission(request, obj)
        if obj is None or not allowed:
            return allowed
        return roles.has_exam_role(request.user, obj, (roles.INSTRUCTOR,))

    def save_model(self, request, obj, form, change):
        policies.exam_policies_set(exam=obj, **{name: form.cleaned_data[name]
                                                for name in policies.POLICY_FIELDS})

    @admin.display(description="key check")
    def key_report_table(self, exam):
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            ((e.get("label"), e.get("status"), e.get("detail", "")) for e in exam.key_report or [])))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/stats/", view(self.stats_view), name="exams_exam_stats"),
            path("<int:pk>/stats/<str:label>.png", view(self.histogram_view),
                 name="exams_exam_histogram"),
            path("<int:pk>/results.csv", view(self.csv_view), name="exams_exam_csv"),
            path("<int:pk>/gradebook-<str:lms>.csv", view(self.gradebook_view),
                 name="exams_exam_gradebook"),
            path("<int:pk>/roster/", view(self.roster_view), name="exams_exam_roster"),
        ] + super().get_urls()

    def _exam(self, request, pk) -> Exam:
        exam = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, exam):
            raise PermissionDenied
        return exam

    def stats_view(self, request, pk):
        exam = self._exam(request, pk)
        totals = stats.total_scores(exam)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": f"Statistics: {exam.code}", "exam": exam,
                   "questions": stats.question_stats(exam), "n_finished": len(totals),
                   "mean_total": round(sum(totals) / len(totals), 3) if totals else None}
        return TemplateResponse(request, "admin/exams/exam/stats.html", context)

    def histogram_view(self, request, pk, label):
        exam = self._exam(request, pk)
        if label == "total":
            top = exam.max_score
            counts, title = stats.histogram(stats.total_scores(exam), top), f"{exam.code} total"
        else:
            row = next((s for s in stats.question_stats(exam) if s.label == label), None)
            if row is None:
                raise Http404
            counts, top, title = row.histogram, row.points, f"{exam.code} {label}"
        return HttpResponse(stats.histogram_png(counts, top, title), content_type="image/png")

    def csv_view(self, request, pk):
        return _csv_response(self._exam(request, pk))

    def gradebook_view(self, request, pk, lms):
        exam = self._exam(request, pk)
        if lms not in GRADEBOOKS:
            raise Http404
        response = HttpResponse(gradebook_csv(exam, lms), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{exam.code}-{lms}.csv"'
        return response

    def roster_view(self, request, pk):
        return roster_page(self, request, self._exam(request, pk))

    # Actions: instructor-only (the `change` permission), and per exam, instructor of *it*.
    def _instructor_exams(self, request, queryset):
        allowed = [e for e in queryset if roles.has_exam_role(request.user, e, (roles.INSTRUCTOR,))]
        for e in set(queryset) - set(allowed):
            self.message_user(request, f"{e.code}: only its instructors can do that.", messages.ERROR)
        return allowed

    @admin.action(description="Release results to students", permissions=["change"])
    def release_results(self, request, queryset):
        self._set_released(request, queryset, True)

    @admin.action(description="Release results even with unreviewed flagged answers (recorded)",
                  permissions=["change"])
    def release_results_force(self, request, queryset):
        self._set_released(request, queryset, True, force=True)

    @admin.action(description="Withdraw results from students", permissions=["change"])
    def withdraw_results(self, request, queryset):
        self._set_released(request, queryset, False)

    def _set_released(self, request, queryset, released: bool, force: bool = False) -> None:
        for exam in self._instructor_exams(request, queryset):
            try:
                record = courses.exam_release(exam=exam, user=request.user, released=released,
                                              force=force)
            except courses.ReleaseBlocked as exc:
                # The API's 409 message, word for word.
                self.message_user(request, str(exc), messages.ERROR)
                continue
            if not released:
                text = f"{exam.code}: results withdrawn."
            elif record.forced:
                text = (f"{exam.code}: results released with {record.unreviewed} unreviewed "
                        f"flagged answer(s) and {record.grading} submission(s) still grading "
                        f"(forced; recorded). Students see those scores as provisional.")
            else:
                text = f"{exam.code}: results released."
            self.log_change(request, exam, text)
            self.message_user(request, text, messages.WARNING if record.forced else messages.INFO)

    def _regrade(self, request, queryset, keep_overrides: bool):
        for exam in self._instructor_exams(request, queryset):
            try:
                report = review.exam_regrade_all(exam=exam, keep_overrides=keep_overrides)
            except review.ReviewError as exc:
                self.message_user(request, " ".join(exc.messages), messages.ERROR)
                continue
            # The admin history of the exam keeps the summary (old -> new per submission).
            self.log_change(request, exam, report.summary()[:2000])
            self.message_user(request, report.summary())

    @admin.action(description="Regrade all submissions (keep TA overrides)", permissions=["change"])
    def regrade_keep_overrides(self, request, queryset):
        self._regrade(request, queryset, keep_overrides=True)

    @admin.action(description="Regrade all submissions (discard TA overrides)",
                  permissions=["change"])
    def regrade_discard_overrides(self, request, queryset):
        self._regrade(request, queryset, keep_overrides=False)

    @admin.action(description="Export results (CSV, one exam)")
    def export_csv(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one exam to export.", messages.WARNING)
            return None
        return _csv_response(queryset.first())


def _csv_response(exam: Exam) -> HttpResponse:
    response = HttpResponse(results_csv(exam), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{exam.code}-results.csv"'
    return response


@admin.register(ExamRole)
class ExamRoleAdmin(admin.ModelAdmin):
    """Superusers attach staff; saving goes through roles.role_assign (groups, is_staff)."""

    list_display = ["exam", "user", "role"]
    list_filter = ["role"]

    def get_queryset(self, request):
        return roles.scope_to_staff(super().get_queryset(request), request.user)

    def has_change_permission(self, request, obj=None):
        return False  # add a new role and delete the old one: both keep the groups in sync

    def save_model(self, request, obj, form, change):
        obj.pk = roles.role_assign(exam=obj.exam, user=obj.user, role=obj.role).pk

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    def delete_model(self, request, obj):
        roles.role_remove(exam=obj.exam, user=obj.user, role=obj.role)


class RubricItemInline(ReadOnlyInline):
    """The question's rubric items (edited on its grading page, where they are applied)."""

    model = RubricItem
    fields = readonly_fields = ["order", "points", "text", "keywords", "uses"]

    def has_view_permission(self, request, obj=None):
        return True     # whoever may see the question (scoped by its admin) sees its rubric

    @admin.display(description="applied to")
    def uses(self, item):
        return f"{item.applications.count()} answer(s)"


class ArchivedFilter(admin.SimpleListFilter):
    """Current questions unless asked otherwise; archived ones (dropped from the exam file,
    kept with their answers and reviews) on request."""

    title, parameter_name = "in the exam", "archived"

    def lookups(self, request, model_admin):
        return [("no", "Current"), ("yes", "Archived"), ("all", "All")]

    def value(self):
        return super().value() or "no"

    def choices(self, changelist):
        for lookup, title in self.lookup_choices:
            yield {"selected": self.value() == lookup, "display": title,
                   "query_string": changelist.get_query_string({self.parameter_name: lookup})}

    def queryset(self, request, qs):
        return {"no": qs.active(), "yes": qs.archived()}.get(self.value(), qs)


@admin.register(Question)
class QuestionAdmin(ExamScopedAdmin):
    """Read-only: the exam YAML is the source of truth (upload it again, then regrade). The
    rubric items are rows, shown below and edited while grading."""

    list_display = ["label", "exam", "kind", "points", "solver", "key_status", "archived_at",
                    "grade_link"]
    list_filter = [ArchivedFilter, ExamFilter, "kind"]
    readonly_fields = [f.name for f in Question._meta.fields] + ["grade_link"]
    inlines = [RubricItemInline]

    @admin.display(description="solver")
    def solver(self, q):
        return q.definition.solver or ""

    @admin.display(description="key check")
    def key_status(self, q):
        return (q.key_check or {}).get("status", "")

    @admin.display(description="grading")
    def grade_link(self, q):
        return format_html('<a href="{}">grade by question</a>',
                           reverse("admin:exams_answer_grade_question", args=[q.pk]))

    def has_change_permission(self, request, obj=None):
        return False


# ---------------------------------------------------------------- submissions

class AnswerInline(ReadOnlyInline):
    model = Answer
    fields = readonly_fields = ["open_link", "status", "score", "max_score", "flags_display",
                                "parsed_short"]
    ordering = ["question__order"]

    @admin.display(description="question")
    def open_link(self, a):
        archived = " (archived: counts nowhere)" if a.question.archived_at else ""
        return format_html('<a href="{}">{}</a>{}',
                           reverse("admin:exams_answer_change", args=[a.pk]), a.question.label,
                           archived)

    @admin.display(description="flags")
    def flags_display(self, a):
        return ", ".join(a.flags)

    @admin.display(description="answer")
    def parsed_short(self, a):
        return short(a.parsed)


class DocumentFlagFilter(admin.SimpleListFilter):
    """Submissions that may not be one student's copy of the exam (see exams.flags)."""

    title, parameter_name = "document", "document"

    def lookups(self, request, model_admin):
        return [("flagged", "Needs a look (any)")] + [
            (flag, flag_label(flag)) for flag in DOCUMENT_FLAG_REASONS]

    def queryset(self, request, qs):
        if not self.value():
            return qs
        if self.value() == "flagged":
            return qs.exclude(flags=[])
        return qs.annotate(flags_text=Cast("flags", CharField())).filter(
            flags_text__contains=json.dumps(self.value()))


@admin.register(Submission)
class SubmissionAdmin(ExamScopedAdmin):
    list_display = ["id", "student", "exam", "status", "document", "score", "max_score",
                    "progress", "created_at"]
    list_filter = [ExamFilter, "status", DocumentFlagFilter]
    search_fields = ["student"]
    readonly_fields = [f.name for f in Submission._meta.fields
                       if f.name not in ("file", "flags")] + ["pdf_link", "document_flags"]
    # What a TA needs first: who, what state, and why the document itself may need a look.
    fields = ["id", "exam", "student", "status", "document_flags", "error", "score", "max_score",
              "pdf_link"] + [f for f in readonly_fields if f not in (
                  "id", "exam", "student", "status", "document_flags", "error", "score",
                  "max_score", "pdf_link")]
    inlines = [AnswerInline]
    actions = ["regrade", "confirm_document"]

    @admin.display(description="document")
    def document(self, s):
        return format_html_join(", ", '<span title="{}">{}</span>',
                                ((flag_reason(f), flag_label(f)) for f in s.flags)) or "—"

    @admin.display(description="about the document")
    def document_flags(self, s):
        if not s.flags:
            return "—"
        return format_html_join("", "<div><b>{}</b>: {}</div>",
                                ((flag_label(f), flag_reason(f)) for f in s.flags))

    @admin.action(description="Confirm: the document is one student's copy of the exam "
                              "(clears its document flags)", permissions=["change"])
    def confirm_document(self, request, queryset):
        done = 0
        for s in queryset.exclude(flags=[]):
            try:
                services.submission_confirm_document(submission=s)
                done += 1
            except services.InvalidTransition as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"{done} submission(s) confirmed.")

    @admin.display(description="pages")
    def progress(self, s):
        return f"{s.pages_done}/{s.pages_total}"

    @admin.display(description="PDF")
    def pdf_link(self, s):
        return format_html('<a href="{}">{}</a>', reverse("admin:exams_submission_pdf", args=[s.pk]),
                           s.original_name or "submission.pdf")

    def get_urls(self):
        return [path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view),
                     name="exams_submission_pdf")] + super().get_urls()

    def pdf_view(self, request, pk):
        # Served through a permission-checked view: submissions are never public media.
        s = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, s):
            raise PermissionDenied
        return FileResponse(s.file.open("rb"), content_type="application/pdf",
                            filename=f"submission-{s.pk}.pdf")

    @admin.action(description="Regrade selected submissions (keeps TA overrides)",
                  permissions=["change"])
    def regrade(self, request, queryset):
        done = 0
        for s in queryset:
            try:
                services.submission_regrade(submission=s)
                done += 1
            except services.InvalidTransition as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"{done} submission(s) queued for regrading.")

