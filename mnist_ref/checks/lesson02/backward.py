"""Lesson 02's check of the backward pass written by hand: ``conv2d_backward``.

For ``y = conv2d(image, kernel)`` (one channel, no padding, stride 1) and an upstream gradient
``grad_out = dL/dy``, the learner returns ``(dL/dimage, dL/dkernel)``. The expected values come from
autograd, run here outside the learner's function; inside it autograd and the library convolutions
are switched off. The grader's cases live on the instructor's side (``mnist_course.checks.lesson02``),
which reuses the comparison and messages below.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..fixtures import seeded
from ..framework import CheckFailed, Exercise, UsedLibraryFunction, call, expect, expect_tensor, forbid


def autograd_gradients(image: torch.Tensor, kernel: torch.Tensor, grad_out: torch.Tensor):
    """(dL/dimage, dL/dkernel) for L = sum(grad_out * conv2d(image, kernel)), by autograd."""
    image = image.detach().clone().requires_grad_(True)
    kernel = kernel.detach().clone().requires_grad_(True)
    F.conv2d(image[None, None], kernel[None, None])[0, 0].backward(grad_out)
    return image.grad, kernel.grad


def numerical_gradient(f, x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Central differences (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for every entry i, in float64."""
    x = x.detach().double().clone()
    grad = torch.zeros_like(x)
    flat, out = x.view(-1), grad.view(-1)
    for i in range(flat.numel()):
        saved = flat[i].item()
        flat[i] = saved + eps
        up = float(f(x))
        flat[i] = saved - eps
        down = float(f(x))
        flat[i] = saved
        out[i] = (up - down) / (2 * eps)
    return grad


def _no_shortcuts():
    """Autograd and the library convolutions (whose backward is the answer) raise inside the learner's code."""
    return forbid(
        (torch.autograd, "grad"),
        (torch.autograd, "backward"),  # Tensor.backward goes through it
        (F, "conv2d"),
        (torch, "conv2d"),
        (F, "conv_transpose2d"),
        (torch, "conv_transpose2d"),
        (torch.nn.grad, "conv2d_input"),
        (torch.nn.grad, "conv2d_weight"),
    )


