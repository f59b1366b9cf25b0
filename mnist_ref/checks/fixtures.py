"""Inputs the checks of several lessons share: seeded tensors, synthetic batches, spy models.

Everything here is deterministic and never touches MNIST, so a check gives the same verdict on
every machine in a fraction of a second.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

CPU = torch.device("cpu")

# --- seeded tensors --------------------------------------------------------------------------------


def seeded(seed: int, *shape, integers: bool = False) -> torch.Tensor:
    """A random float tensor from its own generator (the learner's random state stays untouched)."""
    generator = torch.Generator().manual_seed(seed)
    if integers:  # small integers: exact sums, easy to read in messages
        return torch.randint(-3, 4, shape, generator=generator).float()
    return torch.randn(*shape, generator=generator)


def seeded_uint8(seed: int, *shape, dark_fraction=None) -> torch.Tensor:
    """Random uint8 images; with ``dark_fraction`` per image, that share of pixels is 0 (like MNIST's background)."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, shape, generator=generator)
    if dark_fraction is not None:
        keep = torch.rand(shape, generator=generator) >= torch.tensor(dark_fraction).view(-1, *[1] * (len(shape) - 1))
        images = images * keep
    return images.to(torch.uint8)


@contextlib.contextmanager
def private_seed(seed: int):
    """Seed torch inside the block (a learner's layers draw their weights from it) without
    disturbing the learner's random state outside it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


# --- a tiny training set and models that report how they are used -------------------------------


def synthetic_batches(seed: int = 0, sizes=(8, 8, 5), noise: float = 1.0) -> list:
    """A loader as a plain list of ``(data, target)`` batches, data of shape ``(B, 1, 28, 28)``.

    Learnable: every class has a random prototype image; a sample is its prototype plus noise.
    The last batch is smaller, like the last batch of a real epoch.
    """
    g = torch.Generator().manual_seed(seed)
    prototypes = torch.randn(10, 1, 28, 28, generator=g)
    batches = []
    for size in sizes:
        target = torch.randint(0, 10, (size,), generator=g)
        data = prototypes[target] + noise * torch.randn(size, 1, 28, 28, generator=g)
        batches.append((data, target))
    return batches


class SpyNet(nn.Module):
    """A small linear classifier with log_softmax output that records how it is called."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(28 * 28, 10)
        self.calls: list[tuple[bool, bool]] = []  # (training mode, autograd on) at every forward

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return F.log_softmax(self.fc(x.flatten(1)), dim=1)


class SpyConvNet(SpyNet):
    """The course model's first block in small (conv, ReLU, pool, linear): still fast, and not linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 13 * 13, 10)

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return F.log_softmax(self.fc(F.max_pool2d(F.relu(self.conv(x)), 2).flatten(1)), dim=1)


class CountingSGD(torch.optim.SGD):
    """torch.optim.SGD that counts its step() calls."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = 0

    def step(self, closure=None):
        self.steps += 1
        return super().step(closure)


def make_model(kind: str, seed: int) -> SpyNet:
    """A fresh spy model, ``"linear"`` or ``"conv"``; the seed fixes its weights."""
    torch.manual_seed(seed)
    return {"linear": SpyNet, "conv": SpyConvNet}[kind]()


# --- predictions to evaluate --------------------------------------------------------------------

# 3 classes, 10 examples; every off-diagonal count of their confusion matrix [[2, 1, 0], [0, 2, 0],
# [2, 1, 2]] differs from its mirror, so a transposed matrix shows.
HAND_TARGETS = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
HAND_PREDICTIONS = torch.tensor([0, 0, 1, 1, 1, 0, 0, 1, 2, 2])


def seeded_predictions(seed: int, n: int, num_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Random targets, and predictions of which about 30 % are drawn again at random (so most are right)."""
    generator = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, num_classes, (n,), generator=generator)
    wrong = torch.rand(n, generator=generator) < 0.3
    predictions = torch.where(wrong, torch.randint(0, num_classes, (n,), generator=generator), targets)
    return targets, predictions


# --- comparing weights ---------------------------------------------------------------------------


def weights_of(model: nn.Module) -> dict:
    """A detached copy of the model's state."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict, atol: float = 1e-5) -> bool:
    return all(torch.allclose(a[k], b[k], atol=atol, rtol=1e-4) for k in a)
