"""Selected options of a multiple-choice question, as sorted 1-based ints.

Accepted: "Choices 2, 3, 5 are correct", "Only choice 5 is correct", "A, C" / "(b) and (d)"
letters, ``[x]`` / ``[ ]`` checklists (one line per option, in order), the option texts
themselves, and "none" / "none of them" (→ []). Letters map A=1, B=2, … ."""
from __future__ import annotations

import difflib
import re
from collections.abc import Sequence

_ITEM = r"(?:\(?\s*(?:\d{1,2}|[A-J])\s*\)?|\(?[a-j]\))"  # lowercase letters only as "b)" / "(b)"
_LIST = rf"{_ITEM}(?:\s*(?:,|&|/|\band\b|\bor\b|\s)[\s:;.]*{_ITEM})*"  # "2 and:3" from OCR
_LEAD = re.compile(rf"\b(?:only\s+)?(?:choices?|options?|answers?|statements?|boxes?|numbers?)\s*(?:no\.?|nos\.?|#)?\s*[:=]?\s*(?:are|is)?\s*:?\s*({_LIST})(?![\w])",
                   re.IGNORECASE)
_TRAIL = re.compile(rf"(?:^|(?<=[\s:]))({_LIST})\s+(?:is|are)\s+(?:the\s+)?(?:correct|true|right)", re.IGNORECASE | re.MULTILINE)
_BARE = re.compile(rf"^\s*(?:answer\s*[:=]?\s*)?({_LIST})\s*\.?\s*$", re.IGNORECASE)
_NONE = re.compile(r"\bnone(?:\s+of\s+(?:them|the\s+(?:above|options|choices|statements)))?\b(?:\s+(?:is|are)\s+(?:correct|true))?"
                   r"|\bno\s+(?:option|choice|statement|answer)s?\s+(?:is|are)\s+(?:correct|true)\b|\ball\s+(?:are\s+)?false\b",
                   re.IGNORECASE)
# OCR reads "[ ]" as "{]", "[]", "(]", "|]": any opening bracket-ish, optional mark, closing.
_CHECK = re.compile(r"^\s*[-*•]?\s*([\[{(|]\s*[xX✓✔vV*]?\s*[\]})|]|☐|☒|☑|■|□|✓|✔|✗|✘)\s*", re.MULTILINE)
_CHECKED = re.compile(r"[\[{(|]\s*[xX✓✔vV*]\s*[\]})|]|☒|☑|■|✓|✔|✗|✘")


# What follows a list of options and says it is not the answer ("choice B is wrong").
_NEGATED = re.compile(r"\s*(?:(?:is|are)\s+)?(?:not\b|n't\b|wrong\b|incorrect\b|false\b)",
                      re.IGNORECASE)
_OR = re.compile(r"\bor\b|/", re.IGNORECASE)


def _items(text: str, n_options: int) -> list[int] | None:
    out = []
    for tok in re.findall(r"\d{1,2}|(?<![A-Za-z])[A-Ja-j](?![A-Za-z])", text):
        k = int(tok) if tok.isdigit() else ord(tok.upper()) - ord("A") + 1
        if k < 1 or (n_options and k > n_options):
            return None  # out of range: not an option list (e.g. "3 layers")
        out.append(k)
    return sorted(set(out)) if out else None


def _checklist(text: str) -> list[int] | None:
    marks = [m for m in _CHECK.finditer(text)]
    if len(marks) < 2:
        return None
    return [i + 1 for i, m in enumerate(marks) if _CHECKED.fullmatch(m.group(1).strip())]


def _quoted_options(text: str, options: Sequence[str]) -> list[int] | None:
    """Options whose text the student copied (exactly or nearly) as their answer."""
    lines = [l.strip(" -*•\t.;") for l in re.split(r"[\n;]", text) if l.strip()]
    chosen = set()
    for line in lines:
        for i, opt in enumerate(options, 1):
            a, b = line.lower(), opt.lower().rstrip(".")
            if b and (b in a or difflib.SequenceMatcher(None, a, b).ratio() > 0.85):
                chosen.add(i)
    return sorted(chosen) if chosen else None


def read_choices(text: str, options: Sequence[str]) -> tuple[list[int] | None, str, list[list[int]]]:
    """(selection, evidence, every distinct selection stated) — several statements that
    disagree are reported so the caller can flag them."""
    n = len(options)
    checked = _checklist(text)
    if checked is not None:
        return checked, text.strip(), [checked]
    stated: list[tuple[int, list[int], str]] = []
    for rx in (_LEAD, _TRAIL):
        for m in rx.finditer(text):
            items = _items(m.group(1), n)
            if items is None or _NEGATED.match(text, m.end()):
                continue      # "choice B is wrong" states no selection
            if _OR.search(m.group(1)):
                # "choices A or B": either, not both: two selections for a TA to weigh.
                stated += [(m.start(), [k], m.group(0).strip()) for k in items]
            stated.append((m.start(), items, m.group(0).strip()))
    for m in _NONE.finditer(text):
        stated.append((m.start(), [], m.group(0)))
    if not stated:
        first = text.strip().split("\n")[0]
        m = _BARE.match(first)
        if m and (items := _items(m.group(1), n)) is not None:
            if _OR.search(m.group(1)):
                return items, m.group(0).strip(), [[k] for k in items]
            return items, m.group(0).strip(), [items]
        quoted = _quoted_options(text, options) if options else None
        return quoted, text.strip() if quoted else "", [quoted] if quoted else []
    stated.sort(key=lambda s: s[0])
    distinct: list[list[int]] = []
    for _, items, _ in stated:
        if items not in distinct:
            distinct.append(items)
    return stated[-1][1], stated[-1][2], distinct
