"""Lesson 06's graded checks.

``amp_enabled`` is replayed (strings and devices in, a bool out). ``choose_device`` reads
``$MNIST_DEVICE``, ``move_batch`` returns ``meta`` tensors and is spied on through stand-ins for
CUDA tensors, and ``load_for_inference`` returns a model: the learner's kernel describes what they
do (the exercise's ``ask``) and the verdict is taken here, against the library's device rule and
weights rebuilt from the seed.
"""

from __future__ import annotations

import torch

from mnist_ref import device as library
from mnist_ref.checks.framework import expect
from mnist_ref.checks.lesson06.device_choice import REFUSED, amp, amp_enabled_visible, choice_situations, judge_choice
from mnist_ref.checks.lesson06.moving import (
    SPY_DEVICES,
    judge_load,
    judge_moves,
    judge_spies,
    loadings,
    move_batches,
    probe,
    saved_model,
)

from .graded import Asked, Replayed

# --- choose_device -----------------------------------------------------------------------------


def _expected_choice(situation) -> str | None:
    """The course's rule (the library's), the wish read as the lesson asks: argument, then $MNIST_DEVICE."""
    try:
        return str(library.choose_device(situation.cuda, situation.mps, situation.preferred or situation.env))
    except ValueError:
        return REFUSED


def judge_choose_device(data, seed: int) -> None:
    __tracebackhide__ = True
    situations = choice_situations(seed)
    expect(
        type(data) is list and len(data) == len(situations),
        "choose_device was not run in every situation the grader asked for.",
    )
    for situation, outcome in zip(situations, data, strict=True):
        judge_choice(situation, outcome, _expected_choice(situation))


# --- move_batch ---------------------------------------------------------------------------------


def judge_move_batch(data, seed: int) -> None:
    __tracebackhide__ = True
    batches = move_batches(seed)
    moves = data.get("moves") if type(data) is dict else None
    spies = data.get("spies") if type(data) is dict else None
    expect(
        type(moves) is list and len(moves) == len(batches) and type(spies) is list and len(spies) == len(SPY_DEVICES),
        "move_batch was not run on every batch the grader asked for.",
    )
    for observed, (batch_data, batch_target) in zip(moves, batches, strict=True):
        judge_moves(observed, batch_data, batch_target)
    for observed, device in zip(spies, SPY_DEVICES, strict=True):
        judge_spies(observed, device)


# --- load_for_inference --------------------------------------------------------------------------


def judge_load_for_inference(data, seed: int) -> None:
    __tracebackhide__ = True
    calls = loadings(seed)
    expect(
        type(data) is list and len(data) == len(calls),
        "load_for_inference was not run on every checkpoint the grader asked for.",
    )
    for observed, loading in zip(data, calls, strict=True):
        reference = saved_model(loading.weights).eval()
        expected_output = None
        if loading.outputs:
            with torch.no_grad():
                expected_output = reference(probe(seed))
        judge_load(observed, reference, loading, expected_output)


# --- amp_enabled ---------------------------------------------------------------------------------


def reference_amp_enabled(device) -> bool:
    return torch.device(device).type == "cuda"


def check_amp_enabled(answer, seed: int) -> None:
    __tracebackhide__ = True
    amp_enabled_visible(answer)
    for index in (1, 2 + seed % 7):
        expect(
            amp(answer, f"cuda:{index}") is True,
            f"amp_enabled('cuda:{index}') should be True: every CUDA GPU counts, whatever its index — compare "
            "torch.device(device).type.",
        )
    expect(amp(answer, torch.device("cuda", 0)) is True, "amp_enabled(torch.device('cuda', 0)) should be True.")
    expect(
        amp(answer, "mps") is False,
        "amp_enabled('mps') should be False: the course uses float16 autocast on CUDA only.",
    )
    expect(amp(answer, torch.device("cpu")) is False, "amp_enabled(torch.device('cpu')) should be False.")


GRADED = {
    "lesson06.choose_device": Asked(judge_choose_device, library=(library.choose_device, library.use_device)),
    "lesson06.move_batch": Asked(judge_move_batch, library=(library.to_device,)),
    "lesson06.amp_enabled": Replayed(
        check_amp_enabled,
        reference=reference_amp_enabled,
        library=(library.is_cuda, library.autocast_dtype, library.grad_scaler),
    ),
    "lesson06.load_for_inference": Asked(judge_load_for_inference),
}
