"""OCR confusions in numeric context (``l5`` → 15, ``2O`` → 20). Only tokens that already look
numeric are touched, so words stay words; every fix is counted because each one is a guess."""
from __future__ import annotations

import re

# Characters Tesseract (and transcribers of handwriting) confuse with digits.
# Kept small on purpose: each extra letter (b→6, g→9, T→7) also rewrites real names like "5b".
CONFUSABLE = {"l": "1", "I": "1", "|": "1", "O": "0", "o": "0", "S": "5", "B": "8", "Z": "2"}
_CONF = re.escape("".join(CONFUSABLE))
# A token mixing digits and confusables (at least one real digit), e.g. "1O0", "l5", "2.S".
_MIXED = re.compile(rf"(?<![A-Za-z0-9_\\])(?=[{_CONF}0-9.,]*\d)[{_CONF}0-9][{_CONF}0-9.,]*(?<![.,])(?![A-Za-z0-9_])(?!\s*=)")  # "S2 = 0" names a value
# A lone confusable right after "=" (``h_2 = O``) or as a matrix cell between separators.
_LONE = re.compile(r"(?<==)(\s*)([lIO|oSBZ])(?=\s*(?:$|[,;)\]&\n]|\\\\))")


# Bars round a number ("|5|", "|-2.5|"): an absolute value, whose bars are no ones.
_BARS = re.compile(r"(\|\s*[-+−]?[\d.]+\s*\|)")


def fix_numeric_tokens(text: str) -> tuple[str, int]:
    """Return (fixed text, number of characters changed)."""
    if "|" in text and _BARS.search(text):
        pieces = _BARS.split(text)       # odd pieces are the bars, kept as written
        fixed = [(piece, 0) if k % 2 else fix_numeric_tokens(piece) for k, piece in enumerate(pieces)]
        return "".join(p for p, _ in fixed), sum(n for _, n in fixed)
    count = 0

    def mixed(m: re.Match[str]) -> str:
        nonlocal count
        tok = m.group(0)
        if tok.isdigit() or not any(c.isdigit() for c in tok):
            return tok
        fixed = "".join(CONFUSABLE.get(c, c) for c in tok)
        count += sum(1 for a, b in zip(tok, fixed) if a != b)
        return fixed

    def lone(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return m.group(1) + CONFUSABLE[m.group(2)]

    text = _MIXED.sub(mixed, text)
    text = _LONE.sub(lone, text)
    lines = []
    for line in text.split("\n"):
        fixed, n = _fix_number_row(line)
        lines.append(fixed)
        count += n
    return "\n".join(lines), count


def _fix_number_row(line: str) -> tuple[str, int]:
    """A row of numbers (matrix line) with a lone look-alike: ``l 4 7 6`` → ``1 4 7 6``."""
    tokens = line.split()
    if len(tokens) < 2 or sum(t.lstrip("-").replace(".", "", 1).isdigit() for t in tokens) < 2:
        return line, 0
    lone = [t for t in tokens if t in _LONE_CHARS]
    if not lone or any(not (t.lstrip("-").replace(".", "", 1).isdigit() or t in _LONE_CHARS or t in "[]|()&") for t in tokens):
        return line, 0
    return re.sub(r"(?<!\S)[lIO](?!\S)", lambda m: CONFUSABLE[m.group(0)], line), len(lone)


_LONE_CHARS = {"l", "I", "O"}


def join_split_numbers(text: str) -> str:
    """OCR inserts spaces inside numbers: ``0. 5`` → ``0.5``, ``10 000`` → ``10000``; it also
    reads a superscript caret as ``*``: ``10*{-3}`` is ``10^{-3}`` (``*{`` never means times)."""
    text = re.sub(r"(?<=\d)\s*\*\s*\{", "^{", text)
    text = re.sub(r"(?<![\d.])(\d+) ?\. ?(\d+)(?![\d.])", r"\1.\2", text)
    text = re.sub(r"(?<![\d.,])(\d{1,3})(?:[ ,](\d{3}))(?:[ ,](\d{3}))?(?![\d.,]|\s*[×x*])(?<=\d)",
                  lambda m: "".join(g for g in m.groups() if g) if _is_thousands(m.group(0)) else m.group(0),
                  text)
    return text


def _is_thousands(token: str) -> bool:
    # "10,000" and "10 000" are thousands; "2, 300" (space after comma) is a list.
    return bool(re.fullmatch(r"\d{1,3}(?:,\d{3})+|\d{1,3}(?: \d{3})+", token))
