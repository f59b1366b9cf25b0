"""The machinery every exercise check is built from.

:class:`Exercise` ties a visible check, a stricter hidden one and a hint together; ``expect*``
and :func:`call` turn a wrong answer or a crash into a :class:`CheckFailed` with a message in
the learner's terms; :func:`forbid` switches library functions off while "your own" version of
them runs.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


class CheckFailed(AssertionError):
    """A wrong answer. An AssertionError, so nbgrader counts the test cell as failed."""

    def _render_traceback_(self) -> list[str]:
        """IPython shows this instead of a traceback: the message, not the checker's source."""
        return [f"\x1b[31m❌ {self}\x1b[0m"]


class NotAttempted(CheckFailed):
    """The exercise still raises NotImplementedError."""


class UsedLibraryFunction(Exception):
    """Raised inside the learner's code by a library function that :func:`forbid` switched off."""


@contextlib.contextmanager
def forbid(*targets):
    """Switch off library functions, given as ``(module, name)`` pairs, while the block runs:
    an exercise that asks for "your own" convolution or pooling may not call the library's."""

    def refuse(*args, **kwargs):
        raise UsedLibraryFunction()

    saved = [(module, name, getattr(module, name)) for module, name in targets if hasattr(module, name)]
    for module, name, _ in saved:
        setattr(module, name, refuse)
    _FORBIDDEN.append(tuple(f"{module.__name__}:{name}" for module, name in targets))
    try:
        yield
    finally:
        _FORBIDDEN.pop()
        for module, name, original in saved:
            setattr(module, name, original)


_FORBIDDEN: list[tuple[str, ...]] = []  # the targets of the forbid() blocks open now, innermost last


def forbidden_now() -> list[str]:
    """``"module:name"`` of every library function switched off at this moment (the grader asks the
    learner's kernel to switch off the same ones when it runs the answer on the grader's inputs)."""
    return sorted({target for block in _FORBIDDEN for target in block})


