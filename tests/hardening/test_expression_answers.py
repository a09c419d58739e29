"""Expression answers that cheat or stall (issue 18, findings 1 and 2), in-process.

The grading core on the adversarial corpus (``expression_corpus``): no answer earns credit,
each ends within its time budget, the next question is still graded. And the budget itself
(``grader.limits``): it cannot be swallowed by ``except Exception``, works off the main thread,
leaves the process's signal state as it found it, and a caller's own time limit (Celery's soft
limit) passes through the core's broad ``except`` blocks.
"""
from __future__ import annotations

import signal
import threading
import time
from dataclasses import replace

import pytest

from grader import expr, limits
from grader.pipeline import grade_pages
from grader.types import (
    Equivalence, Flag, PageText,
)
from rubrics.definition import parse_definition_text
from tests.hardening.expression_corpus import ADVERSARIAL, EXAM_YAML, GOOD, KEY, answer_sheet


@pytest.fixture(scope="module")
def specs():
    definition = parse_definition_text(EXAM_YAML)
    return [replace(q, key=definition.literal_keys[q.label]) for q in definition.questions]


def grade(specs, answer: str):
    expression, control = grade_pages([PageText(1, answer_sheet(answer))], specs)
    assert control.scored.score == 1.0, "the question after the expression must still be graded"
    return expression


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_answer_earns_nothing(specs, name):
    result = grade(specs, ADVERSARIAL[name])
    assert result.scored.score == 0.0, (name, result.scored)
    # Either refused/flagged for a TA, or read and found different from the key.
    assert result.status == "flagged" or "not equivalent" in result.scored.detail, (name, result.scored)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_answer_full_marks(specs, name):
    result = grade(specs, GOOD[name])
    assert (result.scored.score, result.status) == (3.0, "auto"), (name, result.scored)


def test_flags_say_why(specs):
    """The probe of the issue: overflow was full marks; now flagged with a readable reason."""
    assert expr.equivalent("n*exp(999)", KEY, ["n"]) is False
    overflow = grade(specs, ADVERSARIAL["overflow_exp"])
    assert overflow.scored.flags == (Flag.NOT_FINITE,)
    assert "infinite, undefined or larger than" in overflow.scored.detail
    assert Flag.UNPROVEN in grade(specs, ADVERSARIAL["near_key"]).scored.flags
    assert Flag.UNPARSED in grade(specs, ADVERSARIAL["attribute_call"]).scored.flags
    slow = grade(specs, ADVERSARIAL["slow_trig"])
    assert Flag.TOO_COMPLEX in slow.scored.flags and "allowed per answer" in slow.scored.detail


@pytest.mark.parametrize("text, reason", [
    ("pi.n(1000000)", "attribute access (.n)"),
    ("n*(((999999999999^64)^64)^64)^64", "total power above 64"),
    ("exp(exp(n))", "exponential inside an exponential"),
    ("1234567890123*n", "more than 12 digits"),
    ("sqrt(\uff13/n)", "FULLWIDTH DIGIT THREE"),
    ("sqrt(3/\u043f)", "CYRILLIC SMALL LETTER PE"),
    ("factorial(9)", "factorial, which is not a variable"),
    ("sqrt(" * 30 + "n" + ")" * 30, "nested more than"), ("(" * 30 + "n" + ")" * 30, None),
    ("n^2.5", None), ("exp(-n^2/2)", None), ("log(n, 2)", None), ("(3/n)^(1/2)", None),
])
def test_whitelist_reasons(text, reason):
    got = expr.rejection(text, ["n"])
    assert (got is None) if reason is None else (reason in got), got


def test_numeric_check_agrees_with_symbolic():
    """Numeric equality alone is never EQUIVALENT; a proof is."""
    assert expr.compare("sqrt(3)/sqrt(n)", KEY, ["n"]).outcome is Equivalence.EQUIVALENT
    assert expr.compare("sqrt(3/n) + n/999999999999", KEY, ["n"]).outcome is Equivalence.NUMERIC_ONLY
    assert expr.compare("exp(700)*n", KEY, ["n"]).outcome is Equivalence.NOT_FINITE
    assert expr.compare("n", KEY, ["n"]).outcome is Equivalence.DIFFERENT


