"""Key-aware verification on hand-made probability matrices: a sure key, a sure other value,
13 vs 15 in doubt, a decimal point the reader nearly dropped, the key's forms in the reading's
own layout, and the cases where "not the key" is never decided."""
from dataclasses import replace

import numpy as np
import pytest

from grader.glyphs import UNKNOWN
from grader.handwriting import LinePosterior, LineRead
from grader.types import Kind, QuestionSpec, Tolerance
from grader.verify import (
    GLYPH_CLIP, Decision, Thresholds, decide, evidence, fingerprint, key_forms, number_texts,
    pooled, thresholds_for, verify,
)

CHARACTERS = ("", *"0123456789", ".", " ", "=", "x", "×", "R", "F", "h", "(", ")", ",", "-",
              "/", "n", UNKNOWN)
SURE = 0.9998
INDEX = {c: k for k, c in enumerate(CHARACTERS) if k}
STRICT = Thresholds(key=0.99, full=1e-3, same=0.9)


def line(*steps, text=None) -> LineRead:
    """A line whose frames spell ``steps``: each a character (sure) or a dict {character or
    "" for the blank: probability}; a sure blank frame after each step. What a frame leaves
    is spread over the other classes."""
    rows = [{"": SURE}]
    for step in steps:
        rows += [step if isinstance(step, dict) else {step: SURE}, {"": SURE}]
    probs = np.full((len(rows), len(CHARACTERS)), 0.0)
    for t, row in enumerate(rows):
        for char, p in row.items():
            probs[t, INDEX.get(char, 0)] = p
        rest = 1.0 - probs[t].sum()
        probs[t, probs[t] == 0] = rest / max(1, (probs[t] == 0).sum())
    greedy = "".join(max(r, key=r.get) for r in rows)
    return LineRead(text if text is not None else greedy, 0.5, (0, 0, 10, 10),
                    posterior=LinePosterior(probs.astype(np.float32), CHARACTERS))


def numeric(key, **extra) -> QuestionSpec:
    return QuestionSpec(label="1", number="1", part=None, kind=Kind.NUMERIC, points=2.0,
                        key=key, **extra)


def test_a_sure_key_is_accepted_as_the_key():
    v = verify(numeric(15), [line("1", "5")], "15", thresholds=STRICT)
    assert v.decision is Decision.KEY and v.key_posterior > 0.99


def test_a_sure_other_value_is_accepted_as_not_the_key():
    v = verify(numeric(15), [line("1", "3")], "13", thresholds=STRICT)
    assert v.decision is Decision.NOT_KEY and v.key_posterior < 1e-3 and v.same_posterior > 0.9


def test_13_or_15_in_doubt_is_unsure_whichever_the_key():
    doubt = line("1", {"3": 0.6, "5": 0.39})
    against_15 = verify(numeric(15), [doubt], "13", thresholds=STRICT)
    assert against_15.decision is Decision.UNSURE
    assert against_15.key_posterior == pytest.approx(0.39, abs=0.01)   # "15" weighed exactly
    against_13 = verify(numeric(13), [doubt], "13", thresholds=STRICT)
    assert against_13.decision is Decision.UNSURE and against_13.key_posterior < 0.99
    # Far from the doubt, 13 vs 18: 15 is still surely not what is written.
    other = verify(numeric(15), [line("1", {"3": 0.6, "8": 0.398})], "13", thresholds=STRICT)
    assert other.decision is Decision.NOT_KEY


def test_a_decimal_point_nearly_dropped_is_unsure():
    # ".5" written: the reader's best string is "5", but "." holds 0.3 at its frame.
    dotted = line({"": 0.699, ".": 0.3}, "5", text="5")
    v = verify(numeric(0.5), [dotted], "5", thresholds=STRICT)
    assert v.decision is Decision.UNSURE and v.key_posterior == pytest.approx(0.3, abs=0.01)
    # A reading that has no value without dropping some of its digits is no reading.
    v = verify(numeric(1.2), [line("1", ".", "2", ".", "3")], "1.2.3", thresholds=STRICT)
    assert v.decision is Decision.UNSURE and "parse cleanly" in v.reason
    # A leading zero is the number's own: "094" is 94 (the parser once read it as 0).
    assert verify(numeric(94), [line("0", "9", "4")], "094", thresholds=STRICT).decision \
        is Decision.KEY


