"""Is this one student's copy of this exam? Reasons about the document as a whole.

- ``no_page_matches``: nothing in it is this exam: no scanned page is a copy of a blank page
  (or, without a blank PDF, none of the exam's question headings and no checkbox answer is
  found): white pages, another course's exam.
- ``page_twice``: the same exam page is in it twice with different answers (two students'
  scans in one file). With a blank PDF: two scans of one blank page whose boxes or answer
  regions read differently. Without one: most question headings found on two different
  scanned pages.
- ``pages_missing``: blank pages holding boxes or answer regions that no scanned page is a
  copy of.

Any of them sends the submission to a TA (``needs_review``), whatever its answers say.
"""
from __future__ import annotations

from collections.abc import Sequence

from grader.answers import Located
from grader.exam import ExamSpec
from grader.pages import PageRead
from grader.types import DocumentFlag, Source

# Without a blank PDF: a document whose question headings are found on two different scanned
# pages for at least this share of the exam's headed questions holds two copies of the exam.
TWICE_SHARE = 0.5


def flags(pages: Sequence[PageRead], exam: ExamSpec, located: Located) -> tuple[DocumentFlag, ...]:
    scans = [p for p in pages if p.source != Source.TEXT_LAYER]
    found: list[DocumentFlag] = []
    if exam.layout is not None and scans:
        copies: dict[int, list[PageRead]] = {}
        for page in scans:
            if page.alignment is not None:
                copies.setdefault(page.alignment.template_page, []).append(page)
        typed_headings = any(p.source == Source.TEXT_LAYER for p in pages) and located.headings
        if not copies and not typed_headings:
            found.append(DocumentFlag.NO_PAGE_MATCHES)
        if any(_differ(group) for group in copies.values()):
            found.append(DocumentFlag.PAGE_TWICE)
        if copies and exam.graded_pages() - set(copies):
            found.append(DocumentFlag.PAGES_MISSING)
        return tuple(found)
    answered_by_boxes = any(p.fit is not None and p.fit.ok for p in pages) or any(
        p.choice_boxes for p in pages)
    if not located.headings and not answered_by_boxes:
        found.append(DocumentFlag.NO_PAGE_MATCHES)
    scanned = {p.number for p in scans}
    twice = [label for label, spans in located.headings.items()
             if len({n for n, _, _ in spans if n in scanned}) > 1]
    if scans and located.headings and len(twice) >= max(2, TWICE_SHARE * len(located.headings)):
        found.append(DocumentFlag.PAGE_TWICE)
    return tuple(found)


def _differ(copies: Sequence[PageRead]) -> bool:
    """Do scans of one blank page hold different answers?"""
    if len(copies) < 2:
        return False

    def answers(page: PageRead) -> tuple:
        boxes = tuple((r.label, r.option, r.checked) for r in page.fit.readings) \
            if page.fit is not None and page.fit.ok else ()
        regions = tuple((r.label, r.has_ink, " ".join(r.text.split())) for r in page.regions)
        return boxes, regions

    first = answers(copies[0])
    return any(answers(other) != first for other in copies[1:])
