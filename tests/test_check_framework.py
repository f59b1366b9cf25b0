"""The learner-facing side of every check: verdicts that never stop Run All, hints in steps, solutions."""

from __future__ import annotations

import pytest

from mnist_ref.checks import framework
from mnist_ref.checks.framework import CheckFailed, Exercise, NotAttempted, call


def visible(answer) -> str:
    if call(answer, 2) != 4:
        raise CheckFailed("double(2) should be 4: multiply by 2, not add 2 to itself twice")
    return "2 -> 4."


def double(x):
    return 2 * x


EXERCISE = Exercise("double", visible, ("Think of a sum.", "x + x.", "return 2 * x"), key="lesson99.double")


def test_outside_a_learner_session_a_wrong_answer_raises():
    assert not framework.learner_session()  # pytest is no Jupyter kernel
    with pytest.raises(CheckFailed, match="should be 4"):
        EXERCISE(lambda x: x + 3)


def test_in_a_learner_session_the_verdict_is_printed_and_nothing_raises(monkeypatch, capsys):
    monkeypatch.setattr(framework, "learner_session", lambda: True)
    EXERCISE(lambda x: x + 3)
    EXERCISE(lambda x: (_ for _ in ()).throw(NotImplementedError()))
    EXERCISE(double)
    lines = capsys.readouterr().out.splitlines()
    assert "❌ double: not yet correct." in lines[0] and "should be 4" in lines[0]
    assert "⏳ double: not attempted yet." in lines[1]
    assert lines[2] == "✅ double: correct. 2 -> 4."


def test_under_nbgrader_the_check_fails_its_cell(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    assert not framework.learner_session()


def test_a_failure_renders_as_its_message_alone():
    rendered = "".join(CheckFailed("forgot the max-pool")._render_traceback_())
    assert "forgot the max-pool" in rendered and "Traceback" not in rendered
    assert isinstance(NotAttempted("x"), CheckFailed)


def test_hints_come_in_steps(capsys):
    exercise = Exercise("double", visible, ("Think of a sum.", "x + x.", "return 2 * x"))
    exercise.hint()
    exercise.hint()
    exercise.hint(3)
    exercise.hint(4)
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("💡 double, hint 1 of 3: Think of a sum.") and "hint(2)" in out[0]
    assert out[1].startswith("💡 double, hint 2 of 3: x + x.")
    assert out[2] == "💡 double, hint 3 of 3: return 2 * x"
    assert out[3] == "double has hints 1 to 3."


def test_a_solution_is_shown_only_when_asked_and_never_while_graded(monkeypatch, capsys):
    from mnist_ref.checks import lesson02

    lesson02.conv_output_size.solution()
    shown = capsys.readouterr().out
    assert "def conv_output_size" in shown and "BEGIN SOLUTION" not in shown
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    lesson02.conv_output_size.solution()
    assert "def conv_output_size" not in capsys.readouterr().out


def test_without_solutions_folder_the_learner_is_told(monkeypatch, tmp_path, capsys):
    from mnist_ref.checks import solutions

    monkeypatch.setattr(solutions, "COURSE", tmp_path)
    EXERCISE.solution()
    assert "No solutions/ in this copy" in capsys.readouterr().out
