"""Lesson 06's checks of the device rules: ``choose_device`` and ``amp_enabled``.

Both are pure logic, so they are checked on any machine: ``choose_device`` is told which GPUs
exist, and ``$MNIST_DEVICE`` is set for each case and restored afterwards.
"""

from __future__ import annotations

import contextlib
import os

import torch

from mnist_ref.device import DEVICE_ENV
from mnist_ref.device import choose_device as course_rule

from ..framework import CheckFailed, Exercise, NotAttempted, call, expect

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
    return value if isinstance(value, str) else None


# --- Exercise 1: choose_device -------------------------------------------------------------------


def _choose(answer, cuda, mps, preferred=None, env=None, hint=""):
    __tracebackhide__ = True
    with _environment(env):
        try:
            result = call(answer, cuda, mps, preferred, what="choose_device")
        except NotAttempted:
            raise
        except CheckFailed as failure:
            raise CheckFailed(
                f"{failure} ({_situation(cuda, mps, preferred, env)})." + (f" {hint}" if hint else "")
            ) from None
    name = _device_name(result)
    expect(
        name is not None,
        f"choose_device should return a device name such as 'cuda', got {type(result).__name__} {result!r}",
    )
    return name


def _situation(cuda, mps, preferred, env) -> str:
    have = [n for n, ok in (("CUDA", cuda), ("MPS", mps)) if ok] or ["no GPU"]
    parts = [f"with {' and '.join(have)}"]
    if preferred is not None:
        parts.append(f"preferred={preferred!r}")
    parts.append(f"{DEVICE_ENV}={env!r}" if env is not None else f"{DEVICE_ENV} unset")
    return ", ".join(parts)


def _expect_choice(answer, cuda, mps, preferred, env, hint=""):
    __tracebackhide__ = True
    # The library's rule is the reference; the learner's version also reads $MNIST_DEVICE itself.
    expected = str(course_rule(cuda, mps, preferred or env))
    name = _choose(answer, cuda, mps, preferred, env, hint)
    expect(
        name == expected,
        f"choose_device({cuda}, {mps}, {preferred!r}) {_situation(cuda, mps, preferred, env)} returned {name!r}; "
        f"expected {expected!r}." + (f" {hint}" if hint else ""),
    )


def _expect_refusal(answer, cuda, mps, preferred, env=None, hint=""):
    __tracebackhide__ = True
    with _environment(env):
        try:
            result = answer(cuda, mps, preferred)
        except NotImplementedError:
            raise NotAttempted(
                "choose_device is not attempted yet: replace `raise NotImplementedError()` with your code."
            ) from None
        except ValueError:
            return
        except Exception as exc:  # noqa: BLE001 -- reported to the learner
            raise CheckFailed(
                f"choose_device({cuda}, {mps}, {preferred!r}) raised {type(exc).__name__}: {exc}; expected a "
                "ValueError."
            ) from exc
    raise CheckFailed(
        f"choose_device({cuda}, {mps}, {preferred!r}) {_situation(cuda, mps, preferred, env)} returned "
        f"{_device_name(result) or result!r}; "
        f"expected a ValueError. {hint}"
    )


def _choose_device_visible(answer):
    __tracebackhide__ = True
    _expect_choice(
        answer,
        True,
        True,
        None,
        None,
        "CUDA comes first: an NVIDIA GPU is the fastest choice, MPS is only second.",
    )
    _expect_choice(answer, True, False, None, None)
    _expect_choice(answer, False, True, None, None, "Without CUDA, Apple's MPS comes before the CPU.")
    _expect_choice(answer, False, False, None, None, "With no GPU at all, the answer is the CPU.")
    _expect_choice(answer, True, True, "cpu", None, "An explicit `preferred` device wins over the automatic choice.")
    _expect_choice(
        answer,
        True,
        True,
        None,
        "cpu",
        f"Without `preferred`, the environment variable {DEVICE_ENV} decides (read it with os.environ.get).",
    )
    _expect_refusal(
        answer,
        False,
        False,
        "cuda",
        hint="Asking for a GPU that is not there must be an error, not a silent fallback to the CPU.",
    )
    return "CUDA > MPS > CPU, and the learner's wish (argument, then $MNIST_DEVICE) comes first."


