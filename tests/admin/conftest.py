import pytest

from exams import roles
from exams.models import Answer
from tests.api.factories import make_exam, make_submission, make_user

F = Answer.Status.FLAGGED


@pytest.fixture
def course(db, media_root):
    """Exam A: three graded submissions, some answers flagged; exam B: its own TA and one
    flagged answer that A's staff must never see."""
    a, b = make_exam("EX-A"), make_exam("EX-B")
    ta = make_user("ta_a", exam=a, role=roles.TA)
    instructor = make_user("instr_a", exam=a, role=roles.INSTRUCTOR)
    ta_b = make_user("ta_b", exam=b, role=roles.TA)
    alice = make_submission(a, student="alice", answers={
        "1.ii": {"score": 2.0, "parsed": 11, "raw_text": "RF = 11"},
        "1.iv": {"score": 2.0, "parsed": [[1, 4], [5, 17]], "raw_text": "[[1,4],[5,17]]"},
        "2": {"score": 1.0, "status": F, "flags": ["free_text"], "raw_text": "less memory"}})
    bob = make_submission(a, student="bob", answers={
        "1.ii": {"score": 0.0, "status": F, "flags": ["ambiguous"], "parsed": 15,
                 "raw_text": "11 or 15"},
        "2": {"score": 0.0, "status": F, "flags": ["free_text"], "raw_text": "no idea"}})
    carol = make_submission(a, student="carol", answers={
        "1.ii": {"score": 0.0, "parsed": 15, "raw_text": "15"}})
    dave = make_submission(b, student="dave", answers={
        "2": {"score": 0.0, "status": F, "flags": ["free_text"], "raw_text": "secret of B"}})
    return {"exam": a, "other_exam": b, "ta": ta, "instructor": instructor, "ta_b": ta_b,
            "alice": alice, "bob": bob, "carol": carol, "dave": dave}


def answer_of(submission, label) -> Answer:
    return submission.answers.get(question__label=label)


def review_post(client, answer, new_score="", comment="", queue_filters=""):
    """POST the answer change form as the browser does (incl. the read-only inline's
    management form)."""
    url = f"/admin/exams/answer/{answer.pk}/change/"
    if queue_filters:
        url += f"?_changelist_filters={queue_filters}"
    n = answer.reviews.count()
    return client.post(url, {"new_score": new_score, "comment": comment,
                             "reviews-TOTAL_FORMS": n, "reviews-INITIAL_FORMS": n,
                             "reviews-MIN_NUM_FORMS": 0, "reviews-MAX_NUM_FORMS": 1000})
