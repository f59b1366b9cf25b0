"""Lesson 02's checks of a conv's arithmetic: ``conv_output_size`` and ``conv_parameters``.

The visible cases carry their expected values written out; the grader's cases, with the
references, live on the instructor's side (``mnist_course.checks.lesson02``), which reuses the
comparisons and messages below.
"""

from __future__ import annotations

import numbers

import torch

from ..framework import CheckFailed, Exercise, call, expect

# --- exercise 3: conv_output_size ------------------------------------------------------------------


def _int_result(value, what: str) -> int:
    __tracebackhide__ = True
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    expect(
        isinstance(value, numbers.Number) and not isinstance(value, bool),
        f"{what} should return a number, got {type(value).__name__}.",
    )
    if not isinstance(value, numbers.Integral):
        raise CheckFailed(
            f"{what} returned the float {value}: a size is a whole number of pixels. "
            "Use // (integer division), which also rounds down when the stride does not divide evenly."
        )
    return int(value)


def compare_size(answer, expected: int, n: int, k: int, padding: int = 0, stride: int = 1) -> None:
    """``answer(n, k, padding=padding, stride=stride)`` must be the int ``expected``; names the usual slips."""
    __tracebackhide__ = True
    what = (
        f"conv_output_size({n}, {k}"
        + (f", padding={padding}" if padding else "")
        + (f", stride={stride}" if stride != 1 else "")
        + ")"
    )
    value = _int_result(call(answer, n, k, padding=padding, stride=stride, what=what), what)
    if value == expected:
        return
    formula = f"(n + 2p - k) // s + 1 = ({n} + {2 * padding} - {k}) // {stride} + 1 = {expected}"
    span = n + 2 * padding - k
    if padding and value == (n + padding - k) // stride + 1:
        why = "padding is added on BOTH sides, so it counts twice: 2p"
    elif value in (expected - 1, expected + 1) and stride == 1:
        why = f"off by one: a {k}-wide window fits in n + 2p - k + 1 positions"
    elif value == -(-span // stride) + 1:
        why = (
            "rounded up; when the stride does not divide n + 2p - k, the last incomplete step is dropped: round "
            "down with //"
        )
    elif value == (span + 1) // stride or value == (n + 2 * padding - k + 1) // stride:
        why = "the + 1 comes after the division by the stride"
    elif value == span + 1:
        why = "the stride is ignored: divide n + 2p - k by s"
    elif value == (n - k) // stride + 1:
        why = "the padding is ignored: it adds p pixels on each side"
    else:
        why = "use the formula"
    raise CheckFailed(f"{what} returned {value}; expected {formula}: {why}.")


VISIBLE_SIZES = [  # (expected, n, k, padding, stride)
    (26, 28, 3, 0, 1),  # conv1
    (24, 26, 3, 0, 1),  # conv2
    (28, 28, 3, 1, 1),
    (3, 7, 3, 0, 2),
    (3, 8, 3, 0, 2),  # the stride does not divide 8 - 3: rounded down
]


def size_visible(answer) -> str:
    __tracebackhide__ = True
    for expected, n, k, padding, stride in VISIBLE_SIZES:
        compare_size(answer, expected, n, k, padding=padding, stride=stride)
    return "28 -> 26 -> 24 for conv1 and conv2; padding=1 keeps 28; stride 2 rounds down."


conv_output_size = Exercise(
    title="conv_output_size",
    visible=size_visible,
    key="lesson02.conv_output_size",
    hint_text="(n + 2 * padding - kernel) // stride + 1: the window's first position is 0, its last is n + 2p - k, "
    "and it moves s pixels at a time. Use // so that the result is an int.",
)


# --- exercise 4: conv_parameters -------------------------------------------------------------------


def compare_parameters(answer, expected: int, c_in: int, c_out: int, k: int) -> None:
    """``answer(c_in, c_out, k)`` must be the int ``expected``; the message names the misconception behind a
    wrong count (a forgotten bias, a forgotten c_in...), not the formula."""
    __tracebackhide__ = True
    what = f"conv_parameters({c_in}, {c_out}, {k})"
    value = _int_result(call(answer, c_in, c_out, k, what=what), what)
    if value == expected:
        return
    if value == k * k * c_in * c_out:
        why = "the biases are missing: they are parameters too, one for each output channel"
    elif value == k * k * c_in * c_out + c_in and c_in == 1:
        why = (
            "there must be one bias per OUTPUT channel, not one in all (nor one per input channel, nor are c_in and "
            "c_out swapped)"
        )
    elif value == k * k * c_in * c_out + c_in:
        why = "there is one bias per INPUT channel (or c_in and c_out are swapped): the biases belong to the outputs"
    elif value == k * k * c_in * c_out + 1:
        why = "there is one bias per output channel, not one in all"
    elif value == (c_in + 1) * c_out:
        why = "each input channel contributes a whole k x k kernel, not one weight: multiply by k*k"
    elif value == (k * c_in + 1) * c_out:
        why = "a k x k kernel has k*k weights, not k"
    elif value == (k * k + 1) * c_out:
        why = "c_in is forgotten: each output channel has a k x k kernel for EVERY input channel"
    elif value == (k * k + 1) * c_in * c_out:
        why = "there is one bias per output channel, not one per (input, output) pair"
    else:
        why = (
            "none of the usual slips (forgotten biases, a kernel for one input channel only, k weights instead of "
            "k*k) explains it: count the weights and biases that ONE output channel owns, then all output channels"
        )
    raise CheckFailed(f"{what} returned {value:,}; expected {expected:,}: {why}.")


VISIBLE_PARAMETERS = [(320, 1, 32, 3), (18_496, 32, 64, 3)]  # (expected, c_in, c_out, k) of conv1 and conv2


def parameters_visible(answer) -> str:
    __tracebackhide__ = True
    for expected, c_in, c_out, k in VISIBLE_PARAMETERS:
        compare_parameters(answer, expected, c_in, c_out, k)
    return "conv1 has 320 parameters, conv2 18,496."


conv_parameters = Exercise(
    title="conv_parameters",
    visible=parameters_visible,
    key="lesson02.conv_parameters",
    hint_text="Each output channel has one kernel per input channel (k*k*c_in weights in all) and one bias.",
)
