"""Submission text → the span that answers each question (``segment_answers``).

Real submissions repeat the exam's prompts before answering (typed documents copy the whole
question sheet), answer in any order, continue on "additional space" pages, and label parts in
every style (``ii)``, ``(b)``, ``c.``, ``\\text{ii) }`` inside LaTeX, a bare handwritten ``d``).
The rules, in order:

1. Headings are found line by line: question headings (``Question 3``, ``Problem 4``, ``Q5``,
   ``A6``, OCR-clipped ``stion 2``, an OCR-misread number repaired to one of the exam's own
   (``Question |`` → 1, ``Problem S`` → 5); bare ``5.`` only when no keyword heading exists) and part
   headings, accepted only when the part is one of that question's parts in the exam (so ``i)``
   is roman in a roman list and a letter in a letter list).
2. Each heading owns the text up to the next heading: spans never overlap.
3. A span that starts with a copy of the prompt (the question's ``title``, or text repeated by
   another occurrence of the same label) is a prompt; its answer is what follows the copy.
4. The LAST occurrence of a label with answer content wins. Consecutive occurrences of one
   label are one answer. An out-of-order losing occurrence sitting exactly where a missing
   part belongs (a handwritten ``a`` read as ``d``) is given to that part, with lower
   confidence.
5. "Question 3 (continued)" / "additional space for 2b" spans are appended to that answer.
"""
from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice, takewhile

from grader.types import PageText, QuestionSpec, Segment

PAGE_JOIN = "\n\f\n"
RELABEL_CONFIDENCE = 0.75   # an answer placed by sequence, not by its (misread) label
PROMPT_SIMILARITY = 0.75

_LEAD = (r"^[ \t>*#•\-–]*(?:(?:\$\$|\\\[|\\begin\{(?:aligned|align\*?)\}|\*\*|&|\\item)[ \t]*)*"
         r"(?:[:;]?(?:so)?(?:lution|ution|tion|ion|on|answer|nswer|swer|wer|ans|sol)[ \t]*:[ \t]*)?")
_SOLUTION_WORD = re.compile(r"^\s*[:;]?(?:so)?(?:lution|ution|tion|ion|answer|nswer|swer|wer|ans|sol)[ \t]*:[ \t]*",
                            re.IGNORECASE)
_Q_KEYWORD = (r"(?:(?i:question|uestion|estion|stion|tion|ion|problem|roblem|exercise|task|aufgabe)"
              r"[ \t]*\.?[ \t]*|Q[ \t]*|A)")
_QUESTION = re.compile(_LEAD + _Q_KEYWORD + r"(?P<num>\d+)(?![\d])(?:\.(?!\d))?"
                       r"(?:[ \t]*(?:\(|\.)?(?P<part>[a-z]{1,4})(?:\)|\.|:|\b)(?!\w))?(?P<rest>.*)$")
_BARE_NUMBER = re.compile(_LEAD + r"(?P<num>\d+)[ \t]*(?:[.):]|$)(?!\d)(?P<rest>.*)$")
_COMBINED = re.compile(_LEAD + r"(?P<num>\d+)[ \t]*(?:\.|\()?[ \t]*(?P<part>[a-z]{1,4})[ \t]*[).:](?!\w)(?P<rest>.*)$")
_PART = re.compile(_LEAD + r"(?:\d[ \t]+)?(?P<tx>\\text\{[ \t]*)?(?:\((?P<p1>[a-z]{1,4}|[A-Z])\)|(?P<p2>[a-z]{1,4})[ \t]*[).:]"
                   r"(?![a-z]\.)(?![{^_])|(?P<p3>[A-Z])[ \t]*[):]|(?P<p4>[a-z])(?=[ \t]*(?:\\quad|\\qquad|\t|[ \t]{2,})))"
                   r"(?(tx)(?:[ \t]*\})?|(?![ \t]*\}))(?P<rest>.*)$")
