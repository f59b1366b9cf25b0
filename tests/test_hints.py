"""The hints in steps (mnist_ref/checks/hints.py): one set per graded exercise, 2 to 4 steps, in order,
and never the model answer itself (issue 13: "hints are the answer")."""

from __future__ import annotations

import copy
import importlib
import json
import re
from pathlib import Path

import pytest

from mnist_ref.checks import Exercise
from mnist_ref.checks.hints import HINTS

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"
HIDDEN_CHECK = re.compile(r"check\.(\w+)\.hidden\(")
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)
SHORTEST_ANSWER_LINE = 16  # shorter lines ("return cm", "model.train()") are vocabulary, not the answer
# A call without arguments ("optimizer.step()", "with torch.no_grad():") is the lesson's vocabulary too: a hint
# may say where it belongs without giving the answer away.
BARE_CALL = re.compile(r"^(with)?[\w.]+\(\):?$")

# Exercises that ask for "your own" version of a library function: their hints must not point to it.
FORBIDDEN_IN_HINTS = {
    "lesson02.conv2d_loops": ("conv2d", "Conv2d"),
    "lesson02.conv2d_unfold": ("conv2d", "Conv2d"),
    "lesson03.max_pool_2x2": ("max_pool2d", "MaxPool2d"),
    "lesson04.nll_loss": ("nll_loss", "cross_entropy"),
    "lesson04.sgd_momentum_step": ("torch.optim", "SGD("),
    "lesson04.train": ("engine.train",),
    "lesson04.test": ("engine.test",),
}

# Pieces of the answers that issue 13 found in the old one-step hints, in normalized spelling (see normalized()):
# written differently from the solution's line, they would slip past the line-by-line comparison.
ANSWER_PIECES = {
    "lesson01.make_transform": ("Normalize((mean,),(std,))", "Compose([transforms.ToTensor()"),
    "lesson02.conv_parameters": ("(k*k*c_in+1)*c_out", "c_out*(k*k*c_in+1)"),
    "lesson03.ClassifierHead": ("nn.Linear(4096,50)", "log_softmax(self.fc2(x)"),
    "lesson07.most_confused_pairs": ("key=lambda",),
}


def graded_exercises() -> dict[str, str]:
    """{"lessonNN.name": the source of the solution cell that defines name}, for every hidden check."""
    found = {}
    for notebook in sorted(SOLUTIONS.glob("*/*.ipynb")):
        lesson = "lesson" + notebook.parent.name[:2]
        sources = ["".join(cell["source"]) for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]]
        for name in (name for source in sources for name in HIDDEN_CHECK.findall(source)):
            defines = re.compile(rf"^(def|class)\s+{name}\b", re.MULTILINE)
            found[f"{lesson}.{name}"] = next(s for s in sources if "### BEGIN SOLUTION" in s and defines.search(s))
    return found


GRADED = graded_exercises()


def answer_lines(solution_cell: str) -> list[str]:
    """The non-trivial lines of the cell's solution regions, stripped."""
    lines = (line.strip() for region in SOLUTION_REGION.findall(solution_cell) for line in region.splitlines())
    return [
        line
        for line in lines
        if len(normalized(line)) >= SHORTEST_ANSWER_LINE and not BARE_CALL.match(normalized(line))
    ]


def normalized(code: str) -> str:
    """Code as compared: no comment, no `return`, no whitespace, one kind of quote (so that
    `return x == "cuda"` and `x=='cuda'` count as the same line)."""
    code = re.sub(r"#.*", "", code).strip().removeprefix("return ")
    return re.sub(r"\s+", "", code).replace("'", '"')


def exercise_of(key: str):
    """The Exercise object the lesson's notebook calls ``check.<name>``."""
    lesson, name = key.split(".")
    return getattr(importlib.import_module(f"mnist_ref.checks.{lesson}"), name)


