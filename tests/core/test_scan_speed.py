"""The page reader's faster paths read exactly what the plain computations read (issue 14)."""
from __future__ import annotations

import numpy as np
import pytest

from grader.ink import (INK_CONTRAST, MIN_SPECK_MM2, PRINT_GROWTH_MM, SHADOW_FLOOR, STRONG_MIN,
                        STRONG_NOISE, WEAK_MIN, WEAK_NOISE, _median_abs_deviation, ink_of,
                        paper_background)
from grader.layout import Region


def _dense_ink_of(crop, blank, region, dpi, paper, margin):
    """``ink_of`` as it was computed over every pixel (connected components with their
    statistics), the reference the sparse computation must equal bit for bit."""
    import cv2

    px = dpi / 25.4
    background = paper_background(crop, dpi, floor=SHADOW_FLOOR * paper)
    darker = background - crop.astype(np.float32)
    noise = 1.4826 * _median_abs_deviation(darker[::2, ::2])
    weak = darker > max(WEAK_MIN, WEAK_NOISE * noise)
    strong = (darker > max(STRONG_MIN, STRONG_NOISE * noise)) \
        & (crop < INK_CONTRAST * np.maximum(background, 64.0))
    grow = max(1, int(round(PRINT_GROWTH_MM * px)))
    printed = cv2.dilate((blank < 200).astype(np.uint8),
                         cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1)))
    weak &= printed == 0
    strong &= printed == 0
    even = np.clip(crop.astype(np.float32) * (255.0 / background), 0, 255).astype(np.uint8)
    if margin:
        inner = (slice(margin, -margin), slice(margin, -margin))
        even, printed, weak, strong = even[inner], printed[inner], weak[inner], strong[inner]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(weak.astype(np.uint8), connectivity=8)
    keep = np.zeros(count, dtype=bool)
    keep[np.unique(labels[strong])] = True
    keep[0] = False
    keep &= stats[:, cv2.CC_STAT_AREA] >= MIN_SPECK_MM2 * px * px
    ink = keep[labels]
    shown = cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    return np.where(shown & (printed == 0), even, 255).astype(np.uint8), float(ink.sum()) / (px * px)


@pytest.mark.parametrize("seed, margin, noise, shade", [
    (1, 0, 4.0, 0.0), (2, 12, 8.0, 0.3), (3, 12, 15.0, 0.1), (4, 5, 2.0, 0.45)])
