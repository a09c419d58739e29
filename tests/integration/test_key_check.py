"""Answer-key verification on load: the seed 004 typos are caught before any grading."""
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from exams.models import Exam

EXAM = Path(__file__).resolve().parents[2] / "samples" / "dl_solutions" / "exam.yaml"


def test_printed_attention_typo_is_reported_at_row5_col4(db, media_root):
    out = io.StringIO()
    with pytest.raises(CommandError) as info:
        call_command("load_exam", str(EXAM), stdout=out)
    assert info.value.returncode == 3
    text = out.getvalue()
    assert "5.b      mismatch  1 of 25 entries differs: row 5, column 4: computed 0.2244, given 0.1244" in text
    assert "b: computed 25, given 24" in text
    exam = Exam.objects.get(code="DL-SOLUTIONS")
    assert not exam.published
    entry = next(e for e in exam.key_report if e["label"] == "5.b")
    ((index, computed, given),) = entry["mismatches"]
    assert index == [5, 4] and given == 0.1244 and computed == pytest.approx(0.2244, abs=5e-5)


def test_override_is_recorded_and_publishes(db, media_root):
    with pytest.raises(CommandError):
        call_command("load_exam", str(EXAM), stdout=io.StringIO())
    with pytest.raises(CommandError, match="FAILED for 1:"):
        call_command("load_exam", str(EXAM), "--accept-key", "5.b", "--by", "prof", stdout=io.StringIO())
    out = io.StringIO()
    call_command("load_exam", str(EXAM), "--accept-key", "5.b", "--accept-key", "1", "--by", "prof",
                 stdout=out)
    exam = Exam.objects.get(code="DL-SOLUTIONS")
    assert exam.published and "[accepted: literal key used]" in out.getvalue()
    q = exam.questions.get(label="5.b")
    assert q.key_override and q.key_override_by == "prof" and q.key_override_at is not None
    assert q.key[4][3] == 0.1244          # the instructor's literal key is what grading uses
    assert exam.questions.get(label="5.a").key_override is False


def test_submissions_refused_for_unpublished_exam(db, media_root):
    from exams import services

    with pytest.raises(CommandError):
        call_command("load_exam", str(EXAM), stdout=io.StringIO())
    with pytest.raises(services.ExamNotPublished):
        services.submission_create(exam=Exam.objects.get(code="DL-SOLUTIONS"), student="s",
                                   content=b"%PDF-1.4")
