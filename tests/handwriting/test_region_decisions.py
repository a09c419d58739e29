"""A written answer's flag follows the score's verification against the key (grader.verify),
when it was verified against this very question; page reads keep the decision in JSON."""
from __future__ import annotations

import pytest

from grader.align import Alignment
from grader.exam import ExamSpec
from grader.layout import BlankLayout, Region
from grader.pages import PageRead, RegionRead
from grader.pipeline import grade_document
from grader.types import Flag, Kind, QuestionSpec, Reading, Source
from grader.verify import fingerprint

NUM = QuestionSpec(label="1", number="1", part=None, kind=Kind.NUMERIC, points=2.0, key=15)
EXAM = ExamSpec.build([NUM], None, BlankLayout(((210.0, 297.0),),
                                               {"1": Region(1, 20, 40, 160, 20, "frame")}))


def graded(read: RegionRead, exam: ExamSpec = EXAM):
    page = PageRead(number=1, source=Source.SCAN, text="",
                    alignment=Alignment(1, 1, 0, 0, 1, 0, 0, 200), regions=(read,))
    return grade_document([page], exam).answers[0]


def region(text: str, unsure: bool, decision: str = "", question=NUM,
           confidence: float = 0.7) -> RegionRead:
    readings = (Reading("pp-ocrv6", text, confidence), Reading("tesseract", "1S", 0.1))
    return RegionRead("1", 30.0, 0.01, text, confidence, "pp-ocrv6", readings, unsure, decision,
                      0.999 if decision == "key" else 1e-5, fingerprint(question) if decision else "")


@pytest.mark.parametrize("confidence", [0.7, 0.3])     # 0.3: below the parser's own threshold
@pytest.mark.parametrize("text,decision,score", [("15", "key", 2.0), ("13", "not_key", 0.0)])
def test_a_verified_score_is_graded_automatically_though_the_text_is_unsure(
        text, decision, score, confidence):
    answer = graded(region(text, unsure=True, decision=decision, confidence=confidence))
    assert answer.status == "auto" and answer.scored.score == score
    assert Flag.LOW_CONFIDENCE not in answer.scored.flags
    assert answer.confidence == confidence                         # the text's own, reported
    assert [r.text for r in answer.readings] == [text, "1S"]        # both kept for the TA


def test_an_unsure_verification_is_flagged_though_the_text_is_sure():
    answer = graded(region("15", unsure=False, decision="unsure"))
    assert answer.status == "flagged" and Flag.LOW_CONFIDENCE in answer.scored.flags
    assert answer.scored.score == 2.0                              # the suggestion stands


def test_a_decision_about_another_key_is_not_trusted():
    """A page read verified against key 15 and graded after the key became 13: the text's
    own sureness decides again."""
    changed = ExamSpec.build([QuestionSpec(label="1", number="1", part=None, kind=Kind.NUMERIC,
                                           points=2.0, key=13)], None, EXAM.layout)
    answer = graded(region("13", unsure=True, decision="not_key"), changed)
    assert answer.status == "flagged" and Flag.LOW_CONFIDENCE in answer.scored.flags
    low = graded(region("13", unsure=False, decision="not_key", confidence=0.3), changed)
    assert low.status == "flagged" and Flag.LOW_CONFIDENCE in low.scored.flags
    assert graded(region("13", unsure=False, decision="not_key"), changed).status == "auto"


def test_unverified_reads_keep_the_text_rule():
    assert graded(region("15", unsure=True)).status == "flagged"
    assert graded(region("15", unsure=False)).status == "auto"


def test_the_decision_travels_with_the_page_read():
    page = PageRead(number=1, source=Source.SCAN, text="",
                    regions=(region("13", True, "not_key"),))
    back = PageRead.from_json(page.to_json())
    assert back.regions == page.regions and back.regions[0].decision == "not_key"
    old = page.to_json()
    for key in ("decision", "key_posterior", "verified_for"):
        del old["regions"][0][key]                   # a page read stored before verification
    assert PageRead.from_json(old).regions[0].decision == ""


