"""Students and courses through the API: exam lists, policies, resubmission, one row per
student, roster and staff, uploads on a student's behalf, gradebook exports, feedback and
regrade requests."""
import csv
import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from exams import feedback
from exams.models import Answer, Exam, RegradeRequest, Review, Submission
from exams.stats import question_stats, total_scores
from tests.api.factories import (
    as_user, enroll, make_submission, make_user, make_world, pdf_bytes,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(media_root):
    return make_world()


_PDFS: dict[str, bytes] = {}


def upload(client, code, text="answers", **extra):
    # One PDF per text: reportlab stamps each file it makes, and "the same file" means the
    # same bytes.
    content = _PDFS.setdefault(text, pdf_bytes(text=text))
    pdf = SimpleUploadedFile("answers.pdf", content, content_type="application/pdf")
    return client.post(f"/api/exams/{code}/submissions/", {"pdf": pdf, **extra}, format="multipart")


def release(world):
    Exam.objects.filter(pk=world["exam"].pk).update(results_released=True)


def rows_of(text):
    return list(csv.reader(io.StringIO(text)))


# ---------------------------------------------------------------- exams and policies

def test_exam_list_shows_what_each_user_may_see(world):
    u = world["users"]
    listed = {name: [(e["code"], e["role"]) for e in as_user(u[name]).get("/api/exams/").json()]
              for name in ("student_owner", "other_student", "ta", "instructor_other", "superuser")}
    assert listed["student_owner"] == [("EX-A", "student")]     # enrolled (and submitted)
    assert listed["other_student"] == []
    assert listed["ta"] == [("EX-A", "ta")]
    assert listed["instructor_other"] == [("EX-B", "instructor")]
    assert listed["superuser"] == [("EX-A", "instructor"), ("EX-B", "instructor")]
    # Submitting makes an exam visible; no keys or questions are listed for anyone.
    assert upload(as_user(u["other_student"]), "EX-B").status_code == 202
    body = as_user(u["other_student"]).get("/api/exams/").json()
    assert [e["code"] for e in body] == ["EX-B"] and "questions" not in body[0]
    assert body[0]["open_for_submissions"] is True and body[0]["counting"] == "latest"


def test_policies_patch_is_checked(world):
    client = as_user(world["users"]["instructor"])
    bad = client.patch("/api/exams/EX-A/", {"opens_at": "2030-01-10T10:00:00Z",
                                            "closes_at": "2030-01-10T09:00:00Z"}, format="json")
    assert bad.status_code == 400 and "closes_at" in bad.json()["error"]
    ok = client.patch("/api/exams/EX-A/", {"closes_at": "2030-01-10T11:00:00Z", "counting": "best",
                                           "regrade_requests_until": "2030-02-01T00:00:00Z"},
                      format="json")
    assert ok.status_code == 200, ok.content
    assert (ok.json()["counting"], ok.json()["closes_at"]) == ("best", "2030-01-10T11:00:00Z")
    assert client.patch("/api/exams/EX-A/", {"counting": "median"},
                        format="json").status_code == 400


def test_submission_window_and_resubmission_policy(world):
    student = as_user(world["users"]["other_student"])
    now = timezone.now()
    exam = world["exam"]
    Exam.objects.filter(pk=exam.pk).update(opens_at=now + timedelta(hours=1))
    early = upload(student, "EX-A")
    assert early.status_code == 409 and "opens for submissions at" in early.json()["error"]
    Exam.objects.filter(pk=exam.pk).update(opens_at=now - timedelta(hours=2),
                                           closes_at=now - timedelta(hours=1))
    late = upload(student, "EX-A")
    assert late.status_code == 409 and "Submissions closed at" in late.json()["error"]
    Exam.objects.filter(pk=exam.pk).update(closes_at=now + timedelta(hours=1),
                                           allow_resubmission=False)
    first = upload(student, "EX-A", text="first try")
    assert first.status_code == 202 and first.json()["duplicate"] is False
    # The very same file again: the same submission, nothing new (even without resubmission).
    same = upload(student, "EX-A", text="first try")
    assert same.status_code == 200 and same.json()["id"] == first.json()["id"]
    assert same.json()["duplicate"] is True
    second = upload(student, "EX-A", text="second try")
    assert second.status_code == 409 and "one submission per student" in second.json()["error"]
    Exam.objects.filter(pk=exam.pk).update(allow_resubmission=True)
    assert upload(student, "EX-A", text="second try").status_code == 202
    # After the release nobody resubmits; staff uploads are still accepted (paper scans).
    release(world)
    after = upload(student, "EX-A", text="third try")
    assert after.status_code == 409 and "released" in after.json()["error"]
    Exam.objects.filter(pk=exam.pk).update(closes_at=now - timedelta(minutes=1))
    staff = upload(as_user(world["users"]["ta"]), "EX-A", text="scan", student="u001")
    assert staff.status_code == 202
    assert Submission.objects.filter(user=world["users"]["other_student"]).count() == 2


def test_one_row_per_student_in_the_csv_and_the_statistics(world):
    exam, owner = world["exam"], world["users"]["student_owner"]
    # The owner submits twice more: a worse one, then a better one on 1.ii.
    worse = make_submission(exam, owner, answers={"1.ii": {"score": 0.0, "parsed": 15}})
    better = make_submission(exam, owner, answers={"1.ii": {"score": 2.0, "parsed": 11},
                                                   "2": {"score": 2.0}})
    make_submission(exam, student="zoe", answers={"1.ii": {"score": 1.0}})
    ta = as_user(world["users"]["ta"])

    def csv_rows():
        return rows_of(ta.get("/api/exams/EX-A/results.csv").content.decode())

    rows = csv_rows()
    assert [(r[1], r[0], r[-1]) for r in rows[1:]] == [("owner", str(better.pk), "3"),
                                                       ("zoe", rows[2][0], "1")]
    assert [q.answered for q in question_stats(exam)] == [2, 0, 1]
    assert sorted(total_scores(exam)) == [1.0, 4.0]
    Exam.objects.filter(pk=exam.pk).update(counting="first")
    exam.refresh_from_db()
    assert csv_rows()[1][0] == str(world["submission"].pk)
    Exam.objects.filter(pk=exam.pk).update(counting="best")
    exam.refresh_from_db()
    assert csv_rows()[1][0] == str(better.pk) and worse.pk not in {int(r[0]) for r in csv_rows()[1:]}
    # The student's own list says which one counts.
    listed = as_user(owner).get("/api/exams/EX-A/submissions/").json()
    assert [(r["id"], r["counts"]) for r in listed] == [
        (world["submission"].pk, False), (worse.pk, False), (better.pk, True)]


# ---------------------------------------------------------------- release

def test_release_counts_only_the_submissions_that_count_and_waits_for_grading(world):
    exam, owner = world["exam"], world["users"]["student_owner"]
    instructor = as_user(world["users"]["instructor"])
    # A newer submission without flags replaces the flagged one: nothing left to review.
    make_submission(exam, owner, answers={"1.ii": {"score": 2.0}})
    grading = make_submission(exam, student="late")
    Submission.objects.filter(pk=grading.pk).update(status="processing")
    refused = instructor.post("/api/exams/EX-A/release/", {}, format="json")
    assert refused.status_code == 409
    assert refused.json()["unreviewed"] == 0 and refused.json()["grading"] == 1
    assert "still being graded" in refused.json()["error"]
    Submission.objects.filter(pk=grading.pk).update(status="graded")
    done = instructor.post("/api/exams/EX-A/release/", {}, format="json")
    assert done.status_code == 200 and done.json()["forced"] is False


# ---------------------------------------------------------------- roster and staff

def test_roster_import_is_all_or_nothing_and_makes_accounts(world):
    client = as_user(world["users"]["instructor"])

    def post(text):
        return client.post("/api/exams/EX-A/roster/import/",
                           {"csv": SimpleUploadedFile("roster.csv", text.encode())},
                           format="multipart")

    bad = post("student id,name,email\nu100,Ada Lovelace,ada@example.org\nu101,Bob,nope\n")
    assert bad.status_code == 400 and "line 3: email 'nope'" in bad.json()["error"]
    assert not Exam.objects.get(code="EX-A").enrollments.filter(user__username="u100").exists()
    good = post("student id,name,email\nu100,Ada Lovelace,ada@example.org\nu001,Owner,\n")
    assert good.status_code == 200, good.content
    assert good.json()["enrolled"] == ["u100"] and good.json()["already"] == ["u001"]
    assert good.json()["accounts_created"] == ["u100"]
    roster = client.get("/api/exams/EX-A/roster/").json()
    ada = next(s for s in roster["students"] if s["student_id"] == "u100")
    assert (ada["username"], ada["name"], ada["email"]) == ("u100", "Ada Lovelace", "ada@example.org")
    assert {(s["username"], s["role"]) for s in roster["staff"]} == {("ta_a", "ta"),
                                                                     ("instr_a", "instructor")}
    # A staff account's username cannot be taken as a student id.
    clash = post("student id,name\nta_a,Sneaky\n")
    assert clash.status_code == 400 and "staff account" in clash.json()["error"]


def test_staff_management(world):
    client = as_user(world["users"]["instructor"])
    added = client.post("/api/exams/EX-A/staff/", {"username": "newta", "role": "ta",
                                                   "email": "ta@example.org"}, format="json")
    assert added.status_code == 201 and added.json()["account_created"] is True
    newta = as_user(Exam.objects.get(code="EX-A").roles.get(user__username="newta").user)
    assert newta.get("/api/exams/EX-A/").status_code == 200
    refused = client.post("/api/exams/EX-A/staff/", {"username": "owner", "role": "ta"}, format="json")
    assert refused.status_code == 400 and "student's account" in refused.json()["error"]
    last = client.delete("/api/exams/EX-A/staff/instr_a/instructor/")
    assert last.status_code == 409 and "only instructor" in last.json()["error"]
    assert client.delete("/api/exams/EX-A/staff/newta/ta/").status_code == 204
    assert newta.get("/api/exams/EX-A/").status_code == 403
    assert client.delete("/api/exams/EX-A/staff/newta/ta/").status_code == 404


def test_staff_upload_is_matched_to_the_student_by_id(world):
    ta = world["users"]["ta"]
    done = upload(as_user(ta), "EX-A", text="paper scan", student="u001")
    assert done.status_code == 202, done.content
    s = Submission.objects.get(pk=done.json()["id"])
    assert (s.user, s.student, s.uploaded_by) == (world["users"]["student_owner"], "owner", ta)
    # It is the student's: they see it; the other student does not.
    assert as_user(world["users"]["student_owner"]).get(f"/api/submissions/{s.pk}/").status_code == 200
    unknown = upload(as_user(ta), "EX-A", student="u999")
    assert unknown.status_code == 400 and "no student 'u999' on the roster" in unknown.json()["error"]
    named = upload(as_user(world["users"]["student_owner"]), "EX-A", student="u001")
    assert named.status_code == 403


def test_gradebook_exports(world):
    exam = world["exam"]
    owner = world["users"]["student_owner"]
    owner.first_name, owner.last_name, owner.email = "Olga", "Owner", "olga@example.org"
    owner.save()
    graded = make_submission(exam, owner, answers={"1.ii": {"score": 2.0}, "2": {"score": 1.5}})
    make_submission(exam, student="walkin", answers={"2": {"score": 1.0, "status": "flagged",
                                                           "flags": ["free_text"]}})
    client = as_user(world["users"]["ta"])
    canvas = rows_of(client.get("/api/exams/EX-A/gradebook.csv").content.decode())
    assert canvas == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Exam EX-A"],
                      ["Points Possible", "", "", "", "", "6"],
                      ["walkin", "", "walkin", "", "", ""],      # flagged: left empty
                      ["Owner, Olga", "", "u001", "", "", "3.5"]]
    moodle = rows_of(client.get("/api/exams/EX-A/gradebook.csv?lms=moodle").content.decode())
    assert moodle[0] == ["First name", "Last name", "ID number", "Email address", "Exam EX-A"]
    assert ["Olga", "Owner", "u001", "olga@example.org", "3.5"] in moodle
    assert client.get("/api/exams/EX-A/gradebook.csv?lms=blackboard").status_code == 400
    assert graded.pk  # the counting (latest) submission is the graded one