def test_every_hidden_check_of_the_solutions_is_a_graded_exercise():
    in_notebooks = set()
    for notebook in sorted(SOLUTIONS.glob("*/*.ipynb")):
        lesson = "lesson" + notebook.parent.name[:2]
        source = "".join("".join(cell["source"]) for cell in json.loads(notebook.read_text())["cells"])
        in_notebooks |= {f"{lesson}.{name}" for name in HIDDEN_CHECK.findall(source)}
    assert len(in_notebooks) >= 29  # 29 graded exercises in 7 lessons when this was written
    assert in_notebooks == set(GRADED)


@pytest.mark.parametrize("key", sorted(GRADED))
def test_every_graded_exercise_has_two_to_four_hints(key):
    steps = HINTS.get(key, ())
    assert 2 <= len(steps) <= 4, f"{key} has {len(steps)} hint steps"
    assert len(set(steps)) == len(steps), f"{key} repeats a hint step"
    assert all(isinstance(step, str) and 20 <= len(step) <= 320 for step in steps), key


def test_every_key_of_the_hints_is_a_graded_exercise():
    assert set(HINTS) <= set(GRADED), sorted(set(HINTS) - set(GRADED))


def test_every_exercise_of_the_check_modules_has_hints_in_steps():
    lessons = sorted({key.split(".")[0] for key in GRADED})
    exercises = [
        value
        for lesson in lessons
        for value in vars(importlib.import_module(f"mnist_ref.checks.{lesson}")).values()
        if isinstance(value, Exercise) and value.key
    ]
    assert len(exercises) >= len(GRADED)
    assert {exercise.key for exercise in exercises} <= set(HINTS)


@pytest.mark.parametrize("key", sorted(GRADED))
def test_no_hint_contains_a_line_of_the_answer(key):
    lines = answer_lines(GRADED[key])
    assert lines, f"no answer line found for {key}: the comparison would prove nothing"
    hints = [normalized(step) for step in HINTS[key]]
    for line in lines:
        for step, hint in enumerate(hints, start=1):
            assert normalized(line) not in hint, f"hint {step} of {key} contains the answer line `{line}`"


@pytest.mark.parametrize("key", sorted(ANSWER_PIECES))
def test_the_answers_the_old_hints_gave_away_are_not_given_again(key):
    for step, hint in enumerate(HINTS[key], start=1):
        for piece in ANSWER_PIECES[key]:
            assert piece not in normalized(hint), f"hint {step} of {key} gives away `{piece}`"


def test_the_comparison_catches_an_answer_line_in_another_spelling():
    line = 'return torch.device(device).type == "cuda"'
    assert normalized(line) in normalized("Just write `torch.device(device).type=='cuda'` and you are done.")


@pytest.mark.parametrize("key", sorted(FORBIDDEN_IN_HINTS))
def test_a_your_own_exercise_does_not_point_to_the_library_function(key):
    for step in HINTS[key]:
        for name in FORBIDDEN_IN_HINTS[key]:
            assert name not in step, f"a hint of {key} names {name}, which the exercise asks to write yourself"


@pytest.mark.parametrize("key", sorted(GRADED))
def test_the_exercise_prints_its_hints_in_order(key, capsys):
    exercise = copy.copy(exercise_of(key))  # a copy: hint() remembers the steps shown
    exercise.__dict__.pop("_hints_shown", None)
    assert exercise.key == key
    steps = HINTS[key]
    for step in range(1, len(steps) + 1):
        exercise.hint(step)
    exercise.hint()  # after the last step, hint() shows the last again
    lines = capsys.readouterr().out.splitlines()
    for step, (line, text) in enumerate(zip(lines, [*steps, steps[-1]]), start=1):
        step = min(step, len(steps))
        assert line.startswith(f"💡 {exercise.title}, hint {step} of {len(steps)}: {text}"), line
        assert (f"hint({step + 1})" in line) == (step < len(steps)), line
    assert len(lines) == len(steps) + 1
