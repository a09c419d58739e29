"""Checkboxes placed by the printed option text, for exams without a blank PDF or ``boxes:``.

Without a template nothing says which question a box on a scanned page belongs to, but the
page says it in print: the box is the one beside the option's text, under the question's
title. The OCR words (with their positions, in the frame of the image the boxes were found
on) are searched for each multiple-choice question's title anywhere in the document (copies
may shuffle questions), every word and box belongs to the title above it in its column (two
columns are read line by line across), and each option is given the nearest unused box of its
question on its text line: to the left of the text ("[ ] option"), else to its right
("option [ ]"), whatever order the options are printed in. Tesseract drops short lines and
single letters beside boxes: the text right of such a box is read on its own
(``read_labels``), and options whose text was still not read take the question's boxes in
reading order when there is exactly one box per option and the document shows options printed
in the exam's order (a copy that shuffles them shows the opposite, and nothing is filled).
Whatever cannot be placed is None, for the caller to flag; nothing here raises on odd input.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np
from PIL import Image

from grader.omr.boxes import Box, find_boxes
from grader.omr.classify import classify_box
from grader.tokens import tokens
from grader.types import Marking

TITLE_WORDS = 8           # the first words of a title are enough to find it
TITLE_MATCH = 0.7         # similarity (difflib ratio) to accept a title or an option
OPTION_MATCH = 0.7
# A text less like the option than OPTION_MATCH ("oul" read for "oui": 0.67) is still the
# option when at least this like it and clearly less like every other option of the question.
LOOSE_OPTION_MATCH = 0.6
OPTION_MARGIN = 0.25
BOX_REACH_MM = 25.0       # a box farther than this from its option's text is not its box
GAP_MM = 1.0              # slack when deciding whether a word lies between a box and a text
MAX_GAP_PITCHES = 3       # a column gap of up to this many pitches is boxes not found
LABEL_NEAR_MM = 6.0       # a word starting this close right of a box is its label, read already
LABEL_MAX_MM = 30.0       # the crop read beside a box is at most this wide


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
    # The text printed just right of the box, read on its own (``read_labels``) where the
    # page's OCR read none there; "" when it did or nothing could be read.
    label: str = ""


@dataclass(frozen=True)
class ChoiceQuestion:
    label: str
    title: str
    options: tuple[str, ...]


def read_marks(gray: np.ndarray, dpi: float, page: int,
               marking: Marking = Marking.CROSS) -> list[PlacedMark]:
    """Every checkbox on an upright page image, read under the exam's ``marking`` convention
    (no template, no orientation guess), and the marked spots where a column of boxes is
    missing one (``predicted``)."""
    boxes = find_boxes(gray, dpi)
    mm = 25.4 / dpi

    def placed(box: Box, reading, predicted: bool = False) -> PlacedMark:
        return PlacedMark(page, round(float(box.cx) * mm, 2), round(float(box.cy) * mm, 2),
                          round(float(box.side) * mm, 2), reading.mark, bool(reading.checked),
                          round(float(reading.confidence), 3), bool(reading.uncertain), predicted)

    marks = [placed(box, classify_box(gray, box, dpi, others=boxes[:i] + boxes[i + 1:],
                                      marking=marking))
             for i, box in enumerate(boxes)]
    for spot in _column_spots(boxes, dpi):
        reading = classify_box(gray, spot, dpi, others=boxes, marking=marking)
        # find_boxes misses a box only under a heavy mark (an empty outline is always
        # found), so a spot that reads empty or unsure is paper, not a lost box.
        if reading.mark != "empty" and not reading.uncertain:
            marks.append(placed(spot, reading, predicted=True))
    return marks


def read_labels(gray: np.ndarray, dpi: float, marks: Sequence[PlacedMark],
                words: Sequence[PlacedWord], read_line: Callable[[Image.Image], str]
                ) -> list[PlacedMark]:
    """``marks`` with the text right of each box read on its own (``read_line``: a one-line
    OCR) where the page's OCR read no word there: Tesseract drops short lines beside heavily
    marked boxes and single letters ("A", "B") beside boxes. The crop runs from the box's
    right edge to the next box on its line (at most LABEL_MAX_MM), one box side and a half
    high. ``gray`` is the page the marks and words were placed on (mm from its top-left)."""
    px = dpi / 25.4
    seen = _unglued(words, marks)
    out = []
    for m in marks:
        right = m.cx + m.side / 2
        on_line = [w for w in seen if w.page == m.page
                   and abs(w.y + w.h / 2 - m.cy) < max(w.h, m.side) / 2]
        if any(right - GAP_MM <= w.x <= right + LABEL_NEAR_MM for w in on_line):
            out.append(m)
            continue
        stop = min([o.cx - o.side / 2 - 0.5 for o in marks if o.page == m.page and o is not m
                    and abs(o.cy - m.cy) < m.side / 2 and o.cx > m.cx]
                   + [right + LABEL_MAX_MM])
        half = 0.75 * m.side
        x0, x1 = int(right * px), int(min(stop * px, gray.shape[1]))
        y0, y1 = int(max(0.0, (m.cy - half) * px)), int(min((m.cy + half) * px, gray.shape[0]))
        crop = _label_crop(gray[y0:y1, max(0, x0):max(0, x1)], m.side * px)
        label = read_line(Image.fromarray(crop)) if crop is not None else ""
        out.append(replace(m, label=label.strip()) if tokens(label) else m)
    return out


def _label_crop(band: np.ndarray, side_px: float) -> np.ndarray | None:
    """The part of ``band`` (starting at a box's right edge) after the box: the outline and a
    fill spilling out of the box are skipped up to the first column of paper, at most half a
    side on. None when what is left is too narrow or holds no ink (nothing to read: Tesseract
    reports on an empty crop instead of reading it)."""
    if band.size == 0:
        return None
    dark = band < 0.6 * max(float(np.percentile(band, 90)), 60.0)
    columns = dark.mean(axis=0)
    start = 0
    while start < min(len(columns), int(0.6 * side_px)) and columns[start] > 0.15:
        start += 1
    rest = band[:, start + 1:]
    if rest.shape[1] < 0.5 * side_px or not dark[:, start + 1:].any():
        return None
    return np.ascontiguousarray(rest)


def _column_spots(boxes: Sequence[Box], dpi: float) -> list[Box]:
    """Where a box is missing from an evenly spaced column: each pitch of a gap of two to
    MAX_GAP_PITCHES pitches, and one pitch before or after a run of three or more boxes,
    away from every box found.

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
        # Every whole pitch inside a gap of two to MAX_GAP_PITCHES pitches: the filled boxes of
        # a question can be several in a row (a fill spilling out of its outline is no box).
        ys = [a.cy + j * (b.cy - a.cy) / n for a, b in zip(column, column[1:])
              for n in [round((b.cy - a.cy) / pitch)]
              if 2 <= n <= MAX_GAP_PITCHES and abs((b.cy - a.cy) / pitch - n) < 0.15
              for j in range(1, n)]
        # Before a run, too, is often where the question's title is: such spots are used only
        # where no word was read on them (``_on_text``).
        for run in np.split(np.arange(len(column)), np.nonzero(steps > 1.25 * pitch)[0] + 1):
            if len(run) >= 3:
                ys += [column[run[0]].cy - pitch, column[run[-1]].cy + pitch]
        spots += [Box.from_center(cx, cy, side, angle) for cy in sorted(set(ys))
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


@dataclass(frozen=True)
class Placement:
    """The boxes of one question's options (None where none was found)."""

    marks: tuple[PlacedMark | None, ...]
    # Some boxes were given by their order alone, on a document that shows no option placed by
    # its text in the exam's order: the caller flags them.
    by_order_only: bool = False


def marks_by_option_text(questions: Sequence[ChoiceQuestion], words: Sequence[PlacedWord],
                         marks: Sequence[PlacedMark]) -> dict[str, list[PlacedMark | None]]:
    """``place_by_option_text``'s boxes, per question label."""
    return {label: list(p.marks) for label, p in place_by_option_text(questions, words, marks).items()}


def place_by_option_text(questions: Sequence[ChoiceQuestion], words: Sequence[PlacedWord],
                         marks: Sequence[PlacedMark]) -> dict[str, Placement]:
    """For each question, the mark beside each of its options.

    Each question's title is located in the whole document (``_locate_titles``: exams that
    shuffle their questions per copy print them in any order). Every word and box then
    belongs to the title above it in its column (``_Layout``: two-column sheets interleave
    their columns line by line in the OCR's reading order), and a question's options are
    searched, in any order (exams shuffle options too), among its own words, each given the
    nearest unused box of its own beside it: the same option text in two questions ("True",
    "False") is not confused. Options with the same words but another sign ("1", "-1") must
    match with their sign. A question whose title is not found is searched among the words
    of the nearest earlier question's (exams print questions in order), or those before the
    first title; with no title found at all, nothing is (single-letter options could be
    anywhere). A word that Tesseract glued to the box before it ("C1" for a box and "1") is
    read without the box.

    Options whose text was not read then take their question's remaining boxes in reading
    order (``_by_position``), unless the document shows options printed out of the exam's
    order (a shuffled copy: their order says nothing); on a document that shows none in
    order either, such boxes are ``by_order_only``. A question with no option placed at all
    is left out.
    """
    words = _with_labels(_unglued(words, marks), marks)
    located = [(w, t) for w in words for t in tokens(w.text)]
    stream = [t for _, t in located]
    titles = _locate_titles(questions, stream)
    if all(t is None for t in titles):
        return {}
    layout = _Layout([located[t[0]][0] if t is not None else None for t in titles])
    token_owner = [layout.owner(w.page, w.x, w.y + w.h / 2) for w, _ in located]
    mark_owner = [layout.owner(m.page, m.cx, m.cy) for m in marks]
    used: set[int] = set()
    by_text: list[list[int | None]] = []
    anchor = PREAMBLE
    for k, q in enumerate(questions):
        anchor = k if titles[k] is not None else anchor
        own = [i for i, o in enumerate(token_owner) if o == anchor]
        others = {i for i, o in enumerate(mark_owner) if o != anchor}
        found: list[int | None] = []
        for n in range(len(q.options)):
            index = _place_option(q, n, stream, located, own, marks, used | others, words)
            found.append(index)
            used.update(() if index is None else (index,))
        by_text.append(found)
    in_order, out_of_order = _order_evidence(by_text, marks)
    result: dict[str, Placement] = {}
    for k, q in enumerate(questions):
        found = [None if i is None else marks[i] for i in by_text[k]]
        filled = False
        if None in found and titles[k] is not None and not out_of_order:
            inside = [i for i, o in enumerate(mark_owner) if o == k]
            before = found
            found = _by_position(found, inside, marks, used, words)
            filled = found is not before
            used.update(i for i, m in enumerate(marks) if any(m is p for p in found))
        if any(m is not None for m in found):
            result[q.label] = Placement(tuple(found), by_order_only=filled and not in_order)
    return result


def _order_evidence(by_text: list[list[int | None]], marks: Sequence[PlacedMark]
                    ) -> tuple[bool, bool]:
    """(some question has two or more options placed by their text in the exam's order, some
    question has them in another order)."""
    in_order = out_of_order = False
    for found in by_text:
        placed = [i for i in found if i is not None]
        if len(placed) >= 2:
            if _reading_order(placed, marks) == placed:
                in_order = True
            else:
                out_of_order = True
    return in_order, out_of_order


def _with_labels(words: list[PlacedWord], marks: Sequence[PlacedMark]) -> list[PlacedWord]:
    """The words with each mark's ``label`` as a word right of its box, put in reading order
    after the last word above it or before it on its line."""
    out = list(words)
    for m in sorted((m for m in marks if m.label), key=lambda m: (m.page, m.cy, m.cx)):
        right = m.cx + m.side / 2
        word = PlacedWord(m.page, m.label, right + 0.5, m.cy - m.side / 2,
                          0.5 * m.side * len(m.label), m.side)

        def before(w: PlacedWord) -> bool:
            if w.page != m.page:
                return w.page < m.page
            if abs(w.y + w.h / 2 - m.cy) < m.side / 2:
                return w.x < word.x
            return w.y + w.h / 2 < m.cy
        at = max((i + 1 for i, w in enumerate(out) if before(w)), default=0)
        out.insert(at, word)
    return out


def _unglued(words: Sequence[PlacedWord], marks: Sequence[PlacedMark]) -> list[PlacedWord]:
    """The words with the part lying on a found box cut off: Tesseract reads a box and the
    text printed just after it as one word ("C1", "[Ja", "Dé)"), and the option's text is
    what follows the box. A word wholly on a box is dropped (the box read as a glyph)."""
    boxes = [m for m in marks if not m.predicted]
    out = []
    for w in words:
        box = next((m for m in boxes if m.page == w.page
                    and m.cx - m.side / 2 <= w.x + GAP_MM / 2 < m.cx + m.side / 2
                    and abs(m.cy - (w.y + w.h / 2)) < m.side / 2), None)
        if box is None or not w.text:
            out.append(w)
            continue
        right = box.cx + box.side / 2
        if right >= w.x + w.w - GAP_MM / 2:
            continue
        per_char = w.w / len(w.text)
        cut = min(len(w.text), max(1, round((right - w.x) / per_char)))
        if cut < len(w.text):
            out.append(PlacedWord(w.page, w.text[cut:], w.x + cut * per_char, w.y,
                                  w.w - cut * per_char, w.h))
    return out


PREAMBLE = -1          # the owner of what comes before every title
COLUMN_GAP_MM = 30.0   # titles further apart than this across the page are in two columns


class _Layout:
    """Which question's title each place on the pages comes under.

    Titles are grouped into columns by their left edge. A place belongs to the lowest title
    above it (its top edge or below) in the nearest column on its page; with none there, to
    the last title on an earlier page (the question goes on over the page break), else to
    the preamble.
    """

    def __init__(self, titles: Sequence[PlacedWord | None]):
        self.titles = [(k, t) for k, t in enumerate(titles) if t is not None]
        xs = sorted(t.x for _, t in self.titles)
        self.columns: list[float] = []
        for x in xs:
            if not self.columns or x - self.columns[-1] > COLUMN_GAP_MM:
                self.columns.append(x)

    def _column(self, x: float) -> float:
        return min(self.columns, key=lambda c: abs(x - c))

    def owner(self, page: int, x: float, y: float) -> int:
        column = self._column(x)
        above = [(t.y, k) for k, t in self.titles
                 if t.page == page and t.y <= y and self._column(t.x) == column]
        if above:
            return max(above)[1]
        # The last title of an earlier page in reading order: its last column, lowest title.
        earlier = [((t.page, self.columns.index(self._column(t.x)), t.y), k)
                   for k, t in self.titles if t.page < page]
        return max(earlier)[1] if earlier else PREAMBLE


def _locate_titles(questions: Sequence[ChoiceQuestion], stream: list[str]
                   ) -> list[tuple[int, int] | None]:
    """(first word, end) of each question's title in ``stream``, or None.

    Every window like a title is a candidate; the best-read ones are taken first, each window
    by one question only, so "Voulez-vous 7 points ?" does not take the copy of "Voulez-vous
    6 points ?" printed before it. Questions whose titles are the same words ("Which of these
    are true?") share their windows in exam order: the first copy is the first question's,
    even when a later copy reads a little better.
    """
    wanted = [tokens(q.title)[:TITLE_WORDS] for q in questions]
    candidates = sorted(((score, first, end, k) for k, w in enumerate(wanted) if w
                         for score, first, end in _windows(stream, w, 0, len(stream),
                                                           TITLE_MATCH)),
                        key=lambda c: (-c[0], c[1], c[3]))
    titles: list[tuple[int, int] | None] = [None] * len(questions)
    taken: list[tuple[int, int]] = []
    for _, first, end, k in candidates:
        if titles[k] is None and all(end <= a or first >= b for a, b in taken):
            titles[k] = (first, end)
            taken.append((first, end))
    groups: dict[tuple[str, ...], list[int]] = {}
    for k, w in enumerate(wanted):
        if titles[k] is not None:
            groups.setdefault(tuple(w), []).append(k)
    for ks in groups.values():
        for k, window in zip(ks, sorted(titles[k] for k in ks)):
            titles[k] = window
    return titles


_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})


