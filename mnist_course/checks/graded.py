"""The two kinds of graded exercise, and the refusal of the library's own answer.

* :class:`Replayed`: a check ``check(answer, seed)`` run twice here, first around the reference
  (which calls it makes is the request), then around the learner's recorded results.
* :class:`Asked`: the exercise's public ``ask`` describes the learner's answer as data in the
  kernel (a model's parameters and outputs on the grader's inputs...); ``judge(data, seed)``
  decides here.

Both first refuse an answer that is, subclasses or reaches one of the exercise's ``library``
counterparts (as the kernel's :func:`mnist_ref.checks.transcript.describe` reports it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mnist_ref.checks.framework import CheckFailed, NotAttempted
from mnist_ref.checks.transcript import NotPlainData, from_data, qualified

from .replay import Recorder, Replayer, _exception


def refuse_library(described: Any, library: tuple, name: str) -> None:
    """Fail an answer whose description shows it is or uses one of ``library``."""
    __tracebackhide__ = True
    if type(described) is not dict or "error" in described:
        raise CheckFailed(f"{name} could not be examined by the grader.")
    counterparts = {qualified(obj): obj for obj in library}
    used = [described.get("type"), *described.get("bases", []), *described.get("reached", [])]
    for item in used:
        if type(item) is str and item in counterparts:
            short = getattr(counterparts[item], "__name__", item)  # conv2d, not torch._VariableFunctionsClass.conv2d
            raise CheckFailed(
                f"{name} uses {short} ({item}), the library's own version of what this exercise asks you to "
                "write: the exercise is to write it yourself."
            )


@dataclass(frozen=True)
class Replayed:
    check: Callable[[Any, int], Any]
    reference: Any
    library: tuple = ()

    def request(self, name: str, seed: int) -> dict:
        recorder = Recorder(self.reference, name)
        self.check(recorder, seed)  # the reference passes its own check: a failure here is a bug of ours
        return {"seed": seed, "calls": recorder.calls}

    def judge(self, name: str, request: dict, payload: dict) -> None:
        __tracebackhide__ = True
        refuse_library(payload.get("describe"), self.library, name)
        outcomes = payload.get("calls")
        if type(outcomes) is not list:
            raise CheckFailed(f"{name} was not run on the grader's inputs.")
        self.check(Replayer(request["calls"], outcomes, name), request["seed"])


@dataclass(frozen=True)
class Asked:
    judge_data: Callable[[Any, int], Any]
    library: tuple = ()

    def request(self, name: str, seed: int) -> dict:
        return {"seed": seed}

    def judge(self, name: str, request: dict, payload: dict) -> None:
        __tracebackhide__ = True
        refuse_library(payload.get("describe"), self.library, name)
        failure = payload.get("failure")
        if type(failure) is dict:
            exc = _exception(failure)
            if isinstance(exc, NotImplementedError):
                raise NotAttempted(
                    f"{name} is not attempted yet: replace `raise NotImplementedError()` with your code."
                )
            raise exc if isinstance(exc, CheckFailed) else CheckFailed(f"{name} raised {type(exc).__name__}: {exc}")
        try:
            data = from_data(payload.get("data"))
        except NotPlainData as exc:
            raise CheckFailed(f"{name}: {exc}") from None
        self.judge_data(data, request["seed"])
