"""Shared fixtures: a tiny MNIST written in the real IDX format, the real one when present, and the graded class."""

from __future__ import annotations

import concurrent.futures
import hashlib
import multiprocessing
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


@pytest.fixture(scope="session", autouse=True)
def class_grading(request, tmp_path_factory):
    """When a selected test reads the graded class, its grading starts with the session, in a process of
    its own: its two grading workers use the core that the other tests (run first, see below), most of
    which keep one core busy, leave idle. The process has the session's environment, whatever a test
    patches later. (Not at a lower priority: on a busy machine that pushed submissions past their
    wall-clock limit, mnist_course.autograde's 180 s per lesson.)"""
    if not any("graded_class" in item.fixturenames for item in request.session.items):
        yield None
        return
    from course_class import grade_class

    folder = tmp_path_factory.mktemp("class")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool.submit(grade_class, folder)


@pytest.fixture(scope="session")
def graded_class(class_grading):
    """The course's class autograded once per session (tests/course_class.py: who is in it and why)."""
    return class_grading.result()


# pytest-timeout counts fixture setup: the first test of the graded class may wait for the rest of its
# grading, which has its own limits per student (mnist_course.autograde).
GRADED_CLASS_TIMEOUT = 3600


def pytest_collection_modifyitems(items):
    """The tests of the graded class run last, when the grading that began with the session is done."""
    reads_class = [item for item in items if "graded_class" in item.fixturenames]
    for item in reads_class:
        item.add_marker(pytest.mark.timeout(GRADED_CLASS_TIMEOUT))
    items[:] = [item for item in items if item not in reads_class] + reads_class
