from __future__ import annotations

import math

import numpy as np
import pytest

from grader.omr import (Registration, TemplateBox, assign_options, read_template_boxes,
                        register_page, template_from_pdf)
from tools.scansim import random_marks, render_student_page
from tools.scansim_layout import QUESTIONS
from tools.scansim_marks import ScanParams


def _params(**kw) -> ScanParams:
    base = dict(dpi=200.0, scale=1.0, rotation=0.0, shift_mm=(0.0, 0.0), upside_down=False,
                blur=0.5, noise=3.0, jpeg=70, shadow=0.1)
    return ScanParams(**{**base, **kw})


def _truth_map(p: ScanParams, x: float, y: float) -> tuple[float, float]:
    """Where the simulator put template point (x, y) mm on the scan."""
    t = math.radians(p.rotation)
    cx, cy = x - 105, y - 148.5
    X = 105 + p.scale * (math.cos(t) * cx - math.sin(t) * cy) + p.shift_mm[0]
    Y = 148.5 + p.scale * (math.sin(t) * cx + math.cos(t) * cy) + p.shift_mm[1]
    if p.upside_down:
        X, Y = 210 - X, 297 - Y
    return X, Y


@pytest.fixture(scope="module")
def template(blank_pdf):
    return assign_options(template_from_pdf(blank_pdf), [(f"1.{q[0]}", len(q[3])) for q in QUESTIONS])


def _page_template(template, page):
    return [t for boxes in template.values() for t in boxes if t.page == page]


@pytest.mark.parametrize("params", [
    _params(rotation=3.7, shift_mm=(4.0, -5.0), scale=1.02),
    _params(rotation=-4.8, shift_mm=(-6.0, 3.0), scale=0.975, dpi=150.0),
    _params(rotation=0.6, shift_mm=(2.0, 2.0), scale=1.0, dpi=300.0),
    _params(rotation=2.0, shift_mm=(3.0, -2.0), upside_down=True),
])
def test_registration_recovers_known_transform(blank_pdf, layout, template, params):
    rng = np.random.default_rng(1)
    marks = random_marks(layout, rng)
    img = np.asarray(render_student_page(blank_pdf, layout, 2, marks, params, rng))
    tpl = _page_template(template, 2)
    reg = register_page(img, params.dpi, tpl)
    assert reg.ok, reg.reason
    assert reg.fit_error_mm < 0.3
    assert abs(reg.scale - params.scale) < 0.005
    expected_rot = params.rotation + (180 if params.upside_down else 0)
    assert abs((reg.rotation_deg - expected_rot + 180) % 360 - 180) < 0.3
    assert reg.upside_down == params.upside_down
    for t in tpl:
        got, want = reg.apply(t.cx, t.cy), _truth_map(params, t.cx, t.cy)
        assert math.dist(got, want) < 0.4
    # and the readings at the registered positions are right
    _, readings = read_template_boxes(img, params.dpi, tpl)
    truth = {(m.label, m.option): m.mark for m in marks}
    entries = [(label, i + 1) for label, boxes in template.items() for i, t in enumerate(boxes)
               if t.page == 2]
    assert [r.mark for r in readings] == [truth[e] for e in entries]


def test_wrong_page_does_not_register(blank_pdf, layout, template):
    rng = np.random.default_rng(2)
    img = np.asarray(render_student_page(blank_pdf, layout, 1, random_marks(layout, rng),
                                         _params(rotation=1.0), rng))
    reg = register_page(img, 200.0, _page_template(template, 2))
    assert not reg.ok and reg.reason


def test_different_layout_does_not_register(blank_pdf, layout):
    """A template of a grid layout (another exam) against this exam's page."""
    rng = np.random.default_rng(3)
    img = np.asarray(render_student_page(blank_pdf, layout, 2, random_marks(layout, rng),
                                         _params(), rng))
    grid = [TemplateBox(2, 40 + 25 * c, 60 + 12 * r, 5, 5) for r in range(5) for c in range(4)]
    reg = register_page(img, 200.0, grid)
    assert not reg.ok


def test_page_without_boxes_is_not_guessed(blank_pdf, layout, template):
    rng = np.random.default_rng(4)
    img = np.asarray(render_student_page(blank_pdf, layout, 3, random_marks(layout, rng),
                                         _params(), rng))
    reg, readings = read_template_boxes(img, 200.0, _page_template(template, 2))
    assert not reg.ok
    assert all(r.uncertain for r in readings)


def test_template_from_blank_and_assignment(blank_pdf, layout, template):
    assert [len(v) for v in template.values()] == [len(q[3]) for q in QUESTIONS]
    for label, boxes in template.items():
        for option, t in enumerate(boxes, start=1):
            truth = next(b for b in layout.boxes if b.label == label and b.option == option)
            assert t.page == truth.page
            assert math.dist((t.cx, t.cy), (truth.cx, truth.cy)) < 0.3


def test_assign_options_count_mismatch_is_a_clear_error(blank_pdf):
    found = template_from_pdf(blank_pdf)
    with pytest.raises(ValueError, match=r"36 checkboxes .*page 1: 16, page 2: 20.* 35 options"):
        assign_options(found, [("1.a", 4)] * 8 + [("1.i", 3)])


def test_assign_options_reading_order_and_yaml_boxes():
    boxes = [TemplateBox.from_list(e) for e in
             ([2, 20, 30, 5, 5], [1, 60, 40, 5, 5], [1, 20, 40.8, 5, 5], [1, 20, 20, 5, 5])]
    out = assign_options(boxes, [("q1", 1), ("q2", 2), ("q3", 1)])
    assert [b.as_list() for b in out["q2"]] == [[1, 20, 40.8, 5, 5], [1, 60, 40, 5, 5]]
    assert out["q3"][0].page == 2
    with pytest.raises(ValueError):
        TemplateBox.from_list([1, 2, 3])


def test_registration_fields():
    reg = Registration(True, 1.0, 90.0, 1.0, 2.0, 0.1, 3, 3)
    x, y = reg.apply(10.0, 0.0)
    assert (round(x, 6), round(y, 6)) == (1.0, 12.0)
