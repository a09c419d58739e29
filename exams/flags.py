"""What each flag means, in words a TA reads beside the answer: the one place that maps a flag
name (set by the grading core) to a sentence. The queue, the grading page and the answer
groups show these; the flag filter lists the short labels."""
from __future__ import annotations

from grader.score import FLAG_LAYOUT_DIFFERS
from grader.types import (
    FLAG_AMBIGUOUS, FLAG_CARRIED_FORWARD, FLAG_FREE_TEXT, FLAG_LOW_CONFIDENCE, FLAG_NO_KEY,
    FLAG_OCR_CORRECTED, FLAG_REGISTRATION, FLAG_SHAPE_MISMATCH, FLAG_UNANSWERED,
    FLAG_UNCERTAIN_BOX, FLAG_UNPARSED,
)

FLAG_REASONS: dict[str, str] = {
    FLAG_AMBIGUOUS: "Two different final answers were given (or a page was scanned twice with "
                    "different marks): decide which one counts.",
    FLAG_UNPARSED: "There is writing, but no value of the expected kind could be read from it.",
    FLAG_LOW_CONFIDENCE: "The handwriting was hard to read (low OCR confidence): check the "
                         "reading against the page.",
    FLAG_OCR_CORRECTED: "Some characters were corrected as digits (e.g. O read as 0); "
                        "for information.",
    FLAG_FREE_TEXT: "Free text is never graded by the machine: apply the rubric items that fit.",
    FLAG_SHAPE_MISMATCH: "The matrix or shape has a different size than the key.",
    FLAG_LAYOUT_DIFFERS: "The right numbers in another order (e.g. C×H×W instead of H×W×C).",
    FLAG_UNCERTAIN_BOX: "A checkbox's mark is between empty and crossed: look at the boxes.",
    FLAG_REGISTRATION: "The scanned page did not fit the blank exam, so its boxes could not be "
                       "placed.",
    FLAG_CARRIED_FORWARD: "Credit was carried forward from a wrong earlier part "
                          "(error carried forward): check the computation.",
    FLAG_NO_KEY: "The question has no answer key: grade it by hand.",
    FLAG_UNANSWERED: "Nothing was written in the answer's place.",
}


def flag_label(name: str) -> str:
    """The flag's short name in words (``low_confidence`` -> ``low confidence``)."""
    return name.replace("_", " ")


def flag_reason(name: str) -> str:
    """The sentence for a flag; an unknown name is shown as words rather than hidden."""
    return FLAG_REASONS.get(name, flag_label(name).capitalize() + ".")


def flag_reasons(flags) -> list[tuple[str, str]]:
    """(label, sentence) per flag, in the answer's order."""
    return [(flag_label(f), flag_reason(f)) for f in flags or ()]
