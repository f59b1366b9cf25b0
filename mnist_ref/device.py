"""Where the maths runs: CUDA, then Apple MPS, then the CPU.

The GPU-only speed-ups (pinned memory, non-blocking copies, float16 autocast with a
gradient scaler, channels_last) are switched by the device type, so the same training
code runs everywhere and on the CPU they are simply off.
"""

from __future__ import annotations

import os

import torch

DEVICE_ENV = "MNIST_DEVICE"
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def use_device(preferred: str | torch.device | None = None) -> torch.device:
    """Pick a device: ``preferred``, else ``$MNIST_DEVICE``, else auto (CUDA > MPS > CPU).

    Asking for a device this machine does not have is an error, not a silent fallback:
    a learner who asked for the GPU should know they are not getting it.
    """
    if isinstance(preferred, torch.device):
        requested = str(preferred)
    else:
        requested = (preferred or os.environ.get(DEVICE_ENV) or "auto").strip().lower()
    if requested == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        device = None
    if device is None or device.type not in DEVICE_CHOICES:
        raise ValueError(
            f"unknown device {requested!r}: use one of auto, cpu, cuda, cuda:N, mps "
            f"(argument or the {DEVICE_ENV} environment variable)"
        )
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {requested!r} was asked for but CUDA is not available here; use 'auto' or 'cpu'")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"device {requested!r} does not exist: this machine has {torch.cuda.device_count()} GPU(s)")
    if device.type == "mps" and not _mps_available():
        raise ValueError(f"device {requested!r} was asked for but Apple MPS is not available here; use 'auto' or 'cpu'")
    return device


def is_cuda(device) -> bool:
    return torch.device(device).type == "cuda"


def to_device(data: torch.Tensor, target: torch.Tensor, device, channels_last: bool = False):
    """Move a batch; non-blocking from pinned memory on CUDA, channels_last if asked."""
    non_blocking = is_cuda(device)
    data = data.to(device, non_blocking=non_blocking)
    target = target.to(device, non_blocking=non_blocking)
    if channels_last:
        data = data.contiguous(memory_format=torch.channels_last)
    return data, target


def autocast(device, enabled: bool | None = None):
    """float16 autocast on CUDA; a no-op context elsewhere (CPU autocast would slow this model down)."""
    device = torch.device(device)
    on = is_cuda(device) if enabled is None else enabled and is_cuda(device)
    return torch.autocast(device_type=device.type, dtype=torch.float16, enabled=on)


def grad_scaler(device) -> torch.amp.GradScaler:
    """The loss scaler float16 training needs on CUDA; disabled (a pass-through) elsewhere."""
    device = torch.device(device)
    return torch.amp.GradScaler(device.type, enabled=is_cuda(device))


def prefers_channels_last(device) -> bool:
    """NHWC memory layout lets cuDNN use tensor cores under autocast; on CPU it was not faster here."""
    return is_cuda(device)