def test_sparse_ink_equals_the_dense_computation(seed, margin, noise, shade):
    """Strokes (dark and faint), specks, a printed frame and prompt, shading and noise: the
    ink image and its area are the same bit for bit as over every pixel."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = 320, 900
    paper = 235.0
    blank = np.full((h, w), 255, np.uint8)
    cv2.rectangle(blank, (margin + 3, margin + 3), (w - margin - 4, h - margin - 4), 0, 3)
    cv2.putText(blank, "Answer:", (40, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 0, 2)
    scan = blank.astype(np.float32) * (paper / 255.0)
    for k in range(12):      # strokes, some faint
        x0, y0 = int(rng.integers(60, w - 120)), int(rng.integers(100, h - 60))
        cv2.line(scan, (x0, y0), (x0 + int(rng.integers(-60, 60)), y0 + int(rng.integers(-40, 40))),
                 float(rng.choice([30.0, 120.0, 180.0])), int(rng.integers(1, 5)))
    for _ in range(40):      # specks of one or two pixels
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        scan[y:y + 2, x:x + 1] = 90.0
    light = 1.0 - shade * np.linspace(0, 1, w, dtype=np.float32)[None, :]
    scan = np.clip(scan * light + rng.normal(0, noise, (h, w)), 0, 255).astype(np.uint8)
    region = Region(1, 10.0, 10.0, (w - 2 * margin) * 25.4 / 200, (h - 2 * margin) * 25.4 / 200)
    got = ink_of(scan, blank, region, dpi=200.0, paper=paper, margin=margin)
    image, ink_mm2 = _dense_ink_of(scan, blank, region, 200.0, paper, margin)
    assert got.ink_mm2 == round(ink_mm2, 3) and got.ink_mm2 > 5
    assert np.array_equal(got.image, image)


def test_boxes_found_on_a_page_are_searched_for_once(monkeypatch):
    """A page read against one template page and then against another (its print placed it
    elsewhere) reuses the boxes found on it, the turned page's too: the same readings as
    searching again."""
    from pathlib import Path

    from grader.omr import boxes as boxes_module
    from grader.omr import register, template_from_pdf
    from grader.render import render_pdf_page

    samples = Path(__file__).resolve().parents[2] / "samples" / "tum_endterm"
    template = template_from_pdf(samples / "blank.pdf")
    pages = {p: [b for b in template if b.page == p] for p in sorted({b.page for b in template})}
    scan = render_pdf_page(samples / "student_01.pdf", 1, dpi=150).array   # its page 2
    turned = np.ascontiguousarray(np.rot90(scan))
    calls = []

    def counted(gray, dpi):
        calls.append(gray.shape)
        return boxes_module.find_boxes(gray, dpi)

    monkeypatch.setattr(register, "find_boxes", counted)
    # Turned a quarter and expected as page 1: page 1, the other pages, then the turn.
    plain = register.read_matching_template_page(turned, 150, {1: pages[1]}, 1)
    assert len(calls) == 2 and not plain[1].ok
    found: dict = {}
    first = register.read_matching_template_page(turned, 150, {1: pages[1]}, 1, found_boxes=found)
    assert len(calls) == 4 and set(found) == {0, 1}
    again = register.read_matching_template_page(turned, 150, {2: pages[2]}, 2, found_boxes=found)
    assert len(calls) == 4                        # nothing searched again
    fresh = register.read_matching_template_page(turned, 150, {2: pages[2]}, 2)
    assert again[0] == fresh[0] == 2 and again[1] == fresh[1] and again[1].ok
    assert again[1].quarter_turns == 1
    assert [r.checked for r in again[2]] == [r.checked for r in fresh[2]]
    assert first[1] == plain[1]


# --------------------------------------------------------------------------------------------
# Pages out of order placed by a thumbnail of their print before their features are matched


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    from rubrics.definition import parse_definition_text
    from rubrics.keys import check_keys
    from tools import written_exam

    folder = tmp_path_factory.mktemp("written-speed")
    written_exam.generate(folder)
    keyed, _ = check_keys(parse_definition_text((folder / "exam.yaml").read_text()))
    return folder, keyed


def _blank(folder):
    from grader.align import BlankPages
    from grader.render import render_pdf_page

    return BlankPages(lambda page, dpi: render_pdf_page(folder / "blank.pdf", page - 1, dpi=dpi),
                      2, key=("speed-test", str(folder)))


def _scan(folder, page, **kw):
    from grader.render import render_pdf_page
    from tests.core.test_regions import _scanned

    return _scanned(render_pdf_page(folder / "blank.pdf", page - 1, dpi=300), **kw)


@pytest.mark.parametrize("dpi, turn, angle, scale", [
    (300, 0, 0.0, 1.0), (150, 0, 2.5, 0.94), (100, 0, -1.5, 1.0), (200, 180, 1.0, 0.97),
    (200, 90, 0.5, 1.0), (150, 270, -0.7, 0.96),
])
def test_a_thumbnail_names_the_blank_page_a_scan_is(written, dpi, turn, angle, scale):
    """Any quarter turn, a skew, shrink-to-fit, 100-300 dpi: each page's thumbnail names it."""
    from grader.align import guess_page

    folder, _ = written
    blank = _blank(folder)
    for page in (1, 2):
        scan = _scan(folder, page, dpi=dpi, turn=turn, angle=angle, scale=scale, seed=page)
        assert guess_page(scan, blank, [1, 2]) == page


def test_a_white_page_or_another_exams_page_is_named_by_no_guess_that_holds(written):
    """A white page is named by no thumbnail; whatever a page of another exam is taken for,
    the match does not confirm it and no page fits it."""
    from PIL import Image

    from grader.align import align_page, confirm_page, guess_page
    from grader.render import PageImage, render_pdf_page
    from tools.scansim_layout import exam_layout, write_blank_pdf

    folder, _ = written
    blank = _blank(folder)
    white = PageImage(1, Image.new("L", (1654, 2339), 250), 200)
    assert guess_page(white, blank, [1, 2]) is None
    write_blank_pdf(exam_layout(), folder / "other.pdf")
    other = render_pdf_page(folder / "other.pdf", 0, dpi=200)
    hint = guess_page(other, blank, [1, 2])
    if hint is not None:
        assert confirm_page(other, blank, hint) is None
    assert align_page(other, blank, [1, 2], expected_page=1, hint=hint) is None


