"""MNIST on disk and in batches.

One setting says where the data lives (:func:`data_root`): the ``root=`` argument, else
the ``MNIST_DATA`` environment variable, else a default folder:

* in a checkout of the course (``pyproject.toml`` beside the ``mnist_ref`` folder, e.g. an
  editable install): its ``data/`` — so a notebook run from ``lessons/<lesson>/`` finds the
  same files as the CLI;
* otherwise (installed into site-packages): a per-user folder,
  ``$XDG_DATA_HOME/mnist-course``, else ``~/.local/share/mnist-course``.

The folder holds ``MNIST/raw/*-ubyte`` as torchvision expects (:func:`raw_folder`).

torchvision only checks that the raw files exist; we also check their size and
SHA-256, and we never download over files a learner already has.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import os
import re
import shutil
import socket
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import NamedTuple
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from .device import use_device

# Mean and standard deviation of the training pixels (after ToTensor scales them to [0, 1]).
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

# Held out of the 60,000 training images to choose with (epochs, learning rates, models), so
# the test set is looked at once, at the very end: 500 of each digit.
VALIDATION_SIZE = 5_000
VALIDATION_SEED = 0  # one fixed split for everyone: results are comparable across learners

DATA_ENV = "MNIST_DATA"
PACKAGE_DIR = Path(__file__).resolve().parent
USER_DATA_NAME = "mnist-course"  # the per-user folder's name under $XDG_DATA_HOME

# The canonical uncompressed files: name -> (bytes, sha256).
RAW_FILES = {
    "train-images-idx3-ubyte": (47040016, "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    "train-labels-idx1-ubyte": (60008, "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    "t10k-images-idx3-ubyte": (7840016, "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    "t10k-labels-idx1-ubyte": (10008, "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
}


def _torchvision(name: str):
    """``torchvision.<name>``, imported on first use: importing torchvision costs about 1.7 s of CPU (it
    imports torch._dynamo), which the loaders below do not need (MnistFiles)."""
    return importlib.import_module(f"torchvision.{name}")


def __getattr__(name: str):
    """``mnist_ref.data.datasets`` and ``.transforms`` stay torchvision's, as they were before the lazy import."""
    if name in ("datasets", "transforms"):
        return _torchvision(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class MnistDataError(RuntimeError):
    """The MNIST files are missing, incomplete or corrupt; the message says what to do."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows these lines instead of a traceback: the message is the whole story.
        return [f"MnistDataError: {self}"]


def project_checkout() -> Path | None:
    """The course checkout this package runs from, or None when it is installed into site-packages."""
    folder = PACKAGE_DIR.parent
    return folder if (folder / "pyproject.toml").is_file() else None


def default_data_root(environ: Mapping[str, str] = os.environ) -> Path:
    """The data folder when none is given: the checkout's ``data/``, else the per-user folder."""
    checkout = project_checkout()
    if checkout is not None:
        return checkout / "data"
    user_data = environ.get("XDG_DATA_HOME") or Path("~/.local/share").expanduser()
    return Path(user_data) / USER_DATA_NAME


def data_root(root: str | os.PathLike | None = None, environ: Mapping[str, str] = os.environ) -> Path:
    """The folder that holds ``MNIST/raw``: ``root``, else ``$MNIST_DATA`` (read from ``environ``),
    else :func:`default_data_root`."""
    chosen = root if root is not None else environ.get(DATA_ENV) or default_data_root(environ)
    return Path(chosen).expanduser().resolve()


def data_option_help() -> str:
    """``--help`` text of a ``--data`` option, naming the real default."""
    return f"folder holding MNIST/raw (default: ${DATA_ENV}, else {default_data_root()})"


def raw_folder(root: Path) -> Path:
    """Where the four files are inside a data root."""
    return Path(root) / "MNIST" / "raw"


def _how_to_fix(root: Path) -> str:
    return (
        f"Looked in {raw_folder(root)}. Point the course at a folder that holds "
        f"MNIST/raw/ with root=... or the {DATA_ENV} environment variable "
        f"(e.g. export {DATA_ENV}=/path/to/data), or run `python -m mnist_ref data` on a "
        "machine with internet access to download the four files there."
    )


_verified: dict[tuple, bool] = {}  # (path, size, mtime) -> ok; hashing 55 MB once per process is enough


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _problems(raw: Path) -> tuple[list[str], list[str]]:
    """(missing file names, descriptions of present-but-bad files)."""
    missing, bad = [], []
    for name, (size, sha256) in RAW_FILES.items():
        path = raw / name
        if not path.is_file():
            missing.append(name)
            continue
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns, sha256)
        if _verified.get(key):
            continue
        if stat.st_size != size:
            bad.append(f"{name} has {stat.st_size} bytes, expected {size} (truncated or not uncompressed?)")
        elif _sha256(path) != sha256:
            bad.append(f"{name} has the right size but the wrong SHA-256 checksum (corrupt)")
        else:
            _verified[key] = True
    return missing, bad


