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
    layout = models.JSONField(
        null=True, blank=True,
        help_text="The blank exam's pages and where each written answer goes (answer regions, "
                  "mm); empty without a blank PDF.")
    marking = models.CharField(
        max_length=8, choices=[(m.value, m.value) for m in Marking], default=Marking.CROSS.value,
        help_text="What a mark in a box means: cross (a crossed box is selected, a filled one "
                  "cancelled) or bubble (a filled bubble is selected).")
    published = models.BooleanField(default=False)
    results_released = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Counting(models.TextChoices):
        LATEST = "latest", "the latest submission"
        BEST = "best", "the best-scoring submission"
        FIRST = "first", "the first submission"

    # Policies (exams.policies): they bind students; staff uploads and `grade` are staff acts.
    opens_at = models.DateTimeField(
        null=True, blank=True, help_text="Students may submit from this time (empty: at once).")
    closes_at = models.DateTimeField(
        null=True, blank=True, help_text="Students may submit until this time (empty: no deadline).")
    allow_resubmission = models.BooleanField(
        default=True, help_text="A student may submit again before the deadline (the policy "
                                "below says which submission counts).")
    counting = models.CharField(
        max_length=16, choices=Counting.choices, default=Counting.LATEST,
        help_text="Which of a student's submissions counts (CSV, statistics, feedback).")
    regrade_requests_until = models.DateTimeField(
        null=True, blank=True,
        help_text="Students may ask for a regrade after the release until this time "
                  "(empty: as long as results are released).")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.title}"

    @property
    def max_score(self) -> float:
        return float(sum(q.points for q in self.questions.active()))


class QuestionQuerySet(models.QuerySet):
    def active(self) -> "QuestionQuerySet":
        """The questions the exam's current definition has: graded, totalled, listed."""
        return self.filter(archived_at__isnull=True)

    def archived(self) -> "QuestionQuerySet":
        return self.filter(archived_at__isnull=False)


class Question(models.Model):
    """One gradable question or part. ``spec`` holds its whole definition (key included) as
    the grading core's ``QuestionSpec``; label, kind, points and order are copied out of it by
    ``set_spec`` for listing, filtering and ordering.

    A question dropped from the exam file is archived, never deleted: its answers and the TA
    reviews on them stay (staff see them as archived); it no longer counts anywhere (grading,
    totals, CSV, statistics, question lists). Uploading its label again restores it.
    """

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
    archived_at = models.DateTimeField(
        null=True, blank=True, db_index=True,
        help_text="When the question was dropped from the exam file (kept for its answers and "
                  "reviews; counts nowhere). Empty: the question is part of the exam.")

    objects = QuestionQuerySet.as_manager()

    class RubricScoring(models.TextChoices):
        POSITIVE = "positive", "positive: start at 0, items add points"
        NEGATIVE = "negative", "negative: start at full points, items deduct"

    rubric_scoring = models.CharField(
        max_length=16, choices=RubricScoring.choices, default=RubricScoring.POSITIVE,
        help_text="Where a rubric-graded answer starts (exams.rubric_scores.rubric_score).")

    class Meta:
        ordering = ["exam", "order"]
        constraints = [models.UniqueConstraint(fields=["exam", "label"], name="unique_label_per_exam")]

    def __str__(self) -> str:
        return f"{self.exam.code} {self.label}" + (" (archived)" if self.archived_at else "")

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

    @property
    def title(self) -> str:
        return self.definition.title


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
    flags = models.JSONField(default=list, blank=True,
                             help_text="About the document as a whole: it may not be one "
                                       "student's copy of this exam.")
    score = models.FloatField(null=True, blank=True)
    max_score = models.FloatField(null=True, blank=True)
    pages_total = models.PositiveIntegerField(default=0)
    pages_done = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(default=0)
    claimed_by = models.CharField(
        max_length=255, blank=True, editable=False,
        help_text="The grading run holding the claim (task id#try): a retry of that task after "
                  "an outage takes its claim back; anything else waits for the sweep.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", help_text="Staff who uploaded it on the student's behalf.")

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
    ink = models.FloatField(null=True, blank=True,
                            help_text="The share of its answer region the student inked (scans "
                                      "of exams with a blank PDF): the evidence for 'unanswered'.")
    reader = models.CharField(max_length=32, blank=True,
                              help_text="Which engine's reading of the handwriting was taken.")
    readings = models.JSONField(default=list, blank=True,
                                help_text="Every engine's reading of the answer region: "
                                          "[{engine, text, confidence}].")
    alternatives = models.JSONField(
        default=list, blank=True,
        help_text="Every final answer read when the answer is ambiguous (the parser keeps one as parsed).")
    rubric_items = models.ManyToManyField("RubricItem", through="RubricApplication", blank=True,
                                          related_name="answers")
    adjustment = models.FloatField(
        null=True, blank=True,
        help_text="Rubric-graded answers only: the free adjustment added to the items' points "
                  "(empty: the score is not computed from the rubric).")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["submission", "question__order"]
        constraints = [models.UniqueConstraint(fields=["submission", "question"], name="unique_answer")]

    def __str__(self) -> str:
        return f"{self.submission_id}/{self.question.label}: {self.score}/{self.max_score}"


