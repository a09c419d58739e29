"""What each flag means, in words a TA reads beside the answer: the one place that maps a flag
name (set by the grading core, stored with the answer) to a sentence. The queue, the grading
page and the answer groups show these; the flag filter lists the short labels.

Keyed by the flag names themselves (they are the stored contract, see DESIGN.md), so the map
does not depend on how the core spells its constants."""
from __future__ import annotations

FLAG_REASONS: dict[str, str] = {
    "ambiguous": "Two different final answers were given (or a page was scanned twice with "
                 "different marks): decide which one counts.",
    "unparsed": "There is writing, but no value of the expected kind could be read from it.",
    "low_confidence": "The handwriting was hard to read (low OCR confidence): check the reading "
                      "against the page.",
    "ocr_corrected": "Some characters were corrected as digits (e.g. O read as 0); for "
                     "information.",
    "free_text": "Free text is never graded by the machine: apply the rubric items that fit.",
    "shape_mismatch": "The matrix or shape has a different size than the key.",
    "layout_differs": "The right numbers in another order (e.g. C×H×W instead of H×W×C).",
    "uncertain_box": "A checkbox's mark is between empty and crossed: look at the boxes.",
    "registration_failed": "The scanned page or box did not fit the blank exam, so it could not "
                           "be placed.",
    "carried_forward": "Credit was carried forward from a wrong earlier part (error carried "
                       "forward): check the computation.",
    "no_key": "The question has no answer key: grade it by hand.",
    "unanswered": "Nothing was written in the answer's place.",
    "unreadable": "There is ink where the answer goes, but nothing could be read from it.",
    "not_located": "The answer's place was not found on the scan: look at the whole page.",
}
# About the whole submission rather than one answer.
DOCUMENT_FLAG_REASONS: dict[str, str] = {
    "no_page_matches": "No page of the document matches the exam (blank pages, another exam).",
    "page_twice": "The same exam page is in the document twice, with different ink.",
    "pages_missing": "Exam pages with answers to read are missing from the document.",
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
