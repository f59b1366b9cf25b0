import pytest
import torch
from matplotlib.figure import Figure

from mnist_ref.engine import History
from mnist_ref.plots import plot_confusion_matrix, plot_curves, plot_data, plot_gradient_magnitudes, plot_misclassified


def _titles(fig):
    return [ax.get_title() for ax in fig.axes if ax.get_title()]


def test_plot_data_shows_images_with_labels():
    fig = plot_data(torch.randn(20, 1, 28, 28), torch.arange(20) % 10, 12)
    assert isinstance(fig, Figure) and len(fig.axes) == 12
    assert _titles(fig)[:3] == ["0", "1", "2"]
    assert plot_data(torch.randn(3, 1, 28, 28), torch.tensor([4, 5, 6]), 12).axes.__len__() == 3


def test_plot_data_undoes_the_normalization():
    black = torch.full((1, 1, 28, 28), -0.1307 / 0.3081)  # a 0-valued pixel after Normalize
    image = plot_data(black, torch.tensor([0]), 1).axes[0].images[0].get_array()
    assert float(abs(image).max()) < 1e-6


def test_plot_curves_has_four_panels_with_every_epoch():
    history = History()
    for epoch in range(3):
        history.append(
            train_acc=90 + epoch, train_loss=0.3, test_acc=95 + epoch, test_loss=0.1, lr=0.01, epoch_seconds=1
        )
    fig = plot_curves(history)
    assert _titles(fig) == ["Training loss", "Test loss", "Training accuracy (%)", "Test accuracy (%)"]
    assert list(fig.axes[3].lines[0].get_ydata()) == [95, 96, 97]
    assert plot_curves(history.to_dict()).axes  # a metrics.json dict works too


def test_plot_curves_shows_the_validation_set_when_there_is_one():
    history = History()
    for epoch in range(2):
        history.append(train_acc=90 + epoch, train_loss=0.3, val_acc=93 + epoch, val_loss=0.2, lr=0.01, epoch_seconds=1)
    fig = plot_curves(history)
    assert _titles(fig) == ["Training loss", "Validation loss", "Training accuracy (%)", "Validation accuracy (%)"]
    assert list(fig.axes[3].lines[0].get_ydata()) == [93, 94]


def test_confusion_matrix_writes_every_count():
    cm = torch.arange(100).reshape(10, 10)
    fig = plot_confusion_matrix(cm)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"0", "55", "99"} <= texts and len(fig.axes[0].texts) == 100


def test_misclassified_gallery_titles_true_and_predicted():
    targets, predictions = torch.tensor([1, 2, 3, 4]), torch.tensor([1, 7, 3, 9])
    fig = plot_misclassified(torch.randn(4, 1, 28, 28), targets, predictions)
    assert _titles(fig) == ["2 -> 7", "4 -> 9"]
    empty = plot_misclassified(torch.randn(2, 1, 28, 28), targets[:2], targets[:2])
    assert "No misclassified digits" in [t.get_text() for t in empty.texts]


def test_gradient_magnitudes_counts_what_float16_loses():
    layer = torch.nn.Linear(2, 2)
    with pytest.raises(ValueError, match="loss.backward"):
        plot_gradient_magnitudes(layer)
    layer.weight.grad = torch.tensor([[1e-9, -1e-6], [1e-3, 0.0]])  # lost, coarse, fine, zero
    layer.bias.grad = torch.tensor([-0.5, 2.0])
    fig = plot_gradient_magnitudes(layer)
    title = fig.axes[0].get_title()
    assert title.startswith("|gradient| of 6 parameters (1 exactly 0, not shown): ")
    assert title.endswith("40% below float16's normal range, 20.0% would become 0")
    assert sum(patch.get_height() for patch in fig.axes[0].patches) == 5  # the nonzero ones
    assert [line.get_xdata()[0] for line in fig.axes[0].lines] == [2.0**-24, torch.finfo(torch.float16).tiny]
