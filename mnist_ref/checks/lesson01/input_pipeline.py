"""Lesson 01's checks of the input pipeline: ``make_transform`` and ``batch_sizes``.

The visible checks compare with expected values written out here. ``make_transform`` returns an
object, so the grader asks for it (:func:`_ask_transform`): the learner's transform applied to
the grader's images (:func:`transform_cases`), reported as plain data and judged elsewhere.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import torch
from PIL import Image

from mnist_ref.data import MNIST_MEAN, MNIST_STD

from ..fixtures import seeded_uint8
from ..framework import CheckFailed, Exercise, NotAttempted, call, expect, expect_tensor

# --- exercise 3: make_transform -----------------------------------------------------------------


def pil_image(pixels: torch.Tensor) -> Image.Image:
    """A grayscale ('L') PIL image from a (H, W) uint8 tensor, as torchvision's MNIST hands to its transform."""
    return Image.fromarray(pixels.numpy())


def digit_like(seed: int, h: int = 28, w: int = 28) -> torch.Tensor:
    """A (h, w) uint8 image: a bright random blob on black, vaguely like a digit."""
    image = seeded_uint8(seed, 1, h, w, dark_fraction=[0.7])[0]
    image[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3] = 255
    return image


@dataclass(frozen=True)
class TransformCase:
    """``make_transform(mean, std)`` applied to the PIL image of ``pixels``."""

    mean: float
    std: float
    pixels: torch.Tensor  # (H, W) uint8
    label: str  # "a 28x28 image"
    exact: bool = False  # must match ToTensor + Normalize to 1e-6, not only 1e-5

    @property
    def what(self) -> str:
        return f"make_transform({self.mean}, {self.std}) applied to {self.label}"


def transform_cases(seed: int) -> list[TransformCase]:
    """The grader's cases: the visible ones, black and white, other sizes and statistics, then seeded ones."""
    generator = torch.Generator().manual_seed(seed)
    h, w = (int(v) for v in torch.randint(3, 33, (2,), generator=generator))
    mean, std = (round(float(v), 4) for v in torch.rand(2, generator=generator) * 0.8 + 0.1)
    black, white = torch.zeros(28, 28, dtype=torch.uint8), torch.full((28, 28), 255, dtype=torch.uint8)
    return [
        *(case for case, _, _ in VISIBLE_TRANSFORMS),
        TransformCase(MNIST_MEAN, MNIST_STD, black, "a black image"),
        TransformCase(MNIST_MEAN, MNIST_STD, white, "a white image"),
        TransformCase(0.2, 0.7, digit_like(2, 10, 6), "a 10x6 image"),
        TransformCase(0.0, 1.0, digit_like(3), "a 28x28 image"),
        TransformCase(MNIST_MEAN, MNIST_STD, digit_like(seed + 4), "a 28x28 image", exact=True),
        TransformCase(mean, std, digit_like(seed + 5, h, w), f"a {h}x{w} image"),
    ]


def _transform_of(answer, mean: float, std: float):
    __tracebackhide__ = True
    what = f"make_transform({mean}, {std})"
    transform = call(answer, mean, std, what=what)
    expect(
        not isinstance(transform, torch.Tensor),
        f"{what} returned a tensor; it should return the transform itself (e.g. transforms.Compose([...])), which "
        "torchvision then applies to every image.",
    )
    expect(
        callable(transform),
        f"{what} returned a {type(transform).__name__}; it should return a transform, e.g. transforms.Compose([...]).",
    )
    return transform


def _check_output(out, pixels: torch.Tensor, what: str) -> torch.Tensor:
    """The transform's result must be a float32 tensor of shape (1, H, W)."""
    __tracebackhide__ = True
    out = expect_tensor(out, f"{what}'s result")
    h, w = pixels.shape
    if tuple(out.shape) == (h, w):
        raise CheckFailed(
            f"{what} gives shape {(h, w)}; expected (1, {h}, {w}): keep the channel dimension (ToTensor adds it)."
        )
    if tuple(out.shape) == (h, w, 1):
        raise CheckFailed(f"{what} gives shape {(h, w, 1)} (channels last); expected (1, {h}, {w}), as ToTensor gives.")
    expect(
        tuple(out.shape) == (1, h, w),
        f"{what} gives shape {tuple(out.shape)}; expected (1, {h}, {w}): one channel, then height and width.",
    )
    expect(
        out.dtype == torch.float32,
        f"{what} gives dtype {out.dtype}; expected torch.float32 "
        "(ToTensor's dtype, which the model's weights use too).",
    )
    return out


