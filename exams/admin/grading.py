"""Grading by question in the admin (the Answers admin's extra pages): one question across all
submissions in sequence, with its rubric items, keyboard shortcuts and save-and-next; the
rubric's editing; answer groups; undo. Every write calls one service (exams.rubric,
exams.review); these views only read the request and pick the page to show next."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from exams import groups, review, roles, rubric, rubric_scores, services
from exams.flags import flag_reasons
from exams.models import Answer, Question, Review, RubricItem

QUEUE_SCOPE = "all"    # ?all=1: the sequence includes auto-graded answers


def _float(raw: str | None, default: float | None = None) -> float | None:
    raw = (raw or "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise review.ReviewError(f"'{raw}' is not a number") from None


def reading_text(value) -> str:
    """A parsed value or key as the TA reads it (strings bare, the rest as JSON)."""
    if value is None:
        return "—"
    return value if isinstance(value, str) else json.dumps(value)


def other_readings(parsed, alternatives) -> list[str]:
    """The final answers read besides the one the parser kept (``alternatives`` may hold it)."""
    return list(dict.fromkeys(reading_text(a) for a in alternatives or () if a != parsed))


class GradingViews:
    """Mixed into the Answers admin (``self`` is the ModelAdmin)."""

    def grading_urls(self):
        view = self.admin_site.admin_view
        return [
            path("grade/", view(self.grade_index_view), name="exams_answer_grade_index"),
            path("grade/question/<int:question_pk>/", view(self.grade_question_view),
                 name="exams_answer_grade_question"),
            path("grade/question/<int:question_pk>/rubric/", view(self.rubric_edit_view),
                 name="exams_answer_rubric_edit"),
            path("<int:pk>/grade/", view(self.grade_view), name="exams_answer_grade"),
            path("<int:pk>/undo/", view(self.undo_view), name="exams_answer_undo"),
            path("groups/", view(self.groups_view), name="exams_answer_groups"),
            path("groups/undo/", view(self.group_undo_view), name="exams_answer_group_undo"),
            path("groups/<str:group>/", view(self.group_view), name="exams_answer_group"),
        ]

    # ------------------------------------------------------------ helpers

    def _context(self, request, title: str, **extra):
        # The grading pages need the whole width of a laptop screen: no app sidebar.
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title,
                "is_nav_sidebar_enabled": False,
                "can_decide": self.has_change_permission(request), **extra}

    def _questions(self, request):
        return Question.objects.active().filter(exam__in=roles.exams_for(request.user)).select_related(
            "exam").order_by("exam__code", "order")

    def _question(self, request, pk) -> Question:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(self._questions(request), pk=pk)

    def _require_change(self, request):
        if request.method != "POST":
            raise Http404
        if not self.has_change_permission(request):
            raise PermissionDenied

    def _error(self, request, exc: review.ReviewError) -> None:
        self.message_user(request, " ".join(exc.messages), messages.ERROR)

    def _back(self, request, fallback: str) -> HttpResponseRedirect:
        target = request.POST.get("back") or request.GET.get("back") or ""
        safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure())
        return HttpResponseRedirect(target if safe and target else fallback)

    @staticmethod
    def _grade_url(answer_pk: int, include_auto: bool) -> str:
        url = reverse("admin:exams_answer_grade", args=[answer_pk])
        return f"{url}?{QUEUE_SCOPE}=1" if include_auto else url

    # ------------------------------------------------------------ pages

    def grade_index_view(self, request):
        """Every question of the user's exams with its progress (done / to do)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        questions = list(self._questions(request))
        titles = {(spec.label, exam.pk): spec.title for exam in {q.exam for q in questions}
                  for spec in services.question_specs(exam)}
        rows = [{"progress": p, "title": titles.get((p.question.label, p.question.exam_id), "")}
                for p in rubric.question_progress(self.get_queryset(request), questions)]
        return TemplateResponse(request, "admin/exams/answer/grade_index.html", self._context(
            request, "Grade by question", rows=rows))

    def grade_question_view(self, request, question_pk):
        """Start (or go on) grading a question: its next answer to do, else its first."""
        question = self._question(request, question_pk)
        include_auto = request.GET.get(QUEUE_SCOPE) == "1"
        sequence = rubric.grading_sequence(self.get_queryset(request), question,
                                           include_auto=include_auto)
        target = rubric.next_to_grade(sequence, None) or (sequence[0][0] if sequence else None)
        if target is None:
            self.message_user(request, f"{question.exam.code} {question.label}: no answer to "
                                       "grade (all auto-graded); show them with “include "
                                       "auto-graded”.", messages.INFO)
            return HttpResponseRedirect(reverse("admin:exams_answer_grade_index"))
        return HttpResponseRedirect(self._grade_url(target, include_auto))

    def grade_view(self, request, pk):
        """One answer of the question being graded: GET shows it, POST saves the decision and
        goes to the next answer to do (or stays, with ``_stay``)."""
        answer = self._viewable_answer(request, pk)
        include_auto = request.GET.get(QUEUE_SCOPE) == "1"
        if request.method == "POST":
            self._require_change(request)
            try:
                rev = self._save_grade(request, answer)
            except review.ReviewError as exc:
                self._error(request, exc)
                return HttpResponseRedirect(request.get_full_path())
            self._saved_message(request, answer, rev)
            if "_stay" in request.POST:
                return HttpResponseRedirect(request.get_full_path())
            sequence = rubric.grading_sequence(self.get_queryset(request), answer.question,
                                               include_auto=include_auto)
            following = rubric.next_to_grade(sequence, answer.pk)
            if following is None:
                self.message_user(request, f"{answer.question.exam.code} {answer.question.label}: "
                                           "every answer is graded.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:exams_answer_grade_index"))
            return HttpResponseRedirect(self._grade_url(following, include_auto))
        return TemplateResponse(request, "admin/exams/answer/grade.html",
                                self._grade_context(request, answer, include_auto))

    def _save_grade(self, request, answer: Answer) -> Review:
        comment = request.POST.get("comment", "")
        if request.POST.get("mode") == "rubric":
            return rubric.answer_grade(
                answer=answer, reviewer=request.user, comment=comment,
                item_ids=[int(pk) for pk in request.POST.getlist("items") if pk.isdigit()],
                adjustment=_float(request.POST.get("adjustment"), 0.0))
        return review.answer_review(answer=answer, reviewer=request.user, comment=comment,
                                    new_score=_float(request.POST.get("score")))

    def _saved_message(self, request, answer: Answer, rev: Review) -> None:
        s = answer.submission
        s.refresh_from_db()
        verb = "confirmed" if rev.old_score == rev.new_score else "changed"
        self.message_user(request, f"{answer.question.label} of {s.student}: {verb} "
                                   f"{rev.old_score:g} → {rev.new_score:g}. Submission #{s.pk} "
                                   f"total now {s.score:g} / {s.max_score:g} ({s.status}).")

    def _grade_context(self, request, answer: Answer, include_auto: bool):
        question = answer.question
        answers = self.get_queryset(request)
        sequence = rubric.grading_sequence(answers, question, include_auto=include_auto)
        ids = [pk for pk, _ in sequence]
        if answer.pk not in ids:      # opened from elsewhere (e.g. an auto-graded answer)
            sequence = rubric.grading_sequence(answers, question, include_auto=True)
            ids, include_auto = [pk for pk, _ in sequence], True
        at = ids.index(answer.pk)
        items = list(question.rubric_items.all())
        applied = set(answer.rubric_applications.values_list("item_id", flat=True))
        suggested = rubric.suggested_item_ids(answer, items)
        decided = answer.status == Answer.Status.REVIEWED
        checked = applied if decided else suggested
        progress = rubric.question_progress(answers, [question])[0]
        spec = rubric.question_spec(question)
        undoable = _last_decision(answer)
        return self._context(
            request, f"Grade {question.exam.code} {question.label}",
            answer=answer, question=question, submission=answer.submission,
            prompt=spec.title, options=spec.options,
            flags=flag_reasons(answer.flags), progress=progress,
            position=at + 1, sequence_length=len(ids), include_auto=include_auto,
            prev_url=self._grade_url(ids[at - 1], include_auto) if at > 0 else "",
            next_url=self._grade_url(ids[at + 1], include_auto) if at + 1 < len(ids) else "",
            items=[{"item": i, "key": _key_for(n), "checked": i.pk in checked,
                    "suggested": i.pk in suggested, "applied": i.pk in applied,
                    "uses": i.applications.count()} for n, i in enumerate(items)],
            rubric_mode=bool(items), decided=decided,
            base=rubric_scores.rubric_base(question, answer.max_score),
            adjustment=answer.adjustment if answer.adjustment else "",
            crop_pages=review.answer_crop_pages(answer),
            parsed=reading_text(answer.parsed), expected=reading_text(answer.expected),
            alternatives=other_readings(answer.parsed, answer.alternatives),
            undoable=undoable,
            scoring_choices=Question.RubricScoring.choices,
            back=request.get_full_path())

    def undo_view(self, request, pk):
        """Undo the latest decision on an answer (POST)."""
        self._require_change(request)
        answer = self._viewable_answer(request, pk)
        latest = _last_decision(answer)
        try:
            if latest is None:
                raise review.ReviewError("no decision to undo on this answer")
            undo = review.review_undo(review=latest, reviewer=request.user)
        except review.ReviewError as exc:
            self._error(request, exc)
        else:
            self.message_user(request, f"Undone: {answer.question.label} of "
                                       f"{answer.submission.student} is back to "
                                       f"{undo.new_score:g} ({undo.answer.status}).")
        return self._back(request, reverse("admin:exams_answer_grade", args=[pk]))

    def rubric_edit_view(self, request, question_pk):
        """Add, change or delete a rubric item, or switch the scoring (POST ``op``)."""
        self._require_change(request)
        question = self._question(request, question_pk)
        op, post = request.POST.get("op"), request.POST
        try:
            if op == "add":
                item = rubric.rubric_item_create(question=question, points=post.get("points"),
                                                 text=post.get("text", ""), user=request.user)
                self.message_user(request, f"Added item {item.points:+g} “{item.text}”.")
            elif op in ("update", "delete"):
                item = get_object_or_404(RubricItem, pk=post.get("item"), question=question)
                if op == "delete":
                    rubric.rubric_item_delete(item=item, user=request.user)
                    self.message_user(request, f"Deleted item “{item.text}”.")
                else:
                    change = rubric.rubric_item_update(item=item, user=request.user,
                                                       points=post.get("points"),
                                                       text=post.get("text"))
                    self.message_user(request, f"Item {change.item.points:+g} "
                                               f"“{change.item.text}” saved; {change.answers} "
                                               "answer(s) re-scored.")
            elif op == "scoring":
                changed = rubric.rubric_scoring_set(question=question, user=request.user,
                                                    scoring=post.get("scoring", ""))
                self.message_user(request, f"{question.label}: {post.get('scoring')} scoring; "
                                           f"{len(changed)} answer(s) re-scored.")
            else:
                raise review.ReviewError(f"unknown rubric operation {op!r}")
        except review.ReviewError as exc:
            self._error(request, exc)
        return self._back(request, reverse("admin:exams_answer_grade_question",
                                           args=[question.pk]))

    # ------------------------------------------------------------ answer groups

    def _group_answers(self, request):
        answers = self.get_queryset(request)
        exam, label = request.GET.get("exam"), request.GET.get("question")
        if exam:
            answers = answers.filter(submission__exam__pk=exam)
        if label:
            answers = answers.filter(question__label=label)
        return answers, exam or "", label or ""

    def groups_view(self, request):
        """Answers to one question read the same in full, grouped (open groups: with a
        flagged answer), and the latest group decisions with their undo."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        answers, exam, label = self._group_answers(request)
        recent = review.recent_batches(Review.objects.filter(answer__in=answers))
        return TemplateResponse(request, "admin/exams/answer/groups.html", self._context(
            request, "Answer groups", groups=groups.answer_groups(answers), exam=exam,
            question=label, recent=recent, query=request.GET.urlencode(),
            back=request.get_full_path()))

    def group_view(self, request, group):
        """One group: its members with their crops and readings; POST applies a decision to
        the members ticked (the flagged ones unless the TA ticks others)."""
        answers, exam, label = self._group_answers(request)
        try:
            g = groups.answer_group(answers, group)
        except review.ReviewError as exc:
            self._error(request, exc)
            return HttpResponseRedirect(reverse("admin:exams_answer_groups") + "?"
                                        + request.GET.urlencode())
        if request.method == "POST":
            self._require_change(request)
            return self._decide_group(request, answers, g)
        if not self.has_view_permission(request):
            raise PermissionDenied
        items = list(g.question.rubric_items.all())
        suggested = rubric.suggested_item_ids(g.answers[0], items)
        return TemplateResponse(request, "admin/exams/answer/group.html", self._context(
            request, f"Answer group: {g.question.exam.code} {g.question.label}", group=g,
            question=g.question, prompt=rubric.question_spec(g.question).title,
            flags=flag_reasons(g.flags), rubric_mode=bool(items),
            items=[{"item": i, "key": _key_for(n), "checked": i.pk in suggested,
                    "suggested": i.pk in suggested} for n, i in enumerate(items)],
            base=rubric_scores.rubric_base(g.question, g.question.points),
            parsed=reading_text(g.value), alternatives=other_readings(g.value, g.alternatives),
            default_ids=set(g.default_ids), query=request.GET.urlencode()))

    def _decide_group(self, request, answers, g: groups.AnswerGroup):
        post = request.POST
        try:
            rubric_mode = post.get("mode") == "rubric"
            _batch, reviews = groups.answer_group_decide(
                answers=answers, group=g.id, reviewer=request.user,
                include=[int(pk) for pk in post.getlist("include") if pk.isdigit()],
                item_ids=[int(pk) for pk in post.getlist("items") if pk.isdigit()]
                if rubric_mode else None,
                adjustment=_float(post.get("adjustment"), 0.0) if rubric_mode else 0.0,
                new_score=None if rubric_mode else _float(post.get("score")),
                comment=post.get("comment", ""))
        except review.ReviewError as exc:
            self._error(request, exc)
            return HttpResponseRedirect(request.get_full_path())
        self.message_user(request, f"Decision applied to {len(reviews)} answer(s) of "
                                   f"{g.question.label}, one review each. Undo it from the "
                                   "list below if it was a mistake.")
        url = reverse("admin:exams_answer_groups")
        query = urlencode({k: v for k, v in request.GET.items() if k in ("exam", "question")})
        return HttpResponseRedirect(f"{url}?{query}" if query else url)

    def group_undo_view(self, request):
        """Undo every review of one group decision (POST ``batch``)."""
        self._require_change(request)
        reviews = Review.objects.filter(answer__in=self.get_queryset(request))
        try:
            done, errors = review.batch_undo(reviews=reviews, batch=request.POST.get("batch", ""),
                                             reviewer=request.user)
        except review.ReviewError as exc:
            self._error(request, exc)
        else:
            self.message_user(request, f"Undone for {done} answer(s).")
            for error in errors[:10]:
                self.message_user(request, error, messages.WARNING)
        return self._back(request, reverse("admin:exams_answer_groups"))


def _last_decision(answer: Answer) -> Review | None:
    """The decision an undo would take back: the latest one not undone yet."""
    return answer.reviews.filter(kind=Review.Kind.DECISION, undone_by__isnull=True).select_related(
        "reviewer").first()


def _key_for(n: int) -> str:
    """The number key that toggles the n-th item (0-based): 1-9, then 0; none beyond ten."""
    return str(n + 1) if n < 9 else ("0" if n == 9 else "")
