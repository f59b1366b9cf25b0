"""Checks of lesson 02 · Convolution.

Exercises: ``conv2d_loops`` (one channel, by hand) and ``conv2d_unfold`` (batches and
channels), in :mod:`.convolution`; ``conv_output_size`` and ``conv_parameters``, in :mod:`.sizes`;
``conv2d_strided`` (padding and stride), in :mod:`.strided`; ``conv2d_backward`` (the gradients
by hand), in :mod:`.backward`. The self-checked questions at the end are practice, in :mod:`.questions`.
"""

from .backward import conv2d_backward
from .convolution import conv2d_loops, conv2d_unfold
from .questions import backward_shape_question, same_padding_question, strided_size_question
from .sizes import conv_output_size, conv_parameters
from .strided import conv2d_strided

__all__ = [
    "backward_shape_question",
    "conv2d_backward",
    "conv2d_loops",
    "conv2d_strided",
    "conv2d_unfold",
    "conv_output_size",
    "conv_parameters",
    "same_padding_question",
    "strided_size_question",
]
