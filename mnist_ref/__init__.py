"""mnist_ref: the reference implementation behind the MNIST CNN course.

The seed's usage works as is::

    from mnist_ref import *
    device = use_device()
    train_loader, test_loader = data_loader(batch_size=64, shuffle=True)
    model = Net().to(device)
    ...
"""

from .data import (
    MNIST_MEAN,
    MNIST_STD,
    VALIDATION_SIZE,
    Loaders,
    MnistDataError,
    TensorLoader,
    data_loader,
    data_root,
    ensure_mnist,
    make_data,
    make_loader,
    mnist_transform,
    split_loaders,
    validation_split,
    verify_mnist,
)
from .device import autocast, grad_scaler, to_device, use_device
from .engine import (
    History,
    classic_optimizer,
    classic_scheduler,
    fit,
    load_checkpoint,
    save_checkpoint,
    seed_everything,
    test,
    train,
)
from .evaluation import confusion_matrix, predict
from .model import NUM_PARAMETERS, Net, count_parameters, summary
from .plots import plot_confusion_matrix, plot_curves, plot_data, plot_gradient_magnitudes, plot_misclassified
from .settings import Settings, resolve_settings, setup_lesson

__all__ = [
    "MNIST_MEAN", "MNIST_STD", "VALIDATION_SIZE", "Loaders", "MnistDataError", "TensorLoader", "data_loader",
    "data_root", "ensure_mnist", "make_data", "make_loader", "mnist_transform", "split_loaders",
    "validation_split", "verify_mnist",
    "autocast", "grad_scaler", "to_device", "use_device",
    "History", "classic_optimizer", "classic_scheduler", "confusion_matrix", "fit",
    "load_checkpoint", "predict", "save_checkpoint", "seed_everything", "test", "train",
    "NUM_PARAMETERS", "Net", "count_parameters", "summary",
    "plot_confusion_matrix", "plot_curves", "plot_data", "plot_gradient_magnitudes", "plot_misclassified",
    "Settings", "resolve_settings", "setup_lesson",
]  # grouped by module, one line each  # fmt: skip
