"""Which value in a worked answer is THE answer.

Students show work: intermediate values, chains of ``=``, restated givens. The final answer is,
in order of trust: an explicitly marked one (``\\boxed``, double underline), one after a
conclusion phrase ("the answer is", "we get that", ∴, "in total", "thus"), the right-hand end of
the last computation chain (``=`` or ``→``), a plain ``name = number`` line, and only then the
bare values in the text. Two different values at the most-trusted level present is what
"two final answers" means: the caller flags it as ambiguous instead of picking one silently.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grader.parse.latex import _match_brace

# Reads one value from a plain snippet: (value, evidence) or None.
Reader = Callable[[str], "tuple[Any, str] | None"]
Same = Callable[[Any, Any], bool]

TIER_MARKED, TIER_CONCLUSION, TIER_CHAIN, TIER_ASSIGN, TIER_BARE = 4, 3, 2, 1, 0

CONCLUSION = re.compile(
    r"\bthe (?:final )?answer (?:is|would be|will be)\b|\b(?:final )?answers?\s*[:=]|\bfinal answer\b"
    r"|\bwe (?:get|obtain|have|find)(?: that)?\b|∴|\btherefore\b|\bin total\b|\btotal(?:ly)?\s*[:=]"
    r"|\bthe result is\b|\bresults?\s*[:=]|\bhence\b|\bthus\b|\bso(?! that| far)\b|\bfinally\b|\bwhich (?:is|gives)\b",
    re.IGNORECASE)
_SENTENCE_END = re.compile(r"\n\s*\n|\n(?=\s*[A-Za-z]{3,}\b(?!\s*[=(]))|(?<!\d)\.(?=\s|$)|(?<=\s)\.|;|\?|!")


@dataclass(frozen=True)
class Candidate:
    text: str       # the snippet the value is read from (plain text)
    start: int      # offset of the snippet in the plain text
    tier: int
    name: str = ""  # a chain's or assignment's left-hand side, when it is a plain name


@dataclass(frozen=True)
class Selection:
    value: Any
    evidence: str
    ambiguous: bool = False
    alternatives: tuple[Any, ...] = ()


def split_top(text: str, seps: str = "=→") -> list[str]:
    """Split at separators outside brackets (``\\sum_{j=1}`` must not split an equation)."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth = max(0, depth - 1)
        if ch in seps and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def marked_spans(raw: str) -> list[str]:
    """Contents of ``\\boxed{}``, ``\\fbox{}`` and ``\\underline{\\underline{}}`` in raw LaTeX."""
    out = []
    for m in re.finditer(r"\\(?:boxed|fbox|underline\s*\{\s*\\underline)\s*\{", raw):
        close = _match_brace(raw, m.end() - 1)
        if close > 0:
            out.append(raw[m.end():close])
    return out


# Where one line holds several statements: tabs, ";", and before "name =" after a comma, an
# "and", or a number ("h2=0 h3=3").
_NAME_EQ = r"(?=[A-Za-z][\w{}^]*(?:\([^()=]*(?:=[^()]*)?\))?\s*=)"
_STATEMENT_SPLIT = re.compile(rf"(\t+|;\s*|,\s+{_NAME_EQ}|\s+and\s+{_NAME_EQ}|(?<=\d)\s+{_NAME_EQ})")


def statements(plain: str) -> list[tuple[str, int]]:
    """Lines of work, with continuation lines (``= …``, ``→ …``) joined to the line they continue;
    ``\\quad``-separated and comma-separated assignments split apart."""
    out: list[tuple[str, int]] = []
    pos = 0
    for line in plain.split("\n"):
        stripped = line.strip()
        if stripped and out and stripped[0] in "=→":
            prev, start = out[-1]
            out[-1] = (prev + " " + stripped, start)
        elif stripped:
            out.append((line, pos))
        pos += len(line) + 1
    split: list[tuple[str, int]] = []
    for text, start in out:
        offset = 0
        for piece in _STATEMENT_SPLIT.split(text):
            if piece and not _STATEMENT_SPLIT.fullmatch(piece):
                split.append((piece, start + offset))
            offset += len(piece)
    return split


# A plain name on the left of "=": "y", "S_1", "x.2", "f(n)".
_NAME = re.compile(r"[A-Za-z]\w*(?:[_.]\{?\w+\}?)?(?:\^\{?\d\}?)?|[A-Za-z]+\s*\(\w*\)")


def _chain_tier(parts: list[str]) -> int:
    """A computation (arithmetic or several steps) outranks a restated given like ``S_1 = 1``."""
    if len(parts) >= 3:
        return TIER_CHAIN
    lhs = parts[0].strip()
    if _NAME.fullmatch(lhs) or not re.search(r"\d", lhs):
        return TIER_ASSIGN
    return TIER_CHAIN


def _name(lhs: str) -> str:
    lhs = lhs.strip()
    return re.sub(r"\s+", "", lhs) if _NAME.fullmatch(lhs) else ""


