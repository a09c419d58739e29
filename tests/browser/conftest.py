"""Debian's chromium driven by Selenium against Django's live server, for the TA pages.
Installs what it needs (CI runs as root on Debian)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

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
                "--disable-sync", "--no-first-run", "--window-size=1366,900",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    # Each click loads a new page; on a loaded CI machine that takes a while, so every lookup
    # waits for its element instead of racing the navigation.
    driver.implicitly_wait(15)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def login(browser, live_server, username: str, password: str, next_url: str) -> None:
    from selenium.webdriver.common.by import By

    browser.get(f"{live_server.url}/admin/login/?next={next_url}")
    browser.find_element(By.NAME, "username").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()


def fits_the_window(browser) -> bool:
    """No horizontal scrolling: the page is no wider than the 1366 px window."""
    return browser.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")
