"""Where the sample folders keep their submissions."""
from __future__ import annotations

from pathlib import Path


def sample_submissions(folder: Path) -> list[Path]:
    """Typed samples live in submissions/, the scan simulator writes student_XX.pdf."""
    return sorted(folder.glob("submissions/*.pdf")) + sorted(folder.glob("student_*.pdf"))
