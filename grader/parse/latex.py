"""LaTeX / typography → plain math text. Students type LaTeX, OCR returns unicode symbols and
half-broken commands; every reader works on the same plain form so one regex set suffices."""
from __future__ import annotations

import re

_UNICODE = {
    "\u2212": "-", "\u2013": "-", "\u2014": "-", "\u2010": "-", "\u2011": "-",
    "\u00d7": "×", "\u2715": "×", "\u2716": "×", "\u22c5": "·", "\u2219": "·", "\u2022": "·",
    "\u00b7": "·", "\u2217": "*", "\u00f7": "/", "\u2044": "/", "\u221a": "sqrt",
    "\u2234": "∴", "\u21d2": "→", "\u2192": "→", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    "\u00bd": "(1/2)", "\u2153": "(1/3)", "\u2154": "(2/3)", "\u00bc": "(1/4)", "\u00be": "(3/4)",
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u00b2": "^2", "\u00b3": "^3",   # superscripts, as the handwriting recogniser reads k²
}
_SIMPLE = [
    (r"\\(?:times)\b", " × "), (r"\\(?:cdot|ast|bullet)\b", " · "), (r"\\div\b", " / "),
    (r"\\therefore\b", " ∴ "), (r"\\(?:Rightarrow|Longrightarrow|implies|rightarrow|to|mapsto)\b", " → "),
    (r"\\partial\b", "d"), (r"\\(?:left|right|big|Big|bigg|Bigg)\b\s*([()\[\].|]|\\\{|\\\})?", r"\1"),
    (r"\\(?:quad|qquad)\b", " ; "), (r"\\[,;:! ]", " "), (r"\\(?:displaystyle|limits|nolimits)\b", ""),
    (r"\\(?:approx|simeq|equiv)\b", "="), (r"\\(?:le|leq)\b", "<="), (r"\\(?:ge|geq)\b", ">="),
    (r"\\infty\b", "oo"), (r"\\pi\b", "pi"), (r"\\%", "%"), (r"\\tag\{[^{}]*\}", ""),
]
# Commands whose argument is kept verbatim (formatting only).
_UNWRAP = r"\\(?:text|mathrm|mathbf|mathit|mathsf|mathbb|mathcal|operatorname|boldsymbol|bm|textbf|textit|emph|hat|bar|tilde|vec|overline|underbrace|overbrace|boxed|fbox|underline|mbox)\s*\{"


def _match_brace(text: str, open_at: int) -> int:
    """Index of the brace closing the one at ``open_at``; -1 when unbalanced (broken OCR)."""
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _replace_command(text: str, pattern: str, nargs: int, build) -> str:
    """Rewrite every ``\\cmd{a}{b}`` (innermost first by repetition) with ``build(args)``."""
    for _ in range(50):  # bounded: each pass rewrites one occurrence
        m = re.search(pattern, text)
        if not m:
            return text
        pos, args = m.end() - 1, []
        for k in range(nargs):
            while pos < len(text) and text[pos] == " ":
                pos += 1
            if pos >= len(text) or text[pos] != "{":
                # \frac12 style or broken: take single characters as the arguments
                if pos < len(text) and text[pos].isalnum():
                    args.append(text[pos])
                    pos += 1
                    continue
                break
            close = _match_brace(text, pos)
            if close < 0:
                break
            args.append(text[pos + 1:close])
            pos = close + 1
        if len(args) != nargs:
            text = text[:m.start()] + text[m.end():]  # drop the broken command, keep the rest
            continue
        text = text[:m.start()] + build(args) + text[pos:]
    return text


_TRANSLATE = str.maketrans(_UNICODE)  # one pass; no replacement yields another key
_ENV_BEGIN = re.compile(r"\\begin\s*\{(?:aligned|align\*?|equation\*?|gathered|split|cases)\}")
_ENV_END = re.compile(r"\\end\s*\{(?:aligned|align\*?|equation\*?|gathered|split|cases)\}")
_DELIMITER = re.compile(r"\\[\[\]()]")
_SIMPLE_RX = [(re.compile(pat), rep) for pat, rep in _SIMPLE]
_COMMAND_NAME = re.compile(r"\\([A-Za-z]+)")
_BLANKS = re.compile(r"[ \t]+")


# A radical sign over one number or name (handwriting read as "√3/√n"): its argument is that
# number or name. "√(…)" keeps its own parentheses.
_RADICAL_ATOM = re.compile(r"√\s*(\d+(?:\.\d+)?|[A-Za-z]\w*)")


def to_plain(text: str) -> str:
    """LaTeX-ish → plain infix math (``(2)/(3)``, ``sqrt(x)``, ``×``). Not a TeX engine: it only
    has to make numbers, operators and names readable by the kind readers."""
    if "√" in text:
        text = _RADICAL_ATOM.sub(r"sqrt(\1)", text)
    text = text.translate(_TRANSLATE).replace("$", " ")
    if "\\" not in text:
        # Every LaTeX rule below starts with a backslash. Matrix cells ("17") are the common
        # case: ~25 regex passes per cell were 25% of grading a typed 10-page submission.
        return _BLANKS.sub(" ", text.replace("&", " "))
    text = _ENV_BEGIN.sub(" ", text)
    text = _ENV_END.sub(" ", text)
    text = _DELIMITER.sub(" ", text)
    for rx, rep in _SIMPLE_RX:
        text = rx.sub(rep, text)
    text = _replace_command(text, r"\\[dt]?frac\s*\{", 2, lambda a: f"(({a[0]})/({a[1]}))")
    text = _replace_command(text, r"\\[dt]?frac\b", 2, lambda a: f"(({a[0]})/({a[1]}))")
    text = _replace_command(text, r"\\sqrt\s*\{", 1, lambda a: f"sqrt({a[0]})")
    text = _replace_command(text, _UNWRAP, 1, lambda a: f" {a[0]} ")
    text = text.replace("&", " ").replace("\\\\", "\n")
    text = _COMMAND_NAME.sub(r"\1", text)  # \alpha -> alpha, \sigma -> sigma
    return _BLANKS.sub(" ", text)
