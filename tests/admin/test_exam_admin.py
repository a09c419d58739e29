"""Exam-level admin: regrade (old vs new per submission), release, statistics, CSV, roles."""
import csv
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages

from exams import review, services
from exams.models import Answer, Enrollment, ExamRole, Submission
from tests.admin.conftest import answer_of, review_post


@pytest.fixture
def fake_grading(monkeypatch):
    """Stands in for the grading task: the key of 1.ii became 15, so answers parsed as 15 now
    get full marks (submission_store_results keeps reviewed answers as they are)."""
    def enqueue(*, submission_id):
        s = Submission.objects.get(pk=submission_id)
        s = services.submission_transition(submission=s, to=Submission.Status.PROCESSING)
        for a in s.answers.exclude(status=Answer.Status.REVIEWED):
            if a.question.label == "1.ii":
                a.score = a.suggested_score = 2.0 if a.parsed == 15 else 0.0
                a.save()
        services.submission_finish(submission=s)
        return True

    monkeypatch.setattr(services, "submission_enqueue", enqueue)


@pytest.mark.django_db(transaction=True)
def test_regrade_all_reports_old_and_new_scores_and_keeps_overrides(client, course, fake_grading):
    client.force_login(course["ta"])
    review_post(client, answer_of(course["bob"], "1.ii"), new_score="1", comment="half")
    client.force_login(course["instructor"])
    response = client.post("/admin/exams/exam/", {"action": "regrade_keep_overrides",
                                                  "_selected_action": [course["exam"].pk]})
    assert response.status_code == 302
    message = [m.message for m in get_messages(response.wsgi_request)][-1]
    carol, alice = course["carol"], course["alice"]
    assert f"#{carol.pk} carol 0 → 2" in message
    assert f"#{alice.pk} alice 5 → 3" in message
    assert "bob" not in message  # his 1.ii was decided by a TA: kept
    assert answer_of(course["bob"], "1.ii").score == 1.0
    log = LogEntry.objects.get(object_id=str(course["exam"].pk), user=course["instructor"])
    assert "carol 0 → 2" in log.get_change_message()


@pytest.mark.django_db(transaction=True)
def test_regrade_all_can_discard_overrides(course, fake_grading):
    bob_answer = answer_of(course["bob"], "1.ii")
    review.answer_review(answer=bob_answer, reviewer=course["ta"], new_score=1.0, comment="half")
    report = review.exam_regrade_all(exam=course["exam"], keep_overrides=False)
    assert report.overrides_discarded == 1
    bob_answer.refresh_from_db()
    assert bob_answer.score == 2.0  # the machine's score under the new key
    rows = {r["student"]: r for r in report.changes()}
    assert rows["bob"]["old_score"] == 1.0 and rows["bob"]["new_score"] == 2.0
    assert not any(r["pending"] for r in rows.values())


def test_regrade_skips_submissions_still_grading(course, django_capture_on_commit_callbacks):
    Submission.objects.filter(pk=course["carol"].pk).update(status="processing")
    with django_capture_on_commit_callbacks() as callbacks:
        report = review.exam_regrade_all(exam=course["exam"])
    assert report.skipped == {course["carol"].pk: "processing"}
    assert len(callbacks) == len(report.queued) == 2


def test_release_action_is_refused_with_unreviewed_flags_unless_forced(client, course):
    client.force_login(course["instructor"])
    response = client.post("/admin/exams/exam/", {"action": "release_results",
                                                  "_selected_action": [course["exam"].pk]})
    message = [m.message for m in get_messages(response.wsgi_request)][-1]
    # The API's 409 message, word for word: alice's 2, bob's 1.ii and 2 are flagged.
    assert message == ("EX-A: 3 flagged answer(s) are not reviewed yet; students would see "
                       "provisional scores. Review them first, or release anyway with force.")
    course["exam"].refresh_from_db()
    assert course["exam"].results_released is False
    response = client.post("/admin/exams/exam/", {"action": "release_results_force",
                                                  "_selected_action": [course["exam"].pk]})
    message = [m.message for m in get_messages(response.wsgi_request)][-1]
    assert "released with 3 unreviewed flagged answer(s)" in message and "forced" in message
    course["exam"].refresh_from_db()
    assert course["exam"].results_released is True
    record = course["exam"].releases.get()
    assert (record.by, record.forced, record.unreviewed) == (course["instructor"], True, 3)
    assert LogEntry.objects.filter(object_id=str(course["exam"].pk)).exists()


def test_release_action_once_everything_is_reviewed(client, course):
    from exams.models import Answer

    for a in Answer.objects.filter(submission__exam=course["exam"], status="flagged"):
        review.answer_review(answer=a, reviewer=course["ta"])
    client.force_login(course["instructor"])
    client.post("/admin/exams/exam/", {"action": "release_results",
                                       "_selected_action": [course["exam"].pk]})
    course["exam"].refresh_from_db()
    assert course["exam"].results_released is True
    assert course["exam"].releases.get().forced is False


