"""Shared fixtures: a tiny MNIST written in the real IDX format, and the real one when present."""

from __future__ import annotations

import hashlib
import os
import struct
from pathlib import Path

import pytest
import torch

from mnist_ref import data as data_module

REQUIRE_REAL = "MNIST_REQUIRE_REAL"


def write_idx(path: Path, array: torch.Tensor) -> None:
    """IDX: magic (0, 0, type 0x08 = ubyte, number of dims), the dims big-endian, then the bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.dim()) + struct.pack(f">{array.dim()}I", *array.shape)
    path.write_bytes(header + array.to(torch.uint8).contiguous().numpy().tobytes())


def synthetic_digits(per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Learnable fake digits: class c lights a 6x6 block at a place of its own, plus noise."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(10).repeat_interleave(per_class)
    labels = labels[torch.randperm(len(labels), generator=generator)]
    images = torch.randint(0, 40, (len(labels), 28, 28), generator=generator)
    for i, c in enumerate(labels.tolist()):
        row, col = 3 + 7 * (c // 4), 3 + 7 * (c % 4)
        images[i, row : row + 6, col : col + 6] = 255
    return images.to(torch.uint8), labels.to(torch.uint8)


def write_tiny_mnist(root: Path, train_per_class: int = 20, test_per_class: int = 10) -> dict:
    """Write the four raw files under root/MNIST/raw; return their {name: (size, sha256)}."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for prefix, per_class, seed in (("train", train_per_class, 0), ("t10k", test_per_class, 1)):
        images, labels = synthetic_digits(per_class, seed)
        write_idx(raw / f"{prefix}-images-idx3-ubyte", images)
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", labels)
    return {p.name: (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest()) for p in raw.iterdir()}


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch) -> Path:
    """A tiny MNIST root whose checksums the verifier accepts (200 train, 100 test images).

    MNIST_DATA points at it, so code that uses the default location finds it too."""
    root = tmp_path / "data"
    monkeypatch.setattr(data_module, "RAW_FILES", write_tiny_mnist(root))
    monkeypatch.setenv("MNIST_DATA", str(root))
    monkeypatch.setenv("MNIST_DEVICE", "cpu")
    return root


@pytest.fixture(scope="session")
def real_mnist() -> Path:
    """The real MNIST root ($MNIST_DATA or ./data). Missing: skip, or fail when $MNIST_REQUIRE_REAL=1 (CI)."""
    try:
        return data_module.verify_mnist()
    except data_module.MnistDataError as exc:
        if os.environ.get(REQUIRE_REAL) == "1":
            pytest.fail(f"{REQUIRE_REAL}=1 but the real MNIST is not usable: {exc}")
        pytest.skip(f"real MNIST not available (set MNIST_DATA): {exc}")
