"""API input validation and output shapes. Error messages here are read by students and
instructors, so they say what to do, not what failed internally."""
from __future__ import annotations

import logging

from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from exams.feedback import submission_feedback, submission_status_sentence
from exams.models import Exam, Question, RegradeRequest, Submission
from exams.policies import Window, submission_counts, submission_window
from exams.results import submission_result

PDF_MAGIC = b"%PDF-"
# The PDF spec lets a header start anywhere in the first 1024 bytes (grader.pdf agrees).
MAGIC_WINDOW = 1024


def max_upload_bytes() -> int:
    return settings.MAX_UPLOAD_MB * 1024 * 1024


def too_large_message() -> str:
    return f"The file is larger than the {settings.MAX_UPLOAD_MB} MB limit."


def pdf_page_count(upload) -> int:
    """Pages of an uploaded PDF, read with pypdf (fast: the page tree, not the pages).

    Decision: an unreadable PDF is refused at upload (400) rather than accepted and failed in
    grading, because the student is still on the upload page and can fix it now."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    upload.seek(0)
    try:
        reader = PdfReader(upload, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise serializers.ValidationError(
                "The PDF is password-protected; upload it without a password.")
        return len(reader.pages)
    except serializers.ValidationError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types on damaged files
        raise serializers.ValidationError(
            "The PDF is damaged and cannot be read; export or scan it again and re-upload."
        ) from exc
    finally:
        upload.seek(0)


def check_pdf_upload(upload, *, what: str = "file") -> None:
    if upload.size > max_upload_bytes():
        raise serializers.ValidationError(too_large_message())
    if upload.size == 0:
        raise serializers.ValidationError(f"The {what} is empty.")
    upload.seek(0)
    head = upload.read(MAGIC_WINDOW)
    upload.seek(0)
    if PDF_MAGIC not in head:
        raise serializers.ValidationError(f"The {what} is not a PDF. Upload a .pdf file.")


class SubmissionUploadSerializer(serializers.Serializer):
    pdf = serializers.FileField(help_text="The answer document or scan, one PDF.")
    student = serializers.CharField(
        required=False, max_length=64,
        help_text="Staff only: the student id of the student (on the exam's roster) this "
                  "upload is for. Students submit for themselves and leave it out.")

    def validate_pdf(self, upload):
        check_pdf_upload(upload)
        pages = pdf_page_count(upload)
        if pages == 0:
            raise serializers.ValidationError("The PDF has no pages.")
        if pages > settings.MAX_PDF_PAGES:
            raise serializers.ValidationError(
                f"The PDF has {pages} pages; at most {settings.MAX_PDF_PAGES} are accepted.")
        return upload


class ExamUploadSerializer(serializers.Serializer):
    definition = serializers.FileField(help_text="The exam definition (YAML, UTF-8).")
    blank_pdf = serializers.FileField(required=False, help_text="The blank exam PDF (optional).")
    accept_key = serializers.ListField(
        child=serializers.CharField(), required=False, default=list,
        help_text="Question labels whose key mismatch the instructor accepts explicitly.")

    def validate_definition(self, upload):
        if upload.size > max_upload_bytes():
            raise serializers.ValidationError(too_large_message())
        try:
            return upload.read().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise serializers.ValidationError("The definition is not UTF-8 text (YAML).") from exc

    def validate_blank_pdf(self, upload):
        check_pdf_upload(upload, what="blank exam")
        return upload


class QuestionSerializer(serializers.ModelSerializer):
    """A question as defined (read from its spec) with its key check."""

    number = serializers.CharField(source="definition.number", read_only=True)
    part = serializers.SerializerMethodField()
    title = serializers.CharField(source="definition.title", read_only=True)
    key = serializers.JSONField(source="definition.key", read_only=True)
    solver = serializers.SerializerMethodField()
    tolerance = serializers.SerializerMethodField()
    options = serializers.ListField(source="definition.options", child=serializers.CharField(),
                                    read_only=True)

    class Meta:
        model = Question
        fields = ["label", "number", "part", "title", "kind", "points", "key", "solver",
                  "tolerance", "options", "key_check", "key_override"]

    def get_part(self, q) -> str:
        return q.definition.part or ""

    def get_solver(self, q) -> str:
        return q.definition.solver or ""

    def get_tolerance(self, q) -> dict[str, float]:
        return {"abs": q.definition.tolerance.abs, "rel": q.definition.tolerance.rel}


class ArchivedQuestionSerializer(serializers.ModelSerializer):
    """A question dropped from the exam file: kept with its answers and reviews (staff)."""

    title = serializers.CharField(source="definition.title", read_only=True)
    answers = serializers.IntegerField(source="answers.count", read_only=True)
    reviews = serializers.IntegerField(source="reviews.count", read_only=True)

    class Meta:
        model = Question
        fields = ["label", "title", "kind", "points", "archived_at", "answers", "reviews"]


class ExamSerializer(serializers.ModelSerializer):
    questions = QuestionSerializer(source="questions.active", many=True, read_only=True)
    archived_questions = ArchivedQuestionSerializer(source="questions.archived", many=True,
                                                    read_only=True)
    max_score = serializers.FloatField(read_only=True)
    submissions = serializers.SerializerMethodField()

    class Meta:
        model = Exam
        fields = ["code", "title", "published", "results_released", "max_score",
                  "key_report", "questions", "archived_questions", "submissions", "created_at",
                  "updated_at"]

    def get_submissions(self, exam) -> int:
        return exam.submissions.count()


class QuestionChangeSerializer(serializers.Serializer):
    label = serializers.CharField()
    fields = serializers.ListField(child=serializers.CharField(),
                                   help_text="The fields of the question's definition that differ.")


class QuestionChangesSerializer(serializers.Serializer):
    """What the upload changed; questions are matched by label (a rename is one archived and
    one added; uploading an archived label again restores it)."""

    added = serializers.ListField(child=serializers.CharField())
    changed = QuestionChangeSerializer(many=True)
    archived = serializers.ListField(
        child=serializers.CharField(),
        help_text="Dropped from the file: kept with their answers and reviews, counted nowhere.")
    restored = serializers.ListField(child=serializers.CharField())
    totals_recomputed = serializers.IntegerField(
        help_text="Graded submissions whose total and status were recomputed.")
    regrade_advised = serializers.BooleanField(
        help_text="Submissions were graded with the previous definition: regrade to apply it.")


class ExamLoadedSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    published = serializers.BooleanField()
    created = serializers.BooleanField()
    key_report = serializers.JSONField()
    changes = QuestionChangesSerializer()


class ProgressSerializer(serializers.Serializer):
    pages_done = serializers.IntegerField()
    pages_total = serializers.IntegerField()


def student_results(s: Submission) -> dict:
    """What a student sees of their released result (the feedback, never the flags)."""
    questions = []
    for item in submission_feedback(s):
        row = item.as_dict()
        row["crops"] = [reverse("api-submission-crop", args=[s.pk, item.label, page])
                        for page in row.pop("crop_pages")]
        questions.append(row)
    failed = s.status == Submission.Status.FAILED
    return {"exam": s.exam.code, "submission": s.pk,
            "score": None if failed or s.score is None else round(s.score, 4),
            "max_score": s.exam.max_score,
            "provisional": any(q["state"] == "provisional" for q in questions),
            "questions": [] if failed else questions}


class SubmissionSerializer(serializers.ModelSerializer):
    """``results``: for staff the `grade --json` object; for the student, once released, their
    feedback (``student_results``); null while the student may not see it (context
    ``show_results``; ``as_student`` picks the student's shape)."""

    exam = serializers.CharField(source="exam.code")
    progress = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    status_text = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = ["id", "exam", "student", "status", "status_text", "error", "progress",
                  "counts", "created_at", "finished_at", "results"]

    def get_progress(self, s) -> ProgressSerializer:
        return {"pages_done": s.pages_done, "pages_total": s.pages_total}

    def get_counts(self, s) -> bool:
        """Whether this is the student's submission that counts (the exam's policy)."""
        return submission_counts(s)

    def get_status_text(self, s) -> str:
        return submission_status_sentence(s, released=s.exam.results_released)

    def get_results(self, s) -> dict | None:
        if not self.context.get("show_results"):
            return None
        if s.status not in Submission.FINISHED:
            return None
        return student_results(s) if self.context.get("as_student") else submission_result(s)


class SubmissionListSerializer(serializers.ModelSerializer):
    score = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = ["id", "student", "status", "score", "max_score", "counts", "created_at",
                  "finished_at"]

    def get_score(self, s) -> float | None:
        return s.score if self.context.get("show_results") else None

    def get_counts(self, s) -> bool:
        return s.pk in self.context.get("counting", ())


class SubmissionAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    url = serializers.CharField()


class ReleaseSerializer(serializers.Serializer):
    released = serializers.BooleanField(default=True)
    force = serializers.BooleanField(
        default=False, help_text="Release although flagged answers are not reviewed (recorded).")


class ReleaseDoneSerializer(serializers.Serializer):
    released = serializers.BooleanField()
    forced = serializers.BooleanField()
    unreviewed = serializers.IntegerField()
    by = serializers.CharField()
    at = serializers.DateTimeField()


class ReleaseRefusedSerializer(serializers.Serializer):
    error = serializers.CharField()
    unreviewed = serializers.IntegerField(help_text="Flagged answers not reviewed yet.")
    grading = serializers.IntegerField(help_text="Submissions still being graded.")


class ExamListSerializer(serializers.ModelSerializer):
    """An exam as listed for its staff and students: policies and state, no keys."""

    role = serializers.SerializerMethodField()
    max_score = serializers.FloatField(read_only=True)
    open_for_submissions = serializers.SerializerMethodField()

    class Meta:
        model = Exam
        fields = ["code", "title", "role", "published", "open_for_submissions", "opens_at",
                  "closes_at", "allow_resubmission", "counting", "results_released",
                  "regrade_requests_until", "max_score"]

    def get_role(self, exam) -> str:
        """instructor | ta | student (the user's relation to the exam)"""
        mine = self.context.get("roles", {}).get(exam.pk, set())
        return next((r for r in ("instructor", "ta") if r in mine), "student")

    def get_open_for_submissions(self, exam) -> bool:
        return exam.published and not exam.results_released and (
            submission_window(exam) is Window.OPEN)


class ExamPoliciesSerializer(serializers.Serializer):
    """Any subset of the exam's policies (PATCH); times are ISO 8601 with a UTC offset."""

    opens_at = serializers.DateTimeField(required=False, allow_null=True)
    closes_at = serializers.DateTimeField(required=False, allow_null=True)
    allow_resubmission = serializers.BooleanField(required=False)
    counting = serializers.ChoiceField(choices=Exam.Counting.choices, required=False)
    regrade_requests_until = serializers.DateTimeField(required=False, allow_null=True)


class RegradeRequestCreateSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=64, help_text='The question label, e.g. "1.ii".')
    reason = serializers.CharField(max_length=5000, help_text="What should be looked at again.")


