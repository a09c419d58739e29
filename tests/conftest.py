import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


@pytest.fixture
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def ai6126_exam(db, media_root):
    from exams import services

    path = SAMPLES / "ai6126_a2" / "exam.yaml"
    exam, _ = services.exam_load(text=path.read_text(), base_dir=path.parent)
    return exam

