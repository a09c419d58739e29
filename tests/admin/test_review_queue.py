"""The TA review workflow through the admin views (Django test client, real database)."""
import pytest
from django.contrib.admin.models import LogEntry

from exams import groups as answer_groups
from exams.models import Answer, Review, Submission
from tests.admin.conftest import answer_of, review_post
from tests.api.factories import make_submission

QUEUE = "/admin/exams/answer/"


def queue_ids(response) -> set[int]:
    return {a.pk for a in response.context["cl"].result_list}


def test_queue_shows_flagged_answers_by_default(client, course):
    client.force_login(course["ta"])
    response = client.get(QUEUE)
    assert response.status_code == 200
    expected = {answer_of(course["alice"], "2").pk, answer_of(course["bob"], "1.ii").pk,
                answer_of(course["bob"], "2").pk}
    assert queue_ids(response) == expected
    html = response.content.decode()
    bob = answer_of(course["bob"], "1.ii").pk
    assert "11 or 15" in html                       # raw text beside the parsed value
    assert f"/admin/exams/answer/{bob}/thumb.png" in html      # the answer's crop
    assert f"/admin/exams/answer/{bob}/grade/" in html         # a row opens the grading page
    assert "Two different final answers" in html               # the flag in words (a tooltip)


def test_queue_filters(client, course):
    client.force_login(course["ta"])
    exam = course["exam"].pk
    by_question = client.get(QUEUE, {"exam": exam, "question": "1.ii"})
    assert queue_ids(by_question) == {answer_of(course["bob"], "1.ii").pk}
    by_flag = client.get(QUEUE, {"flag": "free_text"})
    assert queue_ids(by_flag) == {answer_of(course["alice"], "2").pk,
                                  answer_of(course["bob"], "2").pk}
    auto = client.get(QUEUE, {"queue": "auto", "question": "1.ii"})
    assert queue_ids(auto) == {answer_of(course["alice"], "1.ii").pk,
                               answer_of(course["carol"], "1.ii").pk}
    assert len(queue_ids(client.get(QUEUE, {"queue": "all"}))) == 6


def test_override_with_comment_records_a_review_and_updates_the_submission(client, course):
    ta, bob = course["ta"], course["bob"]
    client.force_login(ta)
    answer = answer_of(bob, "1.ii")
    page = client.get(f"/admin/exams/answer/{answer.pk}/change/")
    assert page.status_code == 200 and "11 or 15" in page.content.decode()
    response = review_post(client, answer, new_score="1", comment="both 11 and 15 given: half",
                           queue_filters="queue%3Dflagged")
    assert response.status_code == 302
    assert response["Location"] == "/admin/exams/answer/?queue=flagged"
    review = Review.objects.get(answer=answer)
    assert (review.reviewer, review.old_score, review.new_score, review.old_status, review.comment) \
        == (ta, 0.0, 1.0, "flagged", "both 11 and 15 given: half")
    answer.refresh_from_db()
    bob.refresh_from_db()
    assert (answer.status, answer.score) == ("reviewed", 1.0)
    assert bob.score == 1.0
    assert bob.status == "needs_review"  # question 2 is still flagged
    # The history is on the answer page, read-only.
    html = client.get(f"/admin/exams/answer/{answer.pk}/change/").content.decode()
    assert "both 11 and 15 given: half" in html
    # The last flagged answer reviewed -> the submission is graded.
    review_post(client, answer_of(bob, "2"), new_score="", comment="")
    bob.refresh_from_db()
    assert (bob.status, bob.score) == ("graded", 1.0)


def test_override_needs_a_comment_and_a_score_in_range(client, course):
    client.force_login(course["ta"])
    answer = answer_of(course["bob"], "1.ii")
    no_comment = review_post(client, answer, new_score="2")
    assert no_comment.status_code == 200
    assert "say why" in no_comment.content.decode()
    too_high = review_post(client, answer, new_score="5", comment="great")
    assert "between 0 and 2" in too_high.content.decode()
    assert not Review.objects.exists()
    answer.refresh_from_db()
    assert answer.status == "flagged"


