"""Checkboxes placed by the printed option text, for exams without a blank PDF or ``boxes:``.

Without a template nothing says which question a box on a scanned page belongs to, but the
page says it in print: the box is the one beside the option's text. The OCR words (with their
positions, in the frame of the image the boxes were found on) are searched for each
multiple-choice question's title and then for its options in order, and each option is given
the nearest unused box on its text line: to the left of the text ("[ ] option"), else to its
right ("option [ ]"). Tesseract drops short lines beside heavily marked boxes, so options whose
text was not read take the question's boxes in reading order when there is exactly one box per
option. Whatever cannot be placed is None, for the caller to flag.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from grader.omr.boxes import Box, find_boxes
from grader.omr.classify import classify_box
from grader.tokens import tokens

TITLE_WORDS = 8           # the first words of a title are enough to find it
TITLE_MATCH = 0.7         # similarity (difflib ratio) to accept a title or an option
OPTION_MATCH = 0.7
TITLE_SLACK = 0.15        # a title read this much worse than the best copy still counts
BOX_REACH_MM = 25.0       # a box farther than this from its option's text is not its box
GAP_MM = 1.0              # slack when deciding whether a word lies between a box and a text


@dataclass(frozen=True)
class PlacedWord:
    """An OCR word: its page and box in mm from the top-left of the page image it was read on."""

    page: int
    text: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class PlacedMark:
    """A checkbox found and read on a page (centre and side in mm, same frame as the words)."""

    page: int
    cx: float
    cy: float
    side: float
    mark: str
    checked: bool
    confidence: float
    uncertain: bool
    # Not found as a box but read where a column of boxes has a gap or ends (see
    # ``_column_spots``); never counted when a printed word lies on it.
    predicted: bool = False


@dataclass(frozen=True)
class ChoiceQuestion:
    label: str
    title: str
    options: tuple[str, ...]


def read_marks(gray: np.ndarray, dpi: float, page: int) -> list[PlacedMark]:
    """Every checkbox on an upright page image, read (no template, no orientation guess),
    and the marked spots where a column of boxes is missing one (``predicted``)."""
    boxes = find_boxes(gray, dpi)
    mm = 25.4 / dpi

    def placed(box: Box, reading, predicted: bool = False) -> PlacedMark:
        return PlacedMark(page, round(float(box.cx) * mm, 2), round(float(box.cy) * mm, 2),
                          round(float(box.side) * mm, 2), reading.mark, bool(reading.checked),
                          round(float(reading.confidence), 3), bool(reading.uncertain), predicted)

    marks = [placed(box, classify_box(gray, box, dpi, others=boxes[:i] + boxes[i + 1:]))
             for i, box in enumerate(boxes)]
    for spot in _column_spots(boxes, dpi):
        reading = classify_box(gray, spot, dpi, others=boxes)
        # find_boxes misses a box only under a heavy mark (an empty outline is always
        # found), so a spot that reads empty or unsure is paper, not a lost box.
        if reading.mark != "empty" and not reading.uncertain:
            marks.append(placed(spot, reading, predicted=True))
    return marks


def _column_spots(boxes: Sequence[Box], dpi: float) -> list[Box]:
    """Where a box is missing from an evenly spaced column: a gap of two pitches, and one
    pitch before or after a run of three or more boxes, away from every box found.

    A box crossed with strokes running far outside it can be lost by ``find_boxes``; with a
    template it is read at its printed place, without one its column says where it is."""
    px = dpi / 25.4
    columns: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: b.cx):
        if columns and abs(box.cx - columns[-1][0].cx) < 1.5 * px:
            columns[-1].append(box)
        else:
            columns.append([box])
    spots: list[Box] = []
    for column in columns:
        column.sort(key=lambda b: b.cy)
        steps = np.diff([b.cy for b in column])
        if len(column) < 3 or steps.min() <= 0:
            continue
        pitch = float(np.median(steps[steps < 1.3 * steps.min()]))
        side = float(np.median([b.side for b in column]))
        angle = float(np.median([b.angle for b in column]))
        cx = float(np.median([b.cx for b in column]))
        ys = [(a.cy + b.cy) / 2 for a, b in zip(column, column[1:])
              if abs((b.cy - a.cy) / pitch - 2) < 0.15]
        # Before a run, too, is often where the question's title is: such spots are used only
        # where no word was read on them (``_on_text``).
        for run in np.split(np.arange(len(column)), np.nonzero(steps > 1.25 * pitch)[0] + 1):
            if len(run) >= 3:
                ys += [column[run[0]].cy - pitch, column[run[-1]].cy + pitch]
        spots += [Box.from_center(cx, cy, side, angle) for cy in ys
                  if all(abs(cy - b.cy) > side or abs(cx - b.cx) > side for b in boxes)]
    return spots


def _similarity(a: Sequence[str], b: Sequence[str]) -> float:
    return difflib.SequenceMatcher(None, " ".join(a), " ".join(b), autojunk=False).ratio()


def _windows(stream: list[str], wanted: list[str], start: int, stop: int,
             threshold: float, any_start: bool = False) -> list[tuple[float, int, int]]:
    """Windows of ``stream[start:stop]`` at least ``threshold`` like ``wanted``, as (score,
    first, end), best first and, among equals, earliest first. Windows one word shorter and
    longer than ``wanted`` are tried too: OCR splits and joins words. Unless ``any_start``, a
    window begins on one of the first two wanted words or on one like the first (a cheap
    filter for searching a whole document)."""
    found = []
    n = len(wanted)
    firsts = set(wanted[:2])
    for i in range(start, min(stop, len(stream))):
        if not any_start and stream[i] not in firsts \
                and _similarity(stream[i:i + 1], wanted[:1]) < 0.6:
            continue
        best = max(((_similarity(stream[i:i + size], wanted), i + size)
                    for size in {max(1, n - 1), n, n + 1} if i + size <= stop),
                   default=(0.0, i))
        if best[0] >= threshold:
            found.append((best[0], i, best[1]))
    return sorted(found, key=lambda w: (-w[0], w[1]))


def marks_by_option_text(questions: Sequence[ChoiceQuestion], words: Sequence[PlacedWord],
                         marks: Sequence[PlacedMark]) -> dict[str, list[PlacedMark | None]]:
    """For each question, the mark beside each of its options (None where none was found).

    Questions are looked for in the order given (the exam's order), each title after the
    previous one; a question whose title is not found (or has none) is searched from where the
    previous one ended. Its options are then searched in order between its title and the
    next question's, so the same option text in two questions ("True", "False") is not
    confused. A question with no option placed at all is left out.
    """
    located = [(w, t) for w in words for t in tokens(w.text)]
    stream = [t for _, t in located]
    titles: list[tuple[int, int] | None] = []     # (first word, end) of each title found
    ends: list[int] = []                           # where each question's options may begin
    cursor = 0
    for q in questions:
        wanted = tokens(q.title)[:TITLE_WORDS]
        found = _windows(stream, wanted, cursor, len(stream), TITLE_MATCH) if wanted else []
        # Exams repeat titles ("Which of these are true?"): the first good copy is this
        # question's, even when a later one reads a little better.
        good = [w for w in found if w[0] >= found[0][0] - TITLE_SLACK]
        titles.append(min(good, key=lambda w: w[1])[1:] if good else None)
        cursor = titles[-1][1] if titles[-1] else cursor
        ends.append(cursor)
    used: set[int] = set()
    result: dict[str, list[PlacedMark | None]] = {}
    for k, q in enumerate(questions):
        at = ends[k]
        stop = next((t[0] for t in titles[k + 1:] if t is not None), len(stream))
        placed: list[PlacedMark | None] = []
        for option in q.options:
            # The best-matching text with a box beside it: a number or a word of the option
            # may also occur in the question's own text, where there is no box.
            choice = None
            for _, first, end in _windows(stream, tokens(option), at, stop, OPTION_MATCH,
                                          any_start=True):
                index = _beside([located[i][0] for i in range(first, end)], marks, used,
                                words)
                if index is not None:
                    choice = (index, end)
                    break
            if choice is None:
                placed.append(None)
                continue
            used.add(choice[0])
            at = choice[1]
            placed.append(marks[choice[0]])
        if None in placed and titles[k] is not None:
            placed = _by_position(placed, _region(located, titles, k), marks, used, words)
            used.update(i for i, m in enumerate(marks) if any(m is p for p in placed))
        if any(m is not None for m in placed):
            result[q.label] = placed
    return result


def _region(located: list[tuple[PlacedWord, str]], titles: list[tuple[int, int] | None],
            k: int) -> tuple[tuple[int, float], tuple[int, float]]:
    """(page, mm) from below question k's title to the top of the next title found (or the
    end of the document)."""
    title_end = located[titles[k][1] - 1][0]
    after = (title_end.page, title_end.y + title_end.h)
    following = next((t for t in titles[k + 1:] if t is not None), None)
    if following is None:
        return after, (10 ** 9, 0.0)
    next_title = located[following[0]][0]
    return after, (next_title.page, next_title.y)


def _by_position(placed: list[PlacedMark | None], region, marks: Sequence[PlacedMark],
                 used: set[int], words: Sequence[PlacedWord]) -> list[PlacedMark | None]:
    """Fill the options whose text was not read (Tesseract drops short lines beside marked
    boxes) from the boxes between the question's title and the next one, taken in reading
    order, provided there is exactly one box per option and the boxes placed by their text
    are in the same order. Boxes found come first; predicted ones only make up the count.
    Otherwise ``placed`` is returned as it is. (The caller marks the boxes taken as used.)"""
    (page0, y0), (page1, y1) = region
    inside = [i for i, m in enumerate(marks) if (page0, y0) < (m.page, m.cy) < (page1, y1)
              and not (m.predicted and _on_text(m, words))]
    found = [i for i in inside if not marks[i].predicted]
    if len(found) == len(placed):
        inside = found
    if len(inside) != len(placed):
        return placed
    ordered = _reading_order(inside, marks)
    if any(m is not None and marks[i] is not m for i, m in zip(ordered, placed)):
        return placed
    if any(i in used for i, m in zip(ordered, placed) if m is None):
        return placed
    return [marks[i] for i in ordered]


def _on_text(mark: PlacedMark, words: Sequence[PlacedWord]) -> bool:
    """Does a word of two or more letters or digits overlap the mark? Printed text read as
    "a mark" where a column of boxes seemed to go on (a box read as "[X]" is not text)."""
    half = mark.side / 2
    return any(w.page == mark.page and sum(len(t) for t in tokens(w.text)) >= 2
               and w.x < mark.cx + half and w.x + w.w > mark.cx - half
               and w.y < mark.cy + half and w.y + w.h > mark.cy - half for w in words)


def _beside(match: list[PlacedWord], marks: Sequence[PlacedMark], used: set[int],
            words: Sequence[PlacedWord]) -> int | None:
    """Index of the unused mark on the matched words' text line just before them, else just
    after them: within BOX_REACH_MM and with no other word in between. An option's text is
    the first thing after its box; "Relu" inside "Leaky Relu" is not option "ReLU"."""
    first = match[0]
    on_line = [w for w in match if w.page == first.page
               and abs((w.y + w.h / 2) - (first.y + first.h / 2)) < first.h]
    top = min(w.y for w in on_line)
    bottom = max(w.y + w.h for w in on_line)
    middle = (top + bottom) / 2
    left_edge = first.x
    right_edge = max(w.x + w.w for w in on_line)
    # Other words of the same text line (a box read as "[]" overlaps its box: not between).
    line_words = [w for w in words if w.page == first.page and w not in on_line
                  and w.y < bottom and w.y + w.h > top]
    left, right = [], []
    for i, m in enumerate(marks):
        if i in used or m.page != first.page or (m.predicted and _on_text(m, words)):
            continue
        if abs(m.cy - middle) > max(bottom - top, m.side) * 0.75:
            continue
        box_left, box_right = m.cx - m.side / 2, m.cx + m.side / 2
        if m.cx < left_edge and left_edge - box_right < BOX_REACH_MM:
            if not any(w.x >= box_right - GAP_MM and w.x + w.w <= left_edge + GAP_MM
                       for w in line_words):
                left.append((left_edge - m.cx, i))
        elif m.cx > right_edge and box_left - right_edge < BOX_REACH_MM:
            if not any(w.x >= right_edge - GAP_MM and w.x + w.w <= box_left + GAP_MM
                       for w in line_words):
                right.append((m.cx - right_edge, i))
    if left:
        return min(left)[1]
    if right:
        return min(right)[1]
    return None


def _reading_order(indices: list[int], marks: Sequence[PlacedMark]) -> list[int]:
    """Page by page, rows top to bottom (a box within half a side of the row's first box is
    on its row), each row left to right."""
    rows: list[list[int]] = []
    for i in sorted(indices, key=lambda i: (marks[i].page, marks[i].cy)):
        first = marks[rows[-1][0]] if rows else None
        if first is None or first.page != marks[i].page or marks[i].cy - first.cy > first.side / 2:
            rows.append([i])
        else:
            rows[-1].append(i)
    return [i for row in rows for i in sorted(row, key=lambda i: marks[i].cx)]
