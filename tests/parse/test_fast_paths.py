"""The fast paths of segmentation and parsing return exactly what the straightforward code
returned (kept here as references), and the memo caches never carry a result from one exam,
question or set of variables to another."""
from __future__ import annotations

import difflib
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from grader import expr
from grader.parse import latex
from grader.parse.numbers import evaluate
from grader.segment import (
    _CONTINUATION, PROMPT_SIMILARITY, _common_prefix_end, _may_continue, _title_prefix_end,
    _trailing_print_start, segment_answers,
)
from grader.types import PageText, QuestionSpec

FAST = settings(derandomize=True, max_examples=300, deadline=None)


def _all_words(text: str) -> list[tuple[str, int]]:
    return [(m.group(0).lower(), m.end()) for m in re.finditer(r"[A-Za-z0-9]+", text)]


def reference_title_prefix_end(text: str, title: str) -> int:
    """Every word tokenised, every prefix length compared."""
    tw = [w for w, _ in _all_words(title)]
    if len(tw) < 3:
        return 0
    words = _all_words(text)
    if not words:
        return 0
    if difflib.SequenceMatcher(None, tw[:6], [w for w, _ in words[:8]]).ratio() < 0.5:
        return 0
    best_end, best = 0, 0.0
    for k in range(max(1, len(tw) - 6), min(len(words), len(tw) + 6) + 1):
        ratio = difflib.SequenceMatcher(None, tw, [w for w, _ in words[:k]]).ratio()
        if ratio > best:
            best, best_end = ratio, words[k - 1][1]
    return best_end if best >= PROMPT_SIMILARITY else 0


def reference_common_prefix_end(text: str, other: str) -> int:
    a, b = _all_words(text), _all_words(other)
    n = 0
    while n < min(len(a), len(b)) and a[n][0] == b[n][0]:
        n += 1
    return a[n - 1][1] if n >= 5 else 0


def reference_to_plain(text: str) -> str:
    """Every rewrite applied in turn, whether or not the text has a backslash."""
    text = latex._RADICAL_ATOM.sub(r"sqrt(\1)", text)
    for k, v in latex._UNICODE.items():
        text = text.replace(k, v)
    text = text.replace("$", " ")
    text = re.sub(r"\\begin\s*\{(?:aligned|align\*?|equation\*?|gathered|split|cases)\}", " ", text)
    text = re.sub(r"\\end\s*\{(?:aligned|align\*?|equation\*?|gathered|split|cases)\}", " ", text)
    text = re.sub(r"\\[\[\]()]", " ", text)
    for pat, rep in latex._SIMPLE:
        text = re.sub(pat, rep, text)
    text = latex._replace_command(text, r"\\[dt]?frac\s*\{", 2, lambda a: f"(({a[0]})/({a[1]}))")
    text = latex._replace_command(text, r"\\[dt]?frac\b", 2, lambda a: f"(({a[0]})/({a[1]}))")
    text = latex._replace_command(text, r"\\sqrt\s*\{", 1, lambda a: f"sqrt({a[0]})")
    text = latex._replace_command(text, latex._UNWRAP, 1, lambda a: f" {a[0]} ")
    text = text.replace("&", " ").replace("\\\\", "\n")
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)
    return re.sub(r"[ \t]+", " ", text)


_VOCAB = ["the", "The", "receptive", "field", "of", "network", "what", "is", "3", "x", "layer", "output"]
_TITLES = st.lists(st.sampled_from(_VOCAB), max_size=22).map(" ".join)
_SEPARATORS = st.sampled_from([" ", "\n", ", ", " (", "? "])


@st.composite
def _prompt_copies(draw) -> tuple[str, str]:
    """A title and a text starting with a noisy copy of it (words dropped, added, reordered)."""
    title = draw(_TITLES)
    words = title.split()
    copy = draw(st.lists(st.sampled_from(words or _VOCAB), max_size=len(words) + 3)) \
        if draw(st.booleans()) else list(words)
    tail = draw(st.lists(st.sampled_from(_VOCAB), max_size=12))
    return title, draw(_SEPARATORS).join(copy + tail)


@FAST
@given(_prompt_copies())
def test_title_prefix_same_as_trying_every_length(case):
    title, text = case
    assert _title_prefix_end(text, title) == reference_title_prefix_end(text, title)


