"""A student reads their feedback and asks for a regrade on the student pages; a TA resolves
it in the admin's regrade queue; the student reads the answer. Real Chromium, Selenium,
Django's live server (the browser fixture is in conftest.py)."""
from __future__ import annotations

from exams import courses, review, roles
from exams.models import Answer, RegradeRequest, Review
from tests.api.factories import enroll, make_exam, make_submission, make_user

PASSWORDS = {"ann": "ann-password-1", "ta_a": "ta-password-1"}


def log_in(browser, url, username):
    from selenium.webdriver.common.by import By

    browser.get(url)
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(PASSWORDS[username])
    browser.find_element(By.CSS_SELECTOR, "[type=submit]").click()


def log_out(browser, button: str, lands_on: str) -> None:
    """Click the log-out button and wait for the page it leads to (a next get() must not race
    the logout's own navigation)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.CSS_SELECTOR, button).click()
    WebDriverWait(browser, 15).until(lambda d: lands_on in d.current_url)


def image_loaded(browser, img) -> bool:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.execute_script("arguments[0].scrollIntoView()", img)   # lazy images load in view
    WebDriverWait(browser, 15).until(lambda d: d.execute_script("return arguments[0].complete", img))
    return browser.execute_script("return arguments[0].naturalWidth", img) > 0


def test_student_files_a_regrade_request_and_a_ta_resolves_it(browser, live_server, settings,
                                                               media_root):
    from selenium.webdriver.common.by import By

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast login
    exam = make_exam("EX-A")
    ta = make_user("ta_a", exam=exam, role=roles.TA, password=PASSWORDS["ta_a"])
    instructor = make_user("instr_a", exam=exam, role=roles.INSTRUCTOR)
    ann = make_user("ann", password=PASSWORDS["ann"])
    enroll(exam, ann, "u001")
    sub = make_submission(exam, ann, answers={
        "1.ii": {"score": 2.0, "parsed": 11, "raw_text": "RF = 11"},
        "2": {"score": 0.0, "status": Answer.Status.FLAGGED, "flags": ["free_text"],
              "raw_text": "fewer parameters, less memory"}})
    review.answer_review(answer=sub.answers.get(question__label="2"), reviewer=ta,
                         new_score=1.0, comment="Memory yes; upsampling not explained.")
    courses.exam_release(exam=exam, user=instructor)

    # The student: exams -> the exam -> the submission's feedback.
    log_in(browser, f"{live_server.url}/accounts/login/", "ann")
    browser.find_element(By.LINK_TEXT, "Exam EX-A").click()
    browser.find_element(By.LINK_TEXT, f"#{sub.pk}").click()
    assert browser.find_element(By.CSS_SELECTOR, "dl.facts .score").text == "3 / 6"
    q2 = browser.find_element(By.ID, "q-2")
    assert "Memory yes; upsampling not explained." in q2.text
    assert "checked by a TA" in q2.text and "flagged" not in browser.page_source
    assert image_loaded(browser, q2.find_element(By.CSS_SELECTOR, "img.crop"))

    # Ask for a regrade of question 2 (the form sits in a <details>: no JavaScript needed).
    q2.find_element(By.TAG_NAME, "summary").click()
    q2.find_element(By.NAME, "reason").send_keys("I also explained upsampling on page 2.")
    q2.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "was sent to the TAs" in browser.find_element(By.CSS_SELECTOR, "ul.messages").text
    assert "A TA will answer it." in browser.find_element(By.ID, "q-2").text
    request = RegradeRequest.objects.get()
    assert (request.question.label, request.status, request.student) == ("2", "open", ann)
    log_out(browser, "header form button", "/accounts/login/")

    # The TA: the regrade queue in the admin, the request, an answer with a new score.
    log_in(browser, f"{live_server.url}/admin/login/?next=/admin/exams/regraderequest/", "ta_a")
    row = browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr")
    assert "ann" in row.text and "I also explained upsampling" in row.text
    row.find_element(By.CSS_SELECTOR, "th.field-id a").click()
    assert "Memory yes; upsampling not explained." in browser.find_element(
        By.CSS_SELECTOR, "div.field-history").text
    assert image_loaded(browser, browser.find_element(By.CSS_SELECTOR, "div.field-answer_crops img"))
    browser.find_element(By.NAME, "response").send_keys("Yes, page 2 explains it: full marks.")
    browser.find_element(By.NAME, "new_score").send_keys("2")
    browser.find_element(By.NAME, "_save").click()
    assert "resolved: score changed 1 → 2" in browser.find_element(By.CSS_SELECTOR,
                                                                   "ul.messagelist").text
    browser.implicitly_wait(0)  # the queue is empty now; the page has already loaded
    assert not browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    browser.implicitly_wait(15)
    log_out(browser, "#logout-form button", "/admin/logout/")

    # The student reads the answer and the new total.
    log_in(browser, f"{live_server.url}/accounts/login/?next=/submissions/{sub.pk}/", "ann")
    q2 = browser.find_element(By.ID, "q-2")
    assert "Yes, page 2 explains it: full marks." in q2.text
    assert "score changed from 1 to 2" in q2.text and "2 / 2" in q2.text
    assert browser.find_element(By.CSS_SELECTOR, "dl.facts .score").text == "4 / 6"
    decision = Review.objects.order_by("id").last()
    assert (decision.reviewer, decision.old_score, decision.new_score) == (ta, 1.0, 2.0)
