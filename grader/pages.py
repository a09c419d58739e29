"""What reading one page of a submission produced: ``PageRead``, a frozen value.

A page is read once (its text layer, or for a scan: render, checkboxes, OCR) and the result
travels as this one value: from the page task to the join as a Celery payload, into one
database column, and back to the review crop. ``to_json``/``from_json`` are the only way in
and out of JSON, so every consumer sees the same typed fields.

Positions are millimetres on the upright page (the page turned by ``turned_cw``), measured
from its top-left corner, whatever resolution the scan had.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from grader.align import Alignment
from grader.omr.by_text import PlacedMark
from grader.types import PageText, Reading, Source

MmBox = tuple[float, float, float, float]        # x, y, w, h


@dataclass(frozen=True)
class BoxRead:
    """One checkbox of the blank exam, read at its registered place on a scanned page."""

    label: str
    option: int                      # 1-based
    mark: str                        # one of grader.omr.MARKS
    checked: bool                    # by the exam's marking rule
    confidence: float
    uncertain: bool                  # in the uncertain band: a TA must look
    y_mm: float | None = None        # where it is on the upright page (None: page not fitted)


@dataclass(frozen=True)
class TemplateFit:
    """A scanned page read against the blank page its checkboxes fit (or failed to fit)."""

    template_page: int
    ok: bool
    fit_error_mm: float | None       # None when nothing matched (no finite error to show)
    upside_down: bool
    upright_turn_cw: int             # clockwise degrees that turn the scan as given upright
    readings: tuple[BoxRead, ...]


@dataclass(frozen=True)
class RegionRead:
    """A written answer's region (``grader.layout.Region``) as found on a scanned page."""

    label: str
    ink_mm2: float                   # how much ink the student put there (0: nothing)
    fraction: float                  # of the region's area
    text: str = ""                   # the reading taken ("" when nothing could be read)
    confidence: float = 1.0
    engine: str = ""                 # the reader whose text was taken
    readings: tuple[Reading, ...] = ()   # every reader's text, for the TA
    unsure: bool = False             # the readers disagree or are not sure of the exact text
    # The score verified against the question's key (grader.verify): "key" (it scores full
    # marks), "not_key" (a value of its kind that is not the key), "unsure", or "" (not
    # verified); the recogniser's P(full marks) as evidence; what it was verified against.
    decision: str = ""
    key_posterior: float | None = None
    verified_for: str = ""           # grader.verify.fingerprint of the question

    @property
    def has_ink(self) -> bool:
        from grader.ink import MIN_INK_MM2

        return self.ink_mm2 >= MIN_INK_MM2


@dataclass(frozen=True)
class PageRead:
    number: int                                      # 1-based page of the submission
    source: Source
    text: str
    confidence: float = 1.0                          # mean OCR word confidence; 1 for text
    words: tuple[tuple[str, float], ...] = ()        # OCR words (text, confidence 0-1)
    word_boxes: tuple[MmBox, ...] = ()               # one per OCR word
    turned_cw: int = 0                               # quarter turns that made the page upright
    fit: TemplateFit | None = None                   # checkboxes read against the blank exam
    marks: tuple[PlacedMark, ...] | None = None      # every checkbox, read without a template
    # Where the boxes of a multiple-choice answer placed by its option texts are (mm from the
    # top of the upright page), by question label: for the review crop.
    choice_boxes: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    # Which blank page this is and where it sits on the scan (boxes, or the printed content).
    alignment: Alignment | None = None
    regions: tuple[RegionRead, ...] = ()             # the written answers' regions on it
    # Scans read whole without a blank exam: marks on the page that no OCR word covers
    # (mm boxes on the upright page), so that an answer that could not be read is not taken
    # for no answer.
    unread_ink: tuple[MmBox, ...] = ()

    @property
    def page_text(self) -> PageText:
        """The page as segmentation reads it."""
        return PageText(number=self.number, text=self.text, source=self.source,
                        confidence=self.confidence, words=self.words)

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number, "source": str(self.source), "text": self.text,
            "confidence": self.confidence, "words": [list(w) for w in self.words],
            "word_boxes": [list(b) for b in self.word_boxes], "turned_cw": self.turned_cw,
            "fit": None if self.fit is None else _fit_json(self.fit),
            "marks": None if self.marks is None else [_fields(m) for m in self.marks],
            "choice_boxes": {label: list(ys) for label, ys in self.choice_boxes.items()},
            "alignment": None if self.alignment is None else self.alignment.to_json(),
            "regions": [{**_fields(r), "readings": [_fields(x) for x in r.readings]}
                        for r in self.regions],
            "unread_ink": [list(b) for b in self.unread_ink],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PageRead:
        fit = data.get("fit")
        marks = data.get("marks")
        return cls(
            number=int(data["number"]), source=Source(data["source"]), text=data["text"],
            confidence=float(data.get("confidence", 1.0)),
            words=tuple((str(w), float(c)) for w, c in data.get("words") or ()),
            word_boxes=tuple(tuple(float(v) for v in b) for b in data.get("word_boxes") or ()),
            turned_cw=int(data.get("turned_cw") or 0),
            fit=None if fit is None else _fit_from_json(fit),
            marks=None if marks is None else tuple(PlacedMark(**m) for m in marks),
            choice_boxes={label: tuple(ys) for label, ys in (data.get("choice_boxes") or {}).items()},
            alignment=None if not data.get("alignment") else Alignment.from_json(data["alignment"]),
            regions=tuple(RegionRead(**{**r, "readings": tuple(Reading(**x) for x in r["readings"])})
                          for r in data.get("regions") or ()),
            unread_ink=tuple(tuple(float(v) for v in b) for b in data.get("unread_ink") or ()),
        )


def text_layer_page(number: int, text: str) -> PageRead:
    return PageRead(number=number, source=Source.TEXT_LAYER, text=text)


def _fields(value: Any) -> dict[str, Any]:
    return {f.name: getattr(value, f.name) for f in fields(value)}


def _fit_json(fit: TemplateFit) -> dict[str, Any]:
    return {**_fields(fit), "readings": [_fields(r) for r in fit.readings]}


def _fit_from_json(data: Mapping[str, Any]) -> TemplateFit:
    return TemplateFit(**{**data, "readings": tuple(BoxRead(**r) for r in data["readings"])})
