"""Lesson 03's graded checks.

* ``max_pool_2x2`` and ``flatten_size`` are replayed: the visible cases, then other shapes (not
  square, all negative, ties, conv2's output) and other image sizes (odd ones, where a pool rounds
  down), varied with the seed. The side lengths of any image size are computed here only.
* ``ClassifierHead`` and ``Net`` are asked: the kernel reports models of the learner's class on the
  grader's inputs with the grader's weights (:mod:`mnist_ref.checks.lesson03.networks`), and the
  course's model checks judge that report here, against the reference computed here.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from mnist_ref.checks.architecture import FEATURE_SHAPE, SPATIAL_STEPS, reference_forward
from mnist_ref.checks.fixtures import seeded
from mnist_ref.checks.lesson03.networks import HEAD, NET, head_cases, judge_cases, net_cases
from mnist_ref.checks.lesson03.pooling import compare_pool, flatten_compare, flatten_visible, max_pool_visible
from mnist_ref.model import Net as ReferenceNet

from .graded import Asked, Replayed

# --- max_pool_2x2 --------------------------------------------------------------------------------


def reference_max_pool_2x2(x: torch.Tensor) -> torch.Tensor:
    """Without F.max_pool2d, which the check switches off while the answer runs."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))


def check_max_pool_2x2(answer, seed: int) -> None:
    __tracebackhide__ = True
    max_pool_visible(answer)
    compare_pool(answer, seeded(seed + 1, 3, 5, 10, 4))  # not square
    compare_pool(answer, -seeded(seed + 2, 2, 2, 6, 6).abs() - 1.0)  # every value negative
    compare_pool(answer, seeded(seed + 3, 1, 1, 2, 2))  # one window
    compare_pool(answer, seeded(seed + 4, 4, 64, 24, 24))  # what conv2 hands to the pool
    compare_pool(answer, torch.zeros(1, 2, 4, 4))  # ties


# --- flatten_size --------------------------------------------------------------------------------


def _first(value) -> int:
    return value[0] if isinstance(value, tuple) else value


def _side_after(module: nn.Module, n: int, round_up: bool) -> int:
    """Output side length of a conv or pool for an n x n input (the formula of the PyTorch docs)."""
    span = n + 2 * _first(module.padding) - _first(module.dilation) * (_first(module.kernel_size) - 1) - 1
    stride = _first(module.stride)
    return (-(-span // stride) if round_up else span // stride) + 1


def side_lengths(size: int, pools_round_up: bool = False) -> list[int]:
    """Side length after conv1, conv2, pool, conv3, conv4, pool for a size x size input.

    ``pools_round_up``: what a learner gets who rounds an odd side length up when pooling."""
    sizes = []
    for step in SPATIAL_STEPS:
        size = _side_after(step.module, size, pools_round_up and isinstance(step.module, nn.MaxPool2d))
        sizes.append(size)
    return sizes


def reference_flatten_size(size: int = 28) -> int:
    """Number of features fc1 would receive from a size x size input (4096 for 28)."""
    return FEATURE_SHAPE[0] * side_lengths(size)[-1] ** 2


def walk_text(size: int) -> str:
    """'28 -> 26 -> 24 -> 12 -> 10 -> 8 -> 4' for size 28."""
    return " -> ".join(str(s) for s in [size] + side_lengths(size))


def check_flatten_size(answer, seed: int) -> None:
    __tracebackhide__ = True
    flatten_visible(answer)
    for size in (32, 30, 29, 36, 40, 33, 29 + seed % 60):
        rounded_up = FEATURE_SHAPE[0] * side_lengths(size, pools_round_up=True)[-1] ** 2
        flatten_compare(answer, size, side_lengths(size)[-1], walk_text(size), rounded_up)


# --- ClassifierHead and Net ----------------------------------------------------------------------


def judge_classifier_head(data, seed: int) -> None:
    __tracebackhide__ = True
    judge_cases(data, HEAD, head_cases(seed))


def judge_net(data, seed: int) -> None:
    __tracebackhide__ = True
    judge_cases(data, NET, net_cases(seed))


# The course model and its functional replay: a head or a Net that is, wraps or calls them is refused.
MODEL_LIBRARY = (ReferenceNet, ReferenceNet.forward, ReferenceNet.__init__, reference_forward)

GRADED = {
    "lesson03.max_pool_2x2": Replayed(
        check_max_pool_2x2,
        reference=reference_max_pool_2x2,
        library=(F.max_pool2d, torch.max_pool2d, nn.MaxPool2d, F.max_pool2d_with_indices),
    ),
    "lesson03.flatten_size": Replayed(
        check_flatten_size, reference=reference_flatten_size, library=(reference_flatten_size, side_lengths)
    ),
    "lesson03.ClassifierHead": Asked(judge_classifier_head, library=MODEL_LIBRARY),
    "lesson03.Net": Asked(judge_net, library=MODEL_LIBRARY),
}
