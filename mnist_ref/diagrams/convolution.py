"""Lesson 02's pictures: the sliding window with its numbers, padding and stride, channels in and out.

Every number drawn is computed (``F.conv2d``, ``nn.Conv2d`` on the meta device), not typed in.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from torch import nn

from ..plots import _figure

WINDOW = "tab:green"


def _numbers(ax, values: torch.Tensor, fmt: str, fontsize: float = 8) -> None:
    """Write every value of a small 2-D tensor in its cell, dark or light to stay readable."""
    limit = float(values.abs().max()) or 1.0
    for (r, c), v in zip(torch.cartesian_prod(*map(torch.arange, values.shape)).tolist(), values.flatten().tolist()):
        ax.text(
            c,
            r,
            format(v, fmt),
            ha="center",
            va="center",
            fontsize=fontsize,
            color="white" if abs(v) > 0.6 * limit else "black",
        )


def _plain(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def sliding_window(image: torch.Tensor, kernel: torch.Tensor, row: int, col: int) -> Figure:
    """One output pixel of ``F.conv2d(image, kernel)``: the window at (row, col) on the image, its numbers,
    the kernel's, and the output map with the resulting number written in."""
    image, kernel = image.detach().float().cpu().squeeze(), kernel.detach().float().cpu()
    kh, kw = kernel.shape
    output = F.conv2d(image[None, None], kernel[None, None])[0, 0]
    window = image[row : row + kh, col : col + kw]
    value = float(output[row, col])
    fig = _figure(figsize=(12, 3.4), layout="constrained")
    axes = fig.subplots(1, 4, width_ratios=[3, 1.6, 1.6, 3])
    axes[0].imshow(image.numpy(), cmap="gray")
    axes[0].add_patch(Rectangle((col - 0.5, row - 0.5), kw, kh, fill=False, edgecolor=WINDOW, lw=2.5))
    axes[0].set_title(f"image {tuple(image.shape)}, window at ({row}, {col})", fontsize=10)
    limit = float(max(window.abs().max(), kernel.abs().max()))
    axes[1].imshow(window.numpy(), cmap="coolwarm", vmin=-limit, vmax=limit)
    _numbers(axes[1], window, ".2f")
    axes[1].set_title(f"window x[{row}:{row + kh}, {col}:{col + kw}]", fontsize=10)
    axes[2].imshow(kernel.numpy(), cmap="coolwarm", vmin=-limit, vmax=limit)
    _numbers(axes[2], kernel, "g")
    axes[2].set_title("× kernel w, then sum", fontsize=10)
    out_limit = float(output.abs().max()) or 1.0
    axes[3].imshow(output.numpy(), cmap="coolwarm", vmin=-out_limit, vmax=out_limit)
    axes[3].add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False, edgecolor=WINDOW, lw=2.5))
    axes[3].annotate(
        f"{value:.2f}",
        (col, row),
        xytext=(col + 3, row - 2),
        fontsize=11,
        fontweight="bold",
        color=WINDOW,
        arrowprops={"arrowstyle": "->", "color": WINDOW},
    )
    axes[3].set_title(f"output y {tuple(output.shape)}: y[{row}, {col}] = {value:.2f}", fontsize=10)
    for ax in axes:
        _plain(ax)
    return fig


def output_side(n: int, k: int, padding: int, stride: int) -> int:
    """Measured on ``F.conv2d`` itself, so the labels of :func:`padding_and_stride` cannot drift from it."""
    return F.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), padding=padding, stride=stride).shape[-1]


PADDING_STRIDE = ((0, 1), (1, 1), (0, 2), (1, 2))


