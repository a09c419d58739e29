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


@pytest.mark.django_db(transaction=True)
def test_questions_and_pages_move_into_one_spec_and_one_read():
    """0005: a question's columns become one QuestionSpec; a page's columns (text, OCR words,
    checkbox readings in `boxes`, word boxes and by-text marks in `info`) one PageRead."""
    from grader.pages import PageRead
    from grader.types import QuestionSpec, Tolerance

    before, after = [("exams", "0004_answer_spans")], [("exams", "0005_question_spec_page_read")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        old = executor.loader.project_state(before).apps
        exam = old.get_model("exams", "Exam").objects.create(code="MIG-5", title="m")
        question = old.get_model("exams", "Question").objects.create(
            exam=exam, label="2.b", number="2", part="b", title="Conv", kind="values", points=3,
            order=0, key={"h2": 0, "h3": 3}, solver="rnn_forward", params={"V": -3},
            tolerance={"abs": 0.5, "rel": 0.0}, options=[],
            rubric=[{"points": 1, "text": "shape", "keywords": ["shape"]}],
            spec={"partial": "per_entry", "scoring": "all_or_nothing", "variables": [],
                  "outputs": ["h2", "h3"], "depends_on": "2.a", "carry": {"h1": "h1"}})
        submission = old.get_model("exams", "Submission").objects.create(
            exam=exam, student="s", file="submissions/x.pdf", sha256="0" * 64)
        page = old.get_model("exams", "Page").objects.create(
            submission=submission, number=1, text="Question 2 x", source="ocr", confidence=0.8,
            words=[["Question", 0.9], ["2", 0.7]],
            boxes={"template_page": 1, "registration": {"ok": True, "fit_error_mm": 0.2,
                                                        "upside_down": True},
                   "readings": [{"label": "1", "option": 1, "mark": "cross", "checked": True,
                                 "confidence": 0.9, "uncertain": False, "y_mm": 40.0}]},
            info={"word_boxes": [[1, 2, 3, 4], [5, 6, 7, 8]], "ocr_turn_cw": 180,
                  "marks": [[20.0, 40.0, 4.0, "cross", True, 0.9, False, False]],
                  "choice_boxes": {"3": [40.0]}})

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        spec = QuestionSpec.from_json(new.get_model("exams", "Question").objects.get(pk=question.pk).spec)
        assert (spec.label, spec.number, spec.part, spec.title, spec.points) == ("2.b", "2", "b", "Conv", 3)
        assert spec.key == {"h2": 0, "h3": 3} and spec.solver == "rnn_forward"
        assert spec.tolerance == Tolerance(abs=0.5, rel=0.0) and spec.partial == "per_entry"
        assert spec.outputs == ("h2", "h3") and spec.carry == (("h1", "h1"),)
        assert spec.rubric[0].keywords == ("shape",) and spec.depends_on == "2.a"
        read = PageRead.from_json(new.get_model("exams", "Page").objects.get(pk=page.pk).read)
        assert (read.text, read.source, read.confidence, read.turned_cw) == ("Question 2 x", "ocr", 0.8, 180)
        assert read.words == (("Question", 0.9), ("2", 0.7)) and read.word_boxes[1] == (5, 6, 7, 8)
        assert read.fit.ok and read.fit.upside_down and read.fit.upright_turn_cw == 180
        assert read.fit.readings[0].checked and read.fit.readings[0].y_mm == 40.0
        assert read.marks[0].mark == "cross" and read.marks[0].page == 1
        assert read.choice_boxes == {"3": (40.0,)}
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
