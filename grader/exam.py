"""The exam as the grading path needs it: its questions (with their keys) and where its
checkboxes are on the blank exam. Built once per submission by the caller (the Django app
loads it from the database) and passed down; nothing in the core looks it up itself.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grader.layout import BlankLayout, Region
from grader.omr.register import TemplateBox
from grader.types import Kind, Marking, QuestionSpec

# The template as stored: question label -> one [page, x, y, w, h] (mm) per option.
TemplateJson = Mapping[str, Sequence[Sequence[float]]]


@dataclass(frozen=True)
class Checkbox:
    """The box of one multiple-choice option on the blank exam."""

    label: str
    option: int                      # 1-based
    box: TemplateBox


@dataclass(frozen=True)
class ExamSpec:
    questions: tuple[QuestionSpec, ...]
    checkboxes: tuple[Checkbox, ...] = ()
    layout: BlankLayout | None = None    # the blank exam's pages and answer regions
    marking: Marking = Marking.CROSS     # what a mark in a box means on this exam

    @classmethod
    def build(cls, questions: Sequence[QuestionSpec], template: TemplateJson | None = None,
              layout: BlankLayout | None = None, *,
              marking: Marking | str = Marking.CROSS) -> ExamSpec:
        boxes = tuple(Checkbox(label, option, TemplateBox.from_list(entry))
                      for label, entries in (template or {}).items()
                      for option, entry in enumerate(entries, start=1))
        return cls(tuple(questions), boxes, layout, Marking(marking))
    def region(self, label: str) -> Region | None:
        return None if self.layout is None else self.layout.regions.get(label)

    def reads_page_text(self) -> bool:
        """Must scanned pages be read whole (OCR)? Only when some answer's place is not known
        from the blank exam: no blank PDF, a written answer without a region, a multiple-choice
        question without boxes."""
        if self.layout is None or self.untemplated_choices():
            return True
        return any(q.kind != Kind.MULTIPLE_CHOICE and q.label not in self.layout.regions
                   for q in self.questions)

    def graded_pages(self) -> frozenset[int]:
        """Blank pages holding something to read: checkboxes or answer regions."""
        regions = self.layout.regions.values() if self.layout is not None else ()
        return frozenset({c.box.page for c in self.checkboxes} | {r.page for r in regions})

    def template_pages(self) -> dict[int, tuple[Checkbox, ...]]:
        """The checkboxes by page of the blank exam, in template order."""
        pages: dict[int, list[Checkbox]] = {}
        for checkbox in self.checkboxes:
            pages.setdefault(checkbox.box.page, []).append(checkbox)
        return {page: tuple(boxes) for page, boxes in pages.items()}

    def untemplated_choices(self) -> tuple[QuestionSpec, ...]:
        """Multiple-choice questions whose boxes the template does not place (no blank PDF, no
        ``boxes:``): on scans they are read from the boxes beside their printed options."""
        placed = {c.label for c in self.checkboxes}
        return tuple(q for q in self.questions
                     if q.kind == Kind.MULTIPLE_CHOICE and q.label not in placed)
