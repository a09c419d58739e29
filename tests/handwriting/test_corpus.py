"""The handwriting corpus: deterministic, reserved sources never used, truth beside the ink."""
import numpy as np
import pytest

from tools import handwriting_corpus as hc

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_a_page_is_a_pure_function_of_seed_and_number():
    a, b = hc.make_page(3, 2, dpi=100), hc.make_page(3, 2, dpi=100)
    assert a.scan.tobytes() == b.scan.tobytes()
    assert a.regions == b.regions
    assert hc.make_page(4, 2, dpi=100).scan.tobytes() != a.scan.tobytes()


def test_reserved_font_is_never_used_and_fonts_are_installed_by_make_setup():
    assert not any("breip" in f.lower() for _, f, _ in hc.HANDWRITING_FONTS)
    assert hc.RESERVED_FONT_PACKAGE not in hc.FONT_PACKAGES
    makefile = (ROOT / "Makefile").read_text()
    assert all(p in makefile for p in hc.FONT_PACKAGES)
    assert len(hc.fonts()) >= 10, "handwriting fonts missing: run make setup"


def test_digits_come_only_from_even_positions():
    from sklearn.datasets import load_digits

    data = load_digits()
    bank = hc._digit_bank()
    even = {(int(t), data.images[i].tobytes()) for i, t in enumerate(data.target) if i % 2 == 0}
    odd_only = {(int(t), data.images[i].tobytes()) for i, t in enumerate(data.target) if i % 2} - even
    used = {(d, (img * 16.0).tobytes()) for d, imgs in bank.items() for img in imgs}
    assert used <= even and not used & odd_only
    assert sum(len(v) for v in bank.values()) == (len(data.target) + 1) // 2


def test_regions_hold_the_answer_as_ink_and_the_truth_to_grade_it():
    page = hc.make_page(5, 1, dpi=150, kinds=("numeric", "matrix"))
    kinds = [r.kind for r in page.regions]
    assert kinds == ["numeric", "matrix"] * 5
    registered = hc.registered_scan(page, np.random.default_rng(0))
    for region in page.regions:
        ink = hc.region_ink(page, region, registered=registered)
        assert ink.dtype == np.uint8 and ink.ndim == 2
        assert (ink < 128).mean() > 0.002          # the writing is there
        assert np.median(ink) > 230                # on white paper, print removed
        if region.kind == "matrix":
            assert len(region.lines) >= 2 and region.value == [[int(c) for c in l.split()] for l in region.lines]


@pytest.mark.parametrize("kind", hc.ANSWER_KINDS)
def test_every_kind_of_answer_is_generated(kind):
    answer = hc.sample_answer(np.random.default_rng(1), kind)
    assert answer.kind == kind and answer.lines and answer.value is not None


def test_keys_are_right_or_plausibly_wrong_and_the_tuning_and_report_seeds_differ():
    """Seed 7 tunes the verification thresholds, seed 101 reports: different pages, each
    region with a key that is what is written (about half) or a value of the same kind
    that scores 0 against the writing (a digit, a look-alike digit, the decimal point, or
    another answer)."""
    from grader.expr import compare
    from grader.score import score_answer
    from grader.types import Parsed, QuestionSpec

    tuning, report = hc.make_page(7, 1, dpi=100), hc.make_page(101, 1, dpi=100)
    assert tuning.regions != report.regions
    keyed = [hc.key_for(r, hc.key_rng(seed, n, r.label))
             for seed in (7, 101) for n in range(1, 5)
             for r in hc.make_page(seed, n, dpi=100).regions]
    assert keyed == [hc.key_for(k.region, hc.key_rng(s, k.region.page, k.region.label))
                     for s, k in zip([7] * 40 + [101] * 40, keyed)]          # deterministic
    assert 0.3 < sum(k.right for k in keyed) / len(keyed) < 0.7
    assert {k.how for k in keyed if not k.right} >= {"digit", "confusable", "other"}
    for k in keyed:
        spec = QuestionSpec(label=k.region.label, number="1", part=None, kind=k.region.kind,
                            points=1.0, key=k.key, variables=k.region.variables,
                            outputs=k.region.outputs)
        scored = score_answer(spec, Parsed(k.region.value), k.key, expression_check=compare)
        assert scored.score == (1.0 if k.right else 0.0) and not scored.flags, k


def test_wrong_keys_of_each_style():
    rng = np.random.default_rng(3)
    for text in ("15", "0.25", "-3.5", "289", "0", "7"):
        for style in hc.WRONG_KEY_STYLES:
            wrong = hc._different_number(float(text), text, style, rng)
            assert wrong != float(text)
    assert hc._mutate_number("0.25", "decimal", np.random.default_rng(0)).replace(".", "") \
        .lstrip("0") == "25"
