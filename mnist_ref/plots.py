"""Figures for the course. Every function returns a matplotlib Figure (shown by Jupyter, saved by the CLI)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from .data import MNIST_MEAN, MNIST_STD
from .evaluation import misclassified_indices


def _figure(**kwargs) -> Figure:
    # Made through pyplot so that Jupyter's inline backend is active and shows the returned
    # figure; closed at once so pyplot neither shows it a second time nor keeps it alive.
    fig = plt.figure(**kwargs)
    plt.close(fig)
    return fig


def as_pixels(tensor):
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
        ax.imshow(as_pixels(batch_data[i]), cmap="gray")
        ax.set_title(str(int(batch_label[i])))
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_curves(history) -> Figure:
    """The 2x2 training curves: train loss, held-out loss, train accuracy, held-out accuracy, per epoch.
    The held-out set is the validation set when the history has one (choices are made on it), else the test set."""
    values = history.to_dict() if hasattr(history, "to_dict") else history
    epochs = range(1, len(values["train_acc"]) + 1)
    fig = _figure(figsize=(12, 8), layout="constrained")
    held_out, name = ("val", "Validation") if values.get("val_acc") else ("test", "Test")
    panels = [
        ("train_loss", "Training loss"),
        (f"{held_out}_loss", f"{name} loss"),
        ("train_acc", "Training accuracy (%)"),
        (f"{held_out}_acc", f"{name} accuracy (%)"),
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
            ax.text(
                p, t, str(value), ha="center", va="center", fontsize=8, color="white" if value > threshold else "black"
            )
    ax.set_xticks(range(n), class_names)
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix")
    return fig


def plot_misclassified(images, targets, predictions, n_images: int = 12, columns: int = 6) -> Figure:
    """A gallery of the first ``n_images`` misclassified digits, titled 'true -> predicted'."""
    wrong = misclassified_indices(targets, predictions)[:n_images]
    rows, columns = _grid(max(len(wrong), 1), columns)
    fig = _figure(figsize=(2 * columns, 2.2 * rows), layout="constrained")
    if len(wrong) == 0:
        fig.text(0.5, 0.5, "No misclassified digits", ha="center", va="center")
    for k, i in enumerate(wrong.tolist()):
        ax = fig.add_subplot(rows, columns, k + 1)
        ax.imshow(as_pixels(images[i]), cmap="gray")
        ax.set_title(f"{int(targets[i])} -> {int(predictions[i])}", color="firebrick")
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def plot_gradient_magnitudes(model) -> Figure:
    """Histogram of |gradient| over all of ``model``'s parameters (log scale), with float16's limits.

    Below float16's smallest normal number (about 6e-5) a value keeps fewer significant bits;
    below its smallest subnormal (2^-24, about 6e-8) it becomes 0: the underflow that loss
    scaling prevents. Call it after ``loss.backward()``.
    """
    grads = [p.grad.detach().abs().flatten().float().cpu() for p in model.parameters() if p.grad is not None]
    if not grads:
        raise ValueError("the model has no gradients yet: run loss.backward() before plot_gradient_magnitudes(model)")
    magnitudes = torch.cat(grads)
    nonzero = magnitudes[magnitudes > 0]
    if len(nonzero) == 0:
        raise ValueError(
            "every gradient is exactly 0: nothing to plot (was the loss computed from the model's output?)"
        )
    smallest_normal, smallest_subnormal = torch.finfo(torch.float16).tiny, 2.0**-24
    low, high = math.floor(math.log10(float(nonzero.min()))), math.ceil(math.log10(float(nonzero.max())))
    bins = torch.logspace(low, high, 10 * (high - low) + 1)
    fig = _figure(figsize=(8, 3.8), layout="constrained")
    ax = fig.add_subplot()
    ax.hist(nonzero.numpy(), bins=bins.numpy(), color="steelblue")
    ax.set_xscale("log")
    for x, text, style in (
        (smallest_subnormal, "float16: 0 below", ":"),
        (smallest_normal, "fewer digits below", "--"),
    ):
        ax.axvline(x, color="firebrick", linestyle=style)
        ax.annotate(
            text,
            (x, 1),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            color="firebrick",
            fontsize=9,
        )
    # Exact zeros (e.g. behind ReLUs that never fired) are 0 in float32 too: counted apart.
    lost = float((nonzero < smallest_subnormal).float().mean())
    coarse = float((nonzero < smallest_normal).float().mean())
    zeros = len(magnitudes) - len(nonzero)
    ax.set_title(
        f"|gradient| of {len(magnitudes):,} parameters ({zeros:,} exactly 0, not shown): "
        f"{coarse:.0%} below float16's normal range, {lost:.1%} would become 0",
        fontsize=10,
    )
    ax.set_xlabel("|gradient| (log scale)")
    ax.set_ylabel("parameters")
    return fig
