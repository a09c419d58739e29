"""Exams, their questions, submissions, pages and graded answers.

Status fields change only through ``exams.services`` so that invalid transitions are refused
in one place; the admin shows machine output read-only.
"""
from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.db import models

from grader.pages import PageRead
from grader.types import Kind, Marking, QuestionSpec


class Exam(models.Model):
    code = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=255)
    blank_pdf = models.FileField(upload_to="blank/", blank=True)
    source_yaml = models.TextField(
        blank=True, help_text="The exam file as the instructor uploaded it (for them to read; "
                              "grading reads each question's spec).")
    key_report = models.JSONField(default=list, help_text="Key check per question at load time.")
    omr_template = models.JSONField(
        default=dict, blank=True,
        help_text="Checkbox positions per multiple-choice question: label -> [[page, x, y, w, h] mm].")
    marking = models.CharField(
        max_length=8, choices=[(m.value, m.value) for m in Marking], default=Marking.CROSS.value,
        help_text="What a mark in a box means: cross (a crossed box is selected, a filled one "
                  "cancelled) or bubble (a filled bubble is selected).")
    published = models.BooleanField(default=False)
    results_released = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"

    @property
    def max_score(self) -> float:
        return float(sum(q.points for q in self.questions.all()))


class Question(models.Model):
    """One gradable question or part. ``spec`` holds its whole definition (key included) as
    the grading core's ``QuestionSpec``; label, kind, points and order are copied out of it by
    ``set_spec`` for listing, filtering and ordering."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="questions")
    label = models.CharField(max_length=64)
    kind = models.CharField(max_length=32, choices=[(k.value, k.name.replace("_", " ").title())
                                                    for k in Kind])
    points = models.FloatField()
    order = models.PositiveIntegerField()
    spec = models.JSONField(default=dict, blank=True,
                            help_text="The question as defined and keyed (QuestionSpec).")
    key_check = models.JSONField(default=dict, blank=True)
    key_override = models.BooleanField(
        default=False, help_text="The instructor accepted a key mismatch for this question.")
    key_override_by = models.CharField(max_length=150, blank=True)
    key_override_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["exam", "order"]
        constraints = [models.UniqueConstraint(fields=["exam", "label"], name="unique_label_per_exam")]

    def __str__(self) -> str:
        return f"{self.exam.code} {self.label}"

    def set_spec(self, spec: QuestionSpec, *, order: int) -> None:
        self.spec = spec.to_json()
        self.label, self.kind, self.points, self.order = spec.label, spec.kind, spec.points, order
        self.__dict__.pop("definition", None)

    @cached_property
    def definition(self) -> QuestionSpec:
        return QuestionSpec.from_json(self.spec)

    @property
    def key(self):
        return self.definition.key


class Submission(models.Model):
    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSING = "processing"
        GRADED = "graded"
        NEEDS_REVIEW = "needs_review"
        FAILED = "failed"

    # Grading has finished (nothing runs on it any more), and: it finished with a score.
    FINISHED = frozenset({Status.GRADED, Status.NEEDS_REVIEW, Status.FAILED})
    SCORED = frozenset({Status.GRADED, Status.NEEDS_REVIEW})

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="submissions")
    student = models.CharField(max_length=150, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                             on_delete=models.SET_NULL, related_name="submissions")
    file = models.FileField(upload_to="submissions/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED,
                              db_index=True)
    error = models.TextField(blank=True)
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    pages_total = models.PositiveIntegerField(default=0)
    pages_done = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.exam.code} {self.student} ({self.status})"


class Page(models.Model):
    """One page of a submission as read (``grader.pages.PageRead``, stored whole in ``read``)."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="pages")
    number = models.PositiveIntegerField()
    read = models.JSONField(default=dict, help_text="The page as read: text, OCR words and their "
                                                    "boxes, checkbox readings.")

    class Meta:
        ordering = ["submission", "number"]
        constraints = [models.UniqueConstraint(fields=["submission", "number"], name="unique_page")]

    @cached_property
    def page_read(self) -> PageRead:
        return PageRead.from_json(self.read)

    @property
    def text(self) -> str:
        return self.page_read.text

    @property
    def source(self) -> str:
        return self.page_read.source


class Answer(models.Model):
    class Status(models.TextChoices):
        AUTO = "auto"
        FLAGGED = "flagged"
        REVIEWED = "reviewed"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    raw_text = models.TextField(blank=True)
    evidence = models.TextField(blank=True)
    parsed = models.JSONField(null=True, blank=True)
    expected = models.JSONField(null=True, blank=True)
    score = models.FloatField(default=0.0)
    suggested_score = models.FloatField(default=0.0)
    max_score = models.FloatField()
    status = models.CharField(max_length=16, choices=Status.choices, db_index=True)
    flags = models.JSONField(default=list, blank=True)
    detail = models.TextField(blank=True)
    confidence = models.FloatField(default=1.0)
    pages = models.JSONField(default=list, blank=True)
    spans = models.JSONField(default=list, blank=True,
                             help_text="[page, start, end]: where the answer is in each page's text.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["submission", "question__order"]
        constraints = [models.UniqueConstraint(fields=["submission", "question"], name="unique_answer")]

    def __str__(self) -> str:
        return f"{self.submission_id}/{self.question.label}: {self.score}/{self.max_score}"


class Review(models.Model):
    """One TA decision on an answer: who, when, old -> new score, why.

    The audit trail outlives the answer row: a regrade that hands reviewed answers back to
    the machine replaces those rows, and the decisions stay, tied to submission and question.
    """

    answer = models.ForeignKey(Answer, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="reviews")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="reviews")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    old_score = models.FloatField()
    new_score = models.FloatField()
    old_status = models.CharField(max_length=16)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


class ExamRole(models.Model):
    """Attaches staff to an exam. The role also puts the user in the matching Django group
    (``instructor`` / ``ta``), whose permissions the admin uses."""

    class Role(models.TextChoices):
        INSTRUCTOR = "instructor"
        TA = "ta"

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="roles")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="exam_roles")
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["exam", "user", "role"], name="unique_role")]

    def __str__(self) -> str:
        return f"{self.user} {self.role} of {self.exam.code}"