def verify_mnist(root: str | os.PathLike | None = None) -> Path:
    """Check the four raw files (presence, size, SHA-256); return the data root or raise MnistDataError."""
    return _verified_root(data_root(root))


def _verified_root(root: Path) -> Path:
    """:func:`verify_mnist` of a data root already resolved."""
    missing, bad = _problems(raw_folder(root))
    if len(missing) == len(RAW_FILES):
        raise MnistDataError(f"MNIST not found. {_how_to_fix(root)}")
    if missing or bad:
        lines = [f"{name} is missing" for name in missing] + bad
        raise MnistDataError(
            "MNIST files are incomplete or corrupt: " + "; ".join(lines) + ". "
            "Replace those files with the originals (nothing was deleted or re-downloaded "
            "automatically, so your files are as you left them). " + _how_to_fix(root)
        )
    return root


def ensure_mnist(root: str | os.PathLike | None = None, download: bool = True) -> Path:
    """Verify MNIST, downloading it first only when none of the four files is there."""
    root = data_root(root)
    raw = raw_folder(root)
    nothing_there = not any((raw / name).exists() for name in RAW_FILES)
    if download and nothing_there:
        _download(root)
    return _verified_root(root)


def _download(root: Path) -> None:
    """torchvision's download of MNIST into ``root``. When it fails, the folders and files it made are
    removed again (a half-filled MNIST/raw would pass for the learner's own incomplete files, which are
    never downloaded over), and MnistDataError names the real cause."""
    raw = raw_folder(root)
    new_folders = [folder for folder in (raw, *raw.parents) if not folder.exists()]  # innermost first
    files_before = set(raw.iterdir()) if raw.is_dir() else set()
    try:
        _torchvision("datasets").MNIST(str(root), train=True, download=True)
    except BaseException as exc:
        for path in set(raw.iterdir()) - files_before if raw.is_dir() else ():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        for folder in new_folders:
            with suppress(OSError):  # not empty: something else wrote there meanwhile, so it stays
                folder.rmdir()
        if not isinstance(exc, Exception):
            raise  # Ctrl+C stays an interrupt
        raise MnistDataError(
            f"MNIST not found and the download failed: {_download_failure(exc)}. {_how_to_fix(root)}"
        ) from None


# torchvision's error text: "Error downloading <file>:", then for each mirror "Tried <url>, got:" with
# that mirror's error on the next line. Only those lines say why; the exceptions themselves are gone.
_MIRROR_FAILURE = re.compile(r"^Tried (\S+), got:\n(.*)$", re.MULTILINE)
_URLOPEN = "<urlopen error "  # how a URLError prints: "<urlopen error REASON>"
_NO_CONNECTION = "no network connection, or the MNIST mirrors are unreachable"


def _download_failure(exc: Exception) -> str:
    """Why a download failed, in one line: each mirror's error, or the cause in the exception chain."""
    mirrors = _MIRROR_FAILURE.findall(str(exc))
    if mirrors:
        # A connection that failed (no DNS, refused, timed out) reads "<urlopen error REASON>";
        # an HTTP error or a corrupt file reads otherwise, and is then the cause itself.
        errors = [error.strip() for _, error in mirrors]
        unreachable = all(error.startswith(_URLOPEN) for error in errors)
        reasons = [error.removeprefix(_URLOPEN).removesuffix(">") if unreachable else error for error in errors]
        details = "; ".join(f"{urlsplit(url).hostname}: {reason}" for (url, _), reason in zip(mirrors, reasons))
        return f"{_NO_CONNECTION} ({details})" if unreachable else details
    cause = exc
    while cause is not None:
        if isinstance(cause, URLError) and not isinstance(cause, HTTPError):
            return f"{_NO_CONNECTION} ({cause.reason})"
        if isinstance(cause, (ConnectionError, TimeoutError, socket.gaierror)):
            return f"{_NO_CONNECTION} ({cause})"
        cause = cause.__cause__ or cause.__context__
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def mnist_transform():
    """``transforms.Compose``: ToTensor (pixels to [0, 1]) then Normalize with the training-set mean and std."""
    transforms = _torchvision("transforms")
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,))])