def test_the_key_in_the_readings_own_layout():
    assert "RF = 15" in key_forms(numeric(15), "RF = 16")
    reading = line("R", "F", " ", "=", " ", "1", "6")
    v = verify(numeric(15), [reading], "RF = 16", thresholds=STRICT)
    assert v.decision is Decision.NOT_KEY
    near = line("R", "F", " ", "=", " ", "1", {"6": 0.6, "5": 0.39})
    assert verify(numeric(15), [near], "RF = 16", thresholds=STRICT).decision is Decision.UNSURE
    shape = QuestionSpec(label="2", number="2", part=None, kind=Kind.SHAPE, points=2.0, key=[8, 8, 5])
    assert "8 x 8 x 5" in key_forms(shape, "9 x 8 x 5") and "(8, 8, 5)" in key_forms(shape, "9x8x5")
    sure = verify(shape, [line("9", "x", "8", "x", "5")], "9x8x5", thresholds=STRICT)
    assert sure.decision is Decision.NOT_KEY
    doubt = verify(shape, [line({"9": 0.6, "8": 0.39}, "x", "8", "x", "5")], "9x8x5", thresholds=STRICT)
    assert doubt.decision is Decision.UNSURE
    assert verify(shape, [line("8", "×", "8", "×", "5")], "8×8×5", thresholds=STRICT).decision \
        is Decision.KEY


def test_named_values_line_by_line():
    values = QuestionSpec(label="3", number="3", part=None, kind=Kind.VALUES, points=2.0,
                          key={"h2": 0, "h3": 3}, outputs=("h2", "h3"))
    lines = [line("h", "2", "=", "6"), line("h", "3", "=", "3")]
    assert verify(values, lines, "h2=6\nh3=3", thresholds=STRICT).decision is Decision.NOT_KEY
    right = [line("h", "2", "=", "0"), line("h", "3", "=", "3")]
    assert verify(values, right, "h2=0\nh3=3", thresholds=STRICT).decision is Decision.KEY


def test_when_not_the_key_is_never_decided():
    sure_13 = [line("1", "3")]
    # Another reader read the key.
    assert verify(numeric(15), sure_13, "13", others=("15",), thresholds=STRICT).decision \
        is Decision.UNSURE
    # Its key may be carried forward from an earlier part.
    carried = numeric(15, depends_on="0", carry=(("n", "value"),))
    assert verify(carried, sure_13, "13", thresholds=STRICT).decision is Decision.UNSURE
    # A non-integer key with a tolerance; an integer one whose tolerance is written out.
    loose = numeric(0.25, tolerance=Tolerance(abs=0.01))
    assert verify(loose, [line("0", ".", "3")], "0.3", thresholds=STRICT).decision \
        is Decision.UNSURE
    within = numeric(15, tolerance=Tolerance(abs=1))
    assert "14" in key_forms(within, "13") and "16" in key_forms(within, "13")
    assert verify(within, sure_13, "13", thresholds=STRICT).decision is Decision.NOT_KEY
    assert verify(within, [line("1", "6")], "16", thresholds=STRICT).decision is Decision.KEY
    # Expressions and matrices: the key only.
    expression = QuestionSpec(label="4", number="4", part=None, kind=Kind.EXPRESSION,
                              points=2.0, key="2/n", variables=("n",))
    from grader.expr import compare

    found = evidence(expression, [line("1", "/", "n")], "1/n", expression_check=compare)
    assert not found.reads_as_key and "verified as the key only" in found.not_key_blocked
    # No posterior (Tesseract's lines), no key: nothing to verify.
    bare = LineRead("13", 0.9, (0, 0, 1, 1))
    assert verify(numeric(15), [bare], "13", thresholds=STRICT).decision is Decision.UNSURE
    assert verify(numeric(None), sure_13, "13", thresholds=STRICT).decision is Decision.UNSURE


def test_a_key_reading_must_parse_to_the_key():
    # The recogniser is sure of "15", but the text taken (another reader's) says 16.
    v = verify(numeric(15), [line("1", "5")], "16", thresholds=STRICT)
    assert v.decision is not Decision.KEY


def test_thresholds_by_resolution_and_decide_is_monotone():
    assert thresholds_for(None) == thresholds_for(100)          # unknown: the strictest
    assert thresholds_for(300).key <= thresholds_for(100).key
    found = evidence(numeric(15), [line("1", {"5": 0.996, "3": 0.0039})], "15")
    assert decide(found, Thresholds(0.99, 1e-3, 0.9)).decision is Decision.KEY
    assert decide(found, Thresholds(0.999, 1e-3, 0.9)).decision is Decision.UNSURE


