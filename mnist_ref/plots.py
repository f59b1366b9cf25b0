"""Figures for the course. Every function returns a matplotlib Figure (shown by Jupyter, saved by the CLI)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from .data import MNIST_MEAN, MNIST_STD


def _figure(**kwargs) -> Figure:
    # Made through pyplot so that Jupyter's inline backend is active and shows the returned
    # figure; closed at once so pyplot neither shows it a second time nor keeps it alive.
    fig = plt.figure(**kwargs)
    plt.close(fig)
    return fig


def _as_image(tensor):
    """A normalized (1, 28, 28) or (28, 28) tensor back to pixel values in [0, 1] for display."""
    image = tensor.detach().float().cpu().squeeze()
    return (image * MNIST_STD + MNIST_MEAN).clamp(0, 1).numpy()


def _grid(n: int, columns: int):
    columns = min(columns, n) or 1
    return math.ceil(n / columns), columns


def plot_data(batch_data, batch_label, n_images: int = 12, columns: int = 4) -> Figure:
    """A grid of the first ``n_images`` digits of a batch with their labels (the seed's ``plot_data``)."""
    n_images = min(n_images, len(batch_data))
    rows, columns = _grid(n_images, columns)
    fig = _figure(figsize=(2 * columns, 2 * rows), layout="constrained")
    for i in range(n_images):
        ax = fig.add_subplot(rows, columns, i + 1)
        ax.imshow(_as_image(batch_data[i]), cmap="gray")
        ax.set_title(str(int(batch_label[i])))
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_curves(history) -> Figure:
    """The 2x2 training curves: train loss, test loss, train accuracy, test accuracy, per epoch."""
    values = history.to_dict() if hasattr(history, "to_dict") else history
    epochs = range(1, len(values["train_acc"]) + 1)
    fig = _figure(figsize=(12, 8), layout="constrained")
    panels = [
        ("train_loss", "Training loss"),
        ("test_loss", "Test loss"),
        ("train_acc", "Training accuracy (%)"),
        ("test_acc", "Test accuracy (%)"),
    ]
    for i, (key, title) in enumerate(panels):
        ax = fig.add_subplot(2, 2, i + 1)
        ax.plot(epochs, values[key], marker="o")
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    return fig


def plot_confusion_matrix(cm, class_names=None) -> Figure:
    """Counts ``cm[true, predicted]`` as a heat map with the numbers written in."""
    cm = cm.cpu().numpy() if hasattr(cm, "cpu") else cm
    n = len(cm)
    class_names = class_names or [str(i) for i in range(n)]
    fig = _figure(figsize=(7, 6), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(cm, cmap="Blues")
    fig.colorbar(image, ax=ax)
    threshold = cm.max() / 2
    for t in range(n):
        for p in range(n):
            value = int(cm[t][p])
            ax.text(p, t, str(value), ha="center", va="center", fontsize=8, color="white" if value > threshold else "black")
    ax.set_xticks(range(n), class_names)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix")
    return fig


def plot_misclassified(images, targets, predictions, n_images: int = 12, columns: int = 6) -> Figure:
    """A gallery of the first ``n_images`` misclassified digits, titled 'true -> predicted'."""
    wrong = (targets != predictions).nonzero().flatten()[:n_images]
    rows, columns = _grid(max(len(wrong), 1), columns)
    fig = _figure(figsize=(2 * columns, 2.2 * rows), layout="constrained")
    if len(wrong) == 0:
        fig.text(0.5, 0.5, "No misclassified digits", ha="center", va="center")
    for k, i in enumerate(wrong.tolist()):
        ax = fig.add_subplot(rows, columns, k + 1)
        ax.imshow(_as_image(images[i]), cmap="gray")
        ax.set_title(f"{int(targets[i])} -> {int(predictions[i])}", color="firebrick")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig
