"""Real scans from other OMR tools' public test suites (``../shared/realscans``: Auto Multiple
Choice's tests/t/* and OMRChecker's samples), each wrapped into a PDF and graded through the
real service path (``exams.services.submission_create``, in-process) with the exam definition
in tests/fixtures/realscans/: no internal error, no silent misgrade (an unflagged selection
that is not what the sheet has marked). The per-sheet table (right / flagged / wrong) is
``python -m bench.realscans``; BENCHMARKS.md has it."""
from __future__ import annotations

import pytest

from bench.realscans import REALSCANS, grade_sheet, report, sheets

pytestmark = pytest.mark.django_db(transaction=True)
SHEETS = sheets()


@pytest.fixture(scope="module", autouse=True)
def _realscans_present():
    if not (REALSCANS / "README.md").is_file():
        pytest.fail(f"{REALSCANS} is missing: the real scans live beside the checkout "
                    f"(../shared/realscans), as in CI")


# What the reader keeps reading right (BENCHMARKS.md has the table): AMC's square boxes beside
# their option text, crosses and fills, one and two columns, questions and options shuffled
# per copy, an A5 page in a multi-page TIFF. The rest of these sheets is flagged for a TA:
# AMC's circles and ovals, OMRChecker's bubble grids (no option text beside a bubble).
AT_LEAST_RIGHT = {"allowempty-copy5": 5, "allowempty-copy4": 4, "code_scoring-copy4": 2,
                  "0assoc-copy2": 1, "0assoc-copy3": 1, "0assoc-copy4": 1, "0assoc-copy5": 1,
                  "ignore-red-bubble": 1, "ignore-red-cross": 1}


@pytest.mark.parametrize("sheet", SHEETS, ids=[s["id"] for s in SHEETS])
def test_a_real_scan_grades_without_an_internal_error_or_a_silent_misgrade(media_root, sheet):
    result = grade_sheet(sheet)
    table = report([result], details=True)
    print("\n" + table)
    assert result.status in ("graded", "needs_review"), result.error
    assert "internal error" not in result.error
    assert sum(result.counts.values()) > 0
    assert result.counts["WRONG"] == 0, table
    assert result.counts["right"] >= AT_LEAST_RIGHT.get(sheet["id"], 0), table
