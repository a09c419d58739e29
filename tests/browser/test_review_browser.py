"""A TA reviews a flagged answer in a real browser: Debian's chromium driven by Selenium
against Django's live server. Installs what it needs (CI runs as root on Debian)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from exams import roles
from exams.models import Answer, Review
from tests.api.factories import make_exam, make_submission, make_user

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
SELENIUM_PIN = "selenium==4.51.0"


def _ensure_tools() -> None:
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.geteuid() != 0:
            pytest.fail(f"{CHROMIUM} / {CHROMEDRIVER} missing: apt-get install -y chromium "
                        "chromium-driver (as root)")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
                       check=True, env=env)
    try:
        import selenium  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", SELENIUM_PIN], check=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    _ensure_tools()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=1400,1000",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # Each click loads a new page; on a loaded CI machine that takes a while, so every lookup
    # waits for its element instead of racing the navigation.
    driver.implicitly_wait(15)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_ta_overrides_a_flagged_answer_and_sees_the_total_change(browser, live_server, settings,
                                                                  media_root):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast login
    exam = make_exam("EX-A")
    make_user("ta_a", exam=exam, role=roles.TA, password="ta-password-1")
    bob = make_submission(exam, student="bob", answers={
        "1.ii": {"score": 0.0, "status": Answer.Status.FLAGGED, "flags": ["ambiguous"],
                 "parsed": 15, "raw_text": "RF is 11 or 15"},
        "2": {"score": 1.0, "parsed": None, "raw_text": "less memory"}})
    assert (bob.status, bob.score) == ("needs_review", 1.0)

    browser.get(f"{live_server.url}/admin/login/?next=/admin/exams/answer/")
    browser.find_element(By.NAME, "username").send_keys("ta_a")
    browser.find_element(By.NAME, "password").send_keys("ta-password-1")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()

    # The review queue: the flagged answer, its raw text and page image beside it.
    assert "/admin/exams/answer/" in browser.current_url
    row = browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr")
    assert "RF is 11 or 15" in row.text and "ambiguous" in row.text
    thumb = row.find_element(By.CSS_SELECTOR, "td.field-page_thumb img")
    WebDriverWait(browser, 10).until(lambda d: d.execute_script("return arguments[0].complete", thumb))
    assert browser.execute_script("return arguments[0].naturalWidth", thumb) > 0  # a rendered page
    row.find_element(By.CSS_SELECTOR, "th.field-id a").click()

    # The decision: override with a comment.
    browser.find_element(By.NAME, "new_score").send_keys("1.5")
    browser.find_element(By.NAME, "comment").send_keys("11 is right, 15 also given: 1.5")
    browser.find_element(By.NAME, "_save").click()

    message = browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    assert "changed 0 → 1.5" in message and "total now 2.5 / 6 (graded)" in message
    # The queue is empty now, and the submission page shows the new total.
    browser.implicitly_wait(0)  # absence is asserted at once: the page has already loaded
    assert not browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    browser.implicitly_wait(15)
    browser.get(f"{live_server.url}/admin/exams/submission/{bob.pk}/change/")
    assert browser.find_element(By.CSS_SELECTOR, "div.field-score .readonly").text == "2.5"
    assert browser.find_element(By.CSS_SELECTOR, "div.field-status .readonly").text == "Graded"
    review = Review.objects.get()
    assert (review.old_score, review.new_score, review.reviewer.username) == (0.0, 1.5, "ta_a")
