"""The TA review queue: the Answer changelist (flagged answers unless asked otherwise), with
the page image beside the raw text, parsed value, key and suggested score; the answer page
takes the decision (confirm, or override with a comment) through review.answer_review; the
answer-groups page decides identical answers once."""
from __future__ import annotations

import threading

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from exams import review
from exams.admin.base import (
    AnswerExamFilter, ExamScopedAdmin, FlagFilter, QuestionLabelFilter, QueueFilter, ReadOnlyInline,
    short,
)
from exams.files import StorageUnavailable, local_copy
from exams.models import Answer, Review

PAGE_DPI = 100      # enough to read handwriting beside the parsed value (~100 KB a page)
THUMB_DPI = 40      # the changelist thumbnail
CROP_DPI = 150      # the answer's band of the page, beside the parsed value
# PDFium is not thread-safe: a threaded server rendering the queue's thumbnails in parallel
# crashed the process ("double free"). One render at a time per process.
_RENDER_LOCK = threading.Lock()


def _png(answer: Answer, make_image, *, optimize: bool) -> HttpResponse:
    """``make_image(pdf_path)`` as a PNG response. The submission is fetched from storage
    (or found in this process's cache) before the render lock is taken."""
    from grader.render import RenderError

    try:
        with local_copy(answer.submission.file) as pdf, _RENDER_LOCK:
            image = make_image(pdf)
    except (RenderError, FileNotFoundError, ValueError) as exc:
        raise Http404(str(exc)) from exc
    except StorageUnavailable as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain")
    response = HttpResponse(content_type="image/png")
    image.save(response, format="PNG", optimize=optimize)
    response["Cache-Control"] = "private, max-age=300"
    return response


class AnswerReviewForm(forms.ModelForm):
    """No model field is editable: the decision goes through review.answer_review."""

    new_score = forms.FloatField(
        required=False, min_value=0,
        help_text="Leave empty to confirm the current score; a changed score needs a comment.")
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                              help_text="Why (kept in the review history).")

    class Meta:
        model = Answer
        fields: list[str] = []

    def clean(self):
        data = super().clean()
        if not self.errors:
            review.review_check(answer=self.instance, new_score=data.get("new_score"),
                                comment=data.get("comment", ""))
        return data


class ReviewInline(ReadOnlyInline):
    model = Review
    fields = readonly_fields = ["created_at", "reviewer", "old_status", "old_score", "new_score",
                                "comment"]