def test_written_forms_of_numbers_and_the_fingerprint():
    assert number_texts(15) == ("15", "15.0")
    assert set(number_texts(0.25)) >= {"0.25", ".25", "1/4"}
    assert set(number_texts(-3)) == {"-3", "−3", "-3.0", "−3.0"}
    assert number_texts("x") == () and number_texts(True) == ()
    assert fingerprint(numeric(15)) == fingerprint(numeric(15)) != fingerprint(numeric(16))


def test_no_decision_when_the_reader_did_not_see_all_the_ink():
    sure_13 = [line("1", "3")]
    assert verify(numeric(15), sure_13, "13", unseen=0.01, thresholds=STRICT).decision \
        is Decision.NOT_KEY
    missed = verify(numeric(15), sure_13, "13", unseen=0.3, thresholds=STRICT)
    assert missed.decision is Decision.UNSURE and "no line the reader read" in missed.reason
    # A little unseen ink still lets the key be verified, but not "not the key": the key
    # may be written in what was not seen ("1595" with faint 5s read "1").
    some = verify(numeric(15), sure_13, "13", unseen=0.07, thresholds=STRICT)
    assert some.decision is Decision.UNSURE and "no line the reader read" in some.reason
    assert verify(numeric(13), sure_13, "13", unseen=0.07, thresholds=STRICT).decision \
        is Decision.KEY


def test_strings_that_are_no_answer_do_not_count_against_the_key():
    """"h2 = 7" with its h read a third as a 6: "62 = 7" is no answer to "h2 = ?" (it parses
    as nothing), so the key holds nearly all the mass of what a student answering writes; a
    7 read a third as a 1 ("h2 = 1" is an answer, another value) still does count."""
    values = QuestionSpec(label="5", number="5", part=None, kind=Kind.VALUES, points=1.0,
                          key={"h2": 7}, outputs=("h2",))
    h_or_6 = [line({"h": 0.66, "6": 0.3399}, "2", "=", "7")]
    found = evidence(values, h_or_6, "h2=7")
    assert found.p_key == pytest.approx(0.66, abs=0.01)              # as before: a lower bound
    assert found.p_malformed == pytest.approx(0.34, abs=0.01)
    assert found.key_given_answer > 0.99
    v = decide(found, STRICT)
    assert v.decision is Decision.KEY and v.key_posterior == found.key_given_answer
    seven_or_1 = [line("h", "2", "=", {"7": 0.66, "1": 0.3399})]
    v = verify(values, seven_or_1, "h2=7", thresholds=STRICT)
    assert v.decision is Decision.UNSURE and v.key_posterior == pytest.approx(0.66, abs=0.01)
    # Nothing but malformed strings: no evidence for the key at all.
    assert replace(found, p_key=0.0, p_malformed=1.0).key_given_answer == 0.0


def test_a_shapes_separators_are_weighed_as_one():
    """Five sizes whose four separators the reader cannot tell apart (x or ×, evenly): the
    16 spellings of the key split its mass, which the beam cannot all hold; weighed as one
    sign, the key holds it all. A size in doubt still counts against it."""
    shape = QuestionSpec(label="6", number="6", part=None, kind=Kind.SHAPE, points=1.0,
                         key=[8, 8, 5, 4, 2])
    either = {"x": 0.4999, "×": 0.4999}
    lines = [line("8", either, "8", either, "5", either, "4", either, "2", text="8x8×5x4×2")]
    found = evidence(shape, lines, "8x8×5x4×2")
    assert found.reads_as_key and found.key_given_answer > 0.99
    assert verify(shape, lines, "8x8×5x4×2", thresholds=STRICT).decision is Decision.KEY
    doubt = [line("8", either, "8", either, {"5": 0.6, "3": 0.3998}, either, "4", either, "2",
                  text="8x8×5x4×2")]
    found = evidence(shape, doubt, "8x8×5x4×2")
    assert found.key_given_answer == pytest.approx(0.6, abs=0.01)
    # Not the key: 8 × 8 × 3 × 4 × 2 is surely not 8 × 8 × 5 × 4 × 2, however it is spelled.
    other = [line("8", either, "8", either, "3", either, "4", either, "2", text="8x8×3x4×2")]
    v = verify(shape, other, "8x8×3x4×2", thresholds=STRICT)
    assert v.decision is Decision.NOT_KEY and v.same_posterior > 0.99
    from grader.verify import SHAPE_SEPARATORS, _merge
    assert _merge("8x8X5*4", SHAPE_SEPARATORS) == "8×8×5×4"


