"""The three settings: argument > environment > default, the nbgrader case, bad values, the lesson setup."""

from pathlib import Path

import pytest
import torch

from mnist_ref import device as device_module
from mnist_ref.recipes import CLASSIC
from mnist_ref.settings import BUDGETS, Budget, Settings, resolve_budget, resolve_settings, setup_lesson

CPU = torch.device("cpu")


@pytest.fixture
def cpu_only(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)


def test_data_folder_argument_then_environment_then_default(tmp_path, cpu_only, monkeypatch):
    monkeypatch.setattr("mnist_ref.data.default_data_root", lambda environ: tmp_path / "default")
    env = {"MNIST_DATA": str(tmp_path / "env")}
    assert resolve_settings(data=tmp_path / "arg", environ=env).data == tmp_path / "arg"
    assert resolve_settings(environ=env).data == tmp_path / "env"
    assert resolve_settings(environ={"MNIST_DATA": ""}).data == tmp_path / "default"
    assert resolve_settings(environ={}).data == tmp_path / "default"


def test_device_argument_then_environment_then_default(cpu_only, monkeypatch):
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    assert resolve_settings(device="cpu", environ={"MNIST_DEVICE": "mps"}).device == CPU
    assert resolve_settings(environ={"MNIST_DEVICE": "cpu"}).device == CPU
    assert resolve_settings(environ={"MNIST_DEVICE": ""}).device == torch.device("mps")
    assert resolve_settings(environ={}).device == torch.device("mps")


def test_budget_argument_then_environment_then_default(cpu_only):
    env = {"MNIST_BUDGET": "full"}
    assert resolve_settings(budget="quick", environ=env).budget == BUDGETS["quick"]
    assert resolve_settings(budget=BUDGETS["cpu"], environ=env).budget == BUDGETS["cpu"]
    assert resolve_settings(environ=env).budget == BUDGETS["full"]
    assert resolve_settings(environ={"MNIST_BUDGET": " Quick "}).budget == BUDGETS["quick"]
    assert resolve_settings(environ={"MNIST_BUDGET": ""}).budget == BUDGETS["cpu"]


@pytest.mark.parametrize("device, budget", [("cpu", "cpu"), ("cuda", "full"), ("cuda:1", "full"), ("mps", "full")])
def test_default_budget_follows_the_device(device, budget):
    assert resolve_budget(device=device, environ={}) == BUDGETS[budget]
    assert resolve_budget(environ={}) == BUDGETS["cpu"]  # device unknown: the CPU's


def test_nbgrader_means_the_grading_budget_unless_mnist_budget_says_otherwise():
    grading = {"NBGRADER_EXECUTION": "autograde"}
    assert resolve_budget(device="cuda", environ=grading) == BUDGETS["grading"]
    assert resolve_budget(environ={"MNIST_BUDGET": "grading"}) == BUDGETS["grading"]  # to see what grading runs
    assert resolve_budget(device="cuda", environ={**grading, "MNIST_BUDGET": "cpu"}) == BUDGETS["cpu"]
    assert resolve_budget("full", environ=grading) == BUDGETS["full"]
    assert resolve_budget(device="cuda", environ={"NBGRADER_EXECUTION": ""}) == BUDGETS["full"]


def test_bad_values_say_what_to_do(cpu_only):
    with pytest.raises(ValueError, match="MNIST_BUDGET='huge' is not a budget: use one of full, cpu, quick, grading"):
        resolve_settings(environ={"MNIST_BUDGET": "huge"})
    with pytest.raises(ValueError, match="unknown budget 'huge': use one of full, cpu, quick, grading"):
        resolve_settings(budget="huge", environ={})
    with pytest.raises(ValueError, match="unknown device 'tpu': use one of auto, cpu, cuda"):
        resolve_settings(environ={"MNIST_DEVICE": "tpu"})
    with pytest.raises(ValueError, match="CUDA is not available here; use 'auto' or 'cpu'"):
        resolve_settings(device="cuda", environ={})


