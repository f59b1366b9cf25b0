"""Replaying a check against the learner's recorded answers, in the trusted process.

A check is a function ``check(answer, seed)`` that calls ``answer`` and judges what comes back.
:class:`Recorder` runs it once around the reference answer to learn which calls it makes (the
grader's request); :class:`Replayer` stands in for the learner's answer the second time: each
call must be one of the requested ones, the arguments are put into the state the learner's call
left them in, and the learner's result (or failure) is returned. So the check's comparisons and
references run here, on data, and never next to the learner's code.
"""

from __future__ import annotations

import builtins

from mnist_ref.checks.framework import CheckFailed, UsedLibraryFunction, forbidden_now
from mnist_ref.checks.transcript import NotPlainData, from_data, restore_into, to_data


class Recorder:
    """The reference answer, noting the arguments of every call and the functions switched off then."""

    def __init__(self, reference, name: str):
        self.reference = reference
        self.__name__ = name
        self.calls: list[dict] = []

    def __call__(self, *args, **kwargs):
        self.calls.append({"args": to_data((args, kwargs)), "forbid": forbidden_now(), "what": self.__name__})
        return self.reference(*args, **kwargs)


class NotReplayable(CheckFailed):
    """The check asked the answer something the learner's kernel was not asked (a wrong answer's path)."""


def _exception(outcome: dict) -> BaseException:
    """The learner's failure rebuilt from its name and message; built-in types stay themselves, so a
    check can still tell a RuntimeError about dtypes from the rest."""
    name, message = str(outcome.get("raised", "CheckFailed")), str(outcome.get("message", ""))
    if name == "NotAttempted":
        return NotImplementedError(message)
    if name == "CheckFailed":
        return CheckFailed(message)
    if name == "UsedLibraryFunction" or outcome.get("library") is True:
        return UsedLibraryFunction(message)
    known = getattr(builtins, name, None)
    if isinstance(known, type) and issubclass(known, Exception) and not issubclass(known, (SystemExit,)):
        return known(message)
    cls = type(name if name.isidentifier() else "Error", (Exception,), {})
    return cls(message)


class Replayer:
    """Stands in for the learner's answer: returns what the learner's answer returned on the same call."""

    def __init__(self, requested: list[dict], outcomes: list, name: str):
        self.requested = requested
        self.outcomes = outcomes
        self.used: set[int] = set()
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        __tracebackhide__ = True
        asked = to_data((args, kwargs))
        for index, request in enumerate(self.requested):
            if index not in self.used and request["args"] == asked:
                self.used.add(index)
                return self._outcome(index, args, kwargs)
        raise NotReplayable(f"{self.__name__} gives wrong results on the grader's inputs.")

    def _outcome(self, index: int, args: tuple, kwargs: dict):
        outcome = self.outcomes[index] if index < len(self.outcomes) else None
        if type(outcome) is not dict:
            raise CheckFailed(f"{self.__name__} was not run on the grader's inputs (did the lesson stop early?).")
        try:
            if outcome.get("after") is not None:
                restore_into([list(args), kwargs], outcome["after"])
            if "result" in outcome:
                return from_data(outcome["result"])
        except NotPlainData as exc:
            raise CheckFailed(f"{self.__name__}: {exc}") from None
        raise _exception(outcome)
