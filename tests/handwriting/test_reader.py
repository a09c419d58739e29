"""The handwriting reader: lines cut from region ink, read by the PP-OCRv6 recogniser (loaded
once, offline, one thread) and by Tesseract on the same cuts, and the choice between them."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from grader import handwriting as hw
from grader.handwriting import Engine, Reading, choose_reading, cut_lines, normalise_reading

ROOT = Path(__file__).resolve().parents[2]
FONT = "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf"
DPI = 300.0


def written(lines, *, size=60, gap=40, width=900, extra=None):
    """Region ink: lines in a handwriting font on white (at 300 dpi a 60 px pen is ~5 mm)."""
    height = 60 + len(lines) * (size + gap)
    image = Image.new("L", (width, height), 250)
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, size)
    for k, line in enumerate(lines):
        draw.text((80, 30 + k * (size + gap)), line, fill=30, font=font)
    if extra:
        extra(draw, image.size)
    return np.asarray(image, dtype=np.uint8)


def test_lines_are_cut_in_order_without_frame_residue_specks_or_brackets():
    def marks(draw, size):
        w, h = size
        draw.line([(0, 1), (w - 1, 1)], fill=60, width=2)            # frame residue, top edge
        draw.line([(w - 2, 0), (w - 2, h - 1)], fill=60, width=2)    # and right edge
        draw.point([(600, 5), (850, 200)], fill=0)                    # specks
        draw.line([(50, 25), (50, 300)], fill=30, width=5)            # a bracket over the rows
    ink = written(["10 6 4", "0 19 2", "7 7 1"], extra=marks)
    cuts = cut_lines(ink, DPI)
    assert len(cuts) == 3
    tops = [c.box[1] for c in cuts]
    assert tops == sorted(tops)
    assert all(c.box[0] > 60 for c in cuts)          # the bracket is no line's ink
    assert all(c.image.shape == (c.box[3], c.box[2]) for c in cuts)


def test_touching_lines_are_split_and_an_equals_sign_stays_on_its_line():
    ink = written(["a = 2", "gy = 3"], size=70, gap=-8)               # descenders touch
    cuts = cut_lines(ink, DPI)
    assert len(cuts) == 2
    assert cuts[0].box[1] + cuts[0].box[3] <= cuts[1].box[1] + 10


def test_blank_and_bad_ink():
    assert cut_lines(np.full((200, 400), 250, np.uint8), DPI) == ()
    noisy = np.clip(np.random.default_rng(0).normal(245, 4, (200, 400)), 0, 255).astype(np.uint8)
    assert cut_lines(noisy, DPI) == ()
    with pytest.raises(ValueError):
        cut_lines(np.zeros((10, 10), np.float32), DPI)


def test_reads_numbers_shapes_and_matrix_rows():
    read = hw.read_handwritten_region(written(["289"]), DPI)
    assert read.engine is Engine.HANDWRITING and read.text == "289"
    assert 0.5 < read.raw_confidence <= 1.0
    assert read.lines[0].chars and all(0 <= c.confidence <= 1 for c in read.lines[0].chars)
    assert normalise_reading(hw.read_handwritten_region(written(["8 x 8 x 5"]), DPI).text) == "8×8×5"
    rows = hw.read_handwritten_region(written(["10  6  4", "3  12  7"]), DPI).text
    assert rows.split("\n") == ["10 6 4", "3 12 7"]       # spaces from the ink's gaps


def test_tesseract_reads_the_same_cuts():
    ink = written(["289", "17"])
    hand = hw.read_handwritten_region(ink, DPI)
    tess = hw.read_region_tesseract(ink, DPI, lines=hand.cuts)
    assert tess.engine is Engine.TESSERACT
    assert [l.box for l in tess.lines] == [l.box for l in hand.lines]
    assert all(0 <= l.confidence <= 1 for l in tess.lines)


def test_the_model_is_loaded_once_per_process_on_one_thread():
    first = hw.recogniser()
    assert hw.recogniser() is first
    assert first.session.get_session_options().intra_op_num_threads == 1
    assert hw.model_path().name == "PP-OCRv6_rec_small.onnx"


def test_a_missing_model_is_a_clear_error_not_a_download(monkeypatch, tmp_path):
    monkeypatch.setenv(hw.MODEL_ENV, str(tmp_path / "nope.onnx"))
    monkeypatch.setattr(hw, "_RECOGNISERS", {})
    with pytest.raises(hw.HandwritingModelMissing, match="Nothing is downloaded"):
        hw.read_handwritten_region(written(["1"]), DPI)


GUARDED = """
import socket, sys
def refuse(*a, **k):
    raise AssertionError("network access attempted")
socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
import numpy as np
from PIL import Image
from grader.handwriting import read_handwritten_region, read_region_tesseract, choose_reading
ink = np.asarray(Image.open(sys.argv[1]).convert("L"))
hand = read_handwritten_region(ink, 300.0)
tess = read_region_tesseract(ink, 300.0, lines=hand.cuts)
print(choose_reading(tess.reading(), hand.reading()).text)
"""


def test_no_network_at_run_time(tmp_path):
    path = tmp_path / "ink.png"
    Image.fromarray(written(["289"])).save(path)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", GUARDED, str(path)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "289"


# --- the choice between the engines (pure) ------------------------------------------------

def R(text, confidence, engine=Engine.HANDWRITING):
    return Reading(text, confidence, engine)


def test_agreement_after_normalisation_is_accepted():
    choice = choose_reading(R("8 x 8 x 5", 0.95, Engine.TESSERACT), R("8×8×5", 0.9))
    assert not choice.low_confidence and choice.engine is Engine.TESSERACT
    assert choice.confidence == pytest.approx(1 - 0.05 * 0.1)
    assert choice.tesseract.text == "8 x 8 x 5" and choice.handwriting.text == "8×8×5"


def test_agreement_of_two_unsure_readers_is_flagged():
    choice = choose_reading(R("5510", 0.12, Engine.TESSERACT), R("5510", 0.85))
    assert choice.low_confidence and "neither is sure" in choice.reason


def test_a_sure_reading_wins_a_disagreement_an_unsure_one_is_flagged():
    sure = choose_reading(R("28g", 0.3, Engine.TESSERACT), R("289", hw.HANDWRITING_ACCEPT))
    assert (sure.text, sure.engine, sure.low_confidence) == ("289", Engine.HANDWRITING, False)
    unsure = choose_reading(R("28g", 0.3, Engine.TESSERACT), R("289", hw.HANDWRITING_ACCEPT - 0.01))
    assert unsure.low_confidence and unsure.text == "289"
    assert unsure.tesseract.text == "28g"                       # both kept for the TA
    printed = choose_reading(R("Question 1", hw.TESSERACT_ACCEPT, Engine.TESSERACT), R("Questin l", 0.6))
    assert printed.engine is Engine.TESSERACT and not printed.low_confidence


def test_nothing_read_is_flagged():
    choice = choose_reading(R("", 0.0, Engine.TESSERACT), R("", 0.0))
    assert choice.low_confidence and choice.engine is None and choice.text == ""
    alone = choose_reading(R("", 0.0, Engine.TESSERACT), R("17", 0.5))
    assert alone.low_confidence and alone.text == "17"


def test_calibration_is_monotone_and_bounded():
    for engine in Engine:
        values = [hw.calibrated(engine, x / 100) for x in range(101)]
        assert values == sorted(values) and 0 <= values[0] and values[-1] <= 1


@pytest.mark.parametrize("a,b,same", [
    ("8 x 8 x 5", "8×8×5", True), ("8*8*5", "8 × 8 × 5", True), ("h2 = 0", "h2=0", True),
    ("10 6 4", "10  6 4", True), ("10 6 4", "1064", False), ("−3", "-3", True),
    ("0.243", "0243", False), ("a = √(3/n)", "a=√(3/n)", True), ("17 -3", "17-3", False),
])
def test_normalised_readings(a, b, same):
    assert (normalise_reading(a) == normalise_reading(b)) is same


def test_ink_the_line_cutter_missed_is_measured():
    """A pen too faint for the line cutter's mask: its strokes are in no cut line, and
    unseen_ink says how much of the region's ink that is (the verification then decides
    nothing)."""
    dark = written(["2068"])
    assert hw.unseen_ink(dark, DPI, cut_lines(dark, DPI)) < 0.02

    def faint(draw, size):
        draw.text((330, 30), "68", fill=228, font=ImageFont.truetype(FONT, 60))
    half = written(["20"], extra=faint)
    cuts = cut_lines(half, DPI)
    assert all(c.box[0] + c.box[2] < 330 for c in cuts)         # only "20" was cut
    assert 0.3 < hw.unseen_ink(half, DPI, cuts) < 0.7
    read = hw.read_handwritten_region(half, DPI)
    assert read.unseen == hw.unseen_ink(half, DPI, read.cuts)
    assert hw.unseen_ink(np.full((200, 400), 250, np.uint8), DPI, ()) == 0.0


def test_a_faint_decimal_point_the_cutter_left_out_is_counted():
    """".426" with its point too faint for the line cutter's mask: the line read is "426",
    and loose_dots says a dot lies where a decimal point goes (the verification then decides
    nothing); the same line without the dot, or with noise-sized specks, has none."""
    rng = np.random.default_rng(3)

    def noisy(ink):
        return np.clip(ink.astype(np.int16) + rng.integers(-2, 3, ink.shape), 0, 255).astype(np.uint8)

    def point(draw, size):
        # A faint dot (grey 228 on 250 paper) 6 px across, on the baseline left of the 4.
        draw.ellipse((68, 79, 74, 85), fill=228)

    dotted = noisy(written(["426"], extra=point))
    cuts = cut_lines(dotted, DPI)
    assert len(cuts) == 1 and cuts[0].box[0] > 75           # the dot is not in the cut
    assert hw.loose_dots(dotted, DPI, cuts) == (1,)
    read = hw.read_handwritten_region(dotted, DPI)
    assert [line.loose_dots for line in read.lines] == [1]
    plain = noisy(written(["426"]))
    assert hw.loose_dots(plain, DPI, cut_lines(plain, DPI)) == (0,)

    def specks(draw, size):
        for x in range(100, 400, 37):
            draw.point((x, 82), fill=236)                     # single pixels: noise
    speckled = noisy(written(["426"], extra=specks))
    assert hw.loose_dots(speckled, DPI, cut_lines(speckled, DPI)) == (0,)


def test_other_looks_at_a_line_are_taken_when_asked():
    """Each line read offers other looks at its ink (the cut prepared otherwise): as many
    posteriors as SECOND_LOOKS, over the same characters, each a distribution per frame."""
    read = hw.read_handwritten_region(written(["8 x 8 x 5"]), DPI)
    (line,) = read.lines
    looks = line.looks()
    assert len(looks) == len(hw.SECOND_LOOKS) == 2
    for look in looks:
        assert look.characters == line.posterior.characters and look.frames > 0
        assert np.all(look.probs.sum(axis=1) <= 1.0001)


def test_a_lines_other_looks_are_taken_at_most_once(monkeypatch):
    """The verification may ask a line for its other looks more than once (the whole reading,
    a repaired one, a named value's value): the recogniser runs on them once."""
    calls = []
    monkeypatch.setattr(hw, "other_looks", lambda image: calls.append(1) or ("look",))
    read = hw.read_handwritten_region(written(["15", "8 x 8"]), 200.0)
    assert read.lines and all(line.looks is not None for line in read.lines)
    for line in read.lines:
        assert line.looks() == line.looks() == ("look",)
    assert len(read.lines) == 2 and len(calls) == 2