def test_full_budget_is_the_classic_recipe_run():
    full = BUDGETS["full"]
    assert full.epochs == CLASSIC.epochs and (full.limit_train, full.limit_validation, full.limit_test) == (None,) * 3
    assert (
        BUDGETS["quick"].describe()
        == "budget 'quick': 2 epoch(s) on 1,000 training images, validated on 500, tested on 500"
    )
    assert full.describe() == (
        "budget 'full': 20 epoch(s) on all 55,000 training images, validated on all 5,000, tested on all 10,000"
    )


def test_settings_are_frozen(tmp_path):
    settings = Settings(tmp_path, CPU, BUDGETS["quick"])
    with pytest.raises(AttributeError):
        settings.device = torch.device("cuda")


def test_setup_lesson_resolves_seeds_and_prints_one_line(tiny_mnist, cpu_only, monkeypatch, capsys):
    monkeypatch.setenv("MNIST_BUDGET", "quick")
    settings = setup_lesson(seed=5)
    first = torch.rand(3)
    setup_lesson(seed=5, trains=False)
    assert torch.equal(first, torch.rand(3))
    assert settings == Settings(tiny_mnist, CPU, BUDGETS["quick"])
    lines = capsys.readouterr().out.splitlines()
    quick = "device: cpu · budget 'quick': 2 epoch(s) on 1,000 training images, validated on 500, tested on 500"
    assert lines == [quick, quick + " (this lesson does not train)"]


def test_settings_data_loader_uses_folder_device_and_budget_limits(tiny_mnist, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(Path("/nonexistent")))  # the resolved folder is used, not the variable
    settings = Settings(tiny_mnist, CPU, Budget("tiny", epochs=1, limit_train=50, limit_test=20))
    train_loader, test_loader = settings.data_loader(batch_size=16, in_memory=True)
    assert (len(train_loader.dataset), len(test_loader.dataset)) == (50, 20)
    assert train_loader.batch_size == 16 and train_loader.images.device == CPU
    train_loader, _ = settings.data_loader(batch_size=16, limit_train=30)  # an option overrides the budget
    assert len(train_loader.dataset) == 30


def test_settings_split_loaders_cut_every_part_to_the_budget(tiny_mnist, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(Path("/nonexistent")))  # the resolved folder is used, not the variable
    budget = Budget("tiny", epochs=1, limit_train=50, limit_test=20, limit_validation=30)
    loaders = Settings(tiny_mnist, CPU, budget).split_loaders(batch_size=16, validation=60, in_memory=True)
    assert [len(loader.dataset) for loader in loaders] == [50, 30, 20]
    assert loaders.train.batch_size == 16 and loaders.validation.images.device == CPU
    loaders = Settings(tiny_mnist, CPU, budget).split_loaders(validation=60, limit_validation=None)  # an option wins
    assert len(loaders.validation.dataset) == 60


def test_the_smaller_budgets_validate_on_a_balanced_part_of_the_validation_set():
    from mnist_ref.data import VALIDATION_SIZE

    for budget in (BUDGETS["grading"], BUDGETS["quick"], BUDGETS["cpu"]):
        assert 0 < budget.limit_validation < VALIDATION_SIZE and budget.limit_validation % 10 == 0
        assert budget.limit_train < 60_000 - VALIDATION_SIZE


def test_the_grading_budget_trains_less_than_quick_on_full_batches_of_every_digit():
    grading, quick = BUDGETS["grading"], BUDGETS["quick"]
    assert grading.epochs * grading.limit_train < quick.epochs * quick.limit_train
    assert grading.limit_validation <= quick.limit_validation and grading.limit_test <= quick.limit_test
    assert grading.limit_train % 64 == 0 and grading.limit_train >= 64 * 2  # lessons take a batch of 64 apart
    assert grading.epochs >= 2  # training curves draw a line, not a point