def test_no_decision_when_a_dot_lies_by_the_line_unread():
    """".426" whose point the line cutter left out: the posterior of "426" cannot say
    whether a point was written, so neither "the key" nor "not the key" is decided."""
    from dataclasses import replace as changed

    read = line("4", "2", "6")
    assert verify(numeric(0.426), [read], "426", thresholds=STRICT).decision is Decision.NOT_KEY
    dotted = changed(read, loose_dots=1)
    v = verify(numeric(0.426), [dotted], "426", thresholds=STRICT)
    assert v.decision is Decision.UNSURE and "decimal point" in v.reason
    assert verify(numeric(426), [dotted], "426", thresholds=STRICT).decision is Decision.UNSURE
    # A number read with its point has no other to miss.
    pointed = changed(line("0", ".", "7", "5"), loose_dots=1)
    assert verify(numeric(7.5), [pointed], "0.75", thresholds=STRICT).decision \
        is Decision.NOT_KEY


def test_other_looks_are_taken_only_when_unsure_and_averaged():
    """A first look that leaves "15" unsure (0.8) and two other looks at the same ink that
    are sure of it: the mean (0.93) is "the key" at 0.9. Other looks that doubt as much
    leave it unsure; a first look that is sure never asks for more."""
    from dataclasses import replace as changed

    from grader.verify import weigh

    key_at_0_9 = Thresholds(key=0.9, full=1e-3, same=0.9)
    first = line("1", {"5": 0.8, "3": 0.1999})
    sure = line("1", {"5": 0.995, "3": 0.0049}).posterior
    doubt = line("1", {"5": 0.8, "3": 0.1999}).posterior
    assert verify(numeric(15), [first], "15", thresholds=key_at_0_9).decision is Decision.UNSURE
    looked = changed(first, looks=lambda: (sure, sure))
    found, v = weigh(numeric(15), [looked], "15", key_at_0_9)
    assert found.looks == 3 and found.p_key == pytest.approx((0.8 + 2 * 0.995) / 3, abs=0.01)
    assert v.decision is Decision.KEY and v.reason.startswith("3 looks")
    assert verify(numeric(15), [looked], "15", thresholds=key_at_0_9).decision is Decision.KEY
    doubted = changed(first, looks=lambda: (doubt, doubt))
    assert verify(numeric(15), [doubted], "15", thresholds=key_at_0_9).decision \
        is Decision.UNSURE

    def never():
        raise AssertionError("a sure first look takes no other")
    sure_first = line("1", "5")
    assert verify(numeric(15), [changed(sure_first, looks=never)], "15",
                  thresholds=key_at_0_9).decision is Decision.KEY
    # "Not the key": two looks sure of 13 bring a first look's 2e-3 on 15 under 1e-3; a
    # look that puts mass on the key keeps it out of reach.
    unsure_13 = line("1", {"3": 0.9978, "5": 0.002})
    on_15 = line("1", {"3": 0.5, "5": 0.4999}).posterior
    sure_13 = line("1", {"3": 0.99999}).posterior
    assert verify(numeric(15), [unsure_13], "13", thresholds=key_at_0_9).decision \
        is Decision.UNSURE
    assert verify(numeric(15), [changed(unsure_13, looks=lambda: (sure_13, sure_13))], "13",
                  thresholds=key_at_0_9).decision is Decision.NOT_KEY
    assert verify(numeric(15), [changed(unsure_13, looks=lambda: (on_15, sure_13))], "13",
                  thresholds=key_at_0_9).decision is Decision.UNSURE


