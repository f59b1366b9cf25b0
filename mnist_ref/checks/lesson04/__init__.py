"""Checks of lesson 04, *The training loop*: ``nll_loss``, ``sgd_momentum_step``, ``train``, ``test``.

The two formulas written by hand are checked in :mod:`.by_hand`, the two loops in :mod:`.loops`
(on synthetic batches and spy models from :mod:`mnist_ref.checks.fixtures`, re-exported here
for the notebook's provided cells). The sanity check "overfit one batch" is :mod:`.overfit`, the
end-of-lesson questions that check themselves :mod:`.questions`.
"""

from ..fixtures import CPU, CountingSGD, SpyConvNet, SpyNet, make_model, synthetic_batches
from .by_hand import nll_loss, sgd_momentum_step
from .loops import test, train, trained_model_and_test_batches
from .overfit import overfit_one_batch
from .questions import first_loss_question, overfit_question, validation_question

__all__ = [
    "CPU",
    "CountingSGD",
    "SpyConvNet",
    "SpyNet",
    "first_loss_question",
    "make_model",
    "nll_loss",
    "overfit_one_batch",
    "overfit_question",
    "sgd_momentum_step",
    "synthetic_batches",
    "test",
    "train",
    "trained_model_and_test_batches",
    "validation_question",
]
