"""Checks of lesson 04, *The training loop*: ``nll_loss``, ``sgd_momentum_step``, ``train``, ``test``.

The two formulas written by hand are checked in :mod:`.by_hand`, the two loops in :mod:`.loops`
(on synthetic batches and spy models from :mod:`mnist_ref.checks.fixtures`, re-exported here
for the notebook's provided cells).
"""

from ..fixtures import CPU, CountingSGD, SpyConvNet, SpyNet, make_model, synthetic_batches
from .by_hand import nll_loss, sgd_momentum_step
from .loops import test, train, trained_model_and_test_batches

__all__ = [
    "CPU",
    "CountingSGD",
    "SpyConvNet",
    "SpyNet",
    "make_model",
    "nll_loss",
    "sgd_momentum_step",
    "synthetic_batches",
    "test",
    "train",
    "trained_model_and_test_batches",
]
