"""Pictures of the course's ideas (not of results): drawn by code so they are tested and stay true.

One module per subject, imported by the lessons as ``from mnist_ref.diagrams import convolution``:
``data_split`` (train / validation / test), ``pixels`` (a digit as numbers, what Normalize
does to them), ``convolution`` (the sliding window, padding and stride,
channels), ``network`` (max-pool, the whole ``Net`` with its shapes and parameters), ``training``
(the StepLR staircase against a real loss curve, what ``conv1`` learned). Every function returns a
matplotlib ``Figure`` and leaves pyplot's global state alone.
"""
