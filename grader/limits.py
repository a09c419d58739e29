"""Time limits inside the grading core.

Two kinds:

* **The caller's own limits** (Celery's soft time limit in a worker) arrive as exceptions that
  derive from ``Exception``, so the core's broad ``except Exception`` blocks (a hostile file
  must not crash the worker) would swallow them. The caller registers them once
  (``register_interrupts``) and every broad block in ``grader/`` lets ``INTERRUPTS`` through
  first: ``except limits.INTERRUPTS: raise``.
* **The per-answer budget** for symbolic work (SymPy on a student's expression). ``bounded``
  runs one call under the budget of the answer being graded (``answer_budget``) and raises
  ``BudgetExceeded`` when it runs out. The stop cannot be swallowed:

  - in the main thread (Celery's prefork pool, gunicorn's sync workers, tests) a repeating
    ``SIGALRM`` interval timer raises ``BudgetExceeded``, a ``BaseException``, so neither our
    nor SymPy's ``except Exception`` stops it, and a bare ``except:`` that catches one raise
    gets another 0.1 s later;
  - in any other thread (signals cannot be used there: the embedded server's request
    threads) the call runs in a forked child that is killed at the deadline (~20 ms a call
    against ~20 µs for the timer, so only where needed; see BENCHMARKS.md).

  Python code is interruptible between bytecodes only; a single C-level operation (one huge
  integer power) is not, so ``grader.expr`` bounds literal and exponent sizes before any
  SymPy work starts and the budget is the backstop.
"""
from __future__ import annotations

import os
import pickle
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

# Set by the process that runs the core under its own time limit (worker.celery registers
# Celery's SoftTimeLimitExceeded). Read at the moment an exception is matched, so registering
# after import works.
INTERRUPTS: tuple[type[BaseException], ...] = ()


def register_interrupts(*types: type[BaseException]) -> None:
    global INTERRUPTS
    INTERRUPTS = tuple(dict.fromkeys(INTERRUPTS + types))


# Symbolic work for one answer (parsing the student's expression and comparing it with the
# key). A typical answer needs 2-20 ms. The caller passes its own budget to
# ``grader.pipeline`` (the Django app: settings.GRADER_EXPRESSION_BUDGET_S); this default is
# for calls outside an answer (key checks) and for callers that pass none.
DEFAULT_ANSWER_BUDGET_S = 2.0
_REPEAT_S = 0.1          # a swallowed stop is raised again this often
_CHILD_MEMORY = 1 << 30  # address space of a forked child (bytes)


class BudgetExceeded(BaseException):
    """The answer's budget for expression work ran out. A BaseException on purpose: the
    ``except Exception`` blocks in SymPy and in our code must not catch it."""


@dataclass
class Budget:
    """One answer's budget; ``exceeded`` records that some call ran out of it."""

    seconds: float
    deadline: float
    exceeded: bool = False

    @classmethod
    def start(cls, seconds: float | None = None) -> "Budget":
        seconds = DEFAULT_ANSWER_BUDGET_S if seconds is None else seconds
        return cls(seconds, time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def extend(self, seconds: float) -> None:
        """Time spent on the caller's own account (a one-off warm-up) is not the answer's."""
        self.deadline += seconds


_current: ContextVar[Budget | None] = ContextVar("grader_answer_budget", default=None)


@contextmanager
def answer_budget(seconds: float | None = None) -> Iterator[Budget]:
    """Every ``bounded`` call inside shares one budget (one answer of one submission)."""
    budget = Budget.start(seconds)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def current_budget() -> Budget:
    """The answer's budget; outside ``answer_budget`` each call gets a fresh default one."""
    return _current.get() or Budget.start()


def bounded(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` within the current budget; raises ``BudgetExceeded`` when it runs out
    (and marks the budget exceeded). ``fn`` and its result must be picklable (module-level
    function, plain values) for the forked-child path."""
    budget = current_budget()
    remaining = budget.remaining()
    try:
        if remaining <= 0:
            raise BudgetExceeded
        if _alarm_usable():
            return _with_alarm(fn, args, remaining)
        return _in_child(fn, args, remaining)
    except BudgetExceeded:
        budget.exceeded = True
        raise


def _alarm_usable() -> bool:
    return (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
            and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0))  # nobody else's timer runs


def _with_alarm(fn: Callable[..., T], args: tuple, seconds: float) -> T:
    inside = True

    def on_alarm(signum, frame):  # noqa: ARG001
        if inside:
            raise BudgetExceeded

    previous = signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds, _REPEAT_S)
        return fn(*args)
    finally:
        # A stop can only be raised while ``inside``; the first statement clears it, so the
        # loop runs at most twice and the timer and handler are always restored.
        while True:
            try:
                inside = False
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                break
            except BudgetExceeded:
                continue


def _in_child(fn: Callable[..., T], args: tuple, seconds: float) -> T:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: compute, send, exit without running the parent's cleanup
        status = 0
        try:
            os.close(read_end)
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (_CHILD_MEMORY, _CHILD_MEMORY))
            payload = pickle.dumps((True, fn(*args)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, never raised here
            payload = pickle.dumps((False, f"{type(exc).__name__}: {exc}"[:500]))
        try:
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view):]
        except BaseException:  # noqa: BLE001
            status = 1
        os._exit(status)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + seconds
    try:
        while True:
            left = deadline - time.monotonic()
            ready = select.select([read_end], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                raise BudgetExceeded
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    try:
        ok, value = pickle.loads(b"".join(chunks))
    except Exception as exc:  # noqa: BLE001 - a child killed mid-write (out of memory)
        raise ChildFailed("the expression check stopped without a result") from exc
    if not ok:
        raise ChildFailed(value)
    return value


class ChildFailed(RuntimeError):
    """The forked child raised (or died); its error as text."""
