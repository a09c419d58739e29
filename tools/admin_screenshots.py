"""Screenshots of the TA pages at 1366 px for docs/ (`python -m tools.admin_screenshots`).

Builds a throw-away course in a temporary SQLite database: the AI6126 sample exam and 20
typed submissions whose answers are drawn from small pools (so identical readings form
answer groups, and one student gives two final answers), graded in-process. Then it serves
the admin with runserver, logs in as the TA with Debian's chromium (Selenium), checks that
no page scrolls sideways at 1366 px, and saves small PNGs:
docs/review-queue-1366.png, docs/grade-by-question-1366.png, docs/answer-group-1366.png.
"""
from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 1366, 900
MAX_PNG_BYTES = 300_000

POOLS = {
    "1.i": ["Downsampling reduces computation and memory; upsampling restores the resolution "
            "for dense per-pixel prediction.",
            "It makes the network cheaper to run (less memory).",
            "Upsampling gives back the input resolution so every pixel gets a label.",
            "To get a bigger model."],
    "1.ii": ["The receptive field is 15.", "15", "RF = 15 x 15", "13", "15?",
             "The receptive field is 11 × 11 and 15 × 15."],
    "1.iii": ["A larger receptive field without losing resolution.", "It is faster.",
              "Dilated convolution keeps the same feature map size with a larger field of view."],
    "1.iv": ["[[1, 4, 7, 6], [5, 17, 27, 20], [9, 27, 37, 26], [9, 24, 31, 20]]",
             "[[1, 4, 7, 6], [5, 17, 27, 20], [9, 27, 37, 26], [9, 24, 31, 21]]"],
    "2": ["VQ-VAE uses a discrete codebook for its latent; a VAE has a continuous Gaussian "
          "latent.", "VQVAE quantizes the latent vectors.", "They are the same model.",
          "The VAE latent is continuous, sampled from a Gaussian."],
    "3": ["A minimax game: the generator tries to fool the discriminator, which separates "
          "real from fake images.", "The generator makes realistic images.",
          "Minimize the reconstruction loss."],
}
NAMES = ["ada", "ben", "chen", "dara", "eli", "fay", "gus", "hana", "ivo", "jun", "kai", "lea",
         "mo", "nia", "oli", "pia", "quin", "rui", "sam", "tara"]


def answer_text(name: str, rng: random.Random) -> str:
    pick = {label: rng.choice(pool) for label, pool in POOLS.items()}
    return (f"AI6126 Assignment 2 - {name}\n\nQuestion 1\n\ni) {pick['1.i']}\n\n"
            f"ii) {pick['1.ii']}\n\niii) {pick['1.iii']}\n\niv) {pick['1.iv']}\n\n"
            f"Question 2\n\n{pick['2']}\n\nQuestion 3\n\n{pick['3']}\n")


def build_course(workdir: Path) -> None:
    import django
    from django.core.management import call_command

    django.setup()
    from exams import services
    from exams.models import Exam
    from tools.typed_pdf import text_to_pdf

    call_command("migrate", verbosity=0)
    exam_file = ROOT / "samples" / "ai6126_a2" / "exam.yaml"
    call_command("create_demo_course", exam=str(exam_file), stdout=open(os.devnull, "w"))
    exam = Exam.objects.get(code="AI6126-A2")
    rng = random.Random(16)
    for name in NAMES:
        pdf = workdir / f"{name}.pdf"
        text_to_pdf(answer_text(name, rng), pdf)
        services.submission_create(exam=exam, student=name, content=pdf.read_bytes(),
                                   filename=pdf.name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shrink(path: Path) -> None:
    """A palette PNG: screenshots of admin pages have few colours."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=96, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    if path.stat().st_size > MAX_PNG_BYTES:
        raise SystemExit(f"{path}: {path.stat().st_size} bytes, over {MAX_PNG_BYTES}")


def shoot(base: str, out: Path) -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", f"--window-size={WIDTH},{HEIGHT}",
                f"--user-data-dir={tempfile.mkdtemp()}"]:
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.implicitly_wait(20)
    try:
        driver.get(f"{base}/admin/login/?next=/admin/exams/answer/")
        driver.find_element(By.NAME, "username").send_keys("ta")
        driver.find_element(By.NAME, "password").send_keys("demo-ta")
        driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        driver.find_element(By.ID, "result_list")
        pages = [("review-queue-1366.png", "/admin/exams/answer/?queue=all&question=1.ii"),
                 ("grade-by-question-1366.png", "/admin/exams/answer/grade/"),
                 ("answer-group-1366.png", "/admin/exams/answer/groups/")]
        for name, url in pages:
            driver.get(base + url)
            if name.startswith("grade"):
                # Grade a few answers of question 2 with the keys, as a TA would.
                driver.find_element(By.CSS_SELECTOR, "tr[data-question='2'] a.button").click()
                for _ in range(3):
                    student = driver.find_element(By.ID, "student").text
                    body = driver.find_element(By.TAG_NAME, "body")
                    body.send_keys("1")
                    body.send_keys("\n")
                    while driver.find_element(By.ID, "student").text == student:
                        time.sleep(0.2)
            elif name.startswith("answer-group"):
                # The group of students who gave two final answers, if there is one.
                rows = driver.find_elements(By.CSS_SELECTOR, "tr.answer-group")
                row = next((r for r in rows if "also" in r.text), rows[0])
                row.find_element(By.CSS_SELECTOR, "a.button").click()
                driver.find_element(By.ID, "group-members")
            time.sleep(1.5)    # the lazily loaded crops
            overflow = driver.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth")
            if overflow > 0:
                raise SystemExit(f"{name}: the page is {overflow} px wider than the window")
            driver.save_screenshot(str(out / name))
            shrink(out / name)
            print(f"{out / name}: {(out / name).stat().st_size // 1024} KB")
    finally:
        driver.quit()


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="grader-shots-"))
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{workdir / 'db.sqlite3'}",
           "MEDIA_ROOT": str(workdir / "media"), "DEBUG": "1",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("CELERY_BROKER_URL", None)
    env.pop("REDIS_URL", None)
    # Build in a child process with the environment set before Django reads it.
    subprocess.run([sys.executable, "-m", "tools.admin_screenshots", "--build", str(workdir)],
                   check=True, env=env, cwd=ROOT)
    port = free_port()
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload",
                               f"127.0.0.1:{port}"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(3)
        shoot(f"http://127.0.0.1:{port}", ROOT / "docs")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if sys.argv[1:2] == ["--build"]:
        build_course(Path(sys.argv[2]))
    else:
        main()
