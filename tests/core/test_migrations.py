"""Data migrations run on real rows: the audit-trail migration fills each existing Review's
submission and question from its answer before the columns become required."""
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("exams", "0002_groups")]
AFTER = [("exams", "0003_review_outlives_answer")]


@pytest.mark.django_db(transaction=True)
def test_reviews_get_their_submission_and_question():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        exam = old.get_model("exams", "Exam").objects.create(code="MIG-1", title="m")
        question = old.get_model("exams", "Question").objects.create(
            exam=exam, label="1", number="1", kind="numeric", points=2, order=1)
        submission = old.get_model("exams", "Submission").objects.create(
            exam=exam, student="s", file="submissions/x.pdf", sha256="0" * 64)
        answer = old.get_model("exams", "Answer").objects.create(
            submission=submission, question=question, max_score=2, status="reviewed")
        review = old.get_model("exams", "Review").objects.create(
            answer=answer, old_score=0, new_score=1, old_status="flagged", comment="half")

        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)
        new = executor.loader.project_state(AFTER).apps
        moved = new.get_model("exams", "Review").objects.get(pk=review.pk)
        assert (moved.submission_id, moved.question_id, moved.answer_id) == (
            submission.pk, question.pk, answer.pk)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