# Every alternative contains "cont" or "pace": ``_may_continue`` relies on it.
_CONTINUATION = re.compile(r"additional space|continu(?:ed|ation)|\bcont\.|\(cont\)", re.IGNORECASE)
_REF = re.compile(r"(?:(?i:question|problem|q|task|exercise)[ \t]*\.?[ \t]*)?(?P<num>\d+)[ \t]*(?:\.|\()?[ \t]*"
                  r"(?P<part>[a-z]{1,4})?\)?(?![\w])")
_WORD_CHAR = re.compile(r"\w")
_RESIDUE = re.compile(r"^\s*\d\s*$")   # point boxes printed beside a question ("0 1 2")
_PROMPT_END = re.compile(r"([^\n]*\?)[ \t)]*(?:\([^)]*\))?[ \t]*$")
_MARKS = re.compile(r"^\s*\(\s*\d+\s*(?:marks?|points?|pts?|credits?|p)\.?\s*\)", re.IGNORECASE)


@dataclass(frozen=True)
class _Heading:
    start: int          # line start
    body: int           # first character after the heading token
    kind: str           # question | part | cont | boundary
    number: str | None
    part: str | None


@dataclass(frozen=True)
class _Occurrence:
    label: str
    start: int
    end: int
    continuation: bool = False


def join_pages(pages: Sequence[PageText]) -> tuple[str, list[int]]:
    starts, pos, chunks = [], 0, []
    for page in pages:
        starts.append(pos)
        chunks.append(page.text)
        pos += len(page.text) + len(PAGE_JOIN)
    return PAGE_JOIN.join(chunks), starts


def _structure(questions: Sequence[QuestionSpec]) -> tuple[dict[str, list[str]], dict[str, QuestionSpec]]:
    parts: dict[str, list[str]] = {}
    for q in questions:
        parts.setdefault(q.number, [])
        if q.part:
            parts[q.number].append(q.part.lower())
    return parts, {q.label: q for q in questions}


def _line_heading(line: str, start: int, parts: dict[str, list[str]], current: str | None,
                  bare_numbers: bool) -> _Heading | None:
    body = lambda m: start + m.start("rest")  # noqa: E731
    if _may_continue(line) and _CONTINUATION.search(line):
        for ref in _REF.finditer(line):
            num, part = ref.group("num"), ref.group("part")
            if num in parts:
                part = part if part and part in parts[num] else None
                return _Heading(start, start + len(line), "cont", num, part)
        if re.search(r"additional space", line, re.IGNORECASE):
            return _Heading(start, start + len(line), "boundary", None, None)
    keyword = _question_match(line, parts)
    if keyword and keyword.group("num") not in parts:
        # "Problem 5" of the paper that the exam definition does not grade: its text must not
        # run on into the previous graded answer.
        return _Heading(start, start + len(line), "boundary", None, None)
    m = keyword or (_BARE_NUMBER.match(line) if bare_numbers else None)
    if m and m.group("num") in parts:
        part = m.groupdict().get("part")
        part = part if part and part in parts[m.group("num")] else None
        if part is None and m.groupdict().get("part"):
            return _Heading(start, start + m.start("part"), "question", m.group("num"), None)
        return _Heading(start, body(m), "question", m.group("num"), part)
    m = _COMBINED.match(line)
    if m and m.group("num") in parts and m.group("part") in parts[m.group("num")]:
        return _Heading(start, body(m), "question", m.group("num"), m.group("part"))
    m = _PART.match(line) if current is not None else None
    if m:
        token = next(g for g in (m.group("p1"), m.group("p2"), m.group("p3"), m.group("p4")) if g)
        if token.lower() in parts.get(current, []) and not (token.isupper() and len(token) > 1):
            return _Heading(start, body(m), "part", current, token.lower())
        if _sibling_style(token, parts.get(current, [])):
            # A part the exam does not grade (e.g. "e)" when only b and d are keyed) still
            # ends the answer before it.
            return _Heading(start, start + len(line), "foreign", None, None)
    return None


