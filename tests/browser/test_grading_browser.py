"""A TA grades one question across 20 submissions in a real browser with rubric items and the
keyboard only, then changes an item's points and sees all 20 totals change (issue 16)."""
from __future__ import annotations

from exams import roles, rubric
from exams.models import Answer, Review, Submission
from tests.api.factories import make_exam, make_submission, make_user
from tests.browser.conftest import fits_the_window, login

N = 20


def test_grading_a_question_by_keyboard_then_changing_an_item(browser, live_server, settings,
                                                              media_root):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def wait(timeout: float) -> WebDriverWait:
        # The page is replaced after each key: an element found just before may be gone.
        return WebDriverWait(browser, timeout, ignored_exceptions=(StaleElementReferenceException,))

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast login
    exam = make_exam("EX-R")
    make_user("ta_r", exam=exam, role=roles.TA, password="ta-password-1")
    q2 = exam.questions.get(label="2")
    # The exam file's item (its keyword is the machine's suggestion).
    memory = rubric.rubric_item_create(question=q2, points=1, text="reduces memory",
                                       keywords=["memory"])
    # Even students mention memory (suggested); odd ones do not.
    students = [f"s{n:02d}" for n in range(N)]
    texts = {s: "it needs less memory" if n % 2 == 0 else "upsampling restores resolution"
             for n, s in enumerate(students)}
    for s in students:
        make_submission(exam, student=s, answers={
            "1.ii": {"score": 2.0, "parsed": 11, "raw_text": "11"},
            "2": {"status": Answer.Status.FLAGGED, "flags": ["free_text"], "raw_text": texts[s],
                  "parsed": texts[s]}})

    login(browser, live_server, "ta_r", "ta-password-1", "/admin/exams/answer/grade/")
    row = browser.find_element(By.CSS_SELECTOR, "tr.grade-question[data-question='2']")
    assert row.find_element(By.CSS_SELECTOR, "td.to-do").text == str(N)
    row.find_element(By.CSS_SELECTOR, "a.button").click()

    # A TA adds the second item while grading (the only typing before the keys).
    browser.find_element(By.CSS_SELECTOR, "#rubric-edit summary").click()
    add = browser.find_element(By.ID, "add-item")
    add.find_element(By.NAME, "points").send_keys("1")
    add.find_element(By.NAME, "text").send_keys("restores resolution")
    add.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "Added item +1" in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text

    for n, student in enumerate(students):
        wait(20).until(
            lambda d: d.find_element(By.ID, "student").text == student)
        boxes = browser.find_elements(By.CSS_SELECTOR, "#rubric-items input[type=checkbox]")
        suggested = [b.is_selected() for b in boxes]
        assert suggested == [n % 2 == 0, False]        # the suggestion, pre-selected only
        if n == 0:
            assert fits_the_window(browser)
        assert Answer.objects.get(submission__student=student, question=q2).status == "flagged"
        body = browser.find_element(By.TAG_NAME, "body")
        if n % 2:                                       # the suggestion kept on even ones
            body.send_keys("1")                         # item 1 on
            body.send_keys("2")                         # item 2 on
        assert browser.find_element(By.ID, "score-now").text == ("2" if n % 2 else "1")
        body.send_keys("\n")                            # save and next
    wait(20).until(lambda d: "/grade/" in d.current_url
                   and d.find_elements(By.ID, "grade-questions"))
    assert "every answer is graded" in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    row = browser.find_element(By.CSS_SELECTOR, "tr.grade-question[data-question='2']")
    assert (row.find_element(By.CSS_SELECTOR, "td.to-do").text,
            row.find_element(By.CSS_SELECTOR, "td.done").text) == ("0", str(N))
    before = {s: 2.0 + (2.0 if n % 2 else 1.0) for n, s in enumerate(students)}
    assert dict(Submission.objects.values_list("student", "score")) == before
    assert Review.objects.filter(kind="decision").count() == N

    # The rubric item is worth less after all: one change, twenty totals.
    row.find_element(By.CSS_SELECTOR, "a.button").click()
    browser.find_element(By.CSS_SELECTOR, "#rubric-edit summary").click()
    edit = browser.find_elements(By.CSS_SELECTOR, "form.item-edit")[0]
    assert edit.find_element(By.NAME, "text").get_attribute("value") == memory.text
    points = edit.find_element(By.NAME, "points")
    points.clear()
    points.send_keys("0.5")
    edit.find_element(By.CSS_SELECTOR, "button[value=update]").click()
    assert f"{N} answer(s) re-scored" in browser.find_element(
        By.CSS_SELECTOR, "ul.messagelist").text

    browser.get(f"{live_server.url}/admin/exams/submission/?exam={exam.pk}")
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    after = {r.find_element(By.CSS_SELECTOR, "td.field-student").text:
             float(r.find_element(By.CSS_SELECTOR, "td.field-score").text) for r in rows}
    assert after == {s: total - 0.5 for s, total in before.items()}     # all 20 changed
    assert Review.objects.filter(kind="rubric_change").count() == N
