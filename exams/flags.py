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
    Flag.NOT_FINITE: "The expression is infinite, undefined or too large at a test point: check it "
                     "by hand.",
    Flag.UNPROVEN: "The expression equals the key at every test point, but the equivalence could "
                   "not be proven: confirm it.",
    Flag.TOO_COMPLEX: "The expression took too long to compare with the key (time budget): check "
                      "it by hand.",
    Flag.PERCENT: "Written as a percentage that is the key only as a fraction (50% for 0.5): "
                  "decide whether that counts.",
    Flag.ROUNDED: "A decimal that is the key rounded or cut to the places written (0.429 for "
                  "3/7), outside the question's tolerance: decide whether that precision counts.",
    Flag.HEDGED: "The student marked the answer as a guess (\"5?\", \"maybe 5\", \"not sure\"): "
                 "decide whether it counts as the answer.",
}
# About the whole submission rather than one answer.
DOCUMENT_FLAG_REASONS: dict[str, str] = {
    DocumentFlag.NO_PAGE_MATCHES: "No page of the document matches the exam (blank pages, another exam).",
    DocumentFlag.PAGE_TWICE: "The same exam page is in the document twice, with different ink.",
    DocumentFlag.PAGES_MISSING: "Exam pages with answers to read are missing from the document.",
}


# What a student reads about a flag after release (never the flag's name: the TA's sentences
# above speak to markers, these to the student).
STUDENT_SENTENCES: dict[str, str] = {
    Flag.UNANSWERED: "No answer was found for this question.",
    Flag.AMBIGUOUS: "More than one final answer was found.",
    Flag.UNPARSED: "The answer could not be read automatically.",
    Flag.LOW_CONFIDENCE: "The handwriting could not be read with confidence.",
    Flag.OCR_CORRECTED: "A few characters of the handwriting were read with corrections.",
    Flag.FREE_TEXT: "Written answers are marked by a person.",
    Flag.SHAPE_MISMATCH: "The answer does not have the expected size or shape.",
    Flag.LAYOUT_DIFFERS: "The values are right but in a different order or layout.",
    Flag.UNCERTAIN_BOX: "A checkbox mark could not be read with confidence.",
    Flag.REGISTRATION_FAILED: "A scanned page could not be lined up with the exam sheet.",
    Flag.CARRIED_FORWARD: "Credit was given for correctly using your earlier result.",
    Flag.NO_KEY: "This question has no automatic answer key.",
    Flag.UNREADABLE: "Something is written in the answer space, but it could not be read "
                     "automatically.",
    Flag.NOT_LOCATED: "The answer's place was not found on your scan.",
    Flag.NOT_FINITE: "Your expression could not be evaluated at every point (it is infinite, "
                     "undefined or very large there); a marker checks it.",
    Flag.UNPROVEN: "Your expression matched the key numerically; a marker confirms it.",
    Flag.TOO_COMPLEX: "Your expression was too complex to check automatically; a marker checks it.",
    Flag.PERCENT: "Your answer was given in per cent; a marker checks it against the "
                  "expected fraction.",
    Flag.ROUNDED: "Your answer has fewer decimal places than the expected value; a marker "
                  "decides whether that precision counts.",
    Flag.HEDGED: "Your answer was marked as a guess or with a question mark; a marker decides "
                 "whether it counts.",
}
UNKNOWN_FLAG_SENTENCE = "A marker takes a closer look at this answer."


def flag_sentence(name: str) -> str:
    """What the student reads about a flag."""
    return STUDENT_SENTENCES.get(name, UNKNOWN_FLAG_SENTENCE)


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
