"""A printed exam filled in by hand and scanned (tools.written_exam), read by the real page
reader (grader.scan: regions, both engines, the score verified against each key) and graded:
no answer is ever graded automatically with a score it does not deserve."""
from __future__ import annotations

import json

import pytest

from grader.align import BlankPages
from grader.exam import ExamSpec
from grader.layout import blank_layout
from grader.ocr import OcrOptions
from grader.omr import assign_options, template_from_pdf
from grader.pipeline import grade_document
from grader.render import render_pdf_page
from grader.scan import pdf_renderer, read_page
from rubrics.definition import parse_definition_text
from rubrics.keys import check_keys, recompute_with
from tools import written_exam

# Two students: one writes every part right, one every part wrong (at two resolutions).
STUDENTS = ((1, 200, "right"), (2, 150, "wrong"))


@pytest.fixture(scope="module")
def exam(tmp_path_factory):
    """(folder, exam spec with template and layout, blank pages) of the written exam."""
    folder = tmp_path_factory.mktemp("written")
    written_exam.generate(folder)
    keyed, _ = check_keys(parse_definition_text((folder / "exam.yaml").read_text()))
    blank = folder / "blank.pdf"
    choices = [(q.label, len(q.options)) for q in keyed.questions if q.options]
    template = {label: [[b.page, b.x, b.y, b.w, b.h] for b in boxes] for label, boxes in
                assign_options(template_from_pdf(blank), choices).items()}
    spec = ExamSpec.build(keyed.questions, template, blank_layout(blank, keyed.questions))
    pages = BlankPages(lambda page, dpi: render_pdf_page(blank, page - 1, dpi=dpi), 2,
                       key=("test-written", str(folder)))
    return folder, spec, pages


@pytest.fixture(scope="module")
def graded(exam):
    folder, spec, pages = exam
    out = []
    for student, dpi, outcome in STUDENTS:
        truth = written_exam.fill(folder, student, seed=5, dpi=dpi,
                                  outcomes={label: outcome for label in written_exam.WRITTEN})
        render = pdf_renderer(folder / truth["file"])
        reads = [read_page(n, None, spec, render, OcrOptions(timeout_s=60), pages) for n in (1, 2)]
        out.append((truth, reads, grade_document(reads, spec, render=render,
                                                  recompute=recompute_with)))
    return out


def test_no_written_answer_is_silently_misgraded(graded):
    auto = 0
    for truth, _, document in graded:
        for answer in document.answers:
            part = truth["parts"][answer.label]
            if part["kind"] == "multiple_choice" or answer.status == "flagged":
                continue
            auto += 1
            assert answer.scored.score == part["score"], (answer.label, part, answer.raw_text,
                                                          answer.scored)
    assert auto >= 1, "the verification graded nothing automatically"


def test_every_written_region_is_verified_against_its_key_and_the_decision_is_stored(graded):
    for truth, reads, document in graded:
        regions = {r.label: r for page in reads for r in page.regions}
        assert set(regions) == set(written_exam.WRITTEN)
        for label, read in regions.items():
            assert read.decision in ("key", "not_key", "unsure") and read.verified_for
            if read.decision == "key":
                assert truth["parts"][label]["outcome"] == "right", (label, read)
            if read.decision == "not_key":
                assert truth["parts"][label]["outcome"] == "wrong", (label, read)
        stored = json.loads(json.dumps([p.to_json() for p in reads]))
        assert [r["decision"] for p in stored for r in p["regions"]] == \
            [r.decision for p in reads for r in p.regions]


def test_verifying_a_written_expression_shares_the_answers_time_budget(exam, graded):
    """An expression's candidates are weighed by SymPy within the answer's budget
    (``GRADER_EXPRESSION_BUDGET_S``, passed down to the page read): with none left, a written
    expression is never verified, whatever it reads; numbers need no SymPy and are unchanged."""
    from grader import expr

    folder, spec, pages = exam
    truth, reads, _ = graded[0]
    render = pdf_renderer(folder / truth["file"])
    # The comparisons of the reads above are cached (a cached answer costs no time): gone.
    expr._canonical.cache_clear()
    expr._compare.cache_clear()
    starved = [read_page(n, None, spec, render, OcrOptions(timeout_s=60), pages,
                         expression_budget_s=0.0) for n in (1, 2)]
    kinds = {q.label: str(q.kind) for q in spec.questions}
    before = {r.label: r for page in reads for r in page.regions}
    expressions = 0
    for page in starved:
        for region in page.regions:
            if kinds.get(region.label) == "expression" and region.text.strip():
                expressions += 1
                assert region.decision == "unsure", region
            elif kinds.get(region.label) in ("numeric", "shape"):
                assert region.decision == before[region.label].decision, region
    assert expressions >= 1
