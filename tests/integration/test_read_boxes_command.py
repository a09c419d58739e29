"""`read_boxes` diagnostic command: contract JSON shape on a real scanned sample."""
import io
import json
from pathlib import Path

from django.core.management import call_command

FOLDER = Path(__file__).resolve().parents[2] / "samples" / "tum_endterm"


def test_read_boxes_json_contract():
    out = io.StringIO()
    call_command("read_boxes", str(FOLDER / "student_02.pdf"), "--json", stdout=out)
    boxes = json.loads(out.getvalue())
    truth = json.loads((FOLDER / "truth.json").read_text())["submissions"][1]["boxes"]
    assert len(boxes) == len(truth)
    for b in boxes:
        assert {"page", "x", "y", "w", "h", "mark", "checked", "confidence"} <= set(b)
        assert b["mark"] in ("empty", "cross", "filled", "filled_recrossed")
        assert 3 <= b["w"] <= 7 and 3 <= b["h"] <= 7 and 0 <= b["confidence"] <= 1
    # Same marks as the ground truth, page by page in reading order. Without a template the
    # positions are in the scan's own frame (shifted, rotated), so order is compared, not mm.
    for page in {t["page"] for t in truth}:
        want = [t["mark"] for t in sorted((t for t in truth if t["page"] == page), key=lambda t: t["y"])]
        got = [b["mark"] for b in sorted((b for b in boxes if b["page"] == page), key=lambda b: b["y"])]
        assert got == want, page


def test_read_boxes_table_and_errors(tmp_path):
    out = io.StringIO()
    call_command("read_boxes", str(FOLDER / "blank.pdf"), stdout=out)
    assert out.getvalue().strip().endswith("36 boxes")
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 garbage")
    from django.core.management.base import CommandError
    import pytest

    with pytest.raises(CommandError):
        call_command("read_boxes", str(bad), stdout=io.StringIO())
