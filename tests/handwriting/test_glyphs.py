"""The character classifier (grader.glyphs): a line cut into its characters, each classified,
laid out as the recogniser's posterior; the shipped weights read the corpus's glyphs; the
training tool keeps to its own seeds."""
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from grader import ctc
from grader.glyphs import (
    CHARACTERS, CLASSES, JUNK, SIDE, UNKNOWN, WEIGHTS, GlyphModel, glyph_count, model, posterior,
    segment,
)

FONT = "/usr/share/fonts/opentype/comic-neue/ComicNeue-Regular.otf"


def written(text: str, size: int = 48) -> np.ndarray:
    """``text`` in a handwriting font as a cut line: grey uint8, white paper, tight."""
    font = ImageFont.truetype(FONT, size)
    image = Image.new("L", (size * (len(text) + 2), size * 2), 255)
    ImageDraw.Draw(image).text((size // 2, size // 3), text, fill=20, font=font)
    array = np.asarray(image)
    rows, cols = np.flatnonzero((array < 128).any(1)), np.flatnonzero((array < 128).any(0))
    return np.ascontiguousarray(array[rows[0] - 2:rows[-1] + 3, cols[0] - 2:cols[-1] + 3])


def test_a_line_is_cut_into_its_characters_left_to_right():
    glyphs = segment(written("8x5=40"))
    assert len(glyphs) == 6                      # the bars of "=" are one character
    lefts = [g.box[0] for g in glyphs]
    assert lefts == sorted(lefts)
    assert all(g.bitmap.shape == (20, 20) and g.bitmap.max() > 0.5 for g in glyphs)


def test_specks_are_no_characters_and_blank_paper_has_none():
    line = written("72")
    noisy = line.copy()
    noisy[1, 1] = 0                              # one dark pixel in the margin
    assert len(segment(noisy)) == len(segment(line)) == 2
    assert segment(np.full((40, 120), 255, np.uint8)) == ()
    assert posterior(np.full((40, 120), 255, np.uint8)) is None


def test_the_posterior_is_laid_out_as_the_recognisers():
    p = posterior(written("3.14"))
    assert p is not None and p.characters == CHARACTERS and glyph_count(p) == 4
    assert p.frames == 2 * 4 + 1
    assert np.allclose(p.probs.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(p.probs[1::2, 0] == 0)          # a glyph frame is a character, never nothing
    assert np.all(p.probs[0::2, 1:1 + JUNK] == 0)  # between glyphs: a blank or a space only
    # Its likeliest string by the beam search is the glyphs' likeliest classes.
    best = "".join(p.characters[k] for k in p.probs[1::2].argmax(axis=1))
    beams = ctc.beam_search(p.log_probs(), 4)
    assert p.text(beams[0][0]) == best


def test_the_shipped_model_reads_printed_handwriting_font_digits():
    line = written("2049 x 3.5 = -17/6")
    p = posterior(line)
    text = "".join(p.characters[k] for k in p.probs[1::2].argmax(axis=1))
    assert text == "2049×3.5=-17/6"
    assert UNKNOWN not in text


def test_the_shipped_model_reads_the_corpus_it_was_validated_on():
    """Glyphs cut from a few pages of the training tool's validation seed, as it cuts them:
    most are classified right (the tool reported 97 % on the full validation set)."""
    from tools.train_glyphs import VALIDATION_SEED, samples

    x, y = samples(VALIDATION_SEED, 3)
    right = model().probabilities(x).argmax(axis=1) == y
    assert len(y) > 100 and right.mean() > 0.9


def test_weights_for_other_classes_are_refused(tmp_path):
    with np.load(WEIGHTS) as d:
        arrays = dict(d)
    arrays["classes"] = np.asarray([*CLASSES[:-1], "junk"])
    bad = tmp_path / "other.npz"
    np.savez(bad, **arrays)
    with pytest.raises(ValueError, match="classes"):
        GlyphModel(bad)
    none = np.zeros((0, SIDE * SIDE + 8), np.float32)
    assert GlyphModel(WEIGHTS).probabilities(none).shape == (0, JUNK + 1)


def test_training_never_touches_the_benchmarks_seeds():
    from tools.train_glyphs import RESERVED_SEEDS, TRAIN_SEEDS, VALIDATION_SEED, samples

    assert not RESERVED_SEEDS & {*TRAIN_SEEDS, VALIDATION_SEED}
    with pytest.raises(ValueError, match="benchmark"):
        samples(101, 1)