@FAST
@given(_prompt_copies(), _TITLES)
def test_common_prefix_same_as_tokenising_everything(case, other):
    _, text = case
    for b in (other, text, text.upper(), text[: len(text) // 2] + " different words here"):
        assert _common_prefix_end(text, b) == reference_common_prefix_end(text, b)


# The previous cut of point boxes and math openers left at the end of an answer.
_TRAILING_PRINT = re.compile(r"(?:\n[ \t]*\d[ \t]*)+$|(?:\n[ \t]*(?:\$\$|\\\[|\\begin\{\w+\*?\})+[ \t]*)+\s*$")
_PRINT_TOKENS = ["\n", "\n", " ", "\t", "1", "7", "x", "$$", "$", "\\[", "\\begin{a}", "\\begin{b*}",
                 "\\begin{}", "a", "\\", "٣", "\r", "}"]


@FAST
@given(st.lists(st.sampled_from(_PRINT_TOKENS), max_size=16).map("".join))
def test_trailing_print_same_as_the_regex(text):
    body = text.rstrip()
    assert _trailing_print_start(body) == len(_TRAILING_PRINT.sub("", body))


_CONT_TOKENS = ["cont", "CONT", "Cont.", "(cont)", "continued", "CONTINUATION", "additional space",
                "ADDITIONAL SPACE", "additİonal ſpace", "addıtional space", "K", "İ", "ſ", " ", "x", "."]


@FAST
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(_CONT_TOKENS), max_size=6).map("".join)))
def test_may_continue_never_hides_a_continuation_line(line):
    if _CONTINUATION.search(line):
        assert _may_continue(line)


@FAST
@given(st.one_of(st.text(alphabet="0123456789 $&{}^·×−½\u00a0\t", max_size=20), st.text(max_size=20)))
def test_to_plain_without_latex_same_as_every_rewrite(text):
    text = text.replace("\\", "")
    assert latex.to_plain(text) == reference_to_plain(text)


def test_to_plain_with_latex_same_as_every_rewrite():
    for text in ["\\frac{3}{n} \\times 2", "$\\sqrt{x}$ & \\alpha \\\\ 4", "\\text{ii) } R &= 15",
                 "\\begin{aligned} a &= \\left( 1 \\right) \\end{aligned}", "5 \\cdot 3 − 2½"]:
        assert latex.to_plain(text) == reference_to_plain(text)


@FAST
@given(st.from_regex(r"\A-?[0-9]{1,40}\Z"))
def test_plain_integers_evaluate_like_arithmetic(text):
    # In parentheses the text takes the general AST path: "(007)" is no Python literal either.
    assert evaluate(text) == evaluate(f"({text})")
    assert type(evaluate(text)) is type(evaluate(f"({text})"))


def test_expression_results_are_kept_per_variables():
    expr._canonical.cache_clear()
    first = [expr.canonical("x + 1", ("n",)), expr.canonical("x + 1", ("x",)), expr.canonical("x + 1")]
    again = [expr.canonical("x + 1"), expr.canonical("x + 1", ("x",)), expr.canonical("x + 1", ("n",))][::-1]
    assert first == again and first[0] is None and first[1] is not None
    assert first == [expr._canonical.__wrapped__("x + 1", v) for v in (("n",), ("x",), ())]
    expr._compare.cache_clear()
    assert expr.equivalent("2*n", "n + n", ["n"]) is True       # a list: kept as a tuple key
    assert expr.equivalent("2*n", "n + n", ("m",)) is None      # n is not a variable there
    assert expr.equivalent("2*n", "n + n", ("n",)) is True
    assert expr.equivalent("x" * 300, "x", ("x",)) is None       # too long: not kept at all
    assert expr._compare.cache_info().currsize == 2


def test_prompt_copy_rules_do_not_carry_over_between_exams():
    def exam(title: str) -> list[QuestionSpec]:
        return [QuestionSpec(label="1", number="1", part=None, kind="text", points=1, title=title),
                QuestionSpec(label="2", number="2", part=None, kind="text", points=1)]

    pages = [PageText(1, "Question 1\nWhat is the receptive field of the network\n15\n\nQuestion 2\nno")]
    with_title = exam("What is the receptive field of the network")
    other_title = exam("Name two pooling layers used in networks")
    first = [segment_answers(pages, with_title), segment_answers(pages, other_title)]
    again = [segment_answers(pages, other_title), segment_answers(pages, with_title)][::-1]
    assert first == again
    assert first[0]["1"].text == "15" and first[1]["1"].text.startswith("What is the receptive field")
