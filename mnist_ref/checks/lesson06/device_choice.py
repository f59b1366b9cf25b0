"""Lesson 06's checks of the device rules: ``choose_device`` and ``amp_enabled``.

Both are pure logic, so they are checked on any machine: ``choose_device`` is told which GPUs
exist, and ``$MNIST_DEVICE`` is set for each situation and restored afterwards. The visible
situations carry their expected answers written out. The grader's situations
(:func:`choice_situations`) are public, as the grader's ``ask`` runs them in the learner's
kernel; the expected answers are computed on the instructor's side (``mnist_course.checks.lesson06``),
which reuses :func:`judge_choice` and its messages.
"""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass

import torch

from mnist_ref.device import DEVICE_ENV

from ..framework import CheckFailed, Exercise, NotAttempted, call, expect, quiet_stderr

# --- helpers -------------------------------------------------------------------------------------


@contextlib.contextmanager
def _environment(value: str | None):
    """Run with $MNIST_DEVICE set to ``value`` (None: unset), then restore it."""
    old = os.environ.get(DEVICE_ENV)
    if value is None:
        os.environ.pop(DEVICE_ENV, None)
    else:
        os.environ[DEVICE_ENV] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(DEVICE_ENV, None)
        else:
            os.environ[DEVICE_ENV] = old


def _device_name(value) -> str | None:
    if isinstance(value, torch.device):
        return str(value)
    return value if type(value) is str else None  # exactly a str: a subclass could compare equal to anything


# --- Exercise 1: choose_device -------------------------------------------------------------------


@dataclass(frozen=True)
class Situation:
    """What the machine has, what was asked for (argument and $MNIST_DEVICE), and a hint if it goes wrong."""

    cuda: bool
    mps: bool
    preferred: str | None = None
    env: str | None = None
    hint: str = ""

    def __str__(self) -> str:
        have = [n for n, ok in (("CUDA", self.cuda), ("MPS", self.mps)) if ok] or ["no GPU"]
        parts = [f"with {' and '.join(have)}"]
        if self.preferred is not None:
            parts.append(f"preferred={self.preferred!r}")
        parts.append(f"{DEVICE_ENV}={self.env!r}" if self.env is not None else f"{DEVICE_ENV} unset")
        return ", ".join(parts)

    @property
    def called(self) -> str:
        return f"choose_device({self.cuda}, {self.mps}, {self.preferred!r})"


REFUSED = None  # the expected answer of a situation that must raise ValueError

VISIBLE_CHOICES: list[tuple[Situation, str | None]] = [
    (Situation(True, True, hint="CUDA comes first: an NVIDIA GPU is the fastest choice, MPS is only second."), "cuda"),
    (Situation(True, False), "cuda"),
    (Situation(False, True, hint="Without CUDA, Apple's MPS comes before the CPU."), "mps"),
    (Situation(False, False, hint="With no GPU at all, the answer is the CPU."), "cpu"),
    (Situation(True, True, "cpu", hint="An explicit `preferred` device wins over the automatic choice."), "cpu"),
    (
        Situation(
            True,
            True,
            env="cpu",
            hint=f"Without `preferred`, the environment variable {DEVICE_ENV} decides (read it with os.environ.get).",
        ),
        "cpu",
    ),
    (
        Situation(
            False,
            False,
            "cuda",
            hint="Asking for a GPU that is not there must be an error, not a silent fallback to the CPU.",
        ),
        REFUSED,
    ),
]

_STRICT_SITUATIONS = [
    Situation(False, True, env="auto", hint=f"{DEVICE_ENV}=auto means the automatic choice."),
    Situation(True, False, env="", hint=f"An empty {DEVICE_ENV} counts as unset."),
    Situation(True, True, "auto", hint="preferred='auto' means the automatic choice."),
    Situation(True, True, "cpu", "cuda", hint=f"The `preferred` argument wins over {DEVICE_ENV}."),
    Situation(True, False, "auto", "cpu", hint=f"preferred='auto' is a choice too: it wins over {DEVICE_ENV}."),
    Situation(False, True, "mps"),
    Situation(True, False, "cuda", "cpu"),
    Situation(True, True, "CUDA", hint="Case does not matter: 'CUDA' means 'cuda'."),
    Situation(False, False, env=" CPU ", hint="Spaces and case do not matter: ' CPU ' means 'cpu'."),
    Situation(True, False, "mps", hint="MPS was asked for but is not available."),
    Situation(False, False, env="cuda", hint=f"{DEVICE_ENV}=cuda asks for a GPU that is not there."),
    Situation(True, True, "tpu", hint="'tpu' is not a device this course knows: only auto, cpu, cuda and mps."),
]


def _spelled(name: str, rng: random.Random) -> str:
    """``name`` in a random case, sometimes padded with spaces: the rule must not care."""
    letters = "".join(c.upper() if rng.random() < 0.5 else c for c in name)
    return rng.choice(["", " "]) + letters + rng.choice(["", "  "])


