"""How much training a notebook may do: one setting that every training cell reads.

* ``full``  — the course recipe as published: 20 epochs on all 60,000 images (a GPU).
* ``cpu``   — a shorter but meaningful run a laptop finishes in about a minute.
* ``quick`` — seconds, for tests and grading. nbgrader sets ``NBGRADER_EXECUTION``
  while it validates or autogrades, so grading is always quick.

``MNIST_BUDGET=full|cpu|quick`` overrides the choice; otherwise it is ``full`` on a GPU and
``cpu`` elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

BUDGET_ENV = "MNIST_BUDGET"


@dataclass(frozen=True)
class Budget:
    name: str
    epochs: int
    limit_train: int | None  # None: all 60,000 training images
    limit_test: int | None  # None: all 10,000 test images

    def describe(self) -> str:
        train = "all 60,000" if self.limit_train is None else f"{self.limit_train:,}"
        test = "all 10,000" if self.limit_test is None else f"{self.limit_test:,}"
        return f"budget '{self.name}': {self.epochs} epoch(s) on {train} training images, tested on {test}"


BUDGETS = {
    "full": Budget("full", epochs=20, limit_train=None, limit_test=None),
    "cpu": Budget("cpu", epochs=3, limit_train=12_000, limit_test=None),
    "quick": Budget("quick", epochs=2, limit_train=1_000, limit_test=500),
}


def training_budget(device=None) -> Budget:
    """The budget for this run: $MNIST_BUDGET, else quick under nbgrader, else full on a GPU, cpu elsewhere."""
    chosen = os.environ.get(BUDGET_ENV, "").strip().lower()
    if chosen:
        if chosen not in BUDGETS:
            raise ValueError(f"{BUDGET_ENV}={chosen!r} is not a budget: use one of {', '.join(BUDGETS)}")
        return BUDGETS[chosen]
    if os.environ.get("NBGRADER_EXECUTION"):
        return BUDGETS["quick"]
    on_gpu = device is not None and torch.device(device).type in ("cuda", "mps")
    return BUDGETS["full" if on_gpu else "cpu"]