# OCR of a handwritten or faint question number: "Question |", "Problem S", "Question 1O".
# Only after a full keyword, only a token of one or two characters ending the heading (end of
# line, punctuation, a part label), only the confusions Tesseract makes with digits, and only
# when the repaired number is one of the exam's questions: "Question I have" or "Question is"
# stay prose.
_OCR_NUMBER = re.compile(_LEAD + r"(?i:question|uestion|problem|exercise|task|aufgabe)[ \t]*\.?[ \t]*"
                         r"(?P<tok>[0-9|lI!\]OS]{1,2})(?=[ \t]*(?:[.:)(]|$|[a-z]\)))")
_HEADING_DIGITS = str.maketrans({"|": "1", "l": "1", "I": "1", "!": "1", "]": "1", "O": "0", "S": "5"})


def _question_match(line: str, parts: dict[str, list[str]]) -> re.Match[str] | None:
    """``_QUESTION``'s match of ``line``, or of the line with an OCR-misread question number
    repaired to one of the exam's own numbers (same length: offsets stay those of ``line``)."""
    ocr = _OCR_NUMBER.match(line)
    if ocr is not None:
        token = ocr.group("tok")
        number = token.translate(_HEADING_DIGITS)
        if not token.isdigit() and number in parts and (len(token) == 1 or any(c.isdigit() for c in token)):
            return _QUESTION.match(line[:ocr.start("tok")] + number + line[ocr.end("tok"):])
    return _QUESTION.match(line)


def _may_continue(line: str) -> bool:
    """False only for lines ``_CONTINUATION`` cannot match: each of its alternatives contains
    "cont" or "pace", and the only characters IGNORECASE equates with c, o, n, t, p, a, e are
    those whose ``lower()`` is that letter. The case-insensitive regex scan of every line was
    ~1.6 ms of a 10-page submission; ``lower()`` and two substring tests are ~0.1 ms."""
    low = line.lower()
    return "cont" in low or "pace" in low


_ROMAN = re.compile(r"^[ivxl]+$")


def _sibling_style(token: str, known: list[str]) -> bool:
    """Does ``token`` look like another part label of a question whose parts are ``known``?"""
    if not known or not token.islower():
        return False
    if all(_ROMAN.match(p) for p in known) and any(len(p) > 1 for p in known):
        return bool(_ROMAN.match(token))
    return len(token) == 1 and all(len(p) == 1 for p in known)


def _headings(text: str, parts: dict[str, list[str]]) -> list[_Heading]:
    has_keyword = any((m := _question_match(l, parts)) and m.group("num") in parts for l in text.split("\n"))
    out: list[_Heading] = []
    lines: list[tuple[_Heading, str]] = []
    current: str | None = None
    pos = 0
    for line in text.split("\n"):
        h = _line_heading(line, pos, parts, current, bare_numbers=not has_keyword)
        if h:
            out.append(h)
            lines.append((h, line))
            if h.kind in ("question", "cont"):
                current = h.number
            elif h.kind == "boundary":
                current = None
        pos += len(line) + 1
    return _with_inline_parts(out, lines, parts)


@lru_cache(maxsize=256)
def _inline_part(part: str) -> re.Pattern[str]:
    """A part label in the middle of a line: "a) 15   b) 20", "(i) 3; (ii) 5"."""
    label = re.escape(part)
    return re.compile(rf"(?<![^ \t;,])(?:\({label}\)|{label}\))(?=[ \t]|$)")


