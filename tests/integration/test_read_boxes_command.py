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


def test_read_boxes_reads_by_the_marking_convention_given():
    """--marking bubble: a filled box is checked, a crossed one checked but uncertain (the
    sheet asked for a fill); the default (cross): a filled box is a cancelled one."""
    pdf = str(FOLDER / "student_02.pdf")
    runs = {}
    for marking in ("cross", "bubble"):
        out = io.StringIO()
        call_command("read_boxes", pdf, "--json", "--marking", marking, stdout=out)
        runs[marking] = json.loads(out.getvalue())
    out = io.StringIO()
    call_command("read_boxes", pdf, "--json", stdout=out)
    assert json.loads(out.getvalue()) == runs["cross"]
    cross, bubble = runs["cross"], runs["bubble"]
    assert [b["mark"] for b in bubble] == [
        "filled" if m == "filled_recrossed" else m for m in (b["mark"] for b in cross)]
    assert {"filled", "cross"} <= {b["mark"] for b in cross}
    for c, b in zip(cross, bubble):
        assert c["checked"] == (c["mark"] in ("cross", "filled_recrossed"))
        assert b["checked"] == (b["mark"] != "empty")
        assert b["uncertain"] == (b["mark"] == "cross" or c["uncertain"])


def test_an_image_without_dpi_metadata_is_measured_as_a_sheet(tmp_path):
    """The contract: the image's dpi from its metadata, else from its size as an A4 or Letter
    sheet. A page saved at 150 dpi without metadata reads in the same millimetres as the PDF."""
    from grader.render import render_pdf_page

    page = render_pdf_page(FOLDER / "student_02.pdf", 0, dpi=150)
    plain = tmp_path / "page1.png"
    page.image.save(plain)                       # no dpi metadata
    out = io.StringIO()
    call_command("read_boxes", str(plain), "--json", stdout=out)
    from_image = json.loads(out.getvalue())
    out = io.StringIO()
    call_command("read_boxes", str(FOLDER / "student_02.pdf"), "--json", stdout=out)
    from_pdf = [b for b in json.loads(out.getvalue()) if b["page"] == 1]
    assert len(from_image) == len(from_pdf) > 0
    for a, b in zip(from_image, from_pdf):
        assert abs(a["x"] - b["x"]) < 1 and abs(a["y"] - b["y"]) < 1 and abs(a["w"] - b["w"]) < 0.5