def test_no_other_look_is_taken_where_none_could_decide():
    """Other looks cost the recogniser once more per line: none is taken where even two
    looks as sure as can be could not bring the mean to a decision (read as the key at 0.5:
    (0.5 + 2) / 3 < 0.9; read as 13 with 0.4 on 15: P(full) >= 0.4 / 3; "not the key" ruled
    out for the question), and they are still taken where they could."""
    from dataclasses import replace as changed

    key_at_0_9 = Thresholds(key=0.9, full=1e-3, same=0.9)

    def never():
        raise AssertionError("no look can decide here: none is taken")
    half = line("1", {"5": 0.5, "3": 0.4999})
    assert verify(numeric(15), [changed(half, looks=never)], "15",
                  thresholds=key_at_0_9).decision is Decision.UNSURE
    assert verify(numeric(15), [changed(half, looks=never)], "13",
                  thresholds=key_at_0_9).decision is Decision.UNSURE
    two_lines = [changed(line("1", {"3": 0.99, "5": 0.0099}), looks=never), changed(line("4"), looks=never)]
    assert verify(numeric(15), two_lines, "13\n4", thresholds=key_at_0_9).decision \
        is Decision.UNSURE              # "the answer spans several lines": never "not the key"
    taken = []
    sure = line("1", {"5": 0.995, "3": 0.0049}).posterior
    reachable = changed(line("1", {"5": 0.75, "3": 0.2499}),
                        looks=lambda: taken.append(1) or (sure, sure))
    assert verify(numeric(15), [reachable], "15", thresholds=key_at_0_9).decision is Decision.KEY
    assert taken == [1]


def test_a_shape_cut_from_a_longer_run_is_no_clean_reading():
    """"6 x 7 x 4" with its 6 read as an E: the parser takes "7 x 4" and leaves the E out, so
    the reading is of no shape at all (no decision), and "E x 7 x 4" is no candidate for
    "not the key"; a shape with words before it ("shape: 7 x 4") is still one."""
    from grader.parse import shape_incomplete

    shape = QuestionSpec(label="7", number="7", part=None, kind=Kind.SHAPE, points=1.0,
                         key=[6, 7, 4])
    v = verify(shape, [line("F", " ", "x", " ", "7", " ", "x", " ", "4")], "F x 7 x 4",
               thresholds=STRICT)
    assert v.decision is Decision.UNSURE and "parse cleanly" in v.reason
    assert shape_incomplete("E x 7 x 4", "7 x 4") and shape_incomplete("7 x 4 ×g", "7 x 4")
    assert shape_incomplete("7 x 4 x", "7 x 4") and shape_incomplete("7x4x ?", "7x4")
    assert not shape_incomplete("shape: 7 x 4", "7 x 4") and not shape_incomplete("7x4", "7x4")
    assert not shape_incomplete("7 x 4 channels", "7 x 4")


def test_a_reading_that_does_not_parse_is_repaired_by_the_recognisers_own_answer():
    """Tesseract's "$x 32" was taken (it parses as no shape) where the recogniser surely reads
    4 x 32: the decision is made about the recogniser's most likely string that parses, and
    says which. Its "not the key" and "the key" hold as for any reading; a reading whose mass
    lies mostly on no answer at all ("S" where an 8 may be written) is never taken as the key."""
    shape = QuestionSpec(label="2", number="2", part=None, kind=Kind.SHAPE, points=1.0, key=[6, 32])
    four = [line("4", " ", "x", " ", "3", "2")]
    v = verify(shape, four, "$x 32", others=("$x 32",), thresholds=STRICT)
    assert v.decision is Decision.NOT_KEY and v.reading == "4x32"
    assert "'$x 32' does not parse cleanly" in v.reason
    as_key = verify(replace(shape, key=[4, 32]), four, "$x 32", thresholds=STRICT)
    assert as_key.decision is Decision.KEY and as_key.reading == "4x32"
    # A clean reading is never repaired; a repair that is not sure stays unsure, unrepaired.
    assert verify(shape, four, "4 x 32", thresholds=STRICT).reading == ""
    doubt = [line("4", " ", "x", " ", {"3": 0.5, "2": 0.4998}, "2")]
    v = verify(replace(shape, key=[4, 22]), doubt, "$x 32", thresholds=STRICT)
    assert v.decision is Decision.UNSURE and v.reading == ""
    # "S" read at 0.9 where an 8 holds 0.1: among answers 8 holds nearly all, but answers
    # hold a tenth of the mass: not the key.
    chars = CHARACTERS + ("S",)
    probs = np.full((3, len(chars)), 1e-6, dtype=np.float32)
    probs[0, 0] = probs[2, 0] = SURE
    probs[1, chars.index("S")], probs[1, chars.index("8")] = 0.9, 0.0998
    s_or_8 = [LineRead("S", 0.5, (0, 0, 10, 10), posterior=LinePosterior(probs, chars))]
    v = verify(numeric(8), s_or_8, "S", thresholds=STRICT)
    assert v.decision is Decision.UNSURE and v.reading == ""