def test_bulk_confirm(client, course):
    client.force_login(course["ta"])
    flagged = Answer.objects.filter(submission__exam=course["exam"], status="flagged")
    ids = list(flagged.values_list("pk", flat=True))
    response = client.post(QUEUE, {"action": "bulk_confirm", "_selected_action": ids})
    assert response.status_code == 302
    assert Review.objects.filter(answer_id__in=ids, comment__contains="bulk").count() == 3
    assert not flagged.exists()
    statuses = set(Submission.objects.filter(exam=course["exam"]).values_list("status", flat=True))
    assert statuses == {"graded"}
    assert Answer.objects.get(pk=answer_of(course["dave"], "2").pk).status == "flagged"


def test_page_image_is_served_to_staff_of_the_exam_only(client, course):
    answer = answer_of(course["bob"], "1.ii")
    url = f"/admin/exams/answer/{answer.pk}/page/1.png"
    client.force_login(course["ta"])
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")
    assert client.get(f"/admin/exams/answer/{answer.pk}/page/9.png").status_code == 404
    client.force_login(course["ta_b"])
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the admin login


def test_staff_see_only_their_exams(client, course):
    client.force_login(course["ta_b"])
    response = client.get(QUEUE)
    assert queue_ids(response) == {answer_of(course["dave"], "2").pk}
    html = response.content.decode()
    assert "EX-A" not in html and "secret of B" in html
    alien = answer_of(course["bob"], "1.ii")
    assert client.get(f"/admin/exams/answer/{alien.pk}/change/").status_code == 302  # "doesn't exist"
    review_post(client, alien, new_score="2", comment="sneaky")
    assert not Review.objects.exists()
    subs = client.get("/admin/exams/submission/")
    assert {s.student for s in subs.context["cl"].result_list} == {"dave"}
    assert client.get(f"/admin/exams/exam/{course['exam'].pk}/stats/").status_code == 404
    for exam, student in ((course["exam"], "zoe"), (course["other_exam"], "erin")):
        make_submission(exam, student=student, answers={"2": {
            "status": "flagged", "flags": ["free_text"],
            "raw_text": "no idea" if exam == course["exam"] else "secret of B"}})
    shown = client.get("/admin/exams/answer/groups/").context["groups"]
    assert {g.question.exam.code for g in shown} == {"EX-B"}
    alien = answer_groups.answer_groups(Answer.objects.filter(submission__exam=course["exam"]))
    assert client.get(f"/admin/exams/answer/groups/{alien[0].id}/").status_code == 302
    assert client.get(f"/admin/exams/answer/{answer_of(course['bob'], '1.ii').pk}/grade/"
                      ).status_code == 404
    q = course["exam"].questions.get(label="2")
    assert client.get(f"/admin/exams/answer/grade/question/{q.pk}/").status_code == 404


def test_ta_cannot_run_instructor_actions(client, course):
    client.force_login(course["ta"])
    page = client.get("/admin/exams/exam/")
    assert "regrade_keep_overrides" not in page.content.decode()
    client.post("/admin/exams/exam/", {"action": "release_results",
                                       "_selected_action": [course["exam"].pk]})
    course["exam"].refresh_from_db()
    assert course["exam"].results_released is False


def test_admin_history_records_a_review_as_a_change(client, course):
    client.force_login(course["ta"])
    answer = answer_of(course["bob"], "2")
    review_post(client, answer, new_score="0.5", comment="some idea")
    assert LogEntry.objects.filter(object_id=str(answer.pk), user=course["ta"]).exists()


@pytest.mark.parametrize("path", ["/admin/exams/submission/{s}/change/", "/admin/exams/submission/{s}/pdf/"])
def test_submission_pages(client, course, path):
    url = path.format(s=course["bob"].pk)
    client.force_login(course["instructor"])
    response = client.get(url)
    assert response.status_code == 200
    client.force_login(course["ta_b"])
    assert client.get(url).status_code in (302, 404)


def test_submission_page_lists_its_answers_and_review_history_read_only(client, course):
    answer = answer_of(course["bob"], "2")
    client.force_login(course["ta"])
    review_post(client, answer, new_score="0.5", comment="some idea")
    page = client.get(f"/admin/exams/submission/{course['bob'].pk}/change/").content.decode()
    assert f'/admin/exams/answer/{answer.pk}/change/' in page     # the answer inline's links
    assert 'name="answers-0-score"' not in page                    # shown, not editable
    history = client.get(f"/admin/exams/answer/{answer.pk}/change/").content.decode()
    assert "some idea" in history and 'name="reviews-0-comment"' not in history
