"""Shared helpers for the tests of the exercise checks (tests/test_checks_lessonNN.py)."""

import pytest

from mnist_ref.checks import CheckFailed, NotAttempted


def not_attempted(*args, **kwargs):
    """An exercise as the released notebook leaves it."""
    raise NotImplementedError()


def passes(exercise, answer) -> None:
    """A right answer passes the visible and the hidden check."""
    exercise(answer)
    exercise.hidden(answer)


def fails(exercise, answer, *fragments, hidden=False) -> str:
    """A wrong answer fails (as wrong, not as unattempted) with every fragment in the message."""
    with pytest.raises(CheckFailed) as info:
        (exercise.hidden if hidden else exercise)(answer)
    message = str(info.value)
    assert not isinstance(info.value, NotAttempted), message
    for fragment in fragments:
        assert fragment in message, message
    return message


def assert_not_attempted(exercise) -> None:
    """An untouched exercise says so in both checks."""
    for run in (exercise, exercise.hidden):
        with pytest.raises(NotAttempted, match="not attempted yet"):
            run(not_attempted)


def question_explains(question, right, wrong_answers: dict, capsys) -> None:
    """A self-checked question: the right answer gets its ✅, each typical wrong answer the message that
    says why (``wrong_answers``: answer -> a fragment of it), and None is "not attempted"."""
    question.check(right)
    assert "✅" in capsys.readouterr().out
    for wrong, why in wrong_answers.items():
        fails(question.check, wrong, why)
    with pytest.raises(NotAttempted):
        question.check(None)
