"""Where the maths runs: CUDA, then Apple MPS, then the CPU.

The GPU-only speed-ups (pinned memory, non-blocking copies, float16 autocast with a
gradient scaler, channels_last) are switched by the device type, so the same training
code runs everywhere and on the CPU they are simply off.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import torch

from .precision import cpu_precision

DEVICE_ENV = "MNIST_DEVICE"
DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def choose_device(
    cuda_available: bool,
    mps_available: bool,
    preferred: str | torch.device | None = None,
    *,
    cuda_count: int | None = None,
) -> torch.device:
    """The course's one device rule, as pure logic (testable on any machine).

    ``preferred`` (any case, spaces ignored) is the device asked for; ``None``, ``""`` and
    ``"auto"`` mean the automatic choice: CUDA > MPS > CPU. Asking for a device this machine
    does not have is an error, not a silent fallback: a learner who asked for the GPU should
    know they are not getting it. ``cuda_count`` (how many GPUs) also refuses ``cuda:N``
    beyond them; ``None`` skips that check.
    """
    requested = str(preferred or "auto").strip().lower()
    if requested == "auto":
        return torch.device("cuda" if cuda_available else "mps" if mps_available else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        device = None
    if device is None or device.type not in DEVICE_CHOICES:
        raise ValueError(
            f"unknown device {requested!r}: use one of auto, cpu, cuda, cuda:N, mps "
            f"(argument or the {DEVICE_ENV} environment variable)"
        )
    if device.type == "cuda" and not cuda_available:
        raise ValueError(f"device {requested!r} was asked for but CUDA is not available here; use 'auto' or 'cpu'")
    beyond_count = cuda_count is not None and device.index is not None and device.index >= cuda_count
    if device.type == "cuda" and beyond_count:
        raise ValueError(f"device {requested!r} does not exist: this machine has {cuda_count} GPU(s)")
    if device.type == "mps" and not mps_available:
        raise ValueError(f"device {requested!r} was asked for but Apple MPS is not available here; use 'auto' or 'cpu'")
    return device


def use_device(preferred: str | torch.device | None = None, environ: Mapping[str, str] = os.environ) -> torch.device:
    """Pick a device: ``preferred``, else ``$MNIST_DEVICE`` (read from ``environ``), else auto
    (CUDA > MPS > CPU) — :func:`choose_device` with what this machine really has."""
    requested = preferred or environ.get(DEVICE_ENV)
    return choose_device(torch.cuda.is_available(), _mps_available(), requested, cuda_count=torch.cuda.device_count())


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


def autocast_dtype(device, mixed_precision: bool | None = None) -> torch.dtype | None:
    """The low-precision type autocast should use, or None for plain float32.

    ``None`` (the classic recipe): float16 on CUDA only. ``True`` (the fast recipe): also
    bfloat16 on a CPU where it is native and measured faster (``mnist_ref.precision``). ``False``: never.
    """
    device = torch.device(device)
    if mixed_precision is False:
        return None
    if device.type == "cuda":
        return torch.float16
    if device.type == "cpu" and mixed_precision and cpu_precision().bfloat16:
        return torch.bfloat16
    return None


def autocast(device, mixed_precision: bool | None = None):
    """An autocast context for ``autocast_dtype``; a no-op context when that is None."""
    device = torch.device(device)
    dtype = autocast_dtype(device, mixed_precision)
    fallback = torch.bfloat16 if device.type == "cpu" else torch.float16  # unused when disabled
    return torch.autocast(device_type=device.type, dtype=dtype or fallback, enabled=dtype is not None)


def grad_scaler(device, mixed_precision: bool | None = None) -> torch.amp.GradScaler:
    """float16 gradients underflow without loss scaling; bfloat16 and float32 need none (disabled scaler)."""
    device = torch.device(device)
    return torch.amp.GradScaler(device.type, enabled=autocast_dtype(device, mixed_precision) == torch.float16)


def prefers_channels_last(device, wanted: bool | None = None) -> bool:
    """The one place the memory layout is chosen: ``wanted`` (a recipe's or a caller's) when given, else
    NHWC on CUDA only, where it lets cuDNN use tensor cores under autocast."""
    return is_cuda(device) if wanted is None else wanted