def test_a_region_whose_reading_taken_does_not_parse_is_graded_as_the_recogniser_reads_it(
        monkeypatch):
    """Tesseract, surer of its text, read "$x 32" (no shape); the recogniser surely reads
    4 x 32: the region's text is the recogniser's, decided not the key, graded 0 without a
    TA; both readers' texts are kept."""
    import numpy as np

    from grader import handwriting, regions
    from grader.handwriting import Engine, LinePosterior, LineRead
    from grader.ink import RegionInk
    from grader.ocr import OcrOptions

    chars = ("", *"0123456789", " ", "x", "$")
    written = "4 x 32"
    probs = np.full((2 * len(written) + 1, len(chars)), 1e-6, dtype=np.float32)
    probs[0::2, 0] = 0.9999
    for t, c in enumerate(written):
        probs[2 * t + 1, chars.index(c)] = 0.9999
    line = LineRead(written, 0.6, (0, 0, 100, 20),
                    posterior=LinePosterior(probs, chars))
    monkeypatch.setattr(regions, "read_handwritten_region", lambda image, dpi: handwriting.RegionRead(
        Engine.HANDWRITING, (line,)))
    monkeypatch.setattr(regions, "read_region_tesseract", lambda image, dpi, **kw: handwriting.RegionRead(
        Engine.TESSERACT, (LineRead("$x 32", 0.99, (0, 0, 100, 20)),)))
    shape = QuestionSpec(label="1", number="1", part=None, kind=Kind.SHAPE, points=2.0, key=[6, 32])
    ink = RegionInk(np.full((40, 200), 255, np.uint8), 30.0, 0.02)
    read = regions.read_region("1", ink, OcrOptions(), shape, scan_dpi=300)
    assert read.decision == "not_key" and read.text == "4x32" and read.engine == "pp-ocrv6"
    assert {r.text for r in read.readings} == {"4 x 32", "$x 32"}
    exam = ExamSpec.build([shape], None, EXAM.layout)
    answer = graded(read, exam)
    assert answer.status == "auto" and answer.scored.score == 0.0


def test_a_region_read_by_the_character_classifier_says_so(monkeypatch):
    """The recogniser reads "518" (5/8 holds 0.48 of its mass), the character classifier
    surely 5/8: 5/8 is graded, as the classifier's reading, shown beside the others."""
    import numpy as np

    from grader import handwriting, regions
    from grader.glyphs import CHARACTERS
    from grader.handwriting import Engine, LinePosterior, LineRead
    from grader.ink import RegionInk
    from grader.ocr import OcrOptions

    def frames(chars, steps):
        probs = np.full((2 * len(steps) + 1, len(chars)), 1e-6, dtype=np.float32)
        probs[0::2, 0] = 0.9999
        for t, step in enumerate(steps):
            for c, p in step.items():
                probs[2 * t + 1, chars.index(c)] = p
        return LinePosterior(probs, chars)

    recogniser = frames(("", *"0123456789", "/"), [{"5": 0.9999}, {"1": 0.51, "/": 0.48},
                                                  {"8": 0.9999}])
    classifier = frames(CHARACTERS, [{"5": 0.999}, {"/": 0.999}, {"8": 0.999}])
    line = LineRead("518", 0.5, (0, 0, 100, 20), posterior=recogniser,
                    glyphs=lambda: classifier)
    monkeypatch.setattr(regions, "read_handwritten_region", lambda image, dpi: handwriting.RegionRead(
        Engine.HANDWRITING, (line,)))
    monkeypatch.setattr(regions, "read_region_tesseract", lambda image, dpi, **kw: handwriting.RegionRead(
        Engine.TESSERACT, (LineRead("5l8", 0.2, (0, 0, 100, 20)),)))
    fraction = QuestionSpec(label="1", number="1", part=None, kind=Kind.NUMERIC, points=2.0,
                            key=0.625)
    ink = RegionInk(np.full((40, 200), 255, np.uint8), 30.0, 0.02)
    read = regions.read_region("1", ink, OcrOptions(), fraction, scan_dpi=300)
    assert read.decision == "key" and read.text == "5/8" and read.engine == "glyphs"
    assert {r.engine: r.text for r in read.readings} == {"pp-ocrv6": "518", "tesseract": "5l8",
                                                        "glyphs": "5/8"}
    answer = graded(read, ExamSpec.build([fraction], None, EXAM.layout))
    assert answer.status == "auto" and answer.scored.score == 2.0 and answer.reader == "glyphs"
