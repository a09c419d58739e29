from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tools.scansim_layout import exam_layout, write_blank_pdf


@pytest.fixture(scope="session")
def layout():
    return exam_layout()


@pytest.fixture(scope="session")
def blank_pdf(tmp_path_factory, layout) -> Path:
    path = tmp_path_factory.mktemp("omr") / "blank.pdf"
    write_blank_pdf(layout, path)
    return path


def centres_mm(boxes, dpi):
    return np.array([b.center_mm(dpi) for b in boxes])