def make_data(root=None, download: bool = True, train_transform=None, test_transform=None):
    """The seed's ``make_data()``: ``(train_data, test_data)`` torchvision datasets, verified."""
    root = str(ensure_mnist(root, download=download))
    datasets = _torchvision("datasets")
    train_data = datasets.MNIST(root, train=True, transform=train_transform or mnist_transform())
    test_data = datasets.MNIST(root, train=False, transform=test_transform or mnist_transform())
    return train_data, test_data


class MnistFiles(Dataset):
    """MNIST read straight from its four raw files (verified by :func:`ensure_mnist`) without torchvision:
    the same ``data`` (uint8, N x 28 x 28) and ``targets`` (int64) as ``datasets.MNIST``, and items
    ``(image, label)`` already transformed, bit for bit as ToTensor + Normalize (:func:`normalized_images`).
    The loaders use it; :func:`make_data` stays torchvision's, as lesson 01 teaches it."""

    def __init__(self, root, train: bool = True):
        prefix, raw = ("train" if train else "t10k"), raw_folder(Path(root))
        self.root, self.train = str(root), train
        # idx files: a 16-byte header (magic, count, rows, columns) before the images, 8 bytes before the labels
        self.data = _idx_bytes(raw / f"{prefix}-images-idx3-ubyte", 16).view(-1, 28, 28)
        self.targets = _idx_bytes(raw / f"{prefix}-labels-idx1-ubyte", 8).long()

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return normalized_images(self.data[index : index + 1])[0], int(self.targets[index])


def _idx_bytes(path: Path, header: int) -> torch.Tensor:
    return torch.frombuffer(bytearray(path.read_bytes()), dtype=torch.uint8, offset=header)


def mnist_files(root=None, download: bool = True) -> tuple[MnistFiles, MnistFiles]:
    """``(train, test)`` as :class:`MnistFiles`, verified (downloaded first when none of the files is there)."""
    root = ensure_mnist(root, download=download)
    return MnistFiles(root, train=True), MnistFiles(root, train=False)