def _with_inline_parts(headings: list[_Heading], lines: list[tuple[_Heading, str]],
                       parts: dict[str, list[str]]) -> list[_Heading]:
    """Add the part labels written in the middle of a heading line.

    Only parts later in the exam's order than the one before are looked for (the nearest one
    written wins, so a skipped part is allowed), and only parts that never head a line of
    their own: an answer that lists its own "a) ... b) ..." inside part a is left whole when
    part b is written below it as usual."""
    on_own_line = {(h.number, h.part) for h in headings if h.part}
    inline: list[_Heading] = []
    for h, line in lines:
        known = parts.get(h.number or "", [])
        if h.kind not in ("question", "part") or not known:
            continue
        line_start, at, last = h.start, h.body - h.start, h.part
        while True:
            following = known[known.index(last) + 1:] if last else known
            candidates = list(takewhile(lambda p: (h.number, p) not in on_own_line, following))
            found = [(m, p) for p in candidates
                     if (m := _inline_part(p).search(line, at)) is not None]
            if not found:
                break
            m, part = min(found, key=lambda f: f[0].start())
            if last is not None and not line[at:m.start()].strip(" \t;,"):
                break                     # "a) b) ...": no answer between, not two parts
            before = max(at, len(line[:m.start()].rstrip(" \t;,")))
            body = len(line) - len(line[m.end():].lstrip(" \t"))
            inline.append(_Heading(line_start + before, line_start + body, "part", h.number, part))
            at, last = m.end(), part
    if not inline:
        return headings
    return sorted(headings + inline, key=lambda h: h.start)


def _label(h: _Heading, parts: dict[str, list[str]]) -> str | None:
    if h.number is None:
        return None
    if h.part:
        return f"{h.number}.{h.part}"
    return h.number if not parts.get(h.number) else None


def _occurrences(text: str, headings: list[_Heading], parts: dict[str, list[str]],
                 labels: dict[str, QuestionSpec]) -> list[_Occurrence]:
    """One occurrence per heading (its text up to the next heading); repeats merged."""
    out: list[_Occurrence] = []
    for i, h in enumerate(headings):
        end = headings[i + 1].start if i + 1 < len(headings) else len(text)
        label = _label(h, parts)
        if label is None or label not in labels:
            out.append(_Occurrence("", h.body, end))
            continue
        out.append(_Occurrence(label, h.body, end, h.kind == "cont"))
    return out


# Word tokens of the prompt-copy rules. Only a prefix of an occurrence is ever compared with a
# title or another occurrence, so words are read lazily: tokenising whole occurrences (an
# answer that runs on over eight pages of working) was about half of ``grade_pages`` on the
# typed bench (bench/typed_throughput.py, 10-page submissions).
_WORD = re.compile(r"[A-Za-z0-9]+")
_TITLE_MATCH_WORDS = 6      # title words compared with the first words of an occurrence
_TITLE_SLACK = 6            # a copy may have this many words fewer or more than the title
_FIRST_WORDS = 8


def _words(text: str, limit: int | None = None) -> list[tuple[str, int]]:
    """(lower-cased word, end offset) of the first ``limit`` words of ``text`` (all if None)."""
    return [(m.group(0).lower(), m.end()) for m in islice(_WORD.finditer(text), limit)]


@lru_cache(maxsize=1024)  # one entry per question title of the exams being graded
def _title_words(title: str) -> tuple[str, ...]:
    return tuple(w for w, _ in _words(title))


def _title_prefix_end(text: str, title: str) -> int:
    """Offset where a copy of ``title`` at the start of ``text`` ends; 0 if it is not one."""
    tw = list(_title_words(title))
    if len(tw) < 3:
        return 0
    # No comparison below looks past word max(8, len(tw) + 6).
    words = _words(text, max(_FIRST_WORDS, len(tw) + _TITLE_SLACK))
    if not words:
        return 0
    tokens = [w for w, _ in words]
    if difflib.SequenceMatcher(None, tw[:_TITLE_MATCH_WORDS], tokens[:_FIRST_WORDS]).ratio() < 0.5:
        return 0
    lengths = range(max(1, len(tw) - _TITLE_SLACK), min(len(tokens), len(tw) + _TITLE_SLACK) + 1)
    k = _most_similar_prefix(tw, tokens, lengths)
    return words[k - 1][1] if k else 0