class RubricItem(models.Model):
    """One line of a question's rubric, reusable across all its answers: a point delta
    (positive adds, negative deducts) and the text the TA and the student read.

    Items come from the exam file's ``rubric:`` (``spec_text``/``spec_points`` remember what
    the file said, so a reload updates them without undoing a TA's edit) or are made by staff
    while grading. ``keywords`` make the machine suggest (pre-select) the item.
    """

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="rubric_items")
    order = models.PositiveIntegerField(default=0)
    points = models.FloatField()
    text = models.TextField()
    keywords = models.JSONField(default=list, blank=True)
    spec_text = models.TextField(blank=True, help_text="The exam file's text (seeded items).")
    spec_points = models.FloatField(null=True, blank=True,
                                    help_text="The exam file's points when last loaded.")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["question", "order", "pk"]

    def __str__(self) -> str:
        return f"{self.points:+g} {self.text}"


class RubricApplication(models.Model):
    """A rubric item applied to an answer (by a TA decision, never by the machine)."""

    answer = models.ForeignKey(Answer, on_delete=models.CASCADE,
                               related_name="rubric_applications")
    # RESTRICT: an applied item cannot be deleted on its own, but goes with its question.
    item = models.ForeignKey(RubricItem, on_delete=models.RESTRICT, related_name="applications")
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    applied_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["answer", "item"],
                                               name="unique_rubric_application")]


class Review(models.Model):
    """One change of an answer's score: who, when, old -> new score, why.

    ``kind``: a TA's decision, a re-score because a rubric item or the question's rubric
    scoring changed, or the undo of a decision. ``old_rubric``/``new_rubric`` are the rubric
    state around it (``{"items": [{"id", "points", "text"}], "adjustment": x}``, None when the
    score is not computed from the rubric); ``batch`` ties together the reviews of one group
    decision or one rubric change.

    The audit trail outlives the answer row: a regrade that hands reviewed answers back to
    the machine replaces those rows, and the decisions stay, tied to submission and question;
    an exam change never deletes them either (a dropped question is archived).
    """

    class Kind(models.TextChoices):
        DECISION = "decision", "TA decision"
        RUBRIC_CHANGE = "rubric_change", "rubric changed"
        UNDO = "undo", "undo"

    answer = models.ForeignKey(Answer, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="reviews")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="reviews")
    # RESTRICT: a question with reviews cannot be deleted on its own (an exam change archives
    # it instead); deleting the whole exam, submissions and reviews included, still works.
    question = models.ForeignKey(Question, on_delete=models.RESTRICT, related_name="reviews")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    old_score = models.FloatField()
    new_score = models.FloatField()
    old_status = models.CharField(max_length=16)
    comment = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.DECISION)
    old_rubric = models.JSONField(null=True, blank=True)
    new_rubric = models.JSONField(null=True, blank=True)
    batch = models.CharField(max_length=32, blank=True, db_index=True)
    undone_by = models.OneToOneField("self", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="undoes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]


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


# ---------------------------------------------------------------- courses (exams.courses)

class StudentProfile(models.Model):
    """The institution's student id of a user: rosters, staff uploads and gradebook exports
    match students by it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="student_profile")
    student_id = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"{self.student_id} ({self.user})"


class Enrollment(models.Model):
    """A student on an exam's roster."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="enrollments")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="enrollments")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                 on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["exam", "user__username"]
        constraints = [models.UniqueConstraint(fields=["exam", "user"], name="unique_enrollment")]

    def __str__(self) -> str:
        return f"{self.user} in {self.exam.code}"


class ReleaseRecord(models.Model):
    """Every release and withdrawal of an exam's results: who, when, and whether it was
    forced past unreviewed flagged answers (how many)."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="releases")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                           related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    released = models.BooleanField()
    forced = models.BooleanField(default=False)
    unreviewed = models.PositiveIntegerField(default=0, help_text="Flagged answers not reviewed.")
    grading = models.PositiveIntegerField(default=0, help_text="Submissions still being graded.")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        what = "released" if self.released else "withdrew"
        return f"{self.by} {what} {self.exam.code}" + (" (forced)" if self.forced else "")


class RegradeRequest(models.Model):
    """A student's request to look at one question of their submission again. Resolving it
    goes through exams.review.answer_review, so a score change is a Review like any other."""

    class Status(models.TextChoices):
        OPEN = "open"
        RESOLVED = "resolved"

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE,
                                   related_name="regrade_requests")
    question = models.ForeignKey(Question, on_delete=models.CASCADE,
                                 related_name="regrade_requests")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                related_name="regrade_requests")
    reason = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN,
                              db_index=True)
    score_before = models.FloatField(help_text="The question's score when the request was filed.")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    response = models.TextField(blank=True, help_text="The TA's answer, shown to the student.")
    score_after = models.FloatField(null=True, blank=True)
    review = models.ForeignKey(Review, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["submission", "question"],
                                               name="one_regrade_request_per_question")]

    def __str__(self) -> str:
        return f"regrade #{self.pk}: {self.submission.student} {self.question.label} ({self.status})"