# ---------------------------------------------------------------- feedback and regrades

def test_feedback_shows_ta_comments_and_rubric_items_never_flags(world, monkeypatch):
    from exams import review

    sub, ta = world["submission"], world["users"]["ta"]
    answer2 = sub.answers.get(question__label="2")
    review.answer_review(answer=answer2, reviewer=ta, new_score=1.5, comment="good start; "
                         "mention memory")
    answer1 = sub.answers.get(question__label="1.ii")
    review.answers_bulk_confirm(answers=[answer1], reviewer=ta)   # not a comment for students
    monkeypatch.setattr(feedback, "_rubric_items", lambda a, q: (
        (feedback.AppliedRubricItem("reduces memory", 1.0),) if q.label == "2" else ()))
    release(world)
    results = as_user(world["users"]["student_owner"]).get(f"/api/submissions/{sub.pk}/").json()["results"]
    q2 = results["questions"][2]
    assert (q2["score"], q2["state"], q2["comments"]) == (1.5, "checked by a TA",
                                                          ["good start; mention memory"])
    assert q2["rubric_items"] == [{"text": "reduces memory", "points": 1.0}]
    assert results["questions"][0]["comments"] == [] and results["provisional"] is False
    assert results["questions"][0]["crops"] == [f"/api/submissions/{sub.pk}/crops/1.ii/1.png"]
    assert results["questions"][0]["read_as"] == "11"