def _most_similar_prefix(a: list[str], b: list[str], lengths: range) -> int:
    """The shortest ``k`` in ``lengths`` whose ``b[:k]`` has the highest difflib ratio with
    ``a``, if that ratio reaches PROMPT_SIMILARITY; else 0.

    Branch and bound, same answer as trying every length: the ratio of ``b[:k]`` is at most
    ``2 * shared[k] / (len(a) + k)`` (difflib's ``quick_ratio``: matches pair equal words), so
    lengths are tried by decreasing bound until none can reach the best ratio found. A verbatim
    copy of the prompt then costs one or two SequenceMatchers instead of one per length (~12),
    which were about half of the segmentation time of the i2dl sample (under cProfile)."""
    shared = _shared_counts(a, b)
    bound = {k: 2.0 * shared[k] / (len(a) + k) for k in lengths}
    best_k, best = 0, -1.0
    for k in sorted(lengths, key=lambda k: (-bound[k], k)):
        if bound[k] < max(best, PROMPT_SIMILARITY):
            break
        if bound[k] == best and k > best_k:
            continue  # at most a tie, and the shorter prefix wins ties
        ratio = difflib.SequenceMatcher(None, a, b[:k]).ratio()
        if ratio > best or (ratio == best and k < best_k):
            best_k, best = k, ratio
    return best_k if best >= PROMPT_SIMILARITY else 0


def _shared_counts(a: list[str], b: list[str]) -> list[int]:
    """``shared[k]``: how many words ``a`` and ``b[:k]`` have in common, with multiplicity."""
    left = Counter(a)
    shared = [0]
    for word in b:
        hit = left[word] > 0
        if hit:
            left[word] -= 1
        shared.append(shared[-1] + hit)
    return shared


def _common_prefix_end(text: str, other: str) -> int:
    """End of the words ``text`` shares with the start of ``other``, if at least five."""
    n, end = 0, 0
    for a, b in zip(_WORD.finditer(text), _WORD.finditer(other)):
        if a.group(0).lower() != b.group(0).lower():
            break
        n, end = n + 1, a.end()
    return end if n >= 5 else 0


def _question_prompt_end(text: str, *, min_words: int = 4) -> int:
    """A first paragraph ending in '?' is the prompt restated. A paragraph, not a line: typed
    PDFs wrap a long printed question over several lines. After a matched title the rest of
    the prompt may be a single word ("cell? (Calculate final number)"): ``min_words=1``."""
    offset = len(text) - len(text.lstrip())
    pos = offset
    for _ in range(6):  # a printed question is a few lines at most
        newline = text.find("\n", pos)
        line = text[pos:] if newline < 0 else text[pos:newline]
        if not line.strip():
            break
        m = _PROMPT_END.match(line)
        if m and len(text[offset:pos + m.end(1)].split()) >= min_words:
            return pos + m.end()
        if newline < 0:
            break
        pos = newline + 1
    # "Question 2: Title (3 marks)": a heading line closed by its marks is a printed title.
    m = re.match(r"[ \t:.\-]*([^\n]*?)" + _MARKS.pattern[2:] + r"[ \t.]*(?:\n|$)", text, re.IGNORECASE)
    return m.end() if m else 0


