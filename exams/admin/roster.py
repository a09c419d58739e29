"""The exam's roster page in the admin: its staff and students; instructors add and remove
them (one by one, or a roster CSV); staff upload a scan on a student's behalf. Each form
calls one service of exams.courses; the page is reached from the exam (ExamAdmin.get_urls),
which has already checked that the user is staff of the exam."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from exams import courses, roles
from exams.models import Exam
from exams.serializers import SubmissionUploadSerializer


class StudentForm(forms.Form):
    student_id = forms.CharField(max_length=64, label="Student id")
    name = forms.CharField(max_length=300, required=False, help_text='"First Last" or "Last, First"')
    email = forms.EmailField(required=False)


class StaffForm(forms.Form):
    username = forms.CharField(max_length=64)
    role = forms.ChoiceField(choices=[(roles.TA, "TA"), (roles.INSTRUCTOR, "instructor")])
    email = forms.EmailField(required=False, help_text="For a new account: where they get the "
                                                       "link to set their password.")


class ImportForm(forms.Form):
    csv = forms.FileField(label="Roster CSV", help_text="Header row naming the columns: student "
                          "id, name (or first name, last name), email. All rows or none.")


class UploadForm(forms.Form):
    student = forms.ChoiceField(label="Student")
    pdf = forms.FileField(label="Scan (PDF)")

    def __init__(self, *args, exam: Exam, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["student"].choices = [
            (row["student_id"] or row["username"],
             f"{row['student_id'] or row['username']} — {row['name'] or row['username']}")
            for row in courses.roster_of(exam)["students"]]


INSTRUCTOR_ACTIONS = {"add_student", "remove_student", "import", "add_staff", "remove_staff"}


def roster_page(model_admin, request, exam: Exam):
    instructor = roles.has_exam_role(request.user, exam, (roles.INSTRUCTOR,))
    forms_ = {"student": StudentForm(prefix="student"), "staff": StaffForm(prefix="staff"),
              "import": ImportForm(prefix="import"), "upload": UploadForm(prefix="upload", exam=exam)}
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action in INSTRUCTOR_ACTIONS and not instructor:
            raise PermissionDenied
        done = _apply(model_admin, request, exam, action, forms_)
        if done:
            return HttpResponseRedirect(reverse("admin:exams_exam_roster", args=[exam.pk]))
    context = {**model_admin.admin_site.each_context(request), "opts": model_admin.model._meta,
               "title": f"Roster: {exam.code}", "exam": exam, "roster": courses.roster_of(exam),
               "instructor": instructor, "forms": forms_}
    return TemplateResponse(request, "admin/exams/exam/roster.html", context)


def _apply(model_admin, request, exam: Exam, action: str, forms_: dict) -> bool:
    """Run the posted action; True when done (the page redirects), False to show the form's
    errors again."""
    try:
        if action == "add_student":
            form = forms_["student"] = StudentForm(request.POST, prefix="student")
            if not form.is_valid():
                return False
            first, last = courses.split_name(form.cleaned_data["name"])
            outcome = courses.student_enroll(exam=exam, added_by=request.user, row=courses.RosterRow(
                line=0, student_id=form.cleaned_data["student_id"].strip(), first_name=first,
                last_name=last, email=form.cleaned_data["email"]))
            sid = form.cleaned_data["student_id"].strip()
            text = (f"{sid} enrolled" if outcome.newly_enrolled else f"{sid} was already enrolled")
            model_admin.message_user(request, text + (" (account created)." if outcome.created_user
                                                      else "."))
        elif action == "remove_student":
            courses.student_unenroll(exam=exam, student_id=request.POST.get("student_id", ""))
            model_admin.message_user(request, f"{request.POST.get('student_id')} taken off the "
                                              "roster (their submissions stay).")
        elif action == "import":
            form = forms_["import"] = ImportForm(request.POST, request.FILES, prefix="import")
            if not form.is_valid():
                return False
            try:
                text = form.cleaned_data["csv"].read().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise courses.RosterError("the roster is not UTF-8 text (CSV)") from None
            report = courses.roster_import(exam=exam, text=text, added_by=request.user)
            model_admin.message_user(request, f"Roster imported: {report.summary()}.")
        elif action == "add_staff":
            form = forms_["staff"] = StaffForm(request.POST, prefix="staff")
            if not form.is_valid():
                return False
            user, created = courses.staff_add(exam=exam, **form.cleaned_data)
            model_admin.message_user(request, f"{user.get_username()} is now "
                                              f"{form.cleaned_data['role']} of {exam.code}"
                                              + (" (account created)." if created else "."))
        elif action == "remove_staff":
            courses.staff_remove(exam=exam, username=request.POST.get("username", ""),
                                 role=request.POST.get("role", ""))
            model_admin.message_user(request, f"{request.POST.get('username')} is no longer "
                                              f"{request.POST.get('role')} of {exam.code}.")
        elif action == "upload":
            form = forms_["upload"] = UploadForm(request.POST, request.FILES, prefix="upload",
                                                 exam=exam)
            if not form.is_valid():
                return False
            pdf = SubmissionUploadSerializer(data={"pdf": form.cleaned_data["pdf"]})
            if not pdf.is_valid():
                form.add_error("pdf", " ".join(str(e) for e in pdf.errors.get("pdf", [])))
                return False
            upload = pdf.validated_data["pdf"]
            done = courses.submission_submit_for(
                exam=exam, student_id=form.cleaned_data["student"], content=upload.read(),
                filename=upload.name, uploaded_by=request.user)
            s = done.submission
            model_admin.message_user(request, (
                f"Submission #{s.pk} for {s.student} received; grading." if done.created else
                f"{s.student} already has this very file (submission #{s.pk}); nothing changed."))
        else:
            model_admin.message_user(request, "Unknown action.", messages.ERROR)
    except courses.RosterError as exc:
        model_admin.message_user(request, str(exc), messages.ERROR)
    return True