@contextlib.contextmanager
def single_thread():
    """One intra-op thread while a check runs: its tensors are tiny, and on a busy machine (a
    shared grader) two spinning OpenMP threads can make a 5 ms forward pass take half a second."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def expect(condition: bool, message: str) -> None:
    """Fail with ``message`` (written in the learner's terms) unless ``condition`` holds."""
    __tracebackhide__ = True  # IPython and pytest hide this frame: the learner sees the message
    if not condition:
        raise CheckFailed(message)


def _stream_handlers() -> list[logging.StreamHandler]:
    loggers = [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]
    handlers = {h for log in loggers if isinstance(log, logging.Logger) for h in log.handlers}
    # "stream" in vars(h): a handler with its own stream (logging.lastResort looks sys.stderr up instead).
    return [h for h in handlers if isinstance(h, logging.StreamHandler) and "stream" in vars(h)]


@contextlib.contextmanager
def quiet_stderr():
    """Swallow what the learner's code writes to stderr while a check runs: warnings, text progress
    bars, and log records, also those of handlers made before the check (they hold the stderr of
    that time, which redirecting sys.stderr alone would miss). nbgrader scores a test cell 0 if it
    writes to stderr; grading relabels such output (mnist_course's StderrAsStdout), and here it
    does not even reach the learner's notebook. Records sent to stdout or files are kept."""
    sink = io.StringIO()
    streams = {id(sys.stderr), id(sys.__stderr__)}
    rerouted = [(h, h.setStream(sink)) for h in _stream_handlers() if id(h.stream) in streams]
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield
    finally:
        for handler, stream in rerouted:
            handler.setStream(stream)


def call(answer: Callable, *args, what: str | None = None, **kwargs) -> Any:
    """Call the learner's function or class; turn NotImplementedError and crashes into clear failures."""
    __tracebackhide__ = True
    what = what or getattr(answer, "__name__", "your answer")
    if not callable(answer):
        raise CheckFailed(f"{what} should be a function or class, but it is a {type(answer).__name__}")
    try:
        with quiet_stderr():
            return answer(*args, **kwargs)
    except NotImplementedError:
        raise NotAttempted(
            f"{what} is not attempted yet: replace `raise NotImplementedError()` with your code."
        ) from None
    except CheckFailed:
        raise
    except Exception as exc:
        raise CheckFailed(f"{what} raised {type(exc).__name__}: {exc}") from exc


def shape_of(value) -> tuple:
    return tuple(value.shape) if hasattr(value, "shape") else ()


def expect_tensor(value, what: str) -> torch.Tensor:
    """``value`` must be a tensor."""
    __tracebackhide__ = True
    expect(isinstance(value, torch.Tensor), f"{what} should be a torch.Tensor, got {type(value).__name__}")
    return value


def expect_shape(value, expected: tuple, what: str, hint: str = "") -> None:
    """``value`` must have shape ``expected``; the message shows both."""
    __tracebackhide__ = True
    expect_tensor(value, what)
    actual = shape_of(value)
    expect(
        actual == tuple(expected),
        f"{what} has shape {actual}; expected {tuple(expected)}." + (f" {hint}" if hint else ""),
    )


def expect_close(actual, expected, what: str, hint: str = "", atol: float = 1e-5, rtol: float = 1e-4) -> None:
    """Numbers or tensors must match ``expected`` (same shape, values within tolerance)."""
    __tracebackhide__ = True
    expected = torch.as_tensor(expected, dtype=torch.float64)
    try:
        actual_t = torch.as_tensor(actual.detach() if isinstance(actual, torch.Tensor) else actual, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise CheckFailed(f"{what} should be a number or tensor, got {type(actual).__name__}") from None
    expect(
        actual_t.shape == expected.shape,
        f"{what} has shape {tuple(actual_t.shape)}; expected {tuple(expected.shape)}." + (f" {hint}" if hint else ""),
    )
    if not torch.allclose(actual_t, expected, atol=atol, rtol=rtol):
        worst = (actual_t - expected).abs().max().item()
        shown = (
            f"{actual_t.item():.6g}, expected {expected.item():.6g}"
            if expected.numel() == 1
            else f"values differ from the expected ones by up to {worst:.3g}"
        )
        raise CheckFailed(f"{what} is wrong: {shown}." + (f" {hint}" if hint else ""))


def learner_session() -> bool:
    """True in a learner's own Jupyter kernel: not under nbgrader (which sets NBGRADER_EXECUTION for
    Validate and autograde) and not in a script or a test, where a wrong answer must raise."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return False
    shell = sys.modules["IPython"].get_ipython() if "IPython" in sys.modules else None
    return type(shell).__name__ == "ZMQInteractiveShell"


RED, AMBER, RESET = "\x1b[31m", "\x1b[33m", "\x1b[0m"


def verdict_line(title: str, failure: CheckFailed) -> str:
    """One coloured line: not attempted yet, or incorrect and why."""
    if isinstance(failure, NotAttempted):
        return f"{AMBER}⏳ {title}: not attempted yet.{RESET} {failure}"
    return f"{RED}❌ {title}: not yet correct.{RESET} {failure}"


@dataclass
class Exercise:
    """One exercise: ``exercise(answer)`` runs the visible check, ``.hidden(answer)`` the grader's.

    ``key`` ("lesson03.Net") names the exercise to the grader, whose strict checks live on the
    instructor's side (``mnist_course.checks``); ``ask`` is set for exercises the grader judges
    from a description of the answer (:mod:`.grading`) rather than by replaying its calls.
    """

    title: str
    visible: Callable[[Any], str | None]
    hint_text: str | tuple[str, ...]  # one hint, or hints in steps (see .hint)
    key: str = ""
    ask: Callable[[Any, int], Any] | None = None

    def __call__(self, answer) -> None:
        """The visible check. In the learner's own Jupyter session it prints its verdict and lets Run All
        go on; under nbgrader (Validate, autograde) and elsewhere (tests) a wrong answer raises."""
        __tracebackhide__ = True
        try:
            self.check(answer)
        except CheckFailed as failure:
            if not learner_session():
                raise
            print(verdict_line(self.title, failure))

    def check(self, answer) -> None:
        """The visible check; raises :class:`CheckFailed` on a wrong or unfinished answer."""
        __tracebackhide__ = True
        with single_thread():
            message = self.visible(answer)
        print(f"✅ {self.title}: correct." + (f" {message}" if message else ""))

    def hidden(self, answer) -> None:
        """The grader's check. While grading it only reports the answer's outputs on the grader's
        inputs (the verdict is decided in another process); elsewhere it runs the whole strict
        check in this process and raises :class:`CheckFailed` on a wrong answer."""
        __tracebackhide__ = True
        from . import grading  # late: grading imports this module

        grading.hidden(self, answer)

    @property
    def hints(self) -> tuple[str, ...]:
        """The hints in steps, from a nudge towards the idea to nearly the whole step."""
        from .hints import HINTS  # late: a table of texts, read when a learner asks

        if self.key in HINTS:
            return HINTS[self.key]
        return (self.hint_text,) if isinstance(self.hint_text, str) else tuple(self.hint_text)

    def hint(self, step: int | None = None) -> None:
        """Print hint ``step`` (1, 2, ...); without a step, the next one not yet shown."""
        steps = self.hints
        shown = getattr(self, "_hints_shown", 0)
        step = min(shown + 1, len(steps)) if step is None else step
        if not 1 <= step <= len(steps):
            print(f"{self.title} has hints 1 to {len(steps)}.")
            return
        self._hints_shown = max(shown, step)
        more = f" (`hint({step + 1})` goes further)" if step < len(steps) else ""
        print(f"💡 {self.title}, hint {step} of {len(steps)}: {steps[step - 1]}{more}")

    def solution(self) -> None:
        """Print the model answer, from the course's solutions/ (the instructor's edition, which
        self-learners have): never while grading, and not in a graded class, whose learners
        receive no solutions/."""
        if os.environ.get("NBGRADER_EXECUTION"):
            print("The solution is not shown while the notebook is graded.")
            return
        from .solutions import model_answer  # late: reads notebooks, rarely needed

        print(model_answer(self.key, self.title))
