"""Record the graded results of a sample folder's submissions into `expected/` (JSON per
submission, without the run-specific submission id). Review the diff before committing: the
integration tests hold the grader to these files.

    python tools/record_expected.py samples/ai6126_a2
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tools.samples import sample_submissions  # noqa: E402 - needs ROOT on sys.path


def main(folder: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="record-"))
    os.environ.update({"DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "MEDIA_ROOT": str(tmp)})
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from exams import services
    from exams.results import submission_result

    call_command("migrate", verbosity=0)
    exam_file = folder / "exam.yaml"
    exam, _ = services.exam_load(text=exam_file.read_text(encoding="utf-8"), base_dir=folder)
    out = folder / "expected"
    out.mkdir(exist_ok=True)
    for pdf in sample_submissions(folder):
        submission = services.submission_create(exam=exam, student=pdf.stem, content=pdf.read_bytes(),
                                                filename=pdf.name)
        submission.refresh_from_db()
        result = submission_result(submission)
        result.pop("submission")
        (out / f"{pdf.stem}.json").write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
        print(f"{pdf.name}: {result['status']} {result['score']}/{result['max_score']}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
