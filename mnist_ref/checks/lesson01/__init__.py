"""Checks of lesson 01 · MNIST data.

Exercises: ``class_counts`` (how many examples of each digit) and ``pixel_mean_std`` (the
normalization statistics of a set of uint8 images), in :mod:`.dataset_statistics`;
``make_transform`` (ToTensor + Normalize) and ``batch_sizes`` (what a DataLoader yields in one
epoch), in :mod:`.input_pipeline`. The grader's stricter checks live on the instructor's side
(``mnist_course.checks.lesson01``).
"""

from .dataset_statistics import class_counts, pixel_mean_std, visible_images
from .input_pipeline import batch_sizes, digit_like, make_transform, pil_image, transform_cases

__all__ = [
    "batch_sizes",
    "class_counts",
    "digit_like",
    "make_transform",
    "pil_image",
    "pixel_mean_std",
    "transform_cases",
    "visible_images",
]
