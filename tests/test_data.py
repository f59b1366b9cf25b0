import re
import socket
import subprocess
import sys
from pathlib import Path
from urllib.error import HTTPError, URLError

import pytest
import torch
from torch.utils.data import DataLoader
from torchvision.datasets import mnist as torchvision_mnist

import mnist_ref
from mnist_ref import data as data_module
from mnist_ref.data import (
    MNIST_MEAN,
    MNIST_STD,
    VALIDATION_SIZE,
    Loaders,
    MnistDataError,
    TensorLoader,
    data_loader,
    data_option_help,
    data_root,
    default_data_root,
    ensure_mnist,
    make_data,
    make_loader,
    raw_folder,
    split_loaders,
    subset_indices,
    validation_split,
    verify_mnist,
)

CHECKOUT = Path(__file__).resolve().parents[1]


def test_data_root_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DATA", raising=False)
    assert data_root() == CHECKOUT / "data"
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "env"))
    assert data_root() == tmp_path / "env"
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data_root(environ={"MNIST_DATA": str(tmp_path / "given")}) == tmp_path / "given"


def test_default_root_does_not_depend_on_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("MNIST_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert data_root() == CHECKOUT / "data"


def test_default_root_outside_a_checkout_is_per_user(tmp_path, monkeypatch):
    # Installed into site-packages: no pyproject.toml beside the package folder.
    monkeypatch.setattr(data_module, "PACKAGE_DIR", tmp_path / "site-packages" / "mnist_ref")
    assert data_module.project_checkout() is None
    assert default_data_root({"XDG_DATA_HOME": str(tmp_path / "xdg")}) == tmp_path / "xdg" / "mnist-course"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_data_root({}) == tmp_path / "home" / ".local" / "share" / "mnist-course"
    assert data_root(environ={}) == tmp_path / "home" / ".local" / "share" / "mnist-course"
    assert str(tmp_path / "home") in data_option_help() and "./data" not in data_option_help()


def test_default_root_in_a_checkout_is_its_data_folder(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text("[project]\n")
    monkeypatch.setattr(data_module, "PACKAGE_DIR", tmp_path / "mnist_ref")
    assert default_data_root({"XDG_DATA_HOME": str(tmp_path / "xdg")}) == tmp_path / "data"
    assert raw_folder(tmp_path / "data") == tmp_path / "data" / "MNIST" / "raw"


def test_make_data_loads_through_torchvision(tiny_mnist):
    train_data, test_data = make_data()
    assert (len(train_data), len(test_data)) == (200, 100)
    image, label = train_data[0]
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32
    assert isinstance(label, int) and 0 <= label <= 9


def test_the_loaders_read_the_raw_files_exactly_as_torchvision_does(tiny_mnist):
    from mnist_ref.data import MnistFiles

    for train, torchvision_set in zip((True, False), make_data()):
        ours = MnistFiles(tiny_mnist, train=train)
        assert torch.equal(ours.data, torchvision_set.data) and torch.equal(ours.targets, torchvision_set.targets)
        assert ours.targets.dtype == torch.int64 and len(ours) == len(torchvision_set)
        for index in (0, 7, len(ours) - 1):
            (image, label), (expected, expected_label) = ours[index], torchvision_set[index]
            assert torch.equal(image, expected) and label == expected_label and type(label) is int


def test_importing_the_library_does_not_import_torchvision():
    # torchvision imports torch._dynamo: about 1.7 s of CPU at every lesson's start (and every graded kernel's)
    code = (
        "import sys, mnist_ref, mnist_ref.explorers, mnist_ref.baselines, mnist_ref.diagrams.training; "
        "import mnist_ref.data as data; assert 'torchvision' not in sys.modules; "
        "assert data.transforms.Normalize and 'torchvision' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


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


def test_loaders_never_choose_the_device_themselves(tiny_mnist, monkeypatch):
    monkeypatch.setattr(data_module, "use_device", lambda *args: pytest.fail("device resolved again"))
    train_loader, _ = data_loader(batch_size=32, in_memory=True, device="cpu")
    assert train_loader.images.device.type == "cpu"
    loader = make_loader(make_data()[0], 16, False, device="cpu")
    assert isinstance(loader, DataLoader) and loader.num_workers == 0 and not loader.pin_memory


def test_data_folder_is_resolved_once_per_call(tiny_mnist, monkeypatch):
    resolved = []
    resolve = data_module.data_root
    monkeypatch.setattr(data_module, "data_root", lambda *args: resolved.append(args) or resolve(*args))
    data_loader(batch_size=32, device="cpu")
    assert resolved == [(None,)]


def test_validation_split_is_balanced_disjoint_and_covers_every_index():
    targets = torch.arange(10).repeat_interleave(torch.arange(30, 40))  # unequal classes: 30..39 of each
    train_indices, validation_indices = validation_split(targets, 25)
    assert len(validation_indices) == 25 and len(train_indices) == len(targets) - 25
    counts = torch.bincount(targets[validation_indices], minlength=10)
    assert counts.max() - counts.min() <= 1
    assert torch.equal(torch.cat([train_indices, validation_indices]).sort().values, torch.arange(len(targets)))
    for indices in (train_indices, validation_indices):
        assert torch.equal(indices, indices.sort().values)


def test_validation_split_is_seeded_and_random_within_a_class():
    targets = torch.arange(10).repeat(50)
    first = validation_split(targets, 100)
    assert all(torch.equal(a, b) for a, b in zip(first, validation_split(targets, 100), strict=True))
    assert not torch.equal(first[1], validation_split(targets, 100, seed=1)[1])
    assert not torch.equal(first[1], subset_indices(targets, 100))  # drawn at random, not the first of each digit
    assert VALIDATION_SIZE == 5_000


@pytest.mark.parametrize("n", [0, -1, 500, 501])
def test_validation_split_rejects_a_size_it_cannot_hold_out(n):
    with pytest.raises(ValueError, match="validation size"):
        validation_split(torch.arange(10).repeat(50), n)


def _targets(loader) -> torch.Tensor:
    return torch.cat([target for _, target in loader])


def test_split_loaders_holds_validation_out_of_the_training_images(tiny_mnist):
    loaders = split_loaders(batch_size=16, validation=50, test_batch_size=40, device="cpu")
    assert isinstance(loaders, Loaders) and loaders._fields == ("train", "validation", "test")
    assert [len(loader.dataset) for loader in loaders] == [150, 50, 100]
    assert (loaders.train.batch_size, loaders.validation.batch_size, loaders.test.batch_size) == (16, 40, 40)
    train_indices, validation_indices = validation_split(make_data()[0].targets, 50)
    assert loaders.train.dataset.indices == train_indices.tolist()
    assert loaders.validation.dataset.indices == validation_indices.tolist()
    assert not set(loaders.train.dataset.indices) & set(loaders.validation.dataset.indices)


def test_split_loaders_shuffles_only_the_training_set(tiny_mnist):
    for in_memory in (False, True):
        loaders = split_loaders(batch_size=16, validation=50, in_memory=in_memory, device="cpu")
        torch.manual_seed(0)
        first = [_targets(loader) for loader in loaders]
        torch.manual_seed(1)
        second = [_targets(loader) for loader in loaders]
        assert [torch.equal(a, b) for a, b in zip(first, second)] == [False, True, True], in_memory


def test_split_loaders_limits_cut_balanced_subsets_of_each_part(tiny_mnist):
    whole = split_loaders(batch_size=16, validation=100, device="cpu")
    cut = split_loaders(batch_size=16, validation=100, limit_train=30, limit_validation=20, limit_test=40, device="cpu")
    assert [len(loader.dataset) for loader in cut] == [30, 20, 40]
    for part, whole_part in zip(cut[:2], whole[:2]):
        assert set(part.dataset.indices) <= set(whole_part.dataset.indices)  # cut inside its own part
    for loader in cut:
        counts = torch.bincount(_targets(loader), minlength=10)
        assert counts.max() - counts.min() <= 1


def test_split_loaders_in_memory_gives_the_same_batches(tiny_mnist):
    options = dict(batch_size=32, shuffle=False, validation=60, limit_train=70, device="cpu")
    classic, memory = split_loaders(**options), split_loaders(in_memory=True, **options)
    for classic_loader, memory_loader in zip(classic, memory, strict=True):
        assert isinstance(memory_loader, TensorLoader) and len(memory_loader) == len(classic_loader)
        for (x1, y1), (x2, y2) in zip(classic_loader, memory_loader, strict=True):
            assert torch.equal(x1, x2) and torch.equal(y1, y2)


def test_split_loaders_says_when_the_validation_set_is_too_large(tiny_mnist):
    with pytest.raises(ValueError, match="validation size must be between 1 and 199, got 5000"):
        split_loaders(device="cpu")  # the default 5,000 of the real set is more than 200 tiny images


def test_package_exports_the_seed_api():
    names = ("use_device", "make_data", "data_loader", "Net", "train", "test", "plot_data", "setup_lesson")
    for name in (*names, "split_loaders", "validation_split", "Loaders", "VALIDATION_SIZE"):
        assert name in mnist_ref.__all__


def fail_downloads_like_torchvision(monkeypatch, error: Exception, after_files: int = 1) -> None:
    """torchvision's own MNIST.download, over a network that fails with `error`: the first `after_files`
    archives arrive (and are extracted), then every mirror fails, as a half-finished download does."""
    arrived = []

    def fetch(url, download_root, filename, md5):
        if len(arrived) < after_files:
            arrived.append(filename)
            (Path(download_root) / filename).write_bytes(b"archive")
            (Path(download_root) / filename.removesuffix(".gz")).write_bytes(b"extracted")
            return
        (Path(download_root) / filename).write_bytes(b"partial")  # a transfer cut short
        raise error

    monkeypatch.setattr(torchvision_mnist, "download_and_extract_archive", fetch)


def test_download_without_network_names_the_cause_and_leaves_no_folder(tmp_path, monkeypatch):
    fail_downloads_like_torchvision(monkeypatch, URLError(socket.gaierror(-2, "Name or service not known")))
    root = tmp_path / "new" / "data"
    with pytest.raises(MnistDataError) as err:
        ensure_mnist(root, download=True)
    message = str(err.value)
    # torchvision's own text ends in an empty "Error downloading train-labels-idx1-ubyte.gz:"
    assert "download failed: no network connection, or the MNIST mirrors are unreachable (" in message
    assert "ossci-datasets.s3.amazonaws.com: [Errno -2] Name or service not known; yann.lecun.com:" in message
    assert "Error downloading" not in message and "MNIST_DATA" in message
    assert list(tmp_path.iterdir()) == []  # neither the folders nor the one file that arrived


def test_failed_download_keeps_what_was_there_before(tmp_path, monkeypatch):
    raw = raw_folder(tmp_path)
    raw.mkdir(parents=True)
    (raw / "my-notes.txt").write_text("the learner's")
    (raw / "mine").mkdir()
    fail_downloads_like_torchvision(monkeypatch, HTTPError("url", 403, "Forbidden", {}, None), after_files=0)
    with pytest.raises(MnistDataError) as err:
        ensure_mnist(tmp_path, download=True)
    # the mirrors answered: the cause is theirs, not the network's
    assert "download failed: ossci-datasets.s3.amazonaws.com: HTTP Error 403: Forbidden; yann" in str(err.value)
    assert "no network" not in str(err.value)
    assert sorted(path.name for path in raw.iterdir()) == ["mine", "my-notes.txt"]


def test_interrupted_download_stays_an_interrupt_and_is_cleaned_up(tmp_path, monkeypatch):
    fail_downloads_like_torchvision(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        ensure_mnist(tmp_path / "data", download=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (RuntimeError("Error downloading x.gz:"), "RuntimeError: Error downloading x.gz:"),
        (OSError(28, "No space left on device"), "OSError: [Errno 28] No space left on device"),
        (RuntimeError(), "RuntimeError"),
    ],
)
def test_other_download_failures_say_what_they_are(tmp_path, monkeypatch, error, cause):
    def download(self):
        raise error

    monkeypatch.setattr(data_module.datasets.MNIST, "download", download)
    with pytest.raises(MnistDataError, match=f"download failed: {re.escape(cause)}\\. Looked in"):
        ensure_mnist(tmp_path, download=True)


def test_a_lost_connection_in_the_exception_chain_is_named(tmp_path, monkeypatch):
    def download(self):
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except OSError as exc:
            raise RuntimeError("File not found or corrupted.") from exc

    monkeypatch.setattr(data_module.datasets.MNIST, "download", download)
    with pytest.raises(MnistDataError, match=r"mirrors are unreachable \(\[Errno 104\] Connection reset by peer\)"):
        ensure_mnist(tmp_path, download=True)


def test_a_data_error_shows_in_a_notebook_as_its_message_alone(tmp_path, capsys):
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    result = shell.run_cell(f"from mnist_ref.data import verify_mnist\nverify_mnist({str(tmp_path)!r})")
    shown = capsys.readouterr()
    assert isinstance(result.error_in_exec, MnistDataError)
    assert "MnistDataError: MNIST not found." in shown.out + shown.err
    assert "Traceback" not in shown.out + shown.err and "verify_mnist(" not in shown.out + shown.err
