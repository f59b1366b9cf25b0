"""Checks of lesson 01 · MNIST data.

Exercises: ``class_counts`` (how many examples of each digit) and ``pixel_mean_std`` (the
normalization statistics of a set of uint8 images), in :mod:`.dataset_statistics`;
``make_transform`` (ToTensor + Normalize) and ``batch_sizes`` (what a DataLoader yields in one
epoch), in :mod:`.input_pipeline`. The grader's stricter checks live on the instructor's side
(``mnist_course.checks.lesson01``). The self-checked questions at the end (``validation_question``,
``held_out_question``, ``batches_question``) are practice, in :mod:`.questions`.
"""

from .dataset_statistics import class_counts, pixel_mean_std, visible_images
from .input_pipeline import batch_sizes, digit_like, make_transform, pil_image, transform_cases
from .questions import batches_question, held_out_question, validation_question

__all__ = [
    "batch_sizes",
    "batches_question",
    "class_counts",
    "digit_like",
    "held_out_question",
    "make_transform",
    "pil_image",
    "pixel_mean_std",
    "transform_cases",
    "validation_question",
    "visible_images",
]