def _apply(transform, pixels: torch.Tensor, what: str) -> torch.Tensor:
    __tracebackhide__ = True
    try:
        out = call(transform, pil_image(pixels), what=what)
    except CheckFailed as failure:
        text = str(failure.__cause__ or "")
        if "Tensor Image" in text or ("PIL" in text and "Tensor" in text):
            raise CheckFailed(
                f"{what} fails on a PIL image: {text}. Normalize only works on tensors, so "
                "transforms.ToTensor() must come BEFORE transforms.Normalize(...) in the Compose list."
            ) from None
        if "float tensor" in text:
            raise CheckFailed(
                f"{what} fails: {text}. PILToTensor keeps the uint8 values 0..255; use transforms.ToTensor(), "
                "which also converts to float and scales to [0, 1]."
            ) from None
        raise
    return _check_output(out, pixels, what)


def _transformed(answer, case: TransformCase) -> torch.Tensor:
    """The learner's ``make_transform(case.mean, case.std)`` applied to the case's image."""
    __tracebackhide__ = True
    return _apply(_transform_of(answer, case.mean, case.std), case.pixels, case.what)


def _judge_values(out: torch.Tensor, case: TransformCase, expected: torch.Tensor) -> None:
    """``out`` (float32, (1, H, W)) must be ``expected``; a wrong answer's message names its mistake."""
    __tracebackhide__ = True
    out, expected, mean, std = out.double(), expected.double(), case.mean, case.std
    if torch.allclose(out, expected, atol=1e-5):
        return
    x = case.pixels.double().unsqueeze(0)
    stories = [
        (
            x / 255,
            "gives values in [0, 1]: Normalize is missing (add transforms.Normalize((mean,), (std,)) after ToTensor)",
        ),
        ((x / 255 - std) / mean, "mean and std are swapped: transforms.Normalize takes (mean,) first, then (std,)"),
        ((x - mean) / std, "normalizes pixel values 0..255: scale them to [0, 1] first with ToTensor"),
        (x / 255 - mean, "subtracts the mean but does not divide by the std"),
        (x / 255 * std + mean, "multiplies by std and adds the mean: that is the inverse of Normalize"),
        (
            (x / 255 - MNIST_MEAN) / MNIST_STD,
            f"uses MNIST's numbers ({MNIST_MEAN}, {MNIST_STD}) instead of the mean and std arguments",
        ),
        (((x / 255 - mean) / std - mean) / std, "normalizes twice"),
    ]
    for values, story in stories:
        if torch.allclose(out, values, atol=1e-5):
            raise CheckFailed(f"{case.what} {story}.")
    worst = (out - expected).abs().max().item()
    raise CheckFailed(
        f"{case.what}: the values differ from (pixel / 255 - mean) / std by up to {worst:.3g}. "
        "The transform is transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])."
    )


# The visible cases, each with its expected output written as pixel * scale + shift (the pixels are 0..255).
VISIBLE_TRANSFORMS = [
    (TransformCase(MNIST_MEAN, MNIST_STD, digit_like(0), "a 28x28 image"), 0.012728233130318, -0.424212917883804),
    (TransformCase(0.5, 0.25, digit_like(1), "a 28x28 image"), 0.015686274509804, -2.0),
]


def _transform_visible(answer) -> str:
    __tracebackhide__ = True
    for case, scale, shift in VISIBLE_TRANSFORMS:
        _judge_values(_transformed(answer, case), case, case.pixels.double().unsqueeze(0) * scale + shift)
    return "PIL image -> (1, 28, 28) float tensor; black becomes -0.4242, white 2.8215."