def test_the_guessed_page_is_matched_first_and_alone(written, monkeypatch):
    """A page out of order with a guess: one match of its features, the same fit as trying
    the expected page first; a wrong guess costs a match and changes nothing."""
    from grader import align

    folder, _ = written
    blank = _blank(folder)
    scan = _scan(folder, 2, dpi=200, turn=180, angle=1.0, scale=0.97)
    unguided = align.align_page(scan, blank, [1, 2], expected_page=1)
    matched = []
    plain_fit = align._fit

    def counted(features, blank_features, page):
        matched.append(page)
        return plain_fit(features, blank_features, page)

    monkeypatch.setattr(align, "_fit", counted)
    guided = align.align_page(scan, blank, [1, 2], expected_page=1, hint=2)
    assert matched == [2] and guided == unguided and guided.template_page == 2
    matched.clear()
    fits: dict = {}
    wrong = align.align_page(scan, blank, [1, 2], expected_page=2, hint=1, fits=fits)
    assert wrong == unguided and sorted(matched) == [1, 2] and set(fits) == {1, 2}
    matched.clear()     # the fits made are not made again
    assert align.align_page(scan, blank, [1, 2], expected_page=1, fits=fits) == unguided
    assert matched == []


def test_a_written_page_at_a_position_with_checkboxes_is_not_searched_for_boxes(written,
                                                                               monkeypatch):
    """Page 1 of the written exam (no checkboxes) arriving second, where page 2's boxes are
    expected: its thumbnail places it, its print confirms it, its regions are read, and no
    box is searched for; page 2 arriving first is read with its boxes, one match made."""
    from grader import align, scan as scan_module
    from grader.exam import ExamSpec
    from grader.layout import blank_layout
    from grader.ocr import OcrOptions
    from grader.omr import assign_options, register, template_from_pdf

    folder, keyed = written
    choices = [(q.label, len(q.options)) for q in keyed.questions if q.options]
    template = {label: [[b.page, b.x, b.y, b.w, b.h] for b in boxes] for label, boxes in
                assign_options(template_from_pdf(folder / "blank.pdf"), choices).items()}
    spec = ExamSpec.build(keyed.questions, template, blank_layout(folder / "blank.pdf",
                                                                  keyed.questions))
    assert set(spec.template_pages()) == {2}
    blank = _blank(folder)
    pages = {1: _scan(folder, 1, dpi=200, turn=0, angle=1.2, scale=0.99),
             2: _scan(folder, 2, dpi=200, turn=180, angle=-0.8, scale=1.01)}
    searched, matched = [], []
    plain_find, plain_fit = register.find_boxes, align._fit
    monkeypatch.setattr(register, "find_boxes",
                        lambda gray, dpi: searched.append(1) or plain_find(gray, dpi))
    monkeypatch.setattr(align, "_fit", lambda *a: matched.append(a[2]) or plain_fit(*a))

    def read(page, at):
        return scan_module.read_scanned(at, spec, lambda number, upscale=True: pages[page],
                                        OcrOptions(), blank)

    second = read(1, 2)
    assert searched == [] and matched == [1]
    assert second.fit is None and second.alignment.template_page == 1
    assert {r.label for r in second.regions} == set(spec.layout.regions_on(1))
    first = read(2, 1)
    assert matched == [1, 2] and len(searched) == 1
    assert first.fit.ok and first.fit.template_page == 2 and first.alignment.method == "boxes"


def test_a_page_is_read_with_opencv_on_one_thread(written):
    """Pages are read in parallel by processes: OpenCV's own threads are not used."""
    import cv2

    from grader import scan as scan_module
    from grader.exam import ExamSpec
    from grader.layout import blank_layout
    from grader.ocr import OcrOptions

    folder, keyed = written
    spec = ExamSpec.build(keyed.questions, {}, blank_layout(folder / "blank.pdf", keyed.questions))
    page = _scan(folder, 1, dpi=100, turn=0, angle=0.5, scale=1.0)
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        read = scan_module.read_scanned(1, spec, lambda number, upscale=True: page, OcrOptions(),
                                        _blank(folder))
        assert read.alignment.template_page == 1 and cv2.getNumThreads() == 1
    finally:
        cv2.setNumThreads(before)


