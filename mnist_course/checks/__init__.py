"""The grader's checks: strict checks and references, on the instructor's side only.

``GRADED`` maps an exercise key ("lesson03.Net") to its :class:`~.graded.Replayed` or
:class:`~.graded.Asked` check. Grading asks the learner's kernel for data
(:func:`requests_for`), then decides from that data alone (:func:`verdict`), in this process.
:func:`grade_in_process` runs the same three steps in one process, for tests and for an
instructor's run of a source notebook.
"""

from __future__ import annotations

import importlib
import json

from mnist_ref.checks.framework import CheckFailed
from mnist_ref.checks.grading import answer_request

from .graded import Asked, Replayed

LESSON_MODULES = [f"lesson{n:02d}" for n in range(1, 8)]


def _gather() -> dict:
    graded = {}
    for name in LESSON_MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        graded.update(module.GRADED)
    return graded


GRADED: dict[str, Replayed | Asked] = _gather()


def answer_name(key: str) -> str:
    """The name of the learner's function or class: "lesson03.Net" -> "Net"."""
    return key.partition(".")[2]


def requests_for(keys, seed: int) -> dict:
    """The grader's requests for these exercises; plain data for the learner's kernel."""
    return {key: GRADED[key].request(answer_name(key), seed) for key in keys}


def verdict(key: str, request: dict, payload) -> None:
    """Decide one exercise from the kernel's answers; raise CheckFailed with the learner's message."""
    __tracebackhide__ = True
    if type(payload) is not dict or payload.get("exercise") != key:
        raise CheckFailed(f"{answer_name(key)} was not checked: the grader's check did not run in this cell.")
    GRADED[key].judge(answer_name(key), request, payload)


def grade_in_process(exercise, answer, seed: int = 0) -> None:
    """Request, answer and verdict in this process (never while grading a learner)."""
    __tracebackhide__ = True
    if exercise.key not in GRADED:
        raise KeyError(f"no graded check for {exercise.title!r} (key {exercise.key!r}) in mnist_course.checks")
    request = requests_for([exercise.key], seed)[exercise.key]
    # Through JSON as in grading: the kernel reads the request from a file, the answers come back as JSON.
    payload = answer_request(exercise, answer, json.loads(json.dumps(request)))
    verdict(exercise.key, request, json.loads(json.dumps(payload)))


__all__ = ["GRADED", "Asked", "Replayed", "answer_name", "grade_in_process", "requests_for", "verdict"]
