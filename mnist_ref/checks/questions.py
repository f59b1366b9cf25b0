"""Self-checked questions of "Check your understanding": multiple choice or a number.

The learner answers with a value, in place of ``None``, and runs the cell::

    answer = "c"  # "a", "b", "c" or "d"
    check.q_best_epoch(answer)

The question says it is right and why, or why that answer is wrong (each typical wrong answer has
its own message, naming the misconception). They are practice, not graded: a :class:`Question`
prints its verdict and never stops the notebook, in the learner's session, under nbgrader and in
tests alike; ``.check(answer)`` raises instead (for the course's own tests), ``.hint()`` nudges and
``.solution()`` shows the answer.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

from .framework import CheckFailed, Exercise, NotAttempted, verdict_line


@dataclass
class Question(Exercise):
    """A practice question: ``question(answer)`` prints right (and why) or what is wrong with ``answer``."""

    right: object = None  # the answer, shown by .solution()

    def __call__(self, answer) -> None:
        try:
            self.check(answer)
        except CheckFailed as failure:
            print(verdict_line(self.title, failure))

    def solution(self) -> None:
        print(f"{self.title}: the answer is {self.right!r}. {self.visible(self.right)}")


def _unanswered(answer, how: str) -> None:
    if answer is None or answer is Ellipsis:
        raise NotAttempted(f"replace None by your answer ({how}) and run the cell again.")


def choice(title: str, right: str, why: str, wrong: dict[str, str], hint: str) -> Question:
    """A multiple-choice question: ``right`` and the keys of ``wrong`` are its options ("a", "b", ...);
    capitals and spaces around the letter do not matter."""
    options = sorted([right, *wrong])

    def visible(answer) -> str:
        _unanswered(answer, "one of " + ", ".join(repr(o) for o in options))
        chosen = answer.strip().lower() if isinstance(answer, str) else answer
        if chosen not in options:
            raise CheckFailed(f"answer with one of {', '.join(repr(o) for o in options)}; got {answer!r}.")
        if chosen != right:
            raise CheckFailed(f"not {chosen!r}: {wrong[chosen]}")
        return why

    return Question(title, visible, hint, right=right)


def _shown(value: float) -> str:
    """A number as the learner would write it: 16,384 and 2.3, not 16384.0 or 1.6384e+04."""
    return f"{value:,}" if isinstance(value, numbers.Integral) else f"{value:g}"


def number(
    title: str, right: float, why: str, wrong: dict[float, str], hint: str, rel_tol: float = 1e-3, abs_tol: float = 0
) -> Question:
    """A question answered by a number, right within ``rel_tol`` (or ``abs_tol``, for an answer asked
    to a number of decimals); ``wrong`` maps typical wrong numbers to what they reveal, any other
    wrong number gets the hint."""

    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=rel_tol, abs_tol=max(abs_tol, 1e-12))

    def visible(answer) -> str:
        _unanswered(answer, "a number")
        # True == 1 in Python, but a bool is no answer to "how many".
        if isinstance(answer, bool) or not isinstance(answer, numbers.Real):
            raise CheckFailed(f"answer with a number; got {type(answer).__name__} {answer!r}.")
        if close(float(answer), right):
            return why
        for value, reason in wrong.items():
            if close(float(answer), value):
                raise CheckFailed(f"not {_shown(answer)}: {reason}")
        raise CheckFailed(f"not {_shown(answer)}. {hint}")

    return Question(title, visible, hint, right=right)
