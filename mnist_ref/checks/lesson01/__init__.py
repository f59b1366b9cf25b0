"""Checks of lesson 01 · MNIST data.

Exercises: ``class_counts`` (how many examples of each digit) and ``pixel_mean_std`` (the
normalization statistics of a set of uint8 images), in :mod:`.dataset_statistics`;
``make_transform`` (ToTensor + Normalize) and ``batch_sizes`` (what a DataLoader yields in one
epoch), in :mod:`.input_pipeline`.

The ``reference_*`` functions are the course's own answers. The lesson's provided cells use
them, so a learner who is stuck on one exercise can still run the rest of the notebook.
"""

from .dataset_statistics import (
    check_mnist_statistics,
    class_counts,
    pixel_mean_std,
    reference_class_counts,
    reference_pixel_mean_std,
    visible_images,
)
from .input_pipeline import (
    batch_sizes,
    digit_like,
    make_transform,
    pil_image,
    reference_batch_sizes,
    reference_transform,
)

__all__ = [
    "batch_sizes",
    "check_mnist_statistics",
    "class_counts",
    "digit_like",
    "make_transform",
    "pil_image",
    "pixel_mean_std",
    "reference_batch_sizes",
    "reference_class_counts",
    "reference_pixel_mean_std",
    "reference_transform",
    "visible_images",
]