def test_regrade_request_lifecycle(world):
    sub = world["submission"]
    owner, ta = world["users"]["student_owner"], world["users"]["ta"]
    student = as_user(owner)
    url = f"/api/submissions/{sub.pk}/regrade-requests/"
    early = student.post(url, {"question": "2", "reason": "please"}, format="json")
    assert early.status_code == 409 and "not released" in early.json()["error"]
    release(world)
    assert student.post(url, {"question": "9.z", "reason": "x"}, format="json").status_code == 400
    assert student.post(url, {"question": "2", "reason": " "}, format="json").status_code == 400
    made = student.post(url, {"question": "2", "reason": "I explained memory savings too"},
                        format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert (body["question"], body["status"], body["score_before"]) == ("2", "open", 1.0)
    again = student.post(url, {"question": "2", "reason": "again"}, format="json")
    assert again.status_code == 409 and "already asked" in again.json()["error"]
    # Lists: the student's own; staff of the exam; not another exam's staff or student.
    assert [r["id"] for r in student.get("/api/regrade-requests/").json()] == [body["id"]]
    assert as_user(world["users"]["other_student"]).get("/api/regrade-requests/").json() == []
    assert as_user(world["users"]["ta_other"]).get("/api/regrade-requests/").json() == []
    queue = as_user(ta).get("/api/regrade-requests/?status=open&exam=EX-A").json()
    assert [r["id"] for r in queue] == [body["id"]]
    # The TA resolves it with a new score: a Review, the total recomputed, the student reads it.
    resolve = f"/api/regrade-requests/{body['id']}/resolve/"
    assert as_user(ta).post(resolve, {"response": "", "new_score": 2}, format="json").status_code == 400
    assert as_user(ta).post(resolve, {"response": "x", "new_score": 5},
                            format="json").status_code == 400   # more than the 2 points
    done = as_user(ta).post(resolve, {"response": "Yes, memory is mentioned: full marks.",
                                      "new_score": 2}, format="json")
    assert done.status_code == 200, done.content
    assert (done.json()["status"], done.json()["score_after"], done.json()["resolved_by"]) == (
        "resolved", 2.0, "ta_a")
    sub.refresh_from_db()
    assert (sub.score, sub.status) == (4.0, "graded")
    review_row = Review.objects.get(submission=sub, question__label="2")
    assert (review_row.old_score, review_row.new_score, review_row.reviewer) == (1.0, 2.0, ta)
    assert review_row.comment.startswith(f"Regrade request #{body['id']}: ")
    seen = student.get(f"/api/submissions/{sub.pk}/").json()["results"]["questions"][2]
    assert seen["regrade"]["response"] == "Yes, memory is mentioned: full marks."
    assert seen["score"] == 2.0 and seen["comments"] == []   # the answer is not repeated
    assert student.get(f"/api/regrade-requests/{body['id']}/").json()["resolved_by"] is None
    assert as_user(ta).post(resolve, {"response": "again"}, format="json").status_code == 409


def test_regrade_deadline_counting_and_unanswered_questions(world):
    sub, owner = world["submission"], world["users"]["student_owner"]
    student = as_user(owner)
    url = f"/api/submissions/{sub.pk}/regrade-requests/"
    release(world)
    Exam.objects.filter(pk=world["exam"].pk).update(
        regrade_requests_until=timezone.now() - timedelta(minutes=1))
    late = student.post(url, {"question": "1.iv", "reason": "it is on page 2"}, format="json")
    assert late.status_code == 409 and "deadline" in late.json()["error"]
    Exam.objects.filter(pk=world["exam"].pk).update(regrade_requests_until=None)
    # 1.iv was not found at all: resolving it with points creates the answer, reviewed.
    made = student.post(url, {"question": "1.iv", "reason": "it is on page 2"}, format="json").json()
    done = as_user(world["users"]["instructor"]).post(
        f"/api/regrade-requests/{made['id']}/resolve/",
        {"response": "Found it on page 2, correct.", "new_score": 2}, format="json")
    assert done.status_code == 200, done.content
    answer = sub.answers.get(question__label="1.iv")
    assert (answer.status, answer.score) == (Answer.Status.REVIEWED, 2.0)
    # A newer submission takes over: the old one no longer takes requests.
    make_submission(world["exam"], owner, answers={"1.ii": {"score": 2.0}})
    stale = student.post(url, {"question": "1.ii", "reason": "x"}, format="json")
    assert stale.status_code == 409 and "does not count" in stale.json()["error"]
    assert RegradeRequest.objects.count() == 1


def test_crop_is_only_for_answers_on_their_pages(world):
    release(world)
    owner = as_user(world["users"]["student_owner"])
    sid = world["submission"].pk
    assert owner.get(f"/api/submissions/{sid}/crops/1.ii/1.png").status_code == 200
    assert owner.get(f"/api/submissions/{sid}/crops/1.ii/2.png").status_code == 404
    assert owner.get(f"/api/submissions/{sid}/crops/1.iv/1.png").status_code == 404  # unanswered


def test_schema_lists_the_new_contract_paths(client):
    schema = client.get("/api/schema/?format=json").json()
    for p in ["/api/exams/", "/api/exams/{code}/release/",
              "/api/submissions/{id}/regrade-requests/", "/api/regrade-requests/",
              "/api/exams/{code}/roster/", "/api/exams/{code}/gradebook.csv"]:
        assert p in schema["paths"], p
    assert "get" in schema["paths"]["/api/exams/"] and "post" in schema["paths"]["/api/exams/"]


def test_enrolled_student_without_submissions_sees_the_exam(world):
    newbie = make_user("newbie")
    enroll(world["other_exam"], newbie, "u555")
    assert [e["code"] for e in as_user(newbie).get("/api/exams/").json()] == ["EX-B"]
