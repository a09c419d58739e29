"""A worker's pool processes load what reading scans needs when they start (libtesseract,
the handwriting recogniser), before any task: no student's first page pays for it."""
from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from tests.hardening.workers import _children
from tests.integration.realservices import celery_workers, project_env, redis_url


def _maps(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return ""


def _loaded(maps: str) -> bool:
    return "libtesseract" in maps and "onnxruntime" in maps


@pytest.mark.redis
def test_pool_processes_load_the_page_readers_when_they_start(tmp_path):
    env = project_env(tmp_path, CELERY_BROKER_URL=redis_url(db=12))
    with celery_workers(env, concurrency=2, log=tmp_path / "worker.log") as worker:
        deadline = time.monotonic() + 90
        children: list[int] = []
        warmed = False
        while not warmed and time.monotonic() < deadline:
            time.sleep(0.5)
            children = _children(worker.pid)
            warmed = len(children) == 2 and all(_loaded(_maps(pid)) for pid in children)
        parent = _maps(worker.pid)
    log = (tmp_path / "worker.log").read_text()
    assert len(children) == 2, log[-3000:]
    assert warmed, f"pool processes did not warm up:\n{log[-3000:]}"
    # Loaded in the children, not inherited: the parent that forks them has neither.
    assert "libtesseract" not in parent and "onnxruntime" not in parent


def test_a_machine_without_the_recogniser_still_starts_its_worker(monkeypatch, caplog):
    """What is missing is logged; the first page that needs it reports it, as before."""
    from exams import grading
    from grader.handwriting import HandwritingModelMissing

    def missing() -> None:
        raise HandwritingModelMissing("the rapidocr wheel is not installed")

    monkeypatch.setattr(grading, "scan_warm_up", missing)
    with caplog.at_level(logging.WARNING, logger="exams.grading"):
        grading.warm_up_process()
    assert "rapidocr wheel is not installed" in caplog.text