@pytest.mark.parametrize("text,outcome", [
    # Decimals for exact values: close to the key everywhere, for a TA (was a silent 0).
    ("1.732/sqrt(n)", Equivalence.APPROXIMATE),
    ("0.577*3/sqrt(n)", Equivalence.APPROXIMATE),
    # Not close enough, or no decimal written: different.
    ("1.7/sqrt(n)", Equivalence.DIFFERENT),
    ("2/sqrt(n)", Equivalence.DIFFERENT),
    ("sqrt(3/n) + n/1000", Equivalence.DIFFERENT),
])
def test_decimals_close_to_the_key_are_approximate_and_flagged(text, outcome):
    from grader.score import score_answer
    from grader.types import Flag, Kind, Parsed, QuestionSpec

    assert expr.compare(text, KEY, ["n"]).outcome is outcome
    spec = QuestionSpec(label="1", number="1", part=None, kind=Kind.EXPRESSION, points=2.0,
                        key=KEY, variables=("n",))
    scored = score_answer(spec, Parsed(text), KEY, expression_check=expr.compare)
    assert scored.score == 0.0
    assert scored.needs_review is (outcome is Equivalence.APPROXIMATE)
    assert (Flag.ROUNDED in scored.flags) is (outcome is Equivalence.APPROXIMATE)


# ---------------------------------------------------------------------------- the budget

def _spin_swallowing(seconds: float) -> str:
    """Busy for ``seconds``, swallowing what ``except Exception`` (and one bare except) catch."""
    end = time.monotonic() + seconds
    swallowed = False
    while time.monotonic() < end:
        try:
            sum(range(1000))
        except Exception:  # noqa: BLE001 - what SymPy's and our broad blocks do
            pass
        except BaseException:  # a bare `except:` in a library, once
            if swallowed:
                raise
            swallowed = True
    return "finished"


def _quick(value: int) -> int:
    return value * 2


def test_budget_cannot_be_swallowed():
    before = signal.getsignal(signal.SIGALRM)
    with limits.answer_budget(0.3) as budget:
        with pytest.raises(limits.BudgetExceeded):
            limits.bounded(_spin_swallowing, 30.0)
        with pytest.raises(limits.BudgetExceeded):   # the answer's budget is spent
            limits.bounded(_quick, 1)
    assert budget.exceeded
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert limits.bounded(_quick, 2) == 4                     # a fresh default budget


def test_budget_off_the_main_thread():
    """Threads cannot use signals: the work runs in a forked child, killed at the deadline."""
    outcome: dict = {}

    def run():
        with limits.answer_budget(0.5) as budget:
            outcome["quick"] = limits.bounded(_quick, 21)
            try:
                limits.bounded(_spin_swallowing, 30.0)
            except limits.BudgetExceeded:
                outcome["stopped"] = budget.exceeded
            outcome["compare"] = expr.compare("sqrt(3)/sqrt(n)", KEY, ["n"]).outcome

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(60)
    assert outcome == {"quick": 42, "stopped": True, "compare": Equivalence.TOO_COMPLEX} \
        or outcome == {"quick": 42, "stopped": True, "compare": Equivalence.EQUIVALENT}
    # compare() there shares the spent budget (or is cached from an earlier test): never
    # a wrong verdict either way. A fresh budget in a thread gives the real answer:
    fresh: dict = {}
    thread = threading.Thread(target=lambda: fresh.update(
        verdict=expr.compare("1/sqrt(n/3)", KEY, ["n"]).outcome))
    thread.start()
    thread.join(60)
    assert fresh == {"verdict": Equivalence.EQUIVALENT}


class _CallerTimeLimit(Exception):
    """Stands in for Celery's SoftTimeLimitExceeded (which derives from Exception)."""


@pytest.fixture
def caller_limit(monkeypatch):
    monkeypatch.setattr(limits, "INTERRUPTS", ())
    limits.register_interrupts(_CallerTimeLimit)
    return _CallerTimeLimit


def test_caller_time_limit_passes_through_the_core(caller_limit, monkeypatch, specs, tmp_path):
    import pypdf

    from grader import pdf

    def stop(*_a, **_k):
        raise caller_limit

    expr._compare.cache_clear()
    monkeypatch.setattr(expr.sympy, "simplify", stop)
    with pytest.raises(caller_limit):
        expr.compare("n + 1", "1 + n", ["n"])
    monkeypatch.undo()
    limits.register_interrupts(caller_limit)
    monkeypatch.setattr(pypdf, "PdfReader", stop)
    path = tmp_path / "x.pdf"
    path.write_bytes(b"%PDF-1.7\n")
    with pytest.raises(caller_limit):
        pdf.read_pdf_pages(path)
    carried = replace(specs[1], depends_on="1", carry=(("x", "value"),))
    first = replace(specs[0], key="n")        # a wrong first answer, so carry-forward runs
    with pytest.raises(caller_limit):
        grade_pages([PageText(1, answer_sheet("sqrt(3/n)").replace("45", "44"))], [first, carried],
                    recompute=stop)


def test_registered_interrupts_include_celerys():
    import worker.celery  # noqa: F401 - registers at import
    from celery.exceptions import SoftTimeLimitExceeded

    assert SoftTimeLimitExceeded in limits.INTERRUPTS
