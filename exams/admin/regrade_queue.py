"""The TAs' queue of regrade requests: the RegradeRequest changelist (open requests first,
of the exams the user teaches), and a page per request with the student's reason, the
answer as read, its crop and score history, where the TA answers with a comment and
optionally a new score (regrades.regrade_request_resolve; the score change is a Review)."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from exams import regrades
from exams.admin.base import ExamFilter, ExamScopedAdmin, QueueFilter, short
from exams.feedback import answer_pages
from exams.models import Answer, RegradeRequest, Review


class RegradeExamFilter(ExamFilter):
    exam_path = "submission__exam"


class RegradeStatusFilter(QueueFilter):
    """Open requests unless asked otherwise: the queue (QueueFilter's default-and-choices
    behaviour, over the request's status)."""

    title, parameter_name = "status", "status"
    default = RegradeRequest.Status.OPEN

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved"), ("all", "All")]


class RegradeResolveForm(forms.ModelForm):
    """No model field is edited directly: the decision goes through the service."""

    response = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=True,
                               help_text="Shown to the student: what you decided and why.")
    new_score = forms.FloatField(required=False, min_value=0,
                                 help_text="Leave empty to keep the current score.")

    class Meta:
        model = RegradeRequest
        fields: list[str] = []

    def clean(self):
        data = super().clean()
        if not self.errors:
            try:
                regrades.resolve_check(request=self.instance, response=data.get("response", ""),
                                       new_score=data.get("new_score"))
            except regrades.RegradeError as exc:
                raise forms.ValidationError(str(exc)) from None
        return data


@admin.register(RegradeRequest)
class RegradeRequestAdmin(ExamScopedAdmin):
    exam_path = "submission__exam"
    form = RegradeResolveForm
    list_display = ["id", "created_at", "exam", "student", "question_label", "reason_short",
                    "score_before", "status", "score_after", "resolved_by"]
    list_display_links = ["id", "question_label"]
    list_filter = [RegradeStatusFilter, RegradeExamFilter]
    list_select_related = ["submission__exam", "question", "resolved_by"]
    search_fields = ["submission__student", "reason"]
    ordering = ["created_at", "id"]     # oldest first: a queue
    readonly_fields = ["submission_link", "question", "status", "reason", "created_at",
                       "current_answer", "answer_crops", "history", "response_given",
                       "score_before", "score_after", "resolved_by", "resolved_at"]

    def get_fieldsets(self, request, obj=None):
        request_fields = ["submission_link", "question", "status", "created_at", "reason",
                          "score_before"]
        answer = ["current_answer", "answer_crops", "history"]
        if obj is not None and obj.status == RegradeRequest.Status.OPEN:
            return [("The request", {"fields": request_fields}), ("The answer", {"fields": answer}),
                    ("Your answer", {"fields": ["response", "new_score"]})]
        return [("The request", {"fields": request_fields}), ("The answer", {"fields": answer}),
                ("Resolution", {"fields": ["response_given", "score_after", "resolved_by",
                                           "resolved_at"]})]

    @admin.display(description="exam", ordering="submission__exam__code")
    def exam(self, r):
        return r.submission.exam.code

    @admin.display(description="student", ordering="submission__student")
    def student(self, r):
        return r.submission.student

    @admin.display(description="question", ordering="question__order")
    def question_label(self, r):
        return r.question.label

    @admin.display(description="reason")
    def reason_short(self, r):
        return short(r.reason, 60)

    @admin.display(description="response")
    def response_given(self, r):
        return r.response or "—"

    @admin.display(description="submission")
    def submission_link(self, r):
        s = r.submission
        return format_html('<a href="{}">#{} {}</a> — total {} / {} · <a href="{}">the submitted '
                           'PDF</a> (when the answer is not where the crop shows)',
                           reverse("admin:exams_submission_change", args=[s.pk]), s.pk, s.student,
                           "—" if s.score is None else f"{s.score:g}",
                           "—" if s.max_score is None else f"{s.max_score:g}",
                           reverse("admin:exams_submission_pdf", args=[s.pk]))

    def _answer(self, r) -> Answer | None:
        return r.submission.answers.filter(question=r.question).first()

    @admin.display(description="answer now")
    def current_answer(self, r):
        a = self._answer(r)
        if a is None:
            return "— (nothing was read for this question)"
        return format_html('<a href="{}">score {} / {}</a> ({}); read as: <code>{}</code>',
                           reverse("admin:exams_answer_change", args=[a.pk]), f"{a.score:g}",
                           f"{a.max_score:g}", a.status, short(a.parsed if a.parsed is not None
                                                                   else a.raw_text, 120))

    @admin.display(description="the answer on the page")
    def answer_crops(self, r):
        a = self._answer(r)
        pages = answer_pages(a)
        if not pages:
            return "—"
        return format_html_join("", '<div><small>page {}</small><br><img src="{}" loading="lazy" '
                                'style="max-width:100%;border:1px solid #ccc" '
                                'alt="answer on page {}"></div>',
                                ((n, reverse("api-submission-crop",
                                             args=[r.submission_id, r.question.label, n]), n)
                                 for n in pages))

    @admin.display(description="score history")
    def history(self, r):
        reviews = Review.objects.filter(submission=r.submission, question=r.question).select_related(
            "reviewer").order_by("created_at", "id")
        if not reviews:
            return "— (no decision by a person yet)"
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td></tr>",
            ((f"{v.created_at:%Y-%m-%d %H:%M}", v.reviewer or "—", f"{v.old_score:g}",
              f"{v.new_score:g}", v.comment) for v in reviews)))

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != RegradeRequest.Status.OPEN:
            return False
        return super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        done = regrades.regrade_request_resolve(
            request=obj, reviewer=request.user, response=form.cleaned_data["response"],
            new_score=form.cleaned_data.get("new_score"))
        verb = ("kept" if done.score_after == done.score_before
                else f"changed {done.score_before:g} → {done.score_after:g}")
        self.message_user(request, f"Regrade request #{done.pk} ({done.submission.student}, "
                                   f"{done.question.label}) resolved: score {verb}.")

    def response_change(self, request, obj):
        return HttpResponseRedirect(reverse("admin:exams_regraderequest_changelist"))

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context.update(show_save_and_continue=False, show_save_and_add_another=False,
                       show_delete=False)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)
