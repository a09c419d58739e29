"""Exam-level admin: regrade (old vs new per submission), release, statistics, CSV, roles."""
import csv
import io

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages

from exams import review, services
from exams.models import Answer, ExamRole, Submission
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


def test_release_action_by_the_instructor(client, course):
    client.force_login(course["instructor"])
    client.post("/admin/exams/exam/", {"action": "release_results",
                                       "_selected_action": [course["exam"].pk]})
    course["exam"].refresh_from_db()
    assert course["exam"].results_released is True


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
    from django.contrib.auth import authenticate
    from django.test import RequestFactory

    assert authenticate(RequestFactory().post("/admin/login/"), username="ta", password="demo-ta") is not None