def _choose_device_strict(answer):
    __tracebackhide__ = True
    _expect_choice(answer, False, True, None, "auto", f"{DEVICE_ENV}=auto means the automatic choice.")
    _expect_choice(answer, True, False, None, "", f"An empty {DEVICE_ENV} counts as unset.")
    _expect_choice(answer, True, True, "auto", None, "preferred='auto' means the automatic choice.")
    _expect_choice(answer, True, True, "cpu", "cuda", f"The `preferred` argument wins over {DEVICE_ENV}.")
    _expect_choice(answer, True, False, "auto", "cpu", f"preferred='auto' is a choice too: it wins over {DEVICE_ENV}.")
    _expect_choice(answer, False, True, "mps", None)
    _expect_choice(answer, True, False, "cuda", "cpu")
    _expect_choice(answer, True, True, "CUDA", None, "Case does not matter: 'CUDA' means 'cuda'.")
    _expect_choice(answer, False, False, None, " CPU ", "Spaces and case do not matter: ' CPU ' means 'cpu'.")
    _expect_refusal(answer, True, False, "mps", hint="MPS was asked for but is not available.")
    _expect_refusal(answer, False, False, None, "cuda", hint=f"{DEVICE_ENV}=cuda asks for a GPU that is not there.")
    _expect_refusal(
        answer, True, True, "tpu", hint="'tpu' is not a device this course knows: only auto, cpu, cuda and mps."
    )


choose_device = Exercise(
    title="choose_device",
    visible=_choose_device_visible,
    strict=_choose_device_strict,
    hint_text=(
        "First decide what was asked for: `preferred`, else os.environ.get('MNIST_DEVICE'), else 'auto' "
        "(normalize with .strip().lower()). For 'auto', test cuda_available before mps_available. "
        "For 'cuda' or 'mps', raise ValueError when it is not available; for any other name too."
    ),
)

# --- Exercise 4: amp_enabled ---------------------------------------------------------------------


def _amp(answer, device):
    __tracebackhide__ = True
    result = call(answer, device, what="amp_enabled")
    expect(
        isinstance(result, bool),
        f"amp_enabled({device!r}) should return True or False, got {type(result).__name__} {result!r}",
    )
    return result


def _amp_enabled_visible(answer):
    __tracebackhide__ = True
    expect(
        _amp(answer, "cuda") is True,
        "amp_enabled('cuda') should be True: float16 autocast is the course's speed-up on NVIDIA GPUs.",
    )
    expect(
        _amp(answer, "cpu") is False,
        "amp_enabled('cpu') should be False: the course keeps float32 on the CPU (float16 is not faster there).",
    )
    expect(
        _amp(answer, torch.device("cuda")) is True,
        "amp_enabled(torch.device('cuda')) should be True: accept a torch.device as well as a string.",
    )
    return "float16 on CUDA only."


def _amp_enabled_strict(answer):
    __tracebackhide__ = True
    expect(
        _amp(answer, "cuda:1") is True,
        "amp_enabled('cuda:1') should be True: every CUDA GPU counts, whatever its index — compare "
        "torch.device(device).type.",
    )
    expect(_amp(answer, torch.device("cuda", 0)) is True, "amp_enabled(torch.device('cuda', 0)) should be True.")
    expect(
        _amp(answer, "mps") is False,
        "amp_enabled('mps') should be False: the course uses float16 autocast on CUDA only.",
    )
    expect(_amp(answer, torch.device("cpu")) is False, "amp_enabled(torch.device('cpu')) should be False.")


amp_enabled = Exercise(
    title="amp_enabled",
    visible=_amp_enabled_visible,
    strict=_amp_enabled_strict,
    hint_text="return torch.device(device).type == 'cuda' — torch.device accepts strings and devices alike.",
)
