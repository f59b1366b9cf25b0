"""The learner's side of grading: run the answer on the grader's inputs, report, decide nothing.

While ``nbgrader autograde`` runs a lesson, the grader (``mnist_course``) writes its requests to
the file named by ``MNIST_GRADING_REQUESTS``: per exercise, the calls to make (replayed
exercises) or a seed for the exercise's ``ask``. A hidden test cell's ``check.X.hidden(X)`` then
answers its request as plain data (:mod:`.transcript`) in a display output, and never raises:
the verdict is the grader's, taken in a process the learner's code never runs in. Anything done
to this kernel (a patched check, torch or builtins) can only change what is reported.

Outside grading, ``hidden`` runs request, answer and verdict here, when the instructor's package
is installed, so tests and an instructor's run of a source notebook see the strict check's message.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from collections.abc import Callable
from typing import Any

from .framework import CheckFailed, NotAttempted, UsedLibraryFunction, call, forbid, quiet_stderr, single_thread
from .transcript import NotPlainData, changes_only, describe, from_data, to_data

REQUESTS_ENV = "MNIST_GRADING_REQUESTS"
ANSWERS_MIMETYPE = "application/vnd.mnist-course.answers+json"


def _failure(exc: BaseException) -> dict:
    """A failed call as data: NotAttempted, the check's own message, or the exception the answer raised."""
    if isinstance(exc, NotAttempted):
        return {"raised": "NotAttempted", "message": str(exc)}
    if isinstance(exc, CheckFailed) and isinstance(exc.__cause__, Exception):
        cause = exc.__cause__
        return {
            "raised": type(cause).__name__,
            "message": str(cause),
            "library": isinstance(cause, UsedLibraryFunction),
        }
    return {"raised": "CheckFailed", "message": str(exc)}


def _target(spec: str) -> tuple[Any, str]:
    module, _, name = spec.partition(":")
    return importlib.import_module(module), name


class _TimedEncoder:
    """to_data, adding up the seconds it takes (reported with the answers: the cost of grading)."""

    def __init__(self):
        self.seconds = 0.0

    def __call__(self, value):
        start = time.perf_counter()
        try:
            return to_data(value)
        finally:
            self.seconds += time.perf_counter() - start


def answer_call(answer, request: dict, encode: Callable = to_data) -> dict:
    """Run ``answer`` once on a recorded call's arguments, with the same library functions switched off."""
    try:
        args, kwargs = from_data(request["args"])
        targets = [_target(spec) for spec in request.get("forbid", [])]
    except (NotPlainData, KeyError, TypeError, ValueError, ImportError) as exc:
        return {"raised": "CheckFailed", "message": f"the grader's request could not be read ({exc})"}
    try:
        with forbid(*targets):
            result = call(answer, *args, **kwargs)
    except CheckFailed as exc:
        outcome = _failure(exc)
    else:
        try:
            outcome = {"result": encode(result)}
        except NotPlainData as exc:
            what = request.get("what", "your answer")
            return {
                "raised": "CheckFailed",
                "message": f"{what} returned {exc}: return plain values (numbers, strings, lists, tuples, tensors).",
            }
    try:
        outcome["after"] = changes_only(encode([list(args), kwargs]), request["args"])
    except NotPlainData:
        outcome["after"] = None
    return outcome


def answer_request(exercise, answer, request: dict) -> dict:
    """The answers to one exercise's request, as plain data."""
    payload: dict[str, Any] = {"exercise": exercise.key}
    start, encode = time.perf_counter(), _TimedEncoder()
    with single_thread(), quiet_stderr():
        try:
            payload["describe"] = describe(answer)
        except Exception as exc:  # a hostile object may break introspection: the grader refuses it
            payload["describe"] = {"error": f"{type(exc).__name__}: {exc}"}
        if "calls" in request:
            payload["calls"] = [answer_call(answer, call_request, encode) for call_request in request["calls"]]
        else:
            try:
                payload["data"] = encode(exercise.ask(answer, int(request["seed"])))
            except CheckFailed as exc:
                payload["data"] = None
                payload["failure"] = _failure(exc)
            except Exception as exc:  # the ask is ours; anything it raises comes from the answer
                payload["data"] = None
                payload["failure"] = {"raised": "CheckFailed", "message": f"{type(exc).__name__}: {exc}"}
    # For the instructor's measurements only (benchmarks/grading_cost.py); the grader decides nothing from it.
    payload["seconds"] = {"run": time.perf_counter() - start - encode.seconds, "encode": encode.seconds}
    return payload


def _requests() -> dict | None:
    path = os.environ.get(REQUESTS_ENV)
    if not path:
        return None
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def _emit(payload: dict) -> None:
    from IPython.display import display  # the kernel's display channel carries the answers

    display({ANSWERS_MIMETYPE: payload}, raw=True)


def hidden(exercise, answer) -> None:
    __tracebackhide__ = True
    requests = _requests()
    if requests is not None:
        request = requests.get(exercise.key)
        if request is not None:
            _emit(answer_request(exercise, answer, request))
        return
    try:
        trusted = importlib.import_module("mnist_course.checks")
    except ImportError:
        print(f"ℹ️ {exercise.title}: the strict checks run when the lesson is graded.")
        exercise(answer)
        return
    trusted.grade_in_process(exercise, answer)
