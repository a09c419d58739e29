"""A TA reviews a flagged answer in a real browser (tests/browser/conftest.py)."""
from __future__ import annotations

from exams import roles
from exams.models import Answer, Review
from tests.api.factories import make_exam, make_submission, make_user
from tests.browser.conftest import fits_the_window, login


def test_ta_overrides_a_flagged_answer_and_sees_the_total_change(browser, live_server, settings,
                                                                  media_root):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast login
    exam = make_exam("EX-A")
    make_user("ta_a", exam=exam, role=roles.TA, password="ta-password-1")
    bob = make_submission(exam, student="bob", answers={
        "1.ii": {"score": 0.0, "status": Answer.Status.FLAGGED, "flags": ["ambiguous"],
                 "parsed": 15, "alternatives": [11, 15], "raw_text": "RF is 11 or 15"},
        "2": {"score": 1.0, "parsed": None, "raw_text": "less memory"}})
    assert (bob.status, bob.score) == ("needs_review", 1.0)

    login(browser, live_server, "ta_a", "ta-password-1", "/admin/exams/answer/")

    # The review queue: the flagged answer, its raw text, both final answers and its crop.
    assert "/admin/exams/answer/" in browser.current_url
    row = browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr")
    assert "RF is 11 or 15" in row.text and "ambiguous" in row.text
    assert row.find_element(By.CSS_SELECTOR, ".alternatives").text == "15 or 11"
    thumb = row.find_element(By.CSS_SELECTOR, "td.field-crop_thumb img")
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return arguments[0].complete", thumb))
    assert browser.execute_script("return arguments[0].naturalWidth", thumb) > 0  # a rendered page
    assert fits_the_window(browser)         # every column visible at 1366 px
    row.find_element(By.CSS_SELECTOR, "a.grade-link").click()

    # The grading page: the reason in words; no rubric yet, so a score and a comment.
    assert "Two different final answers" in browser.find_element(By.ID, "why").text
    score = browser.find_element(By.NAME, "score")
    score.clear()
    score.send_keys("1.5")
    browser.find_element(By.NAME, "comment").send_keys("11 is right, 15 also given: 1.5")
    browser.find_element(By.ID, "save-next").click()

    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    assert "changed 0 → 1.5" in message and "total now 2.5 / 6 (graded)" in message
    # The queue is empty now, and the submission page shows the new total.
    browser.get(f"{live_server.url}/admin/exams/answer/")
    browser.find_element(By.ID, "changelist")
    browser.implicitly_wait(0)  # absence is asserted at once: the page has already loaded
    assert not browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    browser.implicitly_wait(15)
    browser.get(f"{live_server.url}/admin/exams/submission/{bob.pk}/change/")
    assert browser.find_element(By.CSS_SELECTOR, "div.field-score .readonly").text == "2.5"
    assert browser.find_element(By.CSS_SELECTOR, "div.field-status .readonly").text == "Graded"
    review = Review.objects.get()
    assert (review.old_score, review.new_score, review.reviewer.username) == (0.0, 1.5, "ta_a")
