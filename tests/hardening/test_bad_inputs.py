"""Every kind of bad, hostile or odd submission file ends in a final status: `failed` with a
message a student can act on, or graded where the file is valid. In-process (the embedded
default: tasks run eagerly, SQLite), through ``services.submission_create`` like an upload.

The corpus comes from ``tools/make_bad_inputs.py`` (generated per session, not committed).
"""
from __future__ import annotations

import re

import pytest

from exams import services
from exams.models import Answer, Submission
from tools.make_bad_inputs import KINDS

GRADED = "graded"              # valid: graded / needs_review, same answers as the clean file
# A valid PDF with nothing of the exam on it (a blank or unreadable scan): never `graded`. The
# document is flagged (no page matches the exam) and every answer is not located, for a TA.
NOT_THE_EXAM = "not the exam"
FAILED = "failed"

# kind -> (outcome, regex the error must match). The OCR timeout is set to 2 s below; the
# ocr_hang page takes tesseract ~70 s (measured), so the margin is 35x, not a timing bet.
EXPECTED: dict[str, tuple[str, str]] = {
    "empty": (FAILED, r"^the file is empty$"),
    "png_bytes": (FAILED, r"not a PDF \(it is a PNG image\); save or scan your answers as a PDF"),
    "html": (FAILED, r"not a PDF \(it is an HTML web page\)"),
    "zip": (FAILED, r"not a PDF \(it is a ZIP archive, e\.g\. a Word \.docx file\)"),
    "png_renamed_scan": (FAILED, r"not a PDF \(it is a PNG image\)"),
    "pdf_magic_garbage": (FAILED, r"^the PDF is damaged and cannot be read; export or scan it again"),
    "truncated": (FAILED, r"^the PDF is damaged and cannot be read; export or scan it again"),
    "broken_xref": (GRADED, ""),
    "encrypted_user_password": (FAILED, r"password-protected; upload it without a password"),
    "encrypted_owner_only": (GRADED, ""),
    "zero_pages": (FAILED, r"^the PDF has no pages$"),
    "too_many_pages": (FAILED, r"^the PDF has 501 pages; the limit is 100$"),
    "huge_page": (FAILED, r"^page 1 cannot be rendered: it is 1,058 x 1,058 cm, .*scan or export it "
                          r"at A4 size$"),
    "huge_image_a4": (FAILED, r"^page 1 contains an image of 30,000 x 30,000 pixels \(900 megapixels; "
                              r"the limit is 80\); scan at 300 dpi"),
    "zero_size_page": (NOT_THE_EXAM, ""),
    "deflate_bomb": (FAILED, r"^page 1 of the PDF holds more data than a page can"),
    "form_xobject_bomb": (FAILED, r"^page 1 of the PDF holds more data than a page can"),
    "inline_image_bomb": (FAILED, r"^page 1 contains an image of 45,000 x 45,000 pixels \(2,025 "
                                  r"megapixels; the limit is 80\); scan at 300 dpi"),
    "javascript_attachment": (GRADED, ""),
    "ocr_hang": (FAILED, r"^page 1 could not be read within 2 s .*scan it again at 300 dpi"),
    "rotated_pages": (GRADED, ""),
    "turned_text": (GRADED, ""),
    "mixed_sizes": (GRADED, ""),
    "blank_scan": (NOT_THE_EXAM, ""),
    "photo_jpeg": (NOT_THE_EXAM, ""),
    "odd_encodings": (GRADED, ""),
    "huge_text_layer": (GRADED, ""),
    "broken_page_among_good": (FAILED, r"^page 2 of the PDF is damaged \(its content cannot be decoded\)"),
    "cyclic_page_tree": (FAILED, r"^the PDF is damaged and cannot be read"),
    "deep_nesting": (NOT_THE_EXAM, ""),
}


def test_every_generated_kind_has_an_expectation():
    assert set(EXPECTED) == set(KINDS) and len(KINDS) >= 20


def assert_readable(error: str) -> None:
    """What a student sees: no traceback, no Python class names, no 'None', one short line."""
    assert error and len(error) < 400, error
    assert "Traceback" not in error and "None" not in error and "\n" not in error, error
    assert not re.search(r"\b[A-Z][A-Za-z]*(Error|Exception)\b", error), error
    assert not re.search(r"File \"|line \d+|0x[0-9a-f]{6,}", error), error