def _full_correlation(grad_out: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """grad_out padded by k - 1 on each side, cross-correlated with ``kernel`` as given."""
    kh, kw = kernel.shape
    padded = F.pad(grad_out[None, None], (kw - 1, kw - 1, kh - 1, kh - 1))
    return F.conv2d(padded, kernel[None, None])[0, 0]


def compare_backward(answer, image: torch.Tensor, kernel: torch.Tensor, grad_out: torch.Tensor) -> None:
    """``answer(image, kernel, grad_out)`` must return autograd's (dL/dimage, dL/dkernel); names the slips."""
    __tracebackhide__ = True
    h, w = image.shape
    kh, kw = kernel.shape
    what = f"conv2d_backward on a {h}x{w} image, {kh}x{kw} kernel, grad_out {tuple(grad_out.shape)}"
    originals = [image.clone(), kernel.clone(), grad_out.clone()]
    try:
        with _no_shortcuts():
            result = call(answer, image, kernel, grad_out, what=what)
    except CheckFailed as failure:
        if isinstance(failure.__cause__, UsedLibraryFunction):
            raise CheckFailed(
                f"{what} calls autograd (.backward, torch.autograd.grad) or a library convolution: derive the "
                "gradients by hand (loops, slicing, or your own conv2d_loops). Autograd is what we compare with."
            ) from None
        raise
    for name, a, original in zip(("image", "kernel", "grad_out"), (image, kernel, grad_out), originals):
        expect(torch.equal(a, original), f"{what} changed {name} in place; compute new tensors instead.")
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"{what} should return a pair (grad_image, grad_kernel), got {type(result).__name__}.",
    )
    grad_image, grad_kernel = (
        expect_tensor(g, f"{what}: {name}") for g, name in zip(result, ("grad_image", "grad_kernel"))
    )
    want_image, want_kernel = autograd_gradients(image, kernel, grad_out)
    shapes = (tuple(grad_image.shape), tuple(grad_kernel.shape))
    if shapes != (tuple(want_image.shape), tuple(want_kernel.shape)):
        if shapes == (tuple(want_kernel.shape), tuple(want_image.shape)):
            why = "the two gradients are swapped: return (grad_image, grad_kernel) in that order"
        elif shapes[0] != tuple(want_image.shape):
            why = (
                f"grad_image has shape {shapes[0]}, but a gradient has the shape of what it is taken with respect to: "
                f"the image, {tuple(want_image.shape)}"
                + (
                    " (not the output's shape: every image pixel gets a gradient)"
                    if shapes[0] == tuple(grad_out.shape)
                    else ""
                )
            )
        else:
            why = (
                f"grad_kernel has shape {shapes[1]}, but it must have the kernel's shape {tuple(want_kernel.shape)}: "
                "each weight's gradient sums its contributions over ALL output positions (i, j)"
            )
        raise CheckFailed(f"{what}: {why}.")
    grad_image, grad_kernel = grad_image.to(want_image.dtype), grad_kernel.to(want_kernel.dtype)

    def same(a: torch.Tensor, b: torch.Tensor) -> bool:
        return torch.allclose(a, b, atol=1e-4, rtol=1e-4)

    problems = []
    if not same(grad_image, want_image):
        if same(grad_image, _full_correlation(grad_out, kernel)):
            problems.append(
                "grad_image uses the kernel as it is; pixel image[p, q] meets kernel[a, b] in output (p - a, q - b), "
                "so grad_image is grad_out (zero-padded by k - 1) correlated with the FLIPPED kernel"
            )
        elif same(grad_image, _full_correlation(torch.ones_like(grad_out), kernel.flip(0, 1))):
            problems.append("grad_image ignores grad_out: each contribution is weighted by grad_out[i, j] (chain rule)")
        else:
            problems.append(
                "grad_image is wrong: image[p, q] gets grad_out[i, j] * kernel[a, b] from every output (i, j) whose "
                "window covers it, i.e. for p = i + a, q = j + b"
            )
    if not same(grad_kernel, want_kernel):
        windows = F.conv2d(image[None, None], grad_out[None, None])[0, 0]
        if same(grad_kernel, windows.flip(0, 1)):
            problems.append(
                "grad_kernel is flipped: grad_kernel[a, b] = sum over (i, j) of grad_out[i, j] * image[i + a, j + b], "
                "a cross-correlation of the image with grad_out, without flip"
            )
        elif same(grad_kernel, F.conv2d(image[None, None], torch.ones_like(grad_out)[None, None])[0, 0]):
            problems.append("grad_kernel ignores grad_out: each window is weighted by grad_out[i, j] (chain rule)")
        elif same(grad_kernel, _full_correlation(grad_out, kernel.flip(0, 1))[:kh, :kw]):
            problems.append(
                "grad_kernel looks like a piece of grad_image: it multiplies the IMAGE's windows, not the kernel"
            )
        else:
            problems.append(
                "grad_kernel is wrong: sum over all outputs (i, j) of grad_out[i, j] times the image window at (i, j)"
            )
    if problems:
        raise CheckFailed(f"{what}: " + "; ".join(problems) + ".")


def backward_visible(answer) -> str:
    __tracebackhide__ = True
    image = torch.tensor(
        [[1.0, 2.0, 0.0, 1.0], [0.0, 1.0, 3.0, 2.0], [2.0, 0.0, 1.0, 0.0], [1.0, 3.0, 2.0, 1.0]]
    )  # the 4x4 of the lesson's worked example
    kernel = torch.tensor([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [1.0, 0.0, -2.0]])
    compare_backward(answer, image, kernel, torch.tensor([[1.0, -1.0], [2.0, 0.5]]))
    compare_backward(answer, seeded(0, 6, 5, integers=True), seeded(1, 3, 3, integers=True), seeded(2, 4, 3))
    return "both gradients match autograd (and so the numerical gradient) on a 4x4 and a 6x5 image."


conv2d_backward = Exercise(
    title="conv2d_backward",
    visible=backward_visible,
    key="lesson02.conv2d_backward",
    hint_text="Write out which output pixels each input pixel and each weight takes part in, then sum.",
)
