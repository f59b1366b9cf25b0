import os

import pytest
import torch
from torch.utils.data import DataLoader

import mnist_ref
from mnist_ref import data as data_module
from mnist_ref.data import (
    MNIST_MEAN,
    MNIST_STD,
    MnistDataError,
    TensorLoader,
    data_loader,
    data_root,
    ensure_mnist,
    make_data,
    subset_indices,
    verify_mnist,
)


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DATA", raising=False)
    assert data_root() == data_module.PROJECT_ROOT / "data"
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"


def test_default_root_does_not_depend_on_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert data_root() == data_module.PROJECT_ROOT / "data"


def test_make_data_loads_through_torchvision(tiny_mnist):
    train_data, test_data = make_data()
    assert (len(train_data), len(test_data)) == (200, 100)
    image, label = train_data[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert isinstance(label, int) and 0 <= label <= 9


def test_transform_normalizes_with_the_course_constants(tiny_mnist):
    train_data, _ = make_data()
    image, _ = train_data[0]
    raw = train_data.data[0].float() / 255
    assert torch.allclose(image[0], (raw - MNIST_MEAN) / MNIST_STD)
    assert (MNIST_MEAN, MNIST_STD) == (0.1307, 0.3081)


def test_missing_data_names_folder_setting_and_remedy(tmp_path):
    with pytest.raises(MnistDataError) as err:
        verify_mnist(tmp_path)
    message = str(err.value)
    assert str(tmp_path / "MNIST" / "raw") in message
    assert "MNIST_DATA" in message and "python -m mnist_ref data" in message


def test_truncated_file_is_reported_and_left_alone(tiny_mnist):
    path = tiny_mnist / "MNIST" / "raw" / "train-images-idx3-ubyte"
    content = path.read_bytes()[:-100]
    path.write_bytes(content)
    with pytest.raises(MnistDataError, match="train-images-idx3-ubyte has .* bytes, expected"):
        ensure_mnist(download=True)
    assert path.read_bytes() == content  # not re-downloaded, not deleted


def test_corrupt_file_is_reported(tiny_mnist):
    path = tiny_mnist / "MNIST" / "raw" / "t10k-labels-idx1-ubyte"
    content = bytearray(path.read_bytes())
    content[-1] ^= 0xFF
    path.write_bytes(bytes(content))
    with pytest.raises(MnistDataError, match="t10k-labels-idx1-ubyte .* wrong SHA-256"):
        make_data()


def test_partial_download_is_not_overwritten(tiny_mnist, monkeypatch):
    (tiny_mnist / "MNIST" / "raw" / "t10k-images-idx3-ubyte").unlink()
    monkeypatch.setattr(data_module.datasets.MNIST, "download", lambda self: pytest.fail("must not download"))
    with pytest.raises(MnistDataError, match="t10k-images-idx3-ubyte is missing"):
        ensure_mnist(download=True)


def test_failed_download_gives_one_clear_error(tmp_path, monkeypatch):
    def no_network(self):
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz:\nTried https://..., got: <urlopen error>")

    monkeypatch.setattr(data_module.datasets.MNIST, "download", no_network)
    with pytest.raises(MnistDataError) as err:
        ensure_mnist(tmp_path, download=True)
    assert "download failed" in str(err.value) and "MNIST_DATA" in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no torchvision traceback


def test_verification_result_is_cached(tiny_mnist, monkeypatch):
    verify_mnist()
    monkeypatch.setattr(data_module, "_sha256", lambda path: pytest.fail("hashed twice"))
    verify_mnist()


def test_subset_is_balanced_and_deterministic():
    targets = torch.arange(10).repeat(50)
    chosen = subset_indices(targets, 25)
    assert len(chosen) == 25 and torch.equal(chosen, subset_indices(targets, 25))
    counts = torch.bincount(targets[chosen], minlength=10)
    assert counts.max() - counts.min() <= 1
    assert torch.equal(chosen, chosen.sort().values)
    with pytest.raises(ValueError):
        subset_indices(targets, 0)


def test_data_loader_seed_usage(tiny_mnist):
    train_loader, test_loader = data_loader(batch_size=64, shuffle=True)
    assert isinstance(train_loader, DataLoader) and len(train_loader) == 4  # 200 / 64 -> 4 batches
    data, target = next(iter(train_loader))
    assert data.shape == (64, 1, 28, 28) and target.shape == (64,)
    assert len(test_loader.dataset) == 100


def test_limits_cut_both_sets(tiny_mnist):
    train_loader, test_loader = data_loader(batch_size=16, limit_train=50, limit_test=20)
    assert len(train_loader.dataset) == 50 and len(test_loader.dataset) == 20


def test_in_memory_loader_gives_the_same_batches(tiny_mnist):
    classic, _ = data_loader(batch_size=64, shuffle=False, limit_train=150)
    memory, _ = data_loader(batch_size=64, shuffle=False, limit_train=150, in_memory=True)
    assert isinstance(memory, TensorLoader) and len(memory) == len(classic) == 3
    for (x1, y1), (x2, y2) in zip(classic, memory, strict=True):
        assert torch.equal(x1, x2) and torch.equal(y1, y2)


def test_in_memory_shuffle_is_a_seeded_permutation(tiny_mnist):
    loader, _ = data_loader(batch_size=32, in_memory=True)
    torch.manual_seed(0)
    first = torch.cat([y for _, y in loader])
    second = torch.cat([y for _, y in loader])
    torch.manual_seed(0)
    again = torch.cat([y for _, y in loader])
    assert torch.equal(first, again) and not torch.equal(first, second)
    assert torch.equal(first.sort().values, loader.targets.sort().values)  # every example once


def test_tensor_loader_rejects_bad_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        TensorLoader(torch.zeros(4, 1, 28, 28), torch.zeros(4), batch_size=0)


def test_package_exports_the_seed_api():
    for name in ("use_device", "make_data", "data_loader", "Net", "train", "test", "plot_data"):
        assert name in mnist_ref.__all__
    assert os.fspath(data_module.DEFAULT_ROOT).endswith("data")
