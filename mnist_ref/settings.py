"""The course's three settings, resolved once at the edge: data folder, device, training budget.

Each comes from the argument, else the environment, else a default (an empty variable counts
as unset):

* data folder — ``data``, else ``MNIST_DATA``, else the checkout's ``data/`` or a per-user
  folder (the rule is :func:`mnist_ref.data.data_root`'s);
* device — ``device``, else ``MNIST_DEVICE``, else CUDA > MPS > CPU (the rule is
  :func:`mnist_ref.device.choose_device`);
* budget — ``budget``, else ``MNIST_BUDGET``, else ``grading`` while nbgrader runs the notebook
  (it sets ``NBGRADER_EXECUTION``), else ``full`` on a GPU and ``cpu`` elsewhere.

A budget is how much training a notebook may do:

* ``full``  — the course recipe as published: its 20 epochs on all 55,000 training images
  (60,000 minus the validation set), validated on all 5,000 (a GPU).
* ``cpu``   — a shorter but meaningful run: each lesson's training (validation included) takes
  at most a minute on a 2-core CPU (measured: README, "The CPU budget").
* ``quick`` — seconds, for tests and a first look at every output.
* ``grading`` — what nbgrader runs (it sets ``NBGRADER_EXECUTION`` while it validates or
  autogrades) unless ``MNIST_BUDGET`` says otherwise: the least training that still runs every
  cell. No graded check depends on it: the grader judges answers on inputs it chooses.

Who owns "epochs": a recipe (:mod:`mnist_ref.recipes`) owns its default, which ``fit`` and the
command line use; a lesson (and ``train --budget``) trains for its budget's epochs, and the
``full`` budget takes them from the classic recipe, so the two cannot disagree.

A notebook resolves everything with one call, :func:`setup_lesson`; the library's functions
then take the resolved values instead of reading the environment again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from .data import VALIDATION_SIZE, data_loader, data_root, split_loaders
from .device import use_device
from .engine import seed_everything
from .recipes import CLASSIC

BUDGET_ENV = "MNIST_BUDGET"
GRADER_ENV = "NBGRADER_EXECUTION"  # set by nbgrader while it validates or autogrades a notebook


@dataclass(frozen=True)
class Budget:
    name: str
    epochs: int
    limit_train: int | None  # None: all training images (55,000 beside the validation set)
    limit_test: int | None  # None: all 10,000 test images
    limit_validation: int | None = None  # None: the whole validation set (data.VALIDATION_SIZE)

    def describe(self) -> str:
        def count(limit, whole):
            return f"all {whole:,}" if limit is None else f"{limit:,}"

        return (
            f"budget '{self.name}': {self.epochs} epoch(s) on {count(self.limit_train, 60_000 - VALIDATION_SIZE)}"
            f" training images, validated on {count(self.limit_validation, VALIDATION_SIZE)},"
            f" tested on {count(self.limit_test, 10_000)}"
        )


BUDGETS = {
    "full": Budget("full", epochs=CLASSIC.epochs, limit_train=None, limit_test=None),
    # Lessons 05 and 07 train 6 epochs of this in about 60 s on the idle 2-core CPU (issue #13: about 2.4 s per
    # 1,000 training images, validation a fifth): 4 epochs, about 40 s (README, "The CPU budget"). 4,000 images
    # keep lesson 04's one epoch (about 10 s) and the numbers its text quotes.
    "cpu": Budget("cpu", epochs=4, limit_train=4_000, limit_test=None, limit_validation=1_000),
    "quick": Budget("quick", epochs=2, limit_train=1_000, limit_test=500, limit_validation=500),
    # Grading a learner trains lessons 04, 05 and 07 for nothing a grade reads (benchmarks/grading_cost.py):
    # 4 batches of 64 (every digit, 25-26 each), two epochs so curves keep a line, 20 of each digit to evaluate.
    "grading": Budget("grading", epochs=2, limit_train=256, limit_test=200, limit_validation=200),
}


def resolve_budget(budget: str | Budget | None = None, device=None, environ: Mapping[str, str] = os.environ) -> Budget:
    """``budget``, else ``$MNIST_BUDGET``, else grading under nbgrader, else full on a GPU ``device``, cpu elsewhere."""
    if isinstance(budget, Budget):
        return budget
    if budget is not None and budget.strip():
        return _named_budget(budget, f"unknown budget {budget!r}")
    chosen = environ.get(BUDGET_ENV, "")
    if chosen.strip():
        return _named_budget(chosen, f"{BUDGET_ENV}={chosen.strip().lower()!r} is not a budget")
    if environ.get(GRADER_ENV):
        return BUDGETS["grading"]
    on_gpu = device is not None and torch.device(device).type in ("cuda", "mps")
    return BUDGETS["full" if on_gpu else "cpu"]


def _named_budget(name: str, problem: str) -> Budget:
    try:
        return BUDGETS[name.strip().lower()]
    except KeyError:
        raise ValueError(f"{problem}: use one of {', '.join(BUDGETS)}") from None


@dataclass(frozen=True)
class Settings:
    """Where the data is, where the maths runs and how much training is allowed — resolved."""

    data: Path
    device: torch.device
    budget: Budget

    def describe(self) -> str:
        return f"device: {self.device} · {self.budget.describe()}"

    def data_loader(self, batch_size: int = 64, **options):
        """:func:`mnist_ref.data_loader` from this data folder onto this device, cut to the budget's
        limits; ``options`` are passed on and override those."""
        limits = {"limit_train": self.budget.limit_train, "limit_test": self.budget.limit_test}
        return data_loader(batch_size, **{"root": self.data, "device": self.device, **limits, **options})

    def split_loaders(self, batch_size: int = 64, **options):
        """:func:`mnist_ref.data.split_loaders` (train, validation, test) from this data folder onto
        this device, cut to the budget's limits; ``options`` are passed on and override those."""
        limits = {
            "limit_train": self.budget.limit_train,
            "limit_validation": self.budget.limit_validation,
            "limit_test": self.budget.limit_test,
        }
        return split_loaders(batch_size, **{"root": self.data, "device": self.device, **limits, **options})


def resolve_settings(data=None, device=None, budget=None, environ: Mapping[str, str] = os.environ) -> Settings:
    """Resolve the three settings once: each from its argument, else ``environ``, else its default.

    Bad values raise ``ValueError`` saying which values are allowed.
    """
    chosen_device = use_device(device, environ)
    return Settings(data_root(data, environ), chosen_device, resolve_budget(budget, chosen_device, environ))


def setup_lesson(seed: int = 0, *, trains: bool = True, environ: Mapping[str, str] = os.environ) -> Settings:
    """A notebook's first cell in one call: resolve the settings, seed torch, print them in one line."""
    settings = resolve_settings(environ=environ)
    seed_everything(seed)
    print(settings.describe() + ("" if trains else " (this lesson does not train)"))
    return settings
