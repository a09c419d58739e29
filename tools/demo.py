"""`make demo`: load the sample exams into a fresh SQLite database and grade the sample
submissions in-process (no server needed), printing a table per submission."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.samples import sample_submissions  # noqa: E402 - needs ROOT on sys.path
DB = ROOT / "demo.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
os.environ.setdefault("MEDIA_ROOT", str(ROOT / "demo_media"))
os.environ.pop("CELERY_BROKER_URL", None)
os.environ.pop("REDIS_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    import django
    import yaml
    from django.core.management import call_command

    if DB.exists():
        DB.unlink()  # the demo always starts from an empty database
    django.setup()
    call_command("migrate", verbosity=0)
    samples = ROOT / "samples"
    for exam_file in sorted(samples.glob("*/exam.yaml")):
        print(f"\n=== load_exam {exam_file.relative_to(ROOT)}")
        try:
            call_command("load_exam", str(exam_file))
        except Exception as exc:  # noqa: BLE001 - show the error, go on with the other samples
            print(f"  {exc}")
            continue
        pdfs = sample_submissions(exam_file.parent)
        if not pdfs:
            continue
        code = yaml.safe_load(exam_file.read_text(encoding="utf-8"))["code"]
        print(f"\n=== grade {code} " + " ".join(p.name for p in pdfs))
        call_command("grade", code, *map(str, pdfs))


if __name__ == "__main__":
    main()
