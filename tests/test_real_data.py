"""Real MNIST: marked slow, skipped without the data, mandatory in CI (MNIST_REQUIRE_REAL=1)."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from mnist_ref import MNIST_MEAN, MNIST_STD, VALIDATION_SIZE, make_data, split_loaders, validation_split
from mnist_ref.cli import main
from mnist_ref.settings import BUDGETS

pytestmark = pytest.mark.slow

# The seed repository's README usage, on a subset so that the 20-epoch loop takes seconds.
SEED_USAGE = """
from mnist_ref import *
import torch.optim as optim

device = use_device()
train_data, test_data = make_data()
train_loader, test_loader = data_loader(batch_size=64, shuffle=True, limit_train=1000, limit_test=500)
batch_data, batch_label = next(iter(train_loader))
plot_data(batch_data, batch_label, 12)

model = Net().to(device)
optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=15, gamma=0.1)
for epoch in range(1, 21):
    train_acc, train_losses = train(model, device, train_loader, optimizer, progress=False)
    test_acc, test_losses = test(model, device, test_loader, progress=False)
    scheduler.step()
print(len(train_data), len(test_data), round(test_acc, 2))
"""


def test_real_files_and_normalization_constants(real_mnist):
    train_data, test_data = make_data(real_mnist)
    assert (len(train_data), len(test_data)) == (60000, 10000)
    pixels = train_data.data.float() / 255
    assert round(pixels.mean().item(), 4) == MNIST_MEAN and round(pixels.std().item(), 4) == MNIST_STD


def test_the_validation_set_is_500_of_each_digit_and_the_same_for_everyone(real_mnist):
    train_data, _ = make_data(real_mnist)
    train_indices, validation_indices = validation_split(train_data.targets)
    assert len(validation_indices) == VALIDATION_SIZE == 5_000 and len(train_indices) == 55_000
    assert torch.bincount(train_data.targets[validation_indices]).tolist() == [500] * 10
    # Pinned: learners' validation results, the lessons' text and the shipped reference run all rely on this split.
    assert validation_indices[:8].tolist() == [6, 14, 16, 22, 30, 33, 35, 80]
    assert int(validation_indices.sum()) == 150_169_783


def test_the_cpu_budget_loads_balanced_parts_of_the_split(real_mnist):
    budget = BUDGETS["cpu"]
    loaders = split_loaders(
        root=real_mnist,
        limit_train=budget.limit_train,
        limit_validation=budget.limit_validation,
        limit_test=budget.limit_test,
        in_memory=True,
        device="cpu",
    )
    assert [len(loader.targets) for loader in loaders] == [budget.limit_train, budget.limit_validation, 10_000]
    for loader in loaders[:2]:
        counts = torch.bincount(loader.targets)
        assert counts.max() - counts.min() <= 1


def test_seed_readme_usage_runs_on_a_subset(real_mnist, tmp_path):
    env = {"MNIST_DATA": str(real_mnist), "MNIST_DEVICE": "cpu", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SEED_USAGE)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    n_train, n_test, test_acc = result.stdout.split()
    assert (n_train, n_test) == ("60000", "10000")
    assert float(test_acc) >= 90.0  # 1,000 images, 20 epochs: well above chance


def test_one_epoch_of_the_classic_recipe_reaches_98_percent(real_mnist, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--data", str(real_mnist), "--epochs", "1", "--out", str(out), "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["params"] == 593200
    assert metrics["test_acc"][-1] >= 98.0 and metrics["val_acc"][-1] >= 97.5, metrics  # 55,000 images trained on


def test_half_an_epoch_of_the_fast_recipe_reaches_99_percent(real_mnist, tmp_path):
    out = tmp_path / "fast"
    argv = ["train", "--recipe", "fast", "--data", str(real_mnist), "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["params"] == 593200 and metrics["recipe"] == "fast"
    assert metrics["test_acc"][-1] >= 99.0, metrics