@pytest.mark.parametrize("shape", [(3508, 2481), (3509, 2480), (1171, 829), (40, 37), (2339, 1654),
                                   (97, 3), (1, 1)])
def test_box_reduction_is_pillows_bit_for_bit(shape):
    """Pillow's BOX resize, computed in NumPy: the same pixels for 2:1 reductions (a 300 dpi
    scan to the box finder's 150 dpi: one column of three among pairs), other factors and
    sizes, on noise and on a rendered page."""
    from PIL import Image

    from grader.omr._reduce import box_reduce
    from grader.omr.boxes import reduce_to_work_dpi

    rng = np.random.default_rng(shape[0])
    gray = rng.integers(0, 256, shape, dtype=np.uint8)
    h, w = shape
    for size in {(max(1, round(w / 2.0008)), max(1, round(h / 2.0008))),
                 (max(1, round(w / 1.3336)), max(1, round(h / 1.3336))),
                 (max(1, w // 3), max(1, h // 2)), (w, max(1, h // 4)), (w, h)}:
        expected = np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.BOX))
        assert np.array_equal(box_reduce(gray, size), expected), size
    if shape == (3508, 2481):
        work, factor = reduce_to_work_dpi(gray, 300)
        size = (work.shape[1], work.shape[0])
        assert np.array_equal(work, np.asarray(Image.fromarray(gray).resize(size, Image.Resampling.BOX)))


def test_a_rendered_page_is_reduced_as_pillow_reduces_it():
    from pathlib import Path

    from PIL import Image

    from grader.omr.boxes import reduce_to_work_dpi
    from grader.render import render_pdf_page

    samples = Path(__file__).resolve().parents[2] / "samples" / "tum_endterm"
    page = render_pdf_page(samples / "student_02.pdf", 0, dpi=300)
    work, _ = reduce_to_work_dpi(page.array, 300)
    expected = page.image.resize((work.shape[1], work.shape[0]), Image.Resampling.BOX)
    assert np.array_equal(work, np.asarray(expected))


# --------------------------------------------------------------------------------------------
# A region's ink cut into lines: connected components' statistics counted at the ink only


def _region_of_writing(seed: int, shape: tuple[int, int] = (420, 1100)) -> np.ndarray:
    """Region ink as the readers get it: script in dark and faint pens, dots, a bracket,
    frame residue along two edges, specks, on shaded noisy paper."""
    import cv2

    rng = np.random.default_rng(seed)
    h, w = shape
    region = np.full(shape, 240, np.uint8)
    for k in range(int(rng.integers(2, 5))):
        text = "".join(rng.choice(list("0123456789x=+-.")) for _ in range(int(rng.integers(3, 9))))
        cv2.putText(region, text, (int(rng.integers(40, 200)), 90 + k * 95),
                    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, float(rng.uniform(1.5, 2.6)),
                    int(rng.choice([25, 90, 170, 200])), int(rng.integers(2, 6)))
    for _ in range(6):                                        # dots, some faint
        cv2.circle(region, (int(rng.integers(30, w - 30)), int(rng.integers(30, h - 30))),
                   int(rng.integers(1, 4)), int(rng.choice([60, 215, 225])), -1)
    cv2.line(region, (20, 30), (20, h - 30), 40, 4)           # a bracket
    region[1:3, :] = 70                                       # frame residue
    region[:, w - 3:w - 1] = 90
    for _ in range(50):                                       # specks
        y, x = int(rng.integers(0, h)), int(rng.integers(0, w))
        region[y:y + 2, x:x + 1] = 120
    light = 1.0 - 0.2 * np.linspace(0, 1, w, dtype=np.float32)[None, :]
    noise = rng.normal(0, float(rng.choice([2.0, 5.0])), shape)
    return np.clip(region * light + noise, 0, 255).astype(np.uint8)


def _masks():
    from grader import handwriting as hw

    rng = np.random.default_rng(3)
    for seed in range(6):
        ink = _region_of_writing(seed)
        yield hw._ink_mask(ink, 200.0)
        yield cv2_faint(ink)
    yield rng.random((300, 500)) < 0.3                        # dense noise
    yield np.zeros((40, 60), bool)
    yield np.ones((40, 60), bool)
    corners = np.zeros((40, 60), bool)
    corners[0, 0] = corners[-1, -1] = corners[0, -1] = True
    yield corners
    nearly = np.ones((7, 9), bool)
    nearly[3, 4] = False
    yield nearly


def cv2_faint(ink: np.ndarray) -> np.ndarray:
    """Faint traces: darker than a blurred copy of the paper by a little (noise included)."""
    import cv2

    smooth = cv2.GaussianBlur(ink.astype(np.float32), (0, 0), 1.0)
    return cv2.dilate(smooth, np.ones((25, 25), np.uint8)) - smooth > 6.0


@pytest.mark.parametrize("index", range(17))
def test_components_are_opencvs_bit_for_bit(index):
    """Labels, statistics and centroids, off the mask too, as OpenCV computes them: on the
    pen mask and faint traces of written regions, dense noise, empty, full and corner masks."""
    import cv2

    from grader import handwriting as hw

    mask = list(_masks())[index]
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8)
    got = hw._components(mask)
    assert got.count == count
    assert np.array_equal(got.labels, labels) and got.labels.dtype == labels.dtype
    assert np.array_equal(got.stats, stats) and got.stats.dtype == stats.dtype
    assert np.array_equal(got.centroids, centroids, equal_nan=True)
    assert np.array_equal(got.at, np.flatnonzero(mask))
    assert np.array_equal(got.at_labels, labels.reshape(-1)[got.at])