class RegradeResolveSerializer(serializers.Serializer):
    response = serializers.CharField(max_length=5000, help_text="Shown to the student.")
    new_score = serializers.FloatField(required=False, allow_null=True, min_value=0,
                                       help_text="Leave out to keep the score.")


class RegradeRequestSerializer(serializers.ModelSerializer):
    exam = serializers.CharField(source="submission.exam.code")
    question = serializers.CharField(source="question.label")
    student = serializers.CharField(source="submission.student")
    resolved_by = serializers.SerializerMethodField()

    class Meta:
        model = RegradeRequest
        fields = ["id", "submission", "exam", "question", "student", "status", "reason",
                  "score_before", "created_at", "response", "score_after", "resolved_at",
                  "resolved_by"]

    def get_resolved_by(self, r) -> str | None:
        # Students see that a TA answered, not which one.
        if r.resolved_by is None or self.context.get("as_student"):
            return None
        return r.resolved_by.get_username()


class RosterStudentSerializer(serializers.Serializer):
    student_id = serializers.CharField(max_length=64)
    name = serializers.CharField(required=False, allow_blank=True, max_length=300,
                                 help_text='"First Last" or "Last, First".')
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)


class RosterImportSerializer(serializers.Serializer):
    csv = serializers.FileField(help_text="Header row with student id, name (or first name and "
                                          "last name) and email columns.")

    def validate_csv(self, upload):
        if upload.size > max_upload_bytes():
            raise serializers.ValidationError(too_large_message())
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise serializers.ValidationError("The roster is not UTF-8 text (CSV).") from exc


class StaffAddSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=64)
    role = serializers.ChoiceField(choices=["instructor", "ta"])
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)


class RegradeSerializer(serializers.Serializer):
    keep_overrides = serializers.BooleanField(default=True)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
