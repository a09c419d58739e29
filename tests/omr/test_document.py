from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from grader.omr import read_document_boxes
from tools.scansim import generate

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "tum_endterm"
KEYS = {"page", "x", "y", "w", "h", "mark", "checked", "confidence"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    out = tmp_path_factory.mktemp("scansim")
    truth = generate(out, students=1, seed=5, samples=True)
    return out, truth


def _match(result, truth_boxes):
    hits = []
    for t in truth_boxes:
        cx, cy = t["x"] + t["w"] / 2, t["y"] + t["h"] / 2
        on_page = [b for b in result if b["page"] == t["page"]]
        b = min(on_page, key=lambda b: math.dist((b["x"] + b["w"] / 2, b["y"] + b["h"] / 2), (cx, cy)))
        hits.append((t, b))
    return hits


def test_read_document_boxes_contract_shape(generated):
    out, truth = generated
    result = read_document_boxes(out / "student_01.pdf")
    json.dumps(result)                                   # JSON-ready
    assert result and all(KEYS <= set(b) for b in result)
    for b in result:
        assert isinstance(b["page"], int) and b["page"] >= 1
        assert all(isinstance(b[k], float) for k in ("x", "y", "w", "h", "confidence"))
        assert b["mark"] in {"empty", "cross", "filled", "filled_recrossed"}
        assert isinstance(b["checked"], bool) and 0 <= b["confidence"] <= 1
    assert {b["page"] for b in result} == {1, 2}
    assert len(result) == len(truth["submissions"][0]["boxes"])


def test_blank_pdf_boxes_are_all_empty(generated):
    out, _ = generated
    result = read_document_boxes(out / "blank.pdf")
    assert len(result) == 36
    assert {b["mark"] for b in result} == {"empty"} and not any(b["checked"] for b in result)
    assert all(4.7 < b["w"] < 5.3 and 4.7 < b["h"] < 5.3 for b in result)


def test_image_file_uses_its_dpi_or_300(generated, tmp_path):
    from grader.render import render_pdf_page

    out, _ = generated
    render_pdf_page(out / "blank.pdf", 0, 150).image.save(tmp_path / "with_dpi.png", dpi=(150, 150))
    render_pdf_page(out / "blank.pdf", 0, 300).image.save(tmp_path / "no_dpi.png")
    for name in ("with_dpi.png", "no_dpi.png"):
        result = read_document_boxes(tmp_path / name)
        assert len(result) == 16
        assert abs(result[0]["x"] - 27.0) < 0.4 and abs(result[0]["w"] - 5.0) < 0.3


def test_upside_down_page_read_upright(generated, tmp_path):
    """read_boxes turns a page whose option text is left of its boxes (upside down): the
    flipped scan reads like the upright one (same boxes, same order, same marks)."""
    from grader.render import render_pdf_page

    out, _ = generated
    page = render_pdf_page(out / "student_01.pdf", 0, 200).image
    page.save(tmp_path / "upright.png", dpi=(200, 200))
    page.rotate(180).save(tmp_path / "flipped.png", dpi=(200, 200))
    upright = read_document_boxes(tmp_path / "upright.png")
    flipped = read_document_boxes(tmp_path / "flipped.png")
    assert len(upright) == 16
    assert [b["mark"] for b in flipped] == [b["mark"] for b in upright]
    assert all(abs(a["y"] - b["y"]) < 0.5 for a, b in zip(upright, flipped))


def test_sample_submissions_match_their_truth():
    """The pipeline's path: template from blank.pdf, registration, reading per page."""
    from grader.omr import assign_options, read_template_boxes, template_from_pdf
    from grader.render import load_document_pages

    truth = json.loads((SAMPLES / "truth.json").read_text())
    template = assign_options(template_from_pdf(SAMPLES / "blank.pdf"),
                              [(f"1.{p}", 4) for p in "abcdefghi"])
    for sub in truth["submissions"]:
        want = {(t["label"], t["option"]): t["mark"] for t in sub["boxes"]}
        for page in load_document_pages(SAMPLES / sub["file"], dpi=300):
            entries = [(label, i + 1, t) for label, boxes in template.items()
                       for i, t in enumerate(boxes) if t.page == page.number]
            if not entries:
                continue
            reg, readings = read_template_boxes(page.array, page.dpi, [e[2] for e in entries])
            assert reg.ok, (sub["file"], page.number, reg.reason)
            got = [r.mark for r in readings]
            assert got == [want[(label, option)] for label, option, _ in entries], sub["file"]
