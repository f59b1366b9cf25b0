"""Evaluation: the model's answers on a whole test set, and what they say per class and per image.

Convention everywhere: ``cm[true, predicted]`` counts (rows: the true digit, columns: the model's
answer), as scikit-learn's. Lesson 07 has the learner write these functions; these are the
reference versions the CLI, the figures and the explorers use.
"""

from __future__ import annotations

import torch

from .device import autocast, to_device


@torch.inference_mode()
def predict(model, device, loader):
    """``(images, targets, predictions)`` on the CPU for a whole loader (for confusion matrices and galleries)."""
    model.eval()
    images, targets, predictions = [], [], []
    for data, target in loader:
        data_on_device, _ = to_device(data, target, device)
        with autocast(device):
            predictions.append(model(data_on_device).argmax(dim=1).cpu())
        images.append(data.cpu())
        targets.append(target.cpu())
    return torch.cat(images), torch.cat(targets), torch.cat(predictions)


def confusion_matrix(targets: torch.Tensor, predictions: torch.Tensor, num_classes: int = 10) -> torch.Tensor:
    """``cm[true, predicted]`` counts."""
    index = targets.long() * num_classes + predictions.long()
    return torch.bincount(index, minlength=num_classes**2).reshape(num_classes, num_classes)


def per_class_accuracy(cm: torch.Tensor) -> torch.Tensor:
    """Percent of each true class predicted correctly: ``100 * cm[c, c] / cm[c, :].sum()`` (0 for an absent class)."""
    cm = torch.as_tensor(cm).double()
    return (100.0 * cm.diagonal() / cm.sum(dim=1).clamp(min=1)).float()


def most_confused_pairs(cm: torch.Tensor, k: int = 5) -> list[tuple[int, int, int]]:
    """The ``k`` largest off-diagonal counts as ``(true, predicted, count)``: count descending, then by
    ``(true, predicted)`` ascending, so equal counts always come in the same order."""
    cm = torch.as_tensor(cm)
    pairs = [(t, p, int(cm[t, p])) for t in range(cm.shape[0]) for p in range(cm.shape[1]) if t != p and cm[t, p] > 0]
    return sorted(pairs, key=lambda pair: (-pair[2], pair[0], pair[1]))[:k]


def misclassified_indices(targets: torch.Tensor, predictions: torch.Tensor) -> torch.Tensor:
    """Positions where the prediction is wrong, ascending, as a 1-D int64 tensor."""
    return (torch.as_tensor(targets) != torch.as_tensor(predictions)).nonzero().flatten()