def test_a_named_value_is_verified_whatever_its_name_is_read_as():
    """"h2 = 6" with its h read as an R: the name is no answer's, but a one-output question
    asks for one value, and the recogniser is sure of the "=": the value after it is decided
    (the key, or surely not), and graded as the output's. Not with two outputs, an unsure
    "=", or two of them."""
    from grader.verify import value_part

    values = QuestionSpec(label="5", number="5", part=None, kind=Kind.VALUES, points=1.0,
                          key={"h2": 6}, outputs=("h2",))
    misnamed = [line("R", "2", "=", "6")]
    assert evidence(values, misnamed, "R2=6").blocked        # the whole line decides nothing
    v = verify(values, misnamed, "R2=6", thresholds=STRICT)
    assert v.decision is Decision.KEY and v.reading == "h2 = 6" and "name" in v.reason
    v = verify(values, [line("R", "2", "=", "7")], "R2=7", thresholds=STRICT)
    assert v.decision is Decision.NOT_KEY and v.reading == "h2 = 7"
    # The value in doubt stays unsure.
    v = verify(values, [line("R", "2", "=", {"6": 0.6, "8": 0.3998})], "R2=6", thresholds=STRICT)
    assert v.decision is Decision.UNSURE and v.reading == ""
    # An "=" the recogniser is not sure of, or two of them: no value part.
    assert value_part(line("R", "2", {"=": 0.6, "-": 0.3998}, "6").posterior) is None
    assert value_part(line("R", "=", "2", "=", "6").posterior) is None
    assert value_part(line("R", "2", "6").posterior) is None
    # Two outputs: each line must name its value.
    two = replace(values, key={"h2": 6, "h3": 1}, outputs=("h2", "h3"))
    assert verify(two, misnamed, "R2=6", thresholds=STRICT).decision is Decision.UNSURE


# --------------------------------------------------------------------------------------------
# The character classifier's reading pooled with the recogniser's (grader.glyphs)

THRESHOLDS = Thresholds(key=0.9, full=1e-4, same=0.7)


@pytest.mark.parametrize("p, q, expected", [
    (0.5, 0.9, 0.9),                  # a flat first expert: the second's word
    (0.6, 0.5, 0.6),                  # a flat second expert: the first's word
    (0.0, 0.99, 0.0), (1.0, 0.01, 1.0),  # certainty is not moved
    (0.6, 1.0, 0.6 * 0.98 / (0.6 * 0.98 + 0.4 * 0.02)),   # the second held within the clip
    (0.6, 0.0, 0.6 * 0.02 / (0.6 * 0.02 + 0.4 * 0.98)),
])
def test_two_experts_odds_multiply_within_the_clip(p, q, expected):
    assert pooled(p, q) == pytest.approx(expected)
    assert GLYPH_CLIP == 0.02


def glyph_line(recogniser: LineRead, *steps) -> LineRead:
    """``recogniser`` with a character classifier's reading spelling ``steps`` (one glyph
    each, as ``grader.glyphs.posterior`` lays them out)."""
    return replace(recogniser, glyphs=lambda: line(*steps).posterior)


def test_the_classifier_sure_of_the_key_lifts_a_leaning_recogniser_to_the_key():
    leaning = line("3", "9", {"2": 0.6, "7": 0.39}, "6")          # 3926 at 0.6
    alone = verify(numeric(3926), [leaning], "3926", thresholds=THRESHOLDS)
    assert alone.decision is Decision.UNSURE
    both = verify(numeric(3926), [glyph_line(leaning, "3", "9", "2", "6")], "3926",
                  thresholds=THRESHOLDS)
    assert both.decision is Decision.KEY and "character classifier" in both.reason
    assert both.key_posterior == pytest.approx(pooled(0.6, 0.9998 ** 4), abs=0.01)
    # The classifier reading another value keeps it unsure.
    other = verify(numeric(3926), [glyph_line(leaning, "3", "9", "7", "6")], "3926",
                   thresholds=THRESHOLDS)
    assert other.decision is Decision.UNSURE


