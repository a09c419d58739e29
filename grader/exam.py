"""The exam as the grading path needs it: its questions (with their keys) and where its
checkboxes are on the blank exam. Built once per submission by the caller (the Django app
loads it from the database) and passed down; nothing in the core looks it up itself.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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
    marking: Marking = Marking.CROSS         # what a mark in a box means on this exam

    @classmethod
    def build(cls, questions: Sequence[QuestionSpec], template: TemplateJson | None = None, *,
              marking: Marking | str = Marking.CROSS) -> ExamSpec:
        boxes = tuple(Checkbox(label, option, TemplateBox.from_list(entry))
                      for label, entries in (template or {}).items()
                      for option, entry in enumerate(entries, start=1))
        return cls(tuple(questions), boxes, marking=Marking(marking))

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