def subset_indices(targets: torch.Tensor, n: int) -> torch.Tensor:
    """Deterministic class-balanced subset: the first ~n/10 examples of each digit, in dataset order."""
    if n <= 0:
        raise ValueError(f"subset size must be positive, got {n}")
    targets = torch.as_tensor(targets)
    classes = targets.unique().tolist()
    per_class = {c: n // len(classes) + (1 if i < n % len(classes) else 0) for i, c in enumerate(classes)}
    chosen = [torch.nonzero(targets == c).flatten()[:k] for c, k in per_class.items()]
    return torch.cat(chosen).sort().values


def validation_split(
    targets: torch.Tensor, n: int = VALIDATION_SIZE, seed: int = VALIDATION_SEED
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(train_indices, validation_indices)``: ``n`` examples held out, as many of each class
    (±1), drawn at random with ``seed``; both sorted, disjoint, together every index."""
    targets = torch.as_tensor(targets)
    if not 0 < n < len(targets):
        raise ValueError(f"validation size must be between 1 and {len(targets) - 1}, got {n}")
    generator = torch.Generator().manual_seed(seed)
    classes = targets.unique().tolist()
    held = []
    for i, c in enumerate(classes):
        members = torch.nonzero(targets == c).flatten()
        k = n // len(classes) + (1 if i < n % len(classes) else 0)
        if k >= len(members):  # at least one example of every class must stay to train on
            raise ValueError(f"validation size {n} would hold out all {len(members)} examples of class {c}")
        held.append(members[torch.randperm(len(members), generator=generator)[:k]])
    validation = torch.cat(held).sort().values
    keep = torch.ones(len(targets), dtype=torch.bool)
    keep[validation] = False
    return torch.nonzero(keep).flatten(), validation


def limit(dataset: Dataset, n: int | None) -> Dataset:
    """``dataset`` cut to a balanced subset of ``n`` examples (``None`` or ``n >= len`` keeps it whole)."""
    if n is None or n >= len(dataset):
        return dataset
    if isinstance(dataset, Subset):  # a subset of a subset: indices into the original set
        inner = torch.as_tensor(dataset.indices)
        chosen = subset_indices(dataset.dataset.targets[inner], n)
        return Subset(dataset.dataset, inner[chosen].tolist())
    return Subset(dataset, subset_indices(dataset.targets, n).tolist())


def normalized_images(uint8_images: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) float, bit-for-bit what ToTensor + Normalize give."""
    return uint8_images.unsqueeze(1).float().div(255).sub(MNIST_MEAN).div(MNIST_STD)


class TensorLoader:
    """An in-memory loader: the whole set decoded and normalized once, batched by index.

    Same batch semantics as ``DataLoader(dataset, batch_size, shuffle)`` with the course
    transform: same values, same batch sizes (last batch smaller), a new permutation from
    the global torch RNG every epoch when ``shuffle``. Tensors may live on any device.
    """

    def __init__(self, images: torch.Tensor, targets: torch.Tensor, batch_size: int = 64, shuffle: bool = False):
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.images, self.targets = images, targets
        self.batch_size, self.shuffle = batch_size, shuffle

    @classmethod
    def from_dataset(cls, dataset: Dataset, batch_size: int = 64, shuffle: bool = False, device="cpu"):
        """Build from an MNIST dataset or a ``Subset`` of one (its transform is not used)."""
        indices = None
        if isinstance(dataset, Subset):
            dataset, indices = dataset.dataset, torch.as_tensor(dataset.indices)
        images, targets = dataset.data, dataset.targets
        if indices is not None:
            images, targets = images[indices], targets[indices]
        return cls(normalized_images(images).to(device), targets.to(device), batch_size, shuffle)

    def __len__(self) -> int:
        return math.ceil(len(self.targets) / self.batch_size)

    def __iter__(self):
        n = len(self.targets)
        if self.shuffle:
            # Drawn on the CPU from the global RNG so a seed fixes the order on every device.
            order = torch.randperm(n).to(self.targets.device)
        else:
            order = torch.arange(n, device=self.targets.device)
        for start in range(0, n, self.batch_size):
            batch = order[start : start + self.batch_size]
            yield self.images[batch], self.targets[batch]

    @property
    def dataset(self):
        """Like ``DataLoader.dataset``: something whose ``len`` is the number of examples."""
        return self.targets


def data_loader(
    batch_size: int = 64,
    shuffle: bool = True,
    *,
    root=None,
    test_batch_size: int | None = None,
    limit_train: int | None = None,
    limit_test: int | None = None,
    in_memory: bool = False,
    device=None,
    download: bool = True,
):
    """The seed's ``data_loader()``: ``(train_loader, test_loader)``.

    ``root`` as in :func:`data_root`; ``device`` defaults to :func:`use_device` (GPU if there
    is one) — both are resolved here, once. ``in_memory=True`` gives :class:`TensorLoader`
    objects holding the tensors on ``device``; otherwise the classic ``DataLoader`` with the
    per-image transform.
    ``limit_train`` / ``limit_test`` cut each set to a class-balanced subset.
    The test set is never shuffled.
    """
    device = use_device() if device is None else torch.device(device)
    train_data, test_data = mnist_files(root, download=download)
    train_data, test_data = limit(train_data, limit_train), limit(test_data, limit_test)
    return (
        make_loader(train_data, batch_size, shuffle, in_memory=in_memory, device=device),
        make_loader(test_data, test_batch_size or batch_size, False, in_memory=in_memory, device=device),
    )


class Loaders(NamedTuple):
    """Three loaders: train on ``train``, choose on ``validation``, report ``test`` once at the end."""

    train: object
    validation: object
    test: object


def split_loaders(
    batch_size: int = 64,
    shuffle: bool = True,
    *,
    root=None,
    validation: int = VALIDATION_SIZE,
    test_batch_size: int | None = None,
    limit_train: int | None = None,
    limit_validation: int | None = None,
    limit_test: int | None = None,
    in_memory: bool = False,
    device=None,
    download: bool = True,
) -> Loaders:
    """:func:`data_loader` with a validation set held out of the training images (see
    :func:`validation_split`): ``Loaders(train, validation, test)``. Only ``train`` is shuffled;
    the limits cut each part to a class-balanced subset."""
    device = use_device() if device is None else torch.device(device)
    train_data, test_data = mnist_files(root, download=download)
    train_indices, validation_indices = validation_split(train_data.targets, validation)
    parts = (
        (limit(Subset(train_data, train_indices.tolist()), limit_train), batch_size, shuffle),
        (
            limit(Subset(train_data, validation_indices.tolist()), limit_validation),
            test_batch_size or batch_size,
            False,
        ),
        (limit(test_data, limit_test), test_batch_size or batch_size, False),
    )
    return Loaders(*(make_loader(d, b, s, in_memory=in_memory, device=device) for d, b, s in parts))


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool, *, device, in_memory: bool = False):
    """One loader over ``dataset``: a :class:`TensorLoader` on ``device`` or a classic ``DataLoader``."""
    device = torch.device(device)
    if in_memory:
        return TensorLoader.from_dataset(dataset, batch_size, shuffle, device)
    cuda = device.type == "cuda"
    # Worker processes only pay off when a GPU does the maths; on CPU they steal its cores.
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=2 if cuda else 0,
        pin_memory=cuda,
        persistent_workers=cuda,
    )