def test_the_classifier_never_decides_alone():
    # The recogniser too unsure for "the key": however sure the classifier, unsure.
    weak = line("3", "9", {"2": 0.1, "7": 0.89}, "6", text="3926")
    v = verify(numeric(3926), [glyph_line(weak, "3", "9", "2", "6")], "3926",
               thresholds=THRESHOLDS)
    assert v.decision is Decision.UNSURE
    # "Not the key" needs the recogniser's P(full) within the clip's reach (4.9e-3).
    doubt = line("1", {"3": 0.9, "5": 0.09})
    v = verify(numeric(15), [glyph_line(doubt, "1", "3")], "13", thresholds=THRESHOLDS)
    assert v.decision is Decision.UNSURE
    # Where it leans that way, the classifier's agreement decides it.
    lean = line("1", {"3": 0.995, "5": 0.004})
    assert verify(numeric(15), [lean], "13", thresholds=THRESHOLDS).decision is Decision.UNSURE
    v = verify(numeric(15), [glyph_line(lean, "1", "3")], "13", thresholds=THRESHOLDS)
    assert v.decision is Decision.NOT_KEY and "character classifier" in v.reason


def test_the_classifier_is_not_heard_where_its_glyphs_do_not_match_the_reading():
    leaning = line("3", "9", {"2": 0.6, "7": 0.39}, "6")
    # Two glyphs for four characters (digits touching): no pooling.
    v = verify(numeric(3926), [glyph_line(leaning, "3", "9")], "3926", thresholds=THRESHOLDS)
    assert v.decision is Decision.UNSURE
    # A glyph it calls junk counts against the key ...
    junk = verify(numeric(3926), [glyph_line(leaning, "3", "9", UNKNOWN, "6")], "3926",
                  thresholds=THRESHOLDS)
    assert junk.decision is Decision.UNSURE
    # ... and for the key where "not the key" is asked: no "not the key" from it.
    lean = line("1", {"3": 0.995, "5": 0.004})
    v = verify(numeric(15), [glyph_line(lean, "1", {UNKNOWN: 0.5, "3": 0.4998})], "13",
               thresholds=THRESHOLDS)
    assert v.decision is Decision.UNSURE
    # A classifier that abstains changes nothing.
    abstains = replace(leaning, glyphs=lambda: None)
    assert verify(numeric(3926), [abstains], "3926", thresholds=THRESHOLDS).decision \
        is Decision.UNSURE


def test_the_classifiers_own_reading_is_weighed_when_the_recogniser_misread():
    # 5/8 written; the recogniser's reading "518" but 5/8 holds 0.48 of its mass.
    misread = line("5", {"1": 0.51, "/": 0.48}, "8", text="518")
    assert verify(numeric(0.625), [misread], "518", thresholds=THRESHOLDS).decision \
        is Decision.UNSURE
    v = verify(numeric(0.625), [glyph_line(misread, "5", "/", "8")], "518",
               thresholds=THRESHOLDS)
    assert v.decision is Decision.KEY and v.reading == "5/8" and v.engine == "glyphs"
    assert "read '5/8' by the character classifier" in v.reason


def test_the_classifiers_own_reading_must_be_a_plain_answer_of_the_kind():
    # "37×1" for a number (a 7 and a 1 read as a sign): not weighed as a reading of its own.
    misread = line("3", {"5": 0.998, "7": 0.001}, "1", text="351")
    assert verify(numeric(371), [misread], "351", thresholds=THRESHOLDS).decision \
        is Decision.UNSURE
    v = verify(numeric(371), [glyph_line(misread, "3", "7", "×", "1")], "351",
               thresholds=THRESHOLDS)
    assert v.decision is Decision.UNSURE
    # As plain a number as "3751", it is weighed (and here surely not the key).
    v = verify(numeric(371), [glyph_line(misread, "3", "7", "5", "1")], "351",
               thresholds=THRESHOLDS)
    assert v.decision is Decision.NOT_KEY and v.reading == "3751"


def test_the_classifier_is_asked_before_other_looks_are_taken():
    asked = []

    def looks():
        asked.append(1)
        return ()

    leaning = replace(line("3", "9", {"2": 0.75, "7": 0.24}, "6"), looks=looks)
    v = verify(numeric(3926), [glyph_line(leaning, "3", "9", "2", "6")], "3926",
               thresholds=THRESHOLDS)
    assert v.decision is Decision.KEY and not asked
    # Where it decides nothing, the other looks are taken as before.
    v = verify(numeric(3926), [glyph_line(leaning, "3", "9", "7", "6")], "3926",
               thresholds=THRESHOLDS)
    assert v.decision is Decision.UNSURE and asked