def candidates(raw: str, plain: str, to_plain: Callable[[str], str]) -> list[Candidate]:
    cands = [Candidate(to_plain(s), -1, TIER_MARKED) for s in marked_spans(raw)]
    for m in CONCLUSION.finditer(plain):
        rest = plain[m.end():m.end() + 300]
        end = _SENTENCE_END.search(rest)
        snippet = rest[:end.start()] if end else rest
        if re.search(r"\d", snippet):
            sides = split_top(snippet)
            cands.append(Candidate(snippet, m.end(), TIER_CONCLUSION,
                                   _name(sides[0]) if len(sides) >= 2 else ""))
    for text, start in statements(plain):
        parts = split_top(text)
        if len(parts) >= 2:
            rhs = parts[-1]
            cands.append(Candidate(rhs, start + len(text) - len(rhs), _chain_tier(parts),
                                   _name(parts[0])))
            if LITERAL.fullmatch(parts[-2]) and LITERAL.fullmatch(rhs) \
                    and literal_value(parts[-2]) != literal_value(rhs):
                # "x = 3 = 4", "5 = 6": a number said to equal another number is two claims,
                # not a step of work ("= 15/2 = 7.5" is one); the one before is a claim too.
                before = parts[-2]
                cands.append(Candidate(before, start + len(text) - len(rhs) - 1 - len(before),
                                       TIER_CONCLUSION))
                cands.append(Candidate(rhs, start + len(text) - len(rhs), TIER_CONCLUSION))
    return cands


# A bare number as written ("3", "-2.5", ".5"; punctuation after it allowed): a claim when
# said to equal another one ("x = 3 = 4") or assigned on its own ("a = 3, a = 4").
LITERAL = re.compile(r"\s*[-+−]?\s*(?:\d+(?:\.\d*)?|\.\d+)\s*[.,;]?\s*")


# A value as written, with no arithmetic: digits, signs, points, separators, brackets and
# the "x" of a shape ("3x4", "(3, 4)", "[[1, 2], [3, 4]]"); not "10/2", "2 + 3", "5 - 1".
_AS_WRITTEN = re.compile(r"[\s\d.,;:\[\]()xX×−-]*")
_DIFFERENCE = re.compile(r"[\d)\]]\s*[-−]")


def _written_value(text: str, evidence: str) -> bool:
    """Whether ``text`` is one value written out (``evidence``, what was read, is all of it)."""
    text = text.strip().rstrip(".,;").strip()
    return bool(LITERAL.fullmatch(text)) or (
        evidence.strip() == text and bool(_AS_WRITTEN.fullmatch(text))
        and not _DIFFERENCE.search(text))


def literal_value(text: str) -> float:
    """The value of a ``LITERAL``."""
    return float(re.sub(r"\s+", "", text).rstrip(".,;").replace("−", "-"))


def select(raw: str, plain: str, reader: Reader, same: Same, to_plain: Callable[[str], str],
           read_all: Callable[[str], list[tuple[Any, str]]]) -> Selection | None:
    """The final value, or None when nothing of the kind is in the text."""
    by_tier: dict[int, list[tuple[Any, str]]] = {}
    last: dict[int, Candidate] = {}
    # A bare "name = value" is a claim (as in ``grader.parse.values``): where each name is
    # said to be a value as written, and which.
    bare: dict[str, list[tuple[int, Any]]] = {}
    for cand in candidates(raw, plain, to_plain):
        got = reader(cand.text)
        if got is not None:
            by_tier.setdefault(cand.tier, []).append(got)
            last[cand.tier] = cand
            if cand.tier == TIER_ASSIGN and cand.name and _written_value(cand.text, got[1]):
                bare.setdefault(cand.name, []).append((cand.start, got[0]))
            if cand.tier == TIER_CONCLUSION:
                # "the answer is 93, no wait 94": a conclusion that states two different
                # values on its line is two claims, not its first one (what follows on later
                # lines may be the next part's work).
                line = cand.text.lstrip().split("\n", 1)[0]
                by_tier[cand.tier] += [v for v in read_all(line) if not same(v[0], got[0])]
    if not by_tier:
        bare = read_all(plain)
        if not bare:
            return None
        by_tier[TIER_BARE] = bare
    tier = max(by_tier)
    found = by_tier[tier]
    value, evidence = found[-1]
    distinct: list[Any] = []
    for v, _ in found:
        if not any(same(v, d) for d in distinct):
            distinct.append(v)
    # Chains and assignments are work: later lines supersede earlier ones ("a = 3" then
    # "a = 3 + 1 = 4"), but the answer's name claimed to be two different numbers ("y = 5"
    # then "y = 6"), or claimed to be another number after the work's result ("y = 2+3 = 5"
    # then "y = 6"), is two final answers. Marked answers, conclusions and bare values are
    # claims: two different claims are two final answers.
    if tier in (TIER_CHAIN, TIER_ASSIGN):
        chosen = last[tier]
        claims = [v for at, v in bare.get(chosen.name, ())
                  if tier == TIER_ASSIGN or at > chosen.start]
        said: list[Any] = [] if tier == TIER_ASSIGN else [value]
        for v in claims:
            if not any(same(v, d) for d in said):
                said.append(v)
        if chosen.name and len(said) > 1:
            return Selection(value, evidence, True, tuple(said))
        return Selection(value, evidence)
    if tier == TIER_CONCLUSION and last[tier].name:
        # "y = 5", then "so y = 6": the bare claim is a claim too.
        for _, v in bare.get(last[tier].name, ()):
            if not any(same(v, d) for d in distinct):
                distinct.append(v)
    if len(distinct) == 1:
        return Selection(value, evidence)
    return Selection(value, evidence, True, tuple(distinct))
