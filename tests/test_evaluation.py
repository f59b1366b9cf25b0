"""The evaluation helpers: the model's answers on a loader, the confusion matrix and what it says."""

import torch
from torch import nn

from mnist_ref.evaluation import (
    confusion_matrix,
    misclassified_indices,
    mistakes_by_loss,
    most_confused_pairs,
    per_class_accuracy,
    predict,
    predict_probabilities,
)

CPU = torch.device("cpu")
# 3 classes; every off-diagonal count differs from its mirror, so a transposed matrix would show.
TARGETS = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
PREDICTIONS = torch.tensor([0, 0, 1, 1, 1, 0, 0, 1, 2, 2])


def test_confusion_matrix_counts_true_by_predicted():
    cm = confusion_matrix(TARGETS, PREDICTIONS, num_classes=3)
    assert cm.tolist() == [[2, 1, 0], [0, 2, 0], [2, 1, 2]]
    assert cm.dtype == torch.long


def test_confusion_matrix_keeps_classes_that_never_occur():
    cm = confusion_matrix(torch.tensor([1, 1]), torch.tensor([1, 3]))
    assert cm.shape == (10, 10) and int(cm.sum()) == 2 and int(cm[1, 1]) == 1 and int(cm[1, 3]) == 1


def test_per_class_accuracy_divides_by_the_row():
    accuracy = per_class_accuracy(torch.tensor([[2, 1, 0, 0], [0, 2, 0, 1], [2, 1, 2, 0], [0, 0, 0, 0]]))
    assert accuracy.dtype == torch.float32
    assert torch.allclose(accuracy, torch.tensor([200 / 3, 200 / 3, 40.0, 0.0]))  # an absent class: 0, not nan


def test_most_confused_pairs_sorts_by_count_then_pair():
    cm = torch.tensor([[5, 2, 1], [2, 5, 0], [3, 0, 5]])
    assert most_confused_pairs(cm) == [(2, 0, 3), (0, 1, 2), (1, 0, 2), (0, 2, 1)]
    assert most_confused_pairs(cm, k=1) == [(2, 0, 3)]


def test_misclassified_indices_are_the_wrong_positions():
    assert misclassified_indices(TARGETS, PREDICTIONS).tolist() == [2, 5, 6, 7]
    assert misclassified_indices(TARGETS, TARGETS).shape == (0,)


class AlwaysTheBrightestRow(nn.Module):
    """A tiny 'model': predicts the row (0-9) of the image with the largest sum."""

    def forward(self, x):
        return torch.log_softmax(x[:, 0, :10, :].sum(dim=2), dim=1)


def test_predict_collects_the_whole_loader_in_order():
    torch.manual_seed(0)
    images = torch.randn(10, 1, 28, 28)
    targets = torch.arange(10)
    model = AlwaysTheBrightestRow()
    loader = [(images[:4], targets[:4]), (images[4:], targets[4:])]  # any iterable of batches
    got_images, got_targets, predictions = predict(model, CPU, loader)
    assert got_images.shape == (10, 1, 28, 28) and got_targets.shape == predictions.shape == (10,)
    assert torch.equal(got_images, images) and torch.equal(got_targets, targets)
    assert torch.equal(predictions, images[:, 0, :10, :].sum(dim=2).argmax(dim=1))
    assert not model.training  # predict evaluates in eval mode


def test_predict_probabilities_are_the_models_and_agree_with_predict():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10), nn.LogSoftmax(dim=1))
    data = torch.randn(7, 1, 28, 28)
    loader = [(data[:4], torch.arange(4)), (data[4:], torch.arange(3))]
    images, targets, probabilities = predict_probabilities(model, CPU, loader)
    assert probabilities.shape == (7, 10) and probabilities.dtype == torch.float32
    assert torch.allclose(probabilities.sum(dim=1), torch.ones(7))
    assert torch.allclose(probabilities, model(data).exp())
    assert torch.equal(probabilities.argmax(dim=1), predict(model, CPU, loader)[2])
    assert torch.equal(images, data) and targets.tolist() == [0, 1, 2, 3, 0, 1, 2]


def test_mistakes_by_loss_puts_confident_mistakes_first():
    targets = torch.tensor([0, 1, 2, 0, 1])
    probabilities = torch.tensor(
        [
            [0.2, 0.8, 0.0],  # wrong, p(true) 0.2
            [0.0, 1.0, 0.0],  # right
            [0.0, 0.95, 0.05],  # wrong, p(true) 0.05: the worst
            [0.2, 0.8, 0.0],  # wrong, the same loss as #0: by position
            [0.6, 0.4, 0.0],  # wrong, p(true) 0.4
        ]
    )
    assert mistakes_by_loss(targets, probabilities).tolist() == [2, 0, 3, 4]
    assert mistakes_by_loss(torch.tensor([1]), torch.tensor([[0.0, 1.0]])).tolist() == []