def _ask_transform(answer, seed: int) -> dict:
    """For the grader: the learner's transform applied to the grader's images, as data (a tensor, or
    the message of what went wrong). Judged on the instructor's side, which recomputes the cases."""
    outcomes = []
    for case in transform_cases(seed):
        try:
            out = _transformed(answer, case)
        except NotAttempted:
            raise
        except CheckFailed as failure:
            outcomes.append({"failure": str(failure)})
        else:  # a tensor subclass (torchvision.tv_tensors.Image from transforms.v2) crosses as a plain tensor
            outcomes.append({"output": torch.Tensor.as_subclass(out.detach(), torch.Tensor)})
    return {"cases": outcomes}


make_transform = Exercise(
    title="make_transform",
    visible=_transform_visible,
    key="lesson01.make_transform",
    ask=_ask_transform,
    hint_text="transforms.Compose([...]) chains transforms in list order: first transforms.ToTensor() (PIL -> float "
    "tensor in [0, 1]), then transforms.Normalize((mean,), (std,)).",
)


# --- exercise 4: batch_sizes --------------------------------------------------------------------


def _as_int_list(value, what: str) -> list[int]:
    __tracebackhide__ = True
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    expect(isinstance(value, (list, tuple)), f"{what} should return a list of batch sizes, got {type(value).__name__}.")
    for v in value:
        expect(
            isinstance(v, numbers.Integral) or (isinstance(v, float) and v.is_integer()),
            f"{what} contains {v!r}; every batch size is a whole number of examples (use // for division).",
        )
    return [int(v) for v in value]


def _compare_batches(answer, n: int, batch_size: int, drop_last: bool, expected: list[int]) -> None:
    """``answer(n, batch_size, drop_last=...)`` must be ``expected``; a wrong answer's message names its mistake."""
    __tracebackhide__ = True
    what = f"batch_sizes({n}, {batch_size}" + (", drop_last=True)" if drop_last else ")")
    got = _as_int_list(call(answer, n, batch_size, drop_last=drop_last, what=what), what)
    if got == expected:
        return
    shown = f"{got}" if len(got) <= 12 else f"{len(got)} batches ending in {got[-3:]}"
    wanted = f"{expected}" if len(expected) <= 12 else f"{len(expected)} batches ending in {expected[-3:]}"
    full, rest = divmod(n, batch_size)
    if not drop_last and rest and got == expected[:-1]:
        raise CheckFailed(
            f"{what} = {shown}: the last, smaller batch is missing; expected {wanted}. "
            f"{n} = {full} x {batch_size} + {rest}: the DataLoader still yields the {rest} left over (unless "
            "drop_last=True)."
        )
    if drop_last and rest and got == expected + [rest]:
        raise CheckFailed(
            f"{what} = {shown}: with drop_last=True the incomplete last batch of {rest} is dropped; expected {wanted}."
        )
    if rest and len(got) == len(expected) and got[-1] == batch_size:
        raise CheckFailed(
            f"{what} = {shown}: the last batch can't be full; it holds the {rest} examples left over; expected "
            f"{wanted}."
        )
    if got and got[-1] == 0:
        raise CheckFailed(f"{what} = {shown}: there is no empty batch at the end; expected {wanted}.")
    if sum(got) != sum(expected):
        raise CheckFailed(
            f"{what} = {shown} holds {sum(got)} examples; expected {wanted}, which holds "
            f"{sum(expected)}: each example appears in exactly one batch"
            + (" (the incomplete last batch is dropped)." if drop_last else ".")
        )
    raise CheckFailed(f"{what} = {shown}; expected {wanted}.")


VISIBLE_BATCHES = [  # (n_examples, batch_size, drop_last, the sizes of the batches)
    (10, 4, False, [4, 4, 2]),
    (10, 4, True, [4, 4]),
    (8, 4, False, [4, 4]),
]


def _batch_sizes_visible(answer) -> str:
    __tracebackhide__ = True
    for n, batch_size, drop_last, expected in VISIBLE_BATCHES:
        _compare_batches(answer, n, batch_size, drop_last, expected)
    return "10 examples in batches of 4 give [4, 4, 2], or [4, 4] with drop_last=True."


batch_sizes = Exercise(
    title="batch_sizes",
    visible=_batch_sizes_visible,
    key="lesson01.batch_sizes",
    hint_text="divmod(n_examples, batch_size) gives the number of full batches and the number left over; the "
    "left-over examples form one more, smaller batch unless drop_last is True (or nothing is left over).",
)