def _content(text: str, occ: _Occurrence, others: list[_Occurrence], spec: QuestionSpec) -> tuple[int, int] | None:
    """(start, end) of the answer inside an occurrence, prompt copy removed; None if no answer."""
    body = text[occ.start:occ.end]
    cut = _title_prefix_end(body, spec.title) if spec.title else 0
    for other in others:
        if other is not occ:
            cut = max(cut, _common_prefix_end(body, text[other.start:other.end]))
    # The prompt's remaining sentence up to its question mark is still the prompt; an exam
    # title that does not match the printed wording must not stop that rule.
    cut += _question_prompt_end(body[cut:], min_words=1 if cut else 4)
    rest = body[cut:]
    sol = _SOLUTION_WORD.match(rest)
    if sol:
        cut += sol.end()
        rest = rest[sol.end():]
    if cut:
        rest = re.sub(r"^[ \t)\].,:;?!]+", "", rest)
        m = _MARKS.match(rest)
        rest = rest[m.end():] if m else rest
        # A prompt's trailing point boxes are print, not an answer.
        if not any(_WORD_CHAR.search(l) for l in rest.split("\n") if not _RESIDUE.match(l)):
            return None
    if not re.search(r"\w", rest):
        return None
    lead = len(body) - len(rest) + (len(rest) - len(rest.lstrip()))
    if cut:
        # skip residue lines at the start of the answer
        m = re.match(r"(?:\s*\d\s*\n)+", body[lead:])
        lead += m.end() if m else 0
    # A math opener left dangling before the next heading (``$$\begin{aligned}``) is not content.
    trail = _trailing_print_start(body.rstrip())
    return occ.start + lead, occ.start + max(trail, lead)


# Whole lines of print left at the end of an answer: point boxes ("2") or math openers.
_BOX_LINE = re.compile(r"[ \t]*\d[ \t]*")
_OPENER_LINE = re.compile(r"[ \t]*(?:\$\$|\\\[|\\begin\{\w+\*?\})+[ \t]*")


def _trailing_print_start(body: str) -> int:
    """Where the trailing run of box lines, or of opener lines, of ``body`` begins (at its
    newline); ``len(body)`` if there is none. ``body`` has no trailing whitespace.

    The offset the previous code cut at with one regex (the reference in
    tests/parse/test_fast_paths.py): its two alternatives cannot match a newline inside a line,
    so a match is a run of whole last lines and the leftmost match is the longer run. The regex
    tried every newline of the answer (2.5 ms for an answer running over eight typed pages);
    walking back from the end reads only the last lines."""
    return min(_trailing_lines_start(body, _BOX_LINE), _trailing_lines_start(body, _OPENER_LINE))


def _trailing_lines_start(body: str, line: re.Pattern[str]) -> int:
    start = len(body)
    while (newline := body.rfind("\n", 0, start)) >= 0 and line.fullmatch(body, newline + 1, start):
        start = newline
    return start


def _skip_space(text: str, occ: _Occurrence) -> int:
    body = text[occ.start:occ.end]
    return len(body) - len(body.lstrip())


def _span_confidence(pages: Sequence[PageText], page_starts: list[int], start: int, end: int) -> float:
    """Mean OCR word confidence inside [start, end); 1.0 when there are no OCR words."""
    confs: list[float] = []
    for page, base in zip(pages, page_starts):
        if not page.words or base > end or base + len(page.text) < start:
            continue
        cursor = 0
        for word, conf in page.words:
            at = page.text.find(word, cursor)
            if at < 0:
                continue
            cursor = at + len(word)
            if start <= base + at < end:
                confs.append(conf)
    return round(sum(confs) / len(confs), 4) if confs else 1.0


def heading_spans(pages: Sequence[PageText], questions: Sequence[QuestionSpec]
                  ) -> dict[str, tuple[tuple[int, int, int], ...]]:
    """Every place a question's own heading stands, answered or not: per label, (page number,
    start of the heading line, end of its text up to the next heading) within that page's
    text, in order. Continuations ("Question 3 (continued)") are left out."""
    text, page_starts = join_pages(pages)
    parts, labels = _structure(questions)
    headings = _headings(text, parts)
    found: dict[str, list[tuple[int, int, int]]] = {}
    for heading, occ in zip(headings, _occurrences(text, headings, parts, labels)):
        if occ.label and not occ.continuation:
            spans = _page_spans([(heading.start, occ.end)], pages, page_starts)
            if spans:
                found.setdefault(occ.label, []).append(spans[0])
    return {label: tuple(spans) for label, spans in found.items()}


