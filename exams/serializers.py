"""API input validation and output shapes. Error messages here are read by students and
instructors, so they say what to do, not what failed internally."""
from __future__ import annotations

import logging

from django.conf import settings
from rest_framework import serializers

from exams.models import Exam, Question, Submission
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


class SubmissionSerializer(serializers.ModelSerializer):
    """``results`` is the `grade --json` object, or null while the student may not see it
    (context ``show_results``)."""

    exam = serializers.CharField(source="exam.code")
    progress = serializers.SerializerMethodField()
    results = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = ["id", "exam", "student", "status", "error", "progress", "created_at",
                  "finished_at", "results"]

    def get_progress(self, s) -> ProgressSerializer:
        return {"pages_done": s.pages_done, "pages_total": s.pages_total}

    def get_results(self, s) -> dict | None:
        if not self.context.get("show_results"):
            return None
        if s.status not in Submission.FINISHED:
            return None
        return submission_result(s)


class SubmissionListSerializer(serializers.ModelSerializer):
    score = serializers.SerializerMethodField()

    class Meta:
        model = Submission
        fields = ["id", "student", "status", "score", "max_score", "created_at", "finished_at"]

    def get_score(self, s) -> float | None:
        return s.score if self.context.get("show_results") else None


class SubmissionAcceptedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    url = serializers.CharField()


class ReleaseSerializer(serializers.Serializer):
    released = serializers.BooleanField(default=True)


class RegradeSerializer(serializers.Serializer):
    keep_overrides = serializers.BooleanField(default=True)


class ErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
