"""Hostile and honest submissions, graded end to end by tests/test_redteam.py.

Each lesson's module (``lesson01`` ... ``lesson07``) lists its ``CASES``. A case starts from the
released lesson with every answer cell filled in with the solution, then changes it the way a
learner would: ``answers`` replaces answer cells (by grade_id), ``insert_after`` adds a code cell
of the learner's own after a cell (by grade_id), ``tests`` edits test cells (grading restores them).
``scores`` gives the expected points of graded test cells; every other graded test cell must keep
full points unless ``others`` is "any" (an attack that breaks its own kernel may lose more).
``sandbox`` cases need the per-submission sandbox (grading as root); ``absent`` lists files the
attack tries to leave behind outside its working folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Case:
    name: str  # becomes the student id: [a-z0-9_]
    lesson: str  # e.g. "03_pooling_and_head"
    why: str  # one line: what it attacks, or which honest variant it is
    answers: dict[str, str] = field(default_factory=dict)
    insert_after: dict[str, str] = field(default_factory=dict)
    tests: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    others: str = "full"  # or "any"
    sandbox: bool = False  # needs the sandbox (grading as root); skipped elsewhere, a failure in CI
    absent: tuple[str, ...] = ()  # files that must not exist after grading ({course} = the course folder)


def all_cases() -> list[Case]:
    from importlib import import_module

    cases = []
    for n in range(1, 8):
        try:
            module = import_module(f"redteam.lesson{n:02d}")
        except ModuleNotFoundError as exc:
            if exc.name != f"redteam.lesson{n:02d}":
                raise
            continue
        cases.extend(module.CASES)
    return cases
