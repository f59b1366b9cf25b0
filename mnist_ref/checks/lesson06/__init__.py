"""Self-checks of lesson 06 · Running on the GPU.

Everything here runs on a CPU-only machine. The device rules (``choose_device``,
``amp_enabled``) are pure logic, checked in :mod:`.device_choice`; moving batches and
checkpoints (``move_batch``, ``load_for_inference``) is checked in :mod:`.moving`, with the
``meta`` device and a checkpoint tagged ``cuda:0`` (:func:`save_as_if_on_gpu`).
"""

from .device_choice import amp_enabled, choose_device
from .moving import load_for_inference, move_batch, save_as_if_on_gpu
from .questions import q_batch_bytes, q_float16_gradient

__all__ = [
    "amp_enabled",
    "choose_device",
    "load_for_inference",
    "move_batch",
    "q_batch_bytes",
    "q_float16_gradient",
    "save_as_if_on_gpu",
]
