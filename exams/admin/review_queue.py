"""The TA review queue: the Answer changelist (flagged answers unless asked otherwise), one
row per answer with the answer's crop beside its reading (every candidate value), the key
and the score, sized for a 1366 px screen. A row opens the grading page (exams.admin.grading:
one question across all submissions, rubric items, keyboard shortcuts); the answer's change
page keeps the full machine output, the review history and a plain confirm / override."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from exams import review
from exams.admin.base import (
    AnswerExamFilter, ExamScopedAdmin, FlagFilter, QuestionLabelFilter, QueueFilter, ReadOnlyInline,
    short,
)
from exams.admin.grading import GradingViews, other_readings, reading_text
from exams.flags import flag_label, flag_reason
from exams.images import PAGE_DPI, THUMB_DPI, crop_or_page, png_response
from exams.models import Answer, Review
from grader.render import render_pdf_page

QUEUE_CROP_DPI = 100  # the queue's thumbnail: the answer's band, trimmed to its ink
QUEUE_CROP_MAX = (900, 240)   # px; the queue shows its start at up to 90 px high


def _trim(image, margin: int = 6):
    """The image cut down to its ink (dark pixels) plus a margin; unchanged when blank."""
    from PIL import ImageOps

    gray = ImageOps.invert(image.convert("L")).point(lambda v: 255 if v > 60 else 0)
    box = gray.getbbox()
    if box is None:
        return image
    left, top, right, bottom = box
    return image.crop((max(0, left - margin), max(0, top - margin),
                       min(image.width, right + margin), min(image.height, bottom + margin)))


def _thumbnail(image, size: tuple[int, int]):
    image = image.convert("L")    # grey: a third of the bytes, nothing lost for ink on paper
    image.thumbnail(size)
    return image


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


def rubric_summary(state) -> str:
    """A Review's rubric state in one line: the items' points and texts, the adjustment."""
    if state is None:
        return "—"
    parts = [f"{i['points']:+g} {i['text']}" for i in state.get("items", ())]
    if state.get("adjustment"):
        parts.append(f"adjustment {state['adjustment']:+g}")
    return "; ".join(parts) or "no item"


class ReviewInline(ReadOnlyInline):
    model = Review
    fields = readonly_fields = ["created_at", "reviewer", "kind", "old_status", "old_score",
                                "new_score", "rubric", "comment", "undone"]

    @admin.display(description="rubric after")
    def rubric(self, r):
        return rubric_summary(r.new_rubric)

    @admin.display(description="undone", boolean=True)
    def undone(self, r):
        return r.undone_by_id is not None


@admin.register(Answer)
class AnswerAdmin(GradingViews, ExamScopedAdmin):
    exam_path = "submission__exam"
    form = AnswerReviewForm
    list_display = ["answer_link", "status_flags", "crop_thumb", "reading", "expected_short",
                    "score_display"]
    list_display_links = None      # a row opens the grading page (answer_link)
    list_filter = [QueueFilter, AnswerExamFilter, QuestionLabelFilter, FlagFilter]
    list_select_related = ["submission", "question"]
    search_fields = ["submission__student", "raw_text"]
    ordering = ["submission__exam", "question__order", "submission__student", "id"]
    actions = ["bulk_confirm"]
    inlines = [ReviewInline]
    readonly_fields = ["submission_link", "question", "status", "score", "max_score",
                       "suggested_score", "flags_display", "detail", "confidence", "page_images",
                       "answer_crops", "raw_text", "evidence", "parsed", "alternatives",
                       "expected", "pages", "grade_link", "handwriting", "ink_display"]
    fieldsets = [
        ("Answer", {"fields": ["grade_link", "submission_link", "question", "status", "score",
                               "max_score", "suggested_score", "flags_display", "detail",
                               "answer_crops"]}),
        ("Your decision", {"fields": ["new_score", "comment"]}),
        ("What the machine read", {"fields": ["raw_text", "handwriting", "parsed", "alternatives",
                                              "expected", "evidence", "ink_display",
                                              "confidence", "pages", "page_images"]}),
    ]

    def changelist_view(self, request, extra_context=None):
        # The queue needs the screen's width: no app sidebar (the breadcrumbs lead back).
        return super().changelist_view(request, {"is_nav_sidebar_enabled": False,
                                                 "title": "Review queue",
                                                 **(extra_context or {})})

    @admin.display(description="answer", ordering="submission__student")
    def answer_link(self, a):
        return format_html('<a class="grade-link" href="{}"><b>{}</b></a><br>{} '
                           '<span class="answer-id">#{}</span>',
                           reverse("admin:exams_answer_grade", args=[a.pk]),
                           a.submission.student, a.question.label, a.pk)

    @admin.display(description="status · why", ordering="status")
    def status_flags(self, a):
        chips = format_html_join(" ", '<span class="flag" title="{}">{}</span>',
                                 ((flag_reason(f), flag_label(f)) for f in a.flags))
        return format_html('<span class="status status-{}">{}</span> {}', a.status, a.status,
                           chips)

    @admin.display(description="the answer on the page")
    def crop_thumb(self, a):
        url = reverse("admin:exams_answer_thumb", args=[a.pk])
        return format_html('<a class="thumb" href="{}" target="_blank"><img src="{}" '
                           'loading="lazy" alt="answer #{} on its page"></a>',
                           reverse("admin:exams_answer_change", args=[a.pk]), url, a.pk)

    @admin.display(description="raw text → reading")
    def reading(self, a):
        raw = short(" ".join((a.raw_text or "").split()), 140)
        parsed = reading_text(a.parsed)
        others = other_readings(a.parsed, a.alternatives)
        if others:
            # Every final answer read, not only the one the parser kept.
            values = " or ".join([parsed, *others])
            return format_html('<div class="raw">{}</div><div class="read">read: '
                               '<b class="alternatives">{}</b></div>', raw, values)
        if a.parsed is None or parsed == (a.raw_text or "").strip():
            return format_html('<div class="raw">{}</div>', raw)
        return format_html('<div class="raw">{}</div><div class="read">read: <b>{}</b></div>',
                           raw, short(parsed, 60))

    @admin.display(description="expected")
    def expected_short(self, a):
        return short(reading_text(a.expected), 40)

    @admin.display(description="score", ordering="score")
    def score_display(self, a):
        if a.suggested_score != a.score:
            return format_html("<b>{}</b> / {}<br><small>machine: {}</small>", f"{a.score:g}",
                               f"{a.max_score:g}", f"{a.suggested_score:g}")
        return format_html("<b>{}</b> / {}", f"{a.score:g}", f"{a.max_score:g}")

    @admin.display(description="flags")
    def flags_display(self, a):
        if not a.flags:
            return "—"
        return format_html_join("", "<div><b>{}</b>: {}</div>",
                                ((flag_label(f), flag_reason(f)) for f in a.flags))

    @admin.display(description="read by")
    def handwriting(self, a):
        """Which engine's reading of the handwriting was taken, and every engine's reading."""
        if not a.readings:
            return "—"
        rows = ((r["engine"], r["text"] or "(nothing)", f"{r['confidence']:.2f}",
                 " ← taken" if r["engine"] == a.reader else "") for r in a.readings)
        return format_html_join("", "<div><b>{}</b>: <code>{}</code> (confidence {}){}</div>",
                                rows)

    @admin.display(description="ink in its answer space")
    def ink_display(self, a):
        if a.ink is None:
            return "— (no answer region: read from the page's text or boxes)"
        return f"{a.ink:.2%} of the region"

    @admin.display(description="grade")
    def grade_link(self, a):
        return format_html('<a class="button" href="{}">Grade {} in sequence (rubric, '
                           'keyboard)</a>', reverse("admin:exams_answer_grade", args=[a.pk]),
                           a.question.label)

    @admin.display(description="submission")
    def submission_link(self, a):
        s = a.submission
        return format_html('<a href="{}">#{} {}</a> — total {} / {} ({})',
                           reverse("admin:exams_submission_change", args=[s.pk]), s.pk, s.student,
                           "—" if s.score is None else f"{s.score:g}",
                           "—" if s.max_score is None else f"{s.max_score:g}", s.status)

    def _page_numbers(self, a) -> list[int]:
        return [int(p) for p in a.pages] or [1]

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
            path("<int:pk>/thumb.png", view(self.thumb_view), name="exams_answer_thumb"),
        ] + self.grading_urls() + super().get_urls()

    def _viewable_answer(self, request, pk) -> Answer:
        answer = get_object_or_404(self.get_queryset(request).select_related("submission"), pk=pk)
        if not self.has_view_permission(request, answer):
            raise PermissionDenied
        return answer

    def page_view(self, request, pk, number):
        """A rendered submission page, through the admin's permission checks (never media)."""
        answer = self._viewable_answer(request, pk)
        dpi = THUMB_DPI if request.GET.get("dpi") == str(THUMB_DPI) else PAGE_DPI
        return png_response(answer, lambda pdf: render_pdf_page(pdf, number - 1, dpi=dpi).image,
                            optimize=dpi == PAGE_DPI)

    def crop_view(self, request, pk, number):
        """The band of the page that holds the answer (the whole page when it cannot be
        placed), through the same checks."""
        answer = self._viewable_answer(request, pk)
        return png_response(answer, lambda pdf: crop_or_page(answer, number, pdf), optimize=True)

    def thumb_view(self, request, pk):
        """The queue's thumbnail: the answer's band of its first page, trimmed to the ink so
        the writing is large enough to read in a table row (the page, small, when the answer
        cannot be placed)."""
        answer = self._viewable_answer(request, pk)
        numbers = review.answer_crop_pages(answer) or [int(p) for p in answer.pages] or [1]

        def image(pdf):
            crop = review.answer_crop(answer=answer, number=numbers[0], dpi=QUEUE_CROP_DPI)
            if crop is None:
                return render_pdf_page(pdf, numbers[0] - 1, dpi=THUMB_DPI).image
            return _thumbnail(_trim(crop), QUEUE_CROP_MAX)
        return png_response(answer, image, optimize=True)

    def save_model(self, request, obj, form, change):
        # The one write the change form does: a review decision.
        rev = review.answer_review(answer=obj, reviewer=request.user,
                                   new_score=form.cleaned_data.get("new_score"),
                                   comment=form.cleaned_data.get("comment", ""))
        self._saved_message(request, obj, rev)

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


@admin.register(Review)
class ReviewAdmin(ExamScopedAdmin):
    """The audit trail: read-only for everyone (reviews are made by review.answer_review)."""

    exam_path = "submission__exam"
    list_display = ["created_at", "reviewer", "kind", "submission", "question", "old_status",
                    "old_score", "new_score", "comment", "answer"]
    list_filter = ["kind"]
    list_select_related = ["reviewer", "question", "submission", "answer"]
    readonly_fields = ["submission", "question", "answer", "reviewer", "kind", "old_score",
                       "new_score", "old_status", "old_rubric", "new_rubric", "comment", "batch",
                       "undone_by", "created_at"]

    def has_change_permission(self, request, obj=None):
        return False