def segment_answers(pages: Sequence[PageText], questions: Sequence[QuestionSpec]) -> dict[str, Segment]:
    text, page_starts = join_pages(pages)
    parts, labels = _structure(questions)
    headings = _headings(text, parts)
    occs = _occurrences(text, headings, parts, labels)
    by_label: dict[str, list[_Occurrence]] = {}
    for o in occs:
        if o.label and not o.continuation:
            by_label.setdefault(o.label, []).append(o)
    chosen: dict[str, tuple[int, int, float]] = {}
    losers: list[tuple[_Occurrence, tuple[int, int]]] = []
    for label, group in by_label.items():
        with_content = [(o, c) for o in group if (c := _content(text, o, group, labels[label]))]
        if not with_content:
            continue
        winner, (start, end) = with_content[-1]
        # Consecutive occurrences of one label ("e. …" then "e. …") are one answer.
        merged = [winner]
        for o, c in reversed(with_content[:-1]):
            if occs.index(o) == occs.index(merged[-1]) - 1 and c[0] == o.start + _skip_space(text, o):
                merged.append(o)
                start = c[0]
            else:
                break
        chosen[label] = (start, end, 1.0)
        losers.extend((o, c) for o, c in with_content if o not in merged)
    chosen = _relabel(losers, occs, parts, chosen)
    segments: dict[str, Segment] = {}
    for label in labels:
        spans = [chosen[label][:2]] if label in chosen else []
        factor = chosen[label][2] if label in chosen else 1.0
        for o in occs:
            if o.continuation and o.label == label and re.search(r"\w", text[o.start:o.end]):
                s = o.start + len(text[o.start:o.end]) - len(text[o.start:o.end].lstrip())
                spans.append((s, o.start + len(text[o.start:o.end].rstrip())))
        if not spans:
            continue
        start, end = spans[0]
        body = "\n".join(text[a:b] for a, b in spans)
        page_spans = _page_spans(spans, pages, page_starts)
        conf = min(_span_confidence(pages, page_starts, a, b) for a, b in spans) * factor
        segments[label] = Segment(label, body, start, end,
                                  tuple(sorted({number for number, _, _ in page_spans})),
                                  round(conf, 4), spans=page_spans)
    return segments


def _page_spans(spans: list[tuple[int, int]], pages: Sequence[PageText],
                page_starts: list[int]) -> tuple[tuple[int, int, int], ...]:
    """Spans of the joined text as (page number, start, end) within each page's own text."""
    out = []
    for a, b in spans:
        for page, first in zip(pages, page_starts):
            s, e = max(a, first), min(b, first + len(page.text))
            if s < e:
                out.append((page.number, s - first, e - first))
    return tuple(out)


def _relabel(losers: list[tuple[_Occurrence, tuple[int, int]]], occs: list[_Occurrence],
             parts: dict[str, list[str]], chosen: dict[str, tuple[int, int, float]]
             ) -> dict[str, tuple[int, int, float]]:
    """Give an overridden occurrence to the missing part whose place in the sequence it takes."""
    chosen = dict(chosen)
    for occ, span in losers:
        number = occ.label.split(".")[0]
        idx = occs.index(occ)
        nxt = next((o for o in occs[idx + 1:] if o.label and not o.continuation), None)
        if nxt is None or "." not in nxt.label or nxt.label.split(".")[0] != number:
            continue
        order = parts[number]
        pos = order.index(nxt.label.split(".")[1])
        if pos == 0:
            continue
        missing = f"{number}.{order[pos - 1]}"
        if missing not in chosen and missing != occ.label:
            chosen[missing] = (*span, RELABEL_CONFIDENCE)
    return chosen