@admin.register(Answer)
class AnswerAdmin(ExamScopedAdmin):
    exam_path = "submission__exam"
    form = AnswerReviewForm
    list_display = ["id", "student", "question_label", "status", "flags_display", "page_thumb",
                    "raw_short", "parsed_short", "expected_short", "suggested_score", "score"]
    list_display_links = ["id", "question_label"]
    list_filter = [QueueFilter, AnswerExamFilter, QuestionLabelFilter, FlagFilter]
    list_select_related = ["submission", "question"]
    search_fields = ["submission__student", "raw_text"]
    ordering = ["submission__exam", "question__order", "submission__student", "id"]
    actions = ["bulk_confirm"]
    inlines = [ReviewInline]
    readonly_fields = ["submission_link", "question", "status", "score", "max_score",
                       "suggested_score", "flags_display", "detail", "confidence", "page_images",
                       "answer_crops", "raw_text", "evidence", "parsed", "expected", "pages"]
    fieldsets = [
        ("Answer", {"fields": ["submission_link", "question", "status", "score", "max_score",
                               "suggested_score", "flags_display", "detail", "answer_crops"]}),
        ("Your decision", {"fields": ["new_score", "comment"]}),
        ("What the machine read", {"fields": ["raw_text", "parsed", "expected", "evidence",
                                              "confidence", "pages", "page_images"]}),
    ]

    @admin.display(description="student", ordering="submission__student")
    def student(self, a):
        return a.submission.student

    @admin.display(description="question", ordering="question__order")
    def question_label(self, a):
        return a.question.label

    @admin.display(description="flags")
    def flags_display(self, a):
        return ", ".join(a.flags) or "—"

    @admin.display(description="raw text")
    def raw_short(self, a):
        return short(a.raw_text, 80)

    @admin.display(description="parsed")
    def parsed_short(self, a):
        return short(a.parsed)

    @admin.display(description="expected")
    def expected_short(self, a):
        return short(a.expected)

    @admin.display(description="submission")
    def submission_link(self, a):
        s = a.submission
        return format_html('<a href="{}">#{} {}</a> — total {} / {} ({})',
                           reverse("admin:exams_submission_change", args=[s.pk]), s.pk, s.student,
                           "—" if s.score is None else f"{s.score:g}",
                           "—" if s.max_score is None else f"{s.max_score:g}", s.status)

    def _page_numbers(self, a) -> list[int]:
        return [int(p) for p in a.pages] or [1]

    @admin.display(description="page")
    def page_thumb(self, a):
        n = self._page_numbers(a)[0]
        url = reverse("admin:exams_answer_page", args=[a.pk, n])
        return format_html('<a href="{}" target="_blank"><img src="{}?dpi={}" loading="lazy" '
                           'width="90" alt="page {}"></a>', url, url, THUMB_DPI, n)

    @admin.display(description="pages of the answer")
    def page_images(self, a):
        return format_html_join("", '<div><small>page {}</small><br><img src="{}" loading="lazy" '
                                'style="max-width:100%;border:1px solid #ccc" alt="page {}"></div>',
                                ((n, reverse("admin:exams_answer_page", args=[a.pk, n]), n)
                                 for n in self._page_numbers(a)))

    @admin.display(description="the answer on the page")
    def answer_crops(self, a):
        numbers = review.answer_crop_pages(a)
        if not numbers:
            return "— (nothing of this answer was found on the pages; see them below)"
        return format_html_join("", '<div><small>page {}</small><br><img src="{}" loading="lazy" '
                                'style="max-width:100%;border:1px solid #ccc" '
                                'alt="answer on page {}"></div>',
                                ((n, reverse("admin:exams_answer_crop", args=[a.pk, n]), n)
                                 for n in numbers))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/page/<int:number>.png", view(self.page_view), name="exams_answer_page"),
            path("<int:pk>/crop/<int:number>.png", view(self.crop_view), name="exams_answer_crop"),
            path("groups/", view(self.groups_view), name="exams_answer_groups"),
        ] + super().get_urls()

    def _viewable_answer(self, request, pk) -> Answer:
        answer = get_object_or_404(self.get_queryset(request).select_related("submission"), pk=pk)
        if not self.has_view_permission(request, answer):
            raise PermissionDenied
        return answer

    def page_view(self, request, pk, number):
        """A rendered submission page, through the admin's permission checks (never media)."""
        from grader.render import render_pdf_page

        answer = self._viewable_answer(request, pk)
        dpi = THUMB_DPI if request.GET.get("dpi") == str(THUMB_DPI) else PAGE_DPI
        return _png(answer, lambda pdf: render_pdf_page(pdf, number - 1, dpi=dpi).image,
                    optimize=dpi == PAGE_DPI)

    def crop_view(self, request, pk, number):
        """The band of the page that holds the answer (the whole page when it cannot be
        placed), through the same checks."""
        from grader.render import render_pdf_page

        answer = self._viewable_answer(request, pk)

        def image(pdf):
            crop = review.answer_crop(answer=answer, number=number, dpi=CROP_DPI)
            return crop if crop is not None else render_pdf_page(pdf, number - 1,
                                                                 dpi=PAGE_DPI).image
        return _png(answer, image, optimize=True)

    def save_model(self, request, obj, form, change):
        # The one write the change form does: a review decision.
        rev = review.answer_review(answer=obj, reviewer=request.user,
                                   new_score=form.cleaned_data.get("new_score"),
                                   comment=form.cleaned_data.get("comment", ""))
        s = obj.submission
        s.refresh_from_db()
        verb = "confirmed" if rev.old_score == rev.new_score else "changed"
        self.message_user(request, f"{obj.question.label} of {s.student}: {verb} "
                                   f"{rev.old_score:g} → {rev.new_score:g}. Submission #{s.pk} "
                                   f"total now {s.score:g} / {s.max_score:g} ({s.status}).")

    def response_change(self, request, obj):
        # Back to the queue (with its filters), where the next flagged answer is.
        return HttpResponseRedirect(self._queue_url(request))

    def _queue_url(self, request) -> str:
        filters = request.GET.get("_changelist_filters")
        url = reverse("admin:exams_answer_changelist")
        return f"{url}?{filters}" if filters else url

    def render_change_form(self, request, context, *args, obj=None, **kwargs):
        context.update(show_save_and_continue=False, show_save_and_add_another=False,
                       show_delete=False)
        return super().render_change_form(request, context, *args, obj=obj, **kwargs)

    @admin.action(description="Confirm the suggested score of the selected flagged answers",
                  permissions=["change"])
    def bulk_confirm(self, request, queryset):
        done, errors = review.answers_bulk_confirm(answers=queryset.select_related("submission"),
                                                   reviewer=request.user)
        self.message_user(request, f"{done} answer(s) confirmed.")
        for error in errors[:10]:
            self.message_user(request, error, messages.WARNING)

    def groups_view(self, request):
        """Identical answers to one question, grouped; one decision per group (POST)."""
        answers = self.get_queryset(request)
        exam, label = request.GET.get("exam"), request.GET.get("question")
        if exam:
            answers = answers.filter(submission__exam__pk=exam)
        if label:
            answers = answers.filter(question__label=label)
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied
            return self._decide_group(request, answers)
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.model._meta,
                   "title": "Answer groups", "groups": review.answer_groups(answers),
                   "exam": exam or "", "question": label or "",
                   "can_decide": self.has_change_permission(request)}
        return TemplateResponse(request, "admin/exams/answer/groups.html", context)

    def _decide_group(self, request, answers):
        raw = (request.POST.get("new_score") or "").strip()
        try:
            new_score = float(raw) if raw else None
            reviews = review.answer_group_decide(
                answers=answers, group=request.POST.get("group", ""), reviewer=request.user,
                new_score=new_score, comment=request.POST.get("comment", ""))
        except ValueError:
            self.message_user(request, f"'{raw}' is not a number.", messages.ERROR)
        except review.ReviewError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, f"Decision applied to {len(reviews)} answer(s).")
        return HttpResponseRedirect(request.get_full_path())


@admin.register(Review)
class ReviewAdmin(ExamScopedAdmin):
    """The audit trail: read-only for everyone (reviews are made by review.answer_review)."""

    exam_path = "submission__exam"
    list_display = ["created_at", "reviewer", "submission", "question", "old_status", "old_score",
                    "new_score", "comment", "answer"]
    list_select_related = ["reviewer", "question", "submission", "answer"]
    readonly_fields = ["submission", "question", "answer", "reviewer", "old_score", "new_score",
                       "old_status", "comment", "created_at"]

    def has_change_permission(self, request, obj=None):
        return False