def grade(exam, path, student: str) -> Submission:
    submission = services.submission_create(exam=exam, student=student, content=path.read_bytes(),
                                            filename=path.name)
    submission.refresh_from_db()
    return submission


def answers(submission: Submission) -> dict[str, tuple]:
    """Per question: score, status, flags and the parsed value (free text modulo wrapping)."""
    def value(parsed):
        return " ".join(parsed.split()) if isinstance(parsed, str) else parsed

    return {a.question.label: (a.score, a.status, tuple(a.flags), value(a.parsed))
            for a in submission.answers.select_related("question")}


def assert_same_reading(submission: Submission, reference: Submission) -> None:
    """Scores, statuses, flags and parsed values as for the clean file. A free-text answer may
    have text appended (the variants add pages or lines after the last answer)."""
    got, want = answers(submission), answers(reference)
    assert got.keys() == want.keys()
    for label, (score, status, flags, parsed) in want.items():
        g_score, g_status, g_flags, g_parsed = got[label]
        assert (g_score, g_status, g_flags) == (score, status, flags), (label, got[label])
        if isinstance(parsed, str):
            assert g_parsed.startswith(parsed), (label, g_parsed[:200])
        else:
            assert g_parsed == parsed, label


@pytest.fixture
def reference(ai6126_exam, typed_sample):
    """The clean typed sample, graded: what every valid typed variant must reproduce."""
    ref = grade(ai6126_exam, typed_sample, "reference")
    assert ref.status == Submission.Status.NEEDS_REVIEW and ref.score == 12.0
    return ref


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_bad_input(kind, bad_inputs, ai6126_exam, reference, settings):
    assert settings.CELERY_TASK_ALWAYS_EAGER, "this test is the in-process path"
    settings.GRADER_OCR_TIMEOUT_S = 2
    outcome, pattern = EXPECTED[kind]
    submission = grade(ai6126_exam, bad_inputs[kind], kind)
    n_questions = ai6126_exam.questions.count()

    if outcome == FAILED:
        assert submission.status == Submission.Status.FAILED, (kind, submission.status)
        assert_readable(submission.error)
        assert re.search(pattern, submission.error), (kind, submission.error)
        assert submission.answers.count() == 0
        return

    assert submission.error == "", (kind, submission.error)
    assert submission.answers.count() == n_questions   # every question, answered or not
    if outcome == GRADED:
        # Read as well as the clean file: same scores, statuses, flags and parsed values.
        assert submission.status == reference.status
        assert submission.score == reference.score
        assert_same_reading(submission, reference)
    else:
        assert submission.status == Submission.Status.NEEDS_REVIEW, (kind, submission.status)
        assert submission.flags == ["no_page_matches"], (kind, submission.flags)
        assert submission.score == 0.0
        assert all(a.status == "flagged" and "not_located" in a.flags
                   for a in submission.answers.all()), kind
    if kind == "huge_text_layer":
        from grader.pdf import MAX_TEXT_CHARS_PER_PAGE

        page2 = submission.pages.get(number=2)
        assert page2.source == "text_layer" and len(page2.text) == MAX_TEXT_CHARS_PER_PAGE


@pytest.mark.django_db(transaction=True)
def test_process_keeps_serving_after_hostile_files(bad_inputs, ai6126_exam, reference, settings):
    """The nastiest kinds back to back in one process, then normal files still grade."""
    settings.GRADER_OCR_TIMEOUT_S = 2
    for kind in ("deflate_bomb", "huge_image_a4", "huge_page", "ocr_hang", "cyclic_page_tree",
                 "too_many_pages", "deep_nesting"):
        submission = grade(ai6126_exam, bad_inputs[kind], kind)
        assert submission.status in (Submission.Status.FAILED, Submission.Status.GRADED,
                                     Submission.Status.NEEDS_REVIEW), kind
    again = grade(ai6126_exam, bad_inputs["encrypted_owner_only"], "after")
    assert again.status == reference.status
    assert_same_reading(again, reference)
    ok = services.submission_create(exam=ai6126_exam, student="plain",
                                    content=open(reference.file.path, "rb").read())
    ok.refresh_from_db()
    assert ok.score == reference.score
    # Exactly one answer per question per submission, whatever happened before.
    assert Answer.objects.filter(submission=ok).count() == ai6126_exam.questions.count()