def _signed(text: str) -> str:
    """Letters, digits and signs: what tells "-1" from "1" once punctuation and spaces go."""
    return "".join(c for c in text.lower().translate(_DASHES) if c.isalnum() or c in "+-")


def _place_option(q: ChoiceQuestion, n: int, stream: list[str],
                  located: list[tuple[PlacedWord, str]], own: list[int],
                  marks: Sequence[PlacedMark], unavailable: set[int],
                  words: Sequence[PlacedWord]) -> int | None:
    """Index of the available mark beside option ``n``'s best-matching text among the
    question's own tokens (``own``: indices into ``stream``), or None: a number or a word of
    the option may also occur in the question's own text, where there is no box. A text read
    a little wrong counts when it is clearly nearer this option than any other; options that
    read as the same words but are printed with another sign must match their sign."""
    option = q.options[n]
    wanted = tokens(option)
    if not wanted or not own:
        return None
    signed = _signed(option)
    twins = any(tokens(o) == wanted and _signed(o) != signed for o in q.options)
    sub = [stream[i] for i in own]
    rivals = [tokens(o) for o in q.options if tokens(o) != wanted]
    for score, first, end in _windows(sub, wanted, 0, len(sub), LOOSE_OPTION_MATCH,
                                      any_start=True):
        if score < OPTION_MATCH and any(_similarity(sub[first:end], r) > score - OPTION_MARGIN
                                        for r in rivals):
            continue
        match = list(dict.fromkeys(located[own[i]][0] for i in range(first, end)))
        if twins and _signed(" ".join(w.text for w in match)) != signed:
            continue
        index = _beside(match, marks, unavailable, words)
        if index is not None:
            return index
    return None


def _by_position(placed: list[PlacedMark | None], inside: list[int], marks: Sequence[PlacedMark],
                 used: set[int], words: Sequence[PlacedWord]) -> list[PlacedMark | None]:
    """Fill the options whose text was not read (Tesseract drops short lines beside marked
    boxes) from the boxes under the question's title (``inside``), taken in reading order,
    provided there is exactly one box per option and the boxes placed by their text are in
    the same order. Boxes found come first; predicted ones only make up the count.
    Otherwise ``placed`` is returned as it is. (The caller marks the boxes taken as used.)"""
    inside = [i for i in inside if not (marks[i].predicted and _on_text(marks[i], words))]
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
    if not match:
        return None
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
