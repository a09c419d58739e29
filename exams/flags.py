"""What each flag means, in words a TA reads beside the answer: the one place that maps a flag
name (set by the grading core, stored with the answer) to a sentence. The queue, the grading
page and the answer groups show these; the flag filter lists the short labels.

Keyed by the core's enumerations (``grader.types.Flag``, ``DocumentFlag``), whose values are
the stored names; every member has its sentence (tested)."""
from __future__ import annotations

from grader.types import DocumentFlag, Flag

FLAG_REASONS: dict[str, str] = {
    Flag.AMBIGUOUS: "Two different final answers were given (or a page was scanned twice with "
                 "different marks): decide which one counts.",
    Flag.UNPARSED: "There is writing, but no value of the expected kind could be read from it.",
    Flag.LOW_CONFIDENCE: "The handwriting was hard to read (low OCR confidence): check the reading "
                      "against the page.",
    Flag.OCR_CORRECTED: "Some characters were corrected as digits (e.g. O read as 0); for "
                     "information.",
    Flag.FREE_TEXT: "Free text is never graded by the machine: apply the rubric items that fit.",
    Flag.SHAPE_MISMATCH: "The matrix or shape has a different size than the key.",
    Flag.LAYOUT_DIFFERS: "The right numbers in another order (e.g. C×H×W instead of H×W×C).",
    Flag.UNCERTAIN_BOX: "A checkbox's mark is between empty and crossed: look at the boxes.",
    Flag.REGISTRATION_FAILED: "The scanned page or box did not fit the blank exam, so it could not "
                           "be placed.",
    Flag.CARRIED_FORWARD: "Credit was carried forward from a wrong earlier part (error carried "
                       "forward): check the computation.",
    Flag.NO_KEY: "The question has no answer key: grade it by hand.",
    Flag.UNANSWERED: "Nothing was written in the answer's place.",
    Flag.UNREADABLE: "There is ink where the answer goes, but nothing could be read from it.",
    Flag.NOT_LOCATED: "The answer's place was not found on the scan: look at the whole page.",
}
# About the whole submission rather than one answer.
DOCUMENT_FLAG_REASONS: dict[str, str] = {
    DocumentFlag.NO_PAGE_MATCHES: "No page of the document matches the exam (blank pages, another exam).",
    DocumentFlag.PAGE_TWICE: "The same exam page is in the document twice, with different ink.",
    DocumentFlag.PAGES_MISSING: "Exam pages with answers to read are missing from the document.",
}


def flag_label(name: str) -> str:
    """The flag's short name in words (``low_confidence`` -> ``low confidence``)."""
    return name.replace("_", " ")


def flag_reason(name: str) -> str:
    """The sentence for a flag; an unknown name is shown as words rather than hidden."""
    return (FLAG_REASONS.get(name) or DOCUMENT_FLAG_REASONS.get(name)
            or flag_label(name).capitalize() + ".")


def flag_reasons(flags) -> list[tuple[str, str]]:
    """(label, sentence) per flag, in the answer's order."""
    return [(flag_label(f), flag_reason(f)) for f in flags or ()]