def padding_and_stride(n: int = 5, k: int = 3, cases=PADDING_STRIDE) -> Figure:
    """The same n x n input under each (padding, stride): padded cells hatched, a dot at the centre of every
    window position, the first window outlined, the output size in the title."""
    fig = _figure(figsize=(3 * len(cases), 3.4), layout="constrained")
    for i, (padding, stride) in enumerate(cases):
        ax = fig.add_subplot(1, len(cases), i + 1)
        side = n + 2 * padding
        for r in range(side):
            for c in range(side):
                padded = not (padding <= r < padding + n and padding <= c < padding + n)
                ax.add_patch(
                    Rectangle(
                        (c, r),
                        1,
                        1,
                        facecolor="0.85" if padded else "white",
                        edgecolor="0.5",
                        hatch="//" if padded else None,
                    )
                )
        out = output_side(n, k, padding, stride)
        starts = [s * stride for s in range(out)]
        ax.plot(
            [c + k / 2 for r in starts for c in starts],
            [r + k / 2 for r in starts for c in starts],
            "o",
            color=WINDOW,
            ms=5,
        )
        ax.add_patch(Rectangle((0, 0), k, k, fill=False, edgecolor=WINDOW, lw=2.5))
        ax.set_xlim(-0.2, side + 0.2)
        ax.set_ylim(side + 0.2, -0.2)
        ax.set_aspect("equal")
        _plain(ax)
        ax.set_title(f"padding {padding}, stride {stride}\n{n}x{n} -> output {out}x{out}", fontsize=10)
    fig.suptitle(f"a {k}x{k} window on a {n}x{n} input: one dot per output pixel (hatched: zeros of the padding)")
    return fig


def _stack(ax, x: float, y: float, size: float, count: int, colour: str, shown: int = 6, step: float = 0.12) -> None:
    """A stack of ``count`` square maps seen at an angle (at most ``shown`` drawn)."""
    for j in reversed(range(min(count, shown))):
        ax.add_patch(
            Rectangle((x + j * step, y + j * step), size, size, facecolor=colour, edgecolor="black", alpha=0.9)
        )


def channels(c_in: int = 32, c_out: int = 64, k: int = 3, side: int = 26) -> Figure:
    """C_in input maps -> C_out kernels of C_in x k x k -> C_out output maps, with the parameter count
    (by default conv2 of the course's ``Net``: 32 -> 64 on 26 x 26 maps)."""
    out_side = side - k + 1
    layer = nn.Conv2d(c_in, c_out, k, device="meta")
    weights, biases = layer.weight.numel(), layer.bias.numel()
    fig = _figure(figsize=(11, 3.6), layout="constrained")
    ax = fig.add_subplot()
    _stack(ax, 0, 0, 2.0, c_in, "tab:blue")
    ax.text(1.3, -0.5, f"input: {c_in} maps\n{side} x {side}", ha="center", va="top", fontsize=10)
    for j, x in enumerate((3.7, 4.7, 6.3)):
        _stack(ax, x, 0.6, 0.7, c_in, "tab:orange", step=0.08)
        ax.text(x + 0.5, 0.35, f"kernel {j if j < 2 else c_out - 1}", ha="center", va="top", fontsize=8)
    ax.text(5.85, 0.8, "…", fontsize=16, ha="center")
    ax.text(
        5.3,
        -0.5,
        f"{c_out} kernels, each {c_in} x {k} x {k}\n(one {k}x{k} slice per input map)",
        ha="center",
        va="top",
        fontsize=10,
    )
    _stack(ax, 8.3, 0.1, 1.8, c_out, "tab:green")
    ax.text(9.5, -0.5, f"output: {c_out} maps\n{out_side} x {out_side}", ha="center", va="top", fontsize=10)
    for x0, x1 in ((2.9, 3.6), (7.3, 8.1)):
        ax.annotate("", (x1, 1.2), (x0, 1.2), arrowprops={"arrowstyle": "->", "lw": 2})
    ax.text(
        5.3,
        3.0,
        f"each output map: sum over the {c_in} input maps of (map * its kernel slice) + 1 bias\n"
        f"parameters: {c_out} x ({c_in} x {k} x {k}) = {weights:,} weights + {biases} biases = {weights + biases:,}",
        ha="center",
        va="center",
        fontsize=10,
    )
    ax.set_xlim(-0.3, 11)
    ax.set_ylim(-1.6, 3.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"nn.Conv2d({c_in}, {c_out}, {k}): channels in and out", fontsize=11)
    return fig