@pytest.mark.parametrize("seed", range(6))
def test_pen_mask_decided_at_the_weak_pixels_equals_the_dense_computation(seed):
    import cv2

    from grader import handwriting as hw
    from grader.ocr import _otsu_threshold

    ink = _region_of_writing(seed)
    paper = float(np.percentile(ink, 50))
    spread = float(np.median(np.abs(ink - np.median(ink)))) * 1.4826
    strong = ink < min(float(_otsu_threshold(ink)), paper - max(40.0, 6.0 * spread))
    weak = ink < paper - max(20.0, 4.0 * spread)
    count, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    has_strong = np.zeros(count, dtype=bool)
    has_strong[labels[strong]] = True
    has_strong[0] = False
    dense = has_strong[labels]
    hw._clear_edge_rules(dense, max(2, int(round(hw.EDGE_BAND_MM * 200.0 / 25.4))))
    assert np.array_equal(hw._ink_mask(ink, 200.0), dense) and dense.sum() > 1000


def test_pages_of_other_sizes_are_read_in_memory_freed_before(tmp_path):
    """Reading pages scanned at other resolutions one after the other takes memory freed by
    the pages before, not new pages of memory from the system (~4,000 page faults per page
    with glibc's defaults)."""
    import resource

    from bench.scan_regions import read_one, written_jobs

    jobs, _, _ = written_jobs(tmp_path, 2, 5)
    for job in jobs:
        read_one(job)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for job in jobs:
        read_one(job)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before < 200 * len(jobs)


_FIRST_PAGE_AFTER_WARM_UP = """
import sys
from pathlib import Path

from bench.scan_regions import _exam, read_one, written_jobs
from grader import glyphs, handwriting, tesseract
from grader.scan import warm_up

jobs, _, _ = written_jobs(Path(sys.argv[1]), 1, 5)
_exam(jobs[0][2])
warm_up()

def loaded_again(*_, **__):
    raise AssertionError("loaded again by the first page")

tesseract._Library.__init__ = handwriting._Recogniser.__init__ = loaded_again
glyphs.GlyphModel.__init__ = loaded_again
assert sum(read_one(job) for job in jobs) > 0
print("read")
"""


def test_warm_up_loads_what_the_first_written_page_would(tmp_path):
    """``grader.scan.warm_up`` (a worker's pool process calls it when it starts) loads
    libtesseract, the recogniser and the character classifier: a new process's first
    written page, read after it, loads none of them (each loader fails if called)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", _FIRST_PAGE_AFTER_WARM_UP, str(tmp_path)],
                            cwd=root, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(root)})
    assert result.returncode == 0 and result.stdout.strip() == "read", result.stderr[-3000:]
