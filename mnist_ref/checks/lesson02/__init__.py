"""Checks of lesson 02 · Convolution.

Exercises: ``conv2d_loops`` (one channel, by hand) and ``conv2d_unfold`` (batches and
channels), in :mod:`.convolution`; ``conv_output_size`` (n + 2p - k) // s + 1 and
``conv_parameters`` (k*k*c_in + 1) * c_out, in :mod:`.sizes`.
"""

from .convolution import conv2d_loops, conv2d_unfold
from .sizes import conv_output_size, conv_parameters, reference_output_size, reference_parameters

__all__ = [
    "conv2d_loops",
    "conv2d_unfold",
    "conv_output_size",
    "conv_parameters",
    "reference_output_size",
    "reference_parameters",
]
