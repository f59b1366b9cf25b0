"""Checks of lesson 02 · Convolution.

Exercises: ``conv2d_loops`` (one channel, by hand) and ``conv2d_unfold`` (batches and
channels), in :mod:`.convolution`; ``conv_output_size`` and ``conv_parameters``, in :mod:`.sizes`.
"""

from .convolution import conv2d_loops, conv2d_unfold
from .sizes import conv_output_size, conv_parameters

__all__ = ["conv2d_loops", "conv2d_unfold", "conv_output_size", "conv_parameters"]
