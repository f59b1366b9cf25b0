"""Evaluation: the model's answers on a whole test set, and what they say per class and per image.

Convention everywhere: ``cm[true, predicted]`` counts (rows: the true digit, columns: the model's
answer), as scikit-learn's. Lesson 07 has the learner write these functions; these are the
reference versions the CLI, the figures and the explorers use.
"""

from __future__ import annotations

import torch

from .device import autocast, to_device


@torch.inference_mode()
def _answers(model, device, loader, answer):
    """``(images, targets, answer(output) for each batch)``, concatenated on the CPU, in eval mode."""
    model.eval()
    images, targets, answers = [], [], []
    for data, target in loader:
        data_on_device, _ = to_device(data, target, device)
        with autocast(device):
            answers.append(answer(model(data_on_device)).cpu())
        images.append(data.cpu())
        targets.append(target.cpu())
    return torch.cat(images), torch.cat(targets), torch.cat(answers)


def predict(model, device, loader):
    """``(images, targets, predictions)`` on the CPU for a whole loader (for confusion matrices and galleries)."""
    return _answers(model, device, loader, lambda output: output.argmax(dim=1))


def predict_probabilities(model, device, loader):
    """``(images, targets, probabilities)`` on the CPU: ``probabilities[i]`` are the ten class probabilities
    of image ``i`` (the exponential of ``Net``'s log-probabilities), float32, shape ``(N, 10)``."""
    return _answers(model, device, loader, lambda output: output.float().exp())


def mistakes_by_loss(targets: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
    """The misclassified positions, the worst first: sorted by their loss ``-log p[true]`` (largest first),
    equal losses by position. A mistake made with confidence costs more than a hesitant one."""
    targets = torch.as_tensor(targets).long()
    wrong = misclassified_indices(targets, probabilities.argmax(dim=1))
    losses = -probabilities[wrong, targets[wrong]].double().clamp(min=1e-45).log()
    order = sorted(range(len(wrong)), key=lambda i: (-float(losses[i]), int(wrong[i])))
    return wrong[order] if len(wrong) else wrong


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
