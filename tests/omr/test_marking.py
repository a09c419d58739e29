"""The exam's marking convention (``cross`` | ``bubble``) decides what a mark in a box means,
on every path that reads boxes: the decision table itself, boxes drawn with a pen and read
where they were found, read at a template's registered place, read without a template beside
their option text, and the ``read_boxes`` diagnostic."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from grader.omr import Box, classify_box, find_boxes, read_page_boxes, read_template_boxes
from grader.omr.by_text import read_marks
from grader.omr.classify import CHECKED_BY, FILLED, MARKED, RECROSS, BoxFeatures, decide
from grader.omr.register import TemplateBox
from grader.types import Marking
from tools.scansim_marks import draw_mark

DPI = 200
PPM = DPI / 25.4
CROSS, BUBBLE = Marking.CROSS, Marking.BUBBLE


def _mid(band: tuple[float, float]) -> float:
    return sum(band) / 2


# Measures well outside their bands, and inside them: (ink, filled, left).
CLEAR = {"empty": BoxFeatures(0.005, 0.0, 0.0), "cross": BoxFeatures(0.3, 0.1, 0.0),
         "filled": BoxFeatures(1.0, 1.0, 0.0), "filled_recrossed": BoxFeatures(1.0, 1.0, 0.2)}
BANDS = {"ink": BoxFeatures(_mid(MARKED), 0.0, 0.0),
         "fill": BoxFeatures(0.7, _mid(FILLED), 0.0),
         "recross": BoxFeatures(1.0, 1.0, _mid(RECROSS))}


@pytest.mark.parametrize("marking,mark,read,checked,uncertain", [
    (CROSS, "empty", "empty", False, False),
    (CROSS, "cross", "cross", True, False),
    (CROSS, "filled", "filled", False, False),
    (CROSS, "filled_recrossed", "filled_recrossed", True, False),
    (BUBBLE, "empty", "empty", False, False),
    # a cross or tick in a bubble: the student meant it, the sheet asked for a fill
    (BUBBLE, "cross", "cross", True, True),
    (BUBBLE, "filled", "filled", True, False),
    # a cross left of a filled bubble means nothing on a bubble sheet: it is a filled bubble
    (BUBBLE, "filled_recrossed", "filled", True, False),
])
def test_decision_table(marking, mark, read, checked, uncertain):
    got, unsure, confidence = decide(CLEAR[mark], marking)
    assert (got, CHECKED_BY[marking][got], unsure) == (read, checked, uncertain)
    assert (confidence < 0.5) == uncertain


@pytest.mark.parametrize("marking", list(Marking))
@pytest.mark.parametrize("band,flagged", [("ink", True), ("fill", True), ("recross", True)])
def test_the_uncertain_bands_flag_under_both_conventions(marking, band, flagged):
    _, uncertain, confidence = decide(BANDS[band], marking)
    # Between a heavy cross and a fill: flagged under both (they mean opposite things under
    # ``cross``; a half-filled bubble is a wrong method under ``bubble``). The re-cross strip
    # plays no part on a bubble sheet.
    if band == "recross" and marking == BUBBLE:
        assert not uncertain
    else:
        assert uncertain == flagged and confidence < 0.5


def _sheet(marks, seed=0):
    """5 mm boxes in a column, 7.5 mm apart, with the truth marks drawn in by a pen."""
    rng = np.random.default_rng(seed)
    img = Image.new("L", (int(80 * PPM), int((30 + 7.5 * len(marks)) * PPM)), 255)
    d = ImageDraw.Draw(img)
    centres = []
    for i, (mark, style) in enumerate(marks):
        cx, cy = 30.0, 12.0 + 7.5 * i
        d.rectangle([(cx - 2.5) * PPM, (cy - 2.5) * PPM, (cx + 2.5) * PPM, (cy + 2.5) * PPM],
                    outline=0, width=2)
        draw_mark(d, mark, cx, cy, 5.0, PPM, rng, style)
        centres.append((cx, cy))
    return np.asarray(img), centres


# Pen marks as drawn -> (mark read, checked) per convention; uncertain only for a cross in a
# bubble.
PEN = [("empty", "-"), ("cross", "x"), ("cross", "tick"), ("cross", "slash"), ("filled", "-"),
       ("filled_recrossed", "-")]
EXPECTED = {
    CROSS: {"empty": ("empty", False), "cross": ("cross", True), "filled": ("filled", False),
            "filled_recrossed": ("filled_recrossed", True)},
    BUBBLE: {"empty": ("empty", False), "cross": ("cross", True), "filled": ("filled", True),
             "filled_recrossed": ("filled", True)},
}


@pytest.mark.parametrize("marking", list(Marking))
@pytest.mark.parametrize("mark,style", PEN)
@pytest.mark.parametrize("seed", range(3))
def test_pen_marks_per_convention(marking, mark, style, seed):
    gray, ((cx, cy),) = _sheet([(mark, style)], seed=seed)
    boxes = find_boxes(gray, DPI)
    box = min(boxes, key=lambda b: np.hypot(b.cx / PPM - cx, b.cy / PPM - cy))
    reading = classify_box(gray, box, DPI, others=[b for b in boxes if b is not box],
                           marking=marking)
    assert (reading.mark, reading.checked) == EXPECTED[marking][mark]
    assert reading.uncertain == (marking == BUBBLE and mark == "cross")


COLUMN = [("empty", "-"), ("cross", "x"), ("filled", "-"), ("filled_recrossed", "-")]


@pytest.mark.parametrize("marking", list(Marking))
def test_the_template_path_reads_by_the_exams_convention(marking):
    gray, centres = _sheet(COLUMN, seed=4)
    template = [TemplateBox(1, cx - 2.5, cy - 2.5, 5.0, 5.0) for cx, cy in centres]
    reg, readings = read_template_boxes(gray, DPI, template, marking=marking)
    assert reg.ok
    assert [(r.mark, r.checked) for r in readings] == [EXPECTED[marking][m] for m, _ in COLUMN]


@pytest.mark.parametrize("marking", list(Marking))
def test_the_untemplated_path_reads_by_the_exams_convention(marking):
    gray, _ = _sheet(COLUMN, seed=5)
    marks = sorted(read_marks(gray, DPI, 1, marking), key=lambda m: m.cy)
    assert [(m.mark, m.checked) for m in marks] == [EXPECTED[marking][m] for m, _ in COLUMN]


@pytest.mark.parametrize("marking", list(Marking))
def test_the_diagnostic_reads_by_the_given_convention(marking):
    gray, _ = _sheet(COLUMN, seed=6)
    _, boxes = read_page_boxes(gray, DPI, marking)
    assert [(b["mark"], b["checked"]) for b in sorted(boxes, key=lambda b: b["y"])] == \
        [EXPECTED[marking][m] for m, _ in COLUMN]


def test_a_fill_spilling_out_left_of_its_box_is_no_re_cross():
    """A scribbled fill that overflows the box's left side (AMC's ignore-red sheet) is one
    blob with the box: under ``cross`` it stays a cancelled box, never a re-crossed one."""
    img = Image.new("L", (int(60 * PPM), int(20 * PPM)), 255)
    d = ImageDraw.Draw(img)
    cx, cy = 30.0, 10.0
    d.rectangle([(cx - 2.5) * PPM, (cy - 2.5) * PPM, (cx + 2.5) * PPM, (cy + 2.5) * PPM],
                outline=0, width=2)
    # the fill, reaching 1.5 mm past the left outline over most of the box's height
    d.ellipse([(cx - 4.0) * PPM, (cy - 2.8) * PPM, (cx + 2.7) * PPM, (cy + 2.8) * PPM], fill=90)
    gray = np.asarray(img)
    box = Box.from_center(cx * PPM, cy * PPM, 5.0 * PPM)
    reading = classify_box(gray, box, DPI, marking=CROSS)
    assert (reading.mark, reading.checked, reading.uncertain) == ("filled", False, False)
    # the same fill with a real re-cross drawn left of it still reads re-crossed
    draw = ImageDraw.Draw(img)
    for a, b in (((20.5, 8.0), (24.0, 12.0)), ((24.0, 8.0), (20.5, 12.0))):
        draw.line([a[0] * PPM, a[1] * PPM, b[0] * PPM, b[1] * PPM], fill=20, width=3)
    reading = classify_box(np.asarray(img), box, DPI, marking=CROSS)
    assert (reading.mark, reading.checked) == ("filled_recrossed", True)


def test_a_box_under_a_neighbours_overflowing_fill_is_still_found():
    """A clean box with the fill of the box below spilling up to it (dark just outside one
    side) is a box; a block of text around a box-sized square is not."""
    img = Image.new("L", (int(60 * PPM), int(30 * PPM)), 255)
    d = ImageDraw.Draw(img)
    for cy in (10.0, 16.0):
        d.rectangle([27.5 * PPM, (cy - 2.5) * PPM, 32.5 * PPM, (cy + 2.5) * PPM], outline=0,
                    width=2)
    d.ellipse([26.5 * PPM, 12.9 * PPM, 33.5 * PPM, 19.0 * PPM], fill=0)
    found = find_boxes(np.asarray(img), DPI)
    assert any(abs(b.cy / PPM - 10.0) < 0.5 for b in found)


def test_the_scan_path_reads_by_the_exams_convention():
    """``grader.scan.read_page`` takes the convention from the ExamSpec, with a template (the
    boxes read at their registered place) and without one (every box on the page)."""
    from pathlib import Path

    from grader.exam import ExamSpec
    from grader.omr import assign_options, template_from_pdf
    from grader.scan import pdf_renderer, read_page
    from rubrics.definition import parse_definition_text

    folder = Path(__file__).resolve().parents[2] / "samples" / "tum_endterm"
    questions = parse_definition_text((folder / "exam.yaml").read_text()).questions
    boxes = assign_options(template_from_pdf(folder / "blank.pdf"),
                           [(q.label, len(q.options)) for q in questions])
    template = {label: [b.as_list() for b in found] for label, found in boxes.items()}
    render = pdf_renderer(folder / "student_02.pdf")    # crosses, fills, re-crossed fills
    fitted = read_page(1, None, ExamSpec.build(questions, template, marking="bubble"), render)
    readings = fitted.fit.readings
    assert fitted.fit.ok and {r.mark for r in readings} >= {"filled", "cross"}
    assert all(r.checked == (r.mark != "empty") for r in readings)
    assert all(r.uncertain for r in readings if r.mark == "cross")
    free = read_page(1, None, ExamSpec.build(questions, marking=Marking.BUBBLE), render)
    assert {m.mark for m in free.marks} >= {"filled", "cross"}
    assert all(m.checked == (m.mark != "empty") for m in free.marks)