def choice_situations(seed: int) -> list[Situation]:
    """The grader's situations: the visible ones, the named strict ones, then a few drawn from ``seed``."""
    rng = random.Random(seed)
    drawn = []
    for _ in range(6):
        wish = _spelled(rng.choice(["auto", "cpu", "cuda", "mps", "tpu", "gpu"]), rng)
        other = rng.choice([None, "", _spelled(rng.choice(["auto", "cpu", "cuda", "mps"]), rng)])
        preferred, env = (wish, other) if rng.random() < 0.5 else (other or None, wish)
        drawn.append(Situation(rng.random() < 0.5, rng.random() < 0.5, preferred, env))
    return [situation for situation, _ in VISIBLE_CHOICES] + _STRICT_SITUATIONS + drawn


def run_choice(answer, situation: Situation) -> dict:
    """What the learner's choose_device does in ``situation``, as data: the name it returned, or what it raised."""
    __tracebackhide__ = True
    with _environment(situation.env):
        try:
            with quiet_stderr():
                result = answer(situation.cuda, situation.mps, situation.preferred)
        except NotImplementedError:
            raise NotAttempted(
                "choose_device is not attempted yet: replace `raise NotImplementedError()` with your code."
            ) from None
        except Exception as exc:  # noqa: BLE001 -- reported to the grader, then to the learner
            return {"raised": type(exc).__name__, "message": str(exc), "value_error": isinstance(exc, ValueError)}
    return {"name": _device_name(result), "type": type(result).__name__, "repr": repr(result)[:200]}


def _text(outcome: dict, key: str) -> str:
    value = outcome.get(key)
    return value if type(value) is str else ""


def judge_choice(situation: Situation, outcome, expected: str | None) -> None:
    """Fail unless ``outcome`` (from :func:`run_choice`) is ``expected`` (a device name, or REFUSED)."""
    __tracebackhide__ = True
    if type(outcome) is not dict:
        raise CheckFailed(f"choose_device was not run {situation}.")
    hint = f" {situation.hint}" if situation.hint else ""
    raised, name = _text(outcome, "raised"), outcome.get("name")
    if expected is REFUSED:
        if raised and outcome.get("value_error") is True:
            return
        if raised:
            raise CheckFailed(
                f"{situation.called} raised {raised}: {_text(outcome, 'message')}; expected a ValueError."
            )
        shown = repr(name) if type(name) is str else _text(outcome, "repr")
        raise CheckFailed(f"{situation.called} {situation} returned {shown}; expected a ValueError.{hint}")
    if raised:
        raise CheckFailed(f"choose_device raised {raised}: {_text(outcome, 'message')} ({situation}).{hint}")
    expect(
        type(name) is str,
        "choose_device should return a device name such as 'cuda', got "
        f"{_text(outcome, 'type')} {_text(outcome, 'repr')}",
    )
    expect(
        name == expected,
        f"{situation.called} {situation} returned {name!r}; expected {expected!r}.{hint}",
    )


def _choose_device_visible(answer):
    __tracebackhide__ = True
    for situation, expected in VISIBLE_CHOICES:
        judge_choice(situation, run_choice(answer, situation), expected)
    return "CUDA > MPS > CPU, and the learner's wish (argument, then $MNIST_DEVICE) comes first."


def _ask_choose_device(answer, seed: int) -> list[dict]:
    __tracebackhide__ = True
    if not callable(answer):
        raise CheckFailed(f"choose_device should be a function, but it is a {type(answer).__name__}")
    return [run_choice(answer, situation) for situation in choice_situations(seed)]


choose_device = Exercise(
    title="choose_device",
    visible=_choose_device_visible,
    key="lesson06.choose_device",
    ask=_ask_choose_device,
    hint_text=(
        "First decide what was asked for: `preferred`, else os.environ.get('MNIST_DEVICE'), else 'auto' "
        "(normalize with .strip().lower()). For 'auto', test cuda_available before mps_available. "
        "For 'cuda' or 'mps', raise ValueError when it is not available; for any other name too."
    ),
)

# --- Exercise 4: amp_enabled ---------------------------------------------------------------------


def amp(answer, device):
    """The learner's amp_enabled(device), which must be a plain bool."""
    __tracebackhide__ = True
    result = call(answer, device, what="amp_enabled")
    expect(
        isinstance(result, bool),
        f"amp_enabled({device!r}) should return True or False, got {type(result).__name__} {result!r}",
    )
    return result


def amp_enabled_visible(answer):
    __tracebackhide__ = True
    expect(
        amp(answer, "cuda") is True,
        "amp_enabled('cuda') should be True: float16 autocast is the course's speed-up on NVIDIA GPUs.",
    )
    expect(
        amp(answer, "cpu") is False,
        "amp_enabled('cpu') should be False: the course keeps float32 on the CPU (float16 is not faster there).",
    )
    expect(
        amp(answer, torch.device("cuda")) is True,
        "amp_enabled(torch.device('cuda')) should be True: accept a torch.device as well as a string.",
    )
    return "float16 on CUDA only."


amp_enabled = Exercise(
    title="amp_enabled",
    visible=amp_enabled_visible,
    key="lesson06.amp_enabled",
    hint_text="return torch.device(device).type == 'cuda' — torch.device accepts strings and devices alike.",
)
