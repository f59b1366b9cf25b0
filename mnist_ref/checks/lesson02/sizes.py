"""Lesson 02's checks of a conv's arithmetic: ``conv_output_size`` (n + 2p - k) // s + 1 and
``conv_parameters`` (k*k*c_in + 1) * c_out."""

from __future__ import annotations

import numbers

import torch
from torch import nn

from ..framework import CheckFailed, Exercise, call, expect

# --- exercise 3: conv_output_size ------------------------------------------------------------------


def reference_output_size(n: int, k: int, padding: int = 0, stride: int = 1) -> int:
    return (n + 2 * padding - k) // stride + 1


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


def _compare_size(answer, n: int, k: int, padding: int = 0, stride: int = 1) -> None:
    __tracebackhide__ = True
    what = (
        f"conv_output_size({n}, {k}"
        + (f", padding={padding}" if padding else "")
        + (f", stride={stride}" if stride != 1 else "")
        + ")"
    )
    value = _int_result(call(answer, n, k, padding=padding, stride=stride, what=what), what)
    expected = reference_output_size(n, k, padding, stride)
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


def _size_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_size(answer, 28, 3)
    _compare_size(answer, 26, 3)
    _compare_size(answer, 28, 3, padding=1)
    _compare_size(answer, 7, 3, stride=2)
    _compare_size(answer, 8, 3, stride=2)
    return "28 -> 26 -> 24 for conv1 and conv2; padding=1 keeps 28; stride 2 rounds down."


def _size_strict(answer) -> None:
    __tracebackhide__ = True
    for n in (1, 4, 5, 12, 24, 28, 31, 32):
        for k in (1, 2, 3, 5):
            for padding in (0, 1, 2):
                for stride in (1, 2, 3):
                    if n + 2 * padding >= k:
                        _compare_size(answer, n, k, padding=padding, stride=stride)


conv_output_size = Exercise(
    title="conv_output_size",
    visible=_size_visible,
    strict=_size_strict,
    hint_text="(n + 2 * padding - kernel) // stride + 1: the window's first position is 0, its last is n + 2p - k, "
    "and it moves s pixels at a time. Use // so that the result is an int.",
)


# --- exercise 4: conv_parameters -------------------------------------------------------------------


def reference_parameters(c_in: int, c_out: int, k: int) -> int:
    return sum(p.numel() for p in nn.Conv2d(c_in, c_out, k).parameters())


def _compare_parameters(answer, c_in: int, c_out: int, k: int) -> None:
    __tracebackhide__ = True
    what = f"conv_parameters({c_in}, {c_out}, {k})"
    value = _int_result(call(answer, c_in, c_out, k, what=what), what)
    expected = (k * k * c_in + 1) * c_out
    if value == expected:
        return
    formula = f"(k*k*c_in + 1) * c_out = ({k}*{k}*{c_in} + 1) * {c_out} = {expected:,}"
    if value == k * k * c_in * c_out:
        why = "the biases are missing: each output channel has one bias"
    elif value == k * k * c_in * c_out + c_in and c_in == 1:
        why = (
            "there must be one bias per OUTPUT channel, not one in all (nor one per input channel, nor are c_in and "
            "c_out swapped): each output channel has one kernel of k*k*c_in weights and one bias"
        )
    elif value == k * k * c_in * c_out + c_in:
        why = (
            "there is one bias per INPUT channel (or c_in and c_out are swapped): each OUTPUT channel has one "
            "kernel of k*k*c_in weights and one bias"
        )
    elif value == k * k * c_in * c_out + 1:
        why = "there is one bias per output channel, not one in all"
    elif value == (c_in + 1) * c_out:
        why = "each weight is a k x k kernel: multiply by k*k"
    elif value == (k * c_in + 1) * c_out:
        why = "a k x k kernel has k*k weights, not k"
    elif value == (k * k + 1) * c_out:
        why = "each output channel has a kernel for EVERY input channel: k*k*c_in weights"
    elif value == (k * k + 1) * c_in * c_out:
        why = "there is one bias per output channel, not one per (input, output) pair"
    else:
        why = "each of the c_out output channels has k*k*c_in weights and 1 bias"
    raise CheckFailed(f"{what} returned {value:,}; expected {formula}: {why}.")


def _parameters_visible(answer) -> str:
    __tracebackhide__ = True
    _compare_parameters(answer, 1, 32, 3)
    _compare_parameters(answer, 32, 64, 3)
    return "conv1 has 320 parameters, conv2 18,496."


def _parameters_strict(answer) -> None:
    __tracebackhide__ = True
    for c_in, c_out, k in [(64, 128, 3), (128, 256, 3), (3, 16, 5), (16, 3, 5), (1, 1, 1), (7, 2, 1), (2, 7, 7)]:
        _compare_parameters(answer, c_in, c_out, k)
        expect(reference_parameters(c_in, c_out, k) == (k * k * c_in + 1) * c_out, "internal: nn.Conv2d count")


conv_parameters = Exercise(
    title="conv_parameters",
    visible=_parameters_visible,
    strict=_parameters_strict,
    hint_text="Each output channel has one kernel per input channel (k*k*c_in weights in all) and one bias.",
)