def test_instructor_edits_the_policies_in_the_admin(client, course):
    url = f"/admin/exams/exam/{course['exam'].pk}/change/"
    data = {"opens_at_0": "2030-01-10", "opens_at_1": "09:00:00",
            "closes_at_0": "2030-01-10", "closes_at_1": "08:00:00",
            "allow_resubmission": "", "counting": "best",
            "regrade_requests_until_0": "", "regrade_requests_until_1": "",
            "roles-TOTAL_FORMS": 2, "roles-INITIAL_FORMS": 2, "roles-MIN_NUM_FORMS": 0,
            "roles-MAX_NUM_FORMS": 1000,
            "releases-TOTAL_FORMS": 0, "releases-INITIAL_FORMS": 0, "releases-MIN_NUM_FORMS": 0,
            "releases-MAX_NUM_FORMS": 1000}
    for i, r in enumerate(course["exam"].roles.order_by("id")):
        data[f"roles-{i}-id"] = r.pk
        data[f"roles-{i}-exam"] = course["exam"].pk
    client.force_login(course["instructor"])
    bad = client.post(url, data)
    assert bad.status_code == 200 and "must be after opens_at" in bad.content.decode()
    data["closes_at_1"] = "11:00:00"
    assert client.post(url, data).status_code == 302
    exam = course["exam"]
    exam.refresh_from_db()
    assert (exam.counting, exam.allow_resubmission, exam.closes_at.hour) == ("best", False, 11)
    client.force_login(course["ta"])  # TAs read the policies, they do not change them
    assert client.post(url, {**data, "counting": "first"}).status_code == 403


def test_statistics_page_and_histograms(client, course):
    client.force_login(course["ta"])
    page = client.get(f"/admin/exams/exam/{course['exam'].pk}/stats/")
    assert page.status_code == 200
    by_label = {q.label: q for q in page.context["questions"]}
    assert by_label["1.ii"].answered == 3 and by_label["1.ii"].mean == pytest.approx(2 / 3, abs=1e-3)
    assert by_label["1.ii"].flag_rate == pytest.approx(1 / 3, abs=1e-3)
    assert by_label["1.ii"].histogram == [2, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    for label in ("total", "1.ii"):
        png = client.get(f"/admin/exams/exam/{course['exam'].pk}/stats/{label}.png")
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert client.get(f"/admin/exams/exam/{course['exam'].pk}/stats/9.z.png").status_code == 404


def test_csv_export_action_and_view(client, course):
    client.force_login(course["ta"])
    response = client.post("/admin/exams/exam/", {"action": "export_csv",
                                                  "_selected_action": [course["exam"].pk]})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert [r[1] for r in rows[1:]] == ["alice", "bob", "carol"]
    view = client.get(f"/admin/exams/exam/{course['exam'].pk}/results.csv")
    assert view.content == response.content


def test_role_admin_keeps_groups_in_sync(client, course, django_user_model):
    root = django_user_model.objects.create_superuser("root", "r@example.com", "x" * 12)
    newbie = django_user_model.objects.create(username="newbie")
    client.force_login(root)
    response = client.post("/admin/exams/examrole/add/", {"exam": course["exam"].pk,
                                                          "user": newbie.pk, "role": "ta"})
    assert response.status_code == 302
    newbie.refresh_from_db()
    assert newbie.is_staff and newbie.groups.filter(name="ta").exists()
    role = ExamRole.objects.get(user=newbie)
    client.post(f"/admin/exams/examrole/{role.pk}/delete/", {"post": "yes"})
    assert not newbie.groups.filter(name="ta").exists()


def test_groups_exist_with_permissions(db):
    from django.contrib.auth.models import Group

    ta = set(Group.objects.get(name="ta").permissions.values_list("codename", flat=True))
    assert {"view_answer", "change_answer", "add_review"} <= ta
    assert "change_exam" not in ta
    assert "change_exam" in Group.objects.get(name="instructor").permissions.values_list(
        "codename", flat=True)


def test_create_demo_course_is_idempotent(db, media_root, capsys, monkeypatch):
    from django.core.management import call_command

    from tests.api.factories import EXAM_YAML

    path = media_root / "exam.yaml"
    media_root.mkdir(parents=True, exist_ok=True)
    path.write_text(EXAM_YAML.format(code="DEMO-1"))
    call_command("create_demo_course", exam=str(path))
    first = capsys.readouterr().out
    call_command("create_demo_course", exam=str(path))
    second = capsys.readouterr().out
    assert first.splitlines()[-6:] == second.splitlines()[-6:]  # same users, same tokens
    assert ExamRole.objects.filter(exam__code="DEMO-1").count() == 2
    assert sorted(Enrollment.objects.filter(exam__code="DEMO-1").values_list(
        "user__student_profile__student_id", flat=True)) == ["student1", "student2", "student3"]
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    assert authenticate(RequestFactory().post("/admin/login/"), username="ta", password="demo-ta") is not None


@pytest.mark.django_db(transaction=True)
def test_a_document_flag_holds_the_submission_for_review_until_a_ta_confirms_it(client, course):
    """Two students' scans in one file: every answer read fine, yet the submission waits for a
    TA (needs_review); the TA sees why on the submission and confirms the document."""
    s = course["carol"]
    assert s.status == Submission.Status.GRADED
    services.submission_finish(submission=s, flags=["page_twice"])
    s.refresh_from_db()
    assert s.status == Submission.Status.NEEDS_REVIEW and s.flags == ["page_twice"]
    client.force_login(course["ta"])
    listed = client.get("/admin/exams/submission/?document=page_twice").content.decode()
    assert f"/admin/exams/submission/{s.pk}/change/" in listed
    assert "twice, with different ink" in client.get(
        f"/admin/exams/submission/{s.pk}/change/").content.decode()
    client.force_login(course["instructor"])
    response = client.post("/admin/exams/submission/", {"action": "confirm_document",
                                                        "_selected_action": [s.pk]})
    assert response.status_code == 302
    s.refresh_from_db()
    assert s.flags == [] and s.status == Submission.Status.GRADED
