"""The student pages: server-rendered HTML over the same services as the API (no JavaScript).
A student logs in, lists their exams, uploads, reads their feedback and asks for a regrade.
Staff may open the same pages to see what their students see.

Like the API: a submission the user may not see is a 404, exactly as one that does not exist.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_POST

from exams import courses, policies, regrades, roles, services
from exams.feedback import submission_feedback, submission_status_sentence
from exams.models import Answer, Exam, Submission
from exams.serializers import SubmissionUploadSerializer


class FirstPasswordResetForm(PasswordResetForm):
    """Django's reset form, also for accounts made from a roster that have never signed in
    (no password yet: Django's own form skips accounts without a usable password). An account
    whose password was disabled after it had been used stays disabled."""

    def get_users(self, email):
        yield from super().get_users(email)
        field = get_user_model().get_email_field_name()
        yield from get_user_model()._default_manager.filter(
            **{f"{field}__iexact": email}, is_active=True, last_login__isnull=True,
            password__startswith=UNUSABLE_PASSWORD_PREFIX)


def _exam_for(user, code: str) -> Exam:
    """An exam the user sees in their list, or (students) any published exam by its code:
    codes are not secret, students submit to them (as through the API)."""
    exam = courses.exams_visible_to(user).filter(code=code).first()
    if exam is None and roles.is_student(user):
        exam = Exam.objects.filter(code=code, published=True).first()
    if exam is None:
        raise Http404("No such exam.")
    return exam


@login_required
def exam_list(request):
    exams = list(courses.exams_visible_to(request.user))
    staff = {e.pk for e in exams if roles.has_exam_role(request.user, e)}
    rows = [{"exam": e, "staff": e.pk in staff, "window": policies.submission_window(e)}
            for e in exams]
    return TemplateResponse(request, "student/exam_list.html", {"rows": rows})


@login_required
def exam_detail(request, code):
    exam = _exam_for(request.user, code)
    staff = roles.has_exam_role(request.user, exam)
    mine = exam.submissions.filter(user=request.user).order_by("-created_at", "-id")
    counting = set(policies.counting_ids(exam).values())
    window = policies.submission_window(exam)
    may_upload = not staff and roles.is_student(request.user)
    refusal = None
    if may_upload:
        try:
            policies.student_submission_check(exam, previous=mine.count())
        except policies.SubmissionRefused as exc:
            refusal = str(exc)
    return TemplateResponse(request, "student/exam_detail.html", {
        "exam": exam, "staff": staff, "window": window, "may_upload": may_upload,
        "refusal": refusal, "counting_rule": exam.get_counting_display(),
        "submissions": [{"s": s, "counts": s.pk in counting,
                         "status": submission_status_sentence(s, released=exam.results_released)}
                        for s in mine]})


@login_required
@require_POST
def exam_submit(request, code):
    exam = _exam_for(request.user, code)
    if not roles.is_student(request.user):
        messages.error(request, "Staff upload on a student's behalf from the exam's roster page "
                                "in the admin.")
        return redirect("student-exam", code=exam.code)
    form = SubmissionUploadSerializer(data={"pdf": request.FILES.get("pdf")})
    if not form.is_valid():
        errors = form.errors.get("pdf") or ["Choose a PDF file to upload."]
        messages.error(request, " ".join(str(e) for e in errors))
        return redirect("student-exam", code=exam.code)
    upload = form.validated_data["pdf"]
    try:
        done = courses.submission_submit(exam=exam, content=upload.read(), filename=upload.name,
                                         user=request.user)
    except (policies.SubmissionRefused, services.ExamNotPublished) as exc:
        messages.error(request, str(exc))
        return redirect("student-exam", code=exam.code)
    if done.created:
        messages.success(request, f"Received {upload.name} as submission #{done.submission.pk}.")
    else:
        messages.info(request, f"You had already submitted this very file (submission "
                               f"#{done.submission.pk}); nothing changed.")
    return redirect("student-submission", pk=done.submission.pk)


def _visible_submission(request, pk) -> Submission:
    submission = Submission.objects.select_related("exam").filter(pk=pk).first()
    if submission is None or not roles.submission_visible_to(request.user, submission):
        raise Http404("No such submission.")
    return submission


@login_required
def submission_detail(request, pk):
    submission = _visible_submission(request, pk)
    exam = submission.exam
    staff = roles.has_exam_role(request.user, exam)
    released = exam.results_released
    show = (staff or released) and submission.status in (
        Submission.Status.GRADED, Submission.Status.NEEDS_REVIEW)
    owner = submission.user_id == request.user.pk
    counts = policies.submission_counts(submission)
    regrade_open = owner and counts and policies.regrade_window_open(exam)
    return TemplateResponse(request, "student/submission_detail.html", {
        "submission": submission, "exam": exam, "staff": staff, "released": released,
        "status": submission_status_sentence(submission, released=released),
        "feedback": submission_feedback(submission) if show else [], "show": show,
        "counts": counts, "regrade_open": regrade_open,
        "provisional": show and submission.answers.filter(status=Answer.Status.FLAGGED).exists()})


@login_required
@require_POST
def regrade_request(request, pk):
    submission = _visible_submission(request, pk)
    label = request.POST.get("question", "")
    try:
        regrades.regrade_request_file(submission=submission, question_label=label,
                                      reason=request.POST.get("reason", ""), student=request.user)
    except regrades.RegradeError as exc:
        text = str(exc)
        messages.error(request, text[:1].upper() + text[1:] + ".")
    else:
        messages.success(request, f"Your regrade request for question {label} was sent to the TAs.")
    return redirect(reverse("student-submission", args=[submission.pk]) + f"#q-{label}")
