import json

import pytest
import torch

from mnist_ref.cli import main
from mnist_ref.data import data_loader
from mnist_ref.engine import fit, seed_everything
from mnist_ref.model import NUM_PARAMETERS, Net, count_parameters
from mnist_ref.recipes import CLASSIC, FAST, RECIPES, get_recipe


def test_classic_recipe_is_the_course_recipe():
    assert (CLASSIC.batch_size, CLASSIC.epochs, CLASSIC.lr, CLASSIC.momentum) == (64, 20, 0.01, 0.9)
    assert (CLASSIC.schedule, CLASSIC.step_size, CLASSIC.gamma) == ("step", 15, 0.1)
    optimizer = CLASSIC.optimizer(Net())
    assert not optimizer.defaults["nesterov"] and optimizer.defaults["weight_decay"] == 0


def test_onecycle_steps_every_batch_and_peaks_at_the_recipe_lr():
    optimizer = FAST.optimizer(Net())
    scheduler, per_batch = FAST.scheduler(optimizer, steps_per_epoch=100, epochs=1)
    assert per_batch
    lrs = []
    for _ in range(100):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert max(lrs) == pytest.approx(FAST.lr) and lrs.index(max(lrs)) == 24  # 25 % warm-up
    assert lrs[0] == pytest.approx(FAST.lr / 25) and lrs[-1] < FAST.lr / 1000


def test_fast_recipe_is_adamw_over_half_an_epoch():
    assert FAST.epochs == 0.5 and isinstance(FAST.optimizer(Net()), torch.optim.AdamW)
    assert isinstance(RECIPES["fast-long"].optimizer(Net()), torch.optim.SGD)
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        FAST.with_overrides(algorithm="lbfgs").optimizer(Net())


def test_overrides_and_unknown_names():
    assert FAST.with_overrides(epochs=3, lr=None).epochs == 3
    assert FAST.with_overrides(lr=None).lr == FAST.lr
    assert get_recipe("fast") is FAST and get_recipe(FAST) is FAST
    with pytest.raises(ValueError, match="unknown recipe 'turbo'"):
        get_recipe("turbo")
    with pytest.raises(ValueError, match="at least 4 steps"):
        FAST.scheduler(FAST.optimizer(Net()), steps_per_epoch=3, epochs=1)
    with pytest.raises(ValueError, match="unknown schedule"):
        FAST.with_overrides(schedule="cosine").scheduler(FAST.optimizer(Net()), 10)


def test_every_recipe_trains_the_same_model(tiny_mnist):
    for recipe in RECIPES.values():
        seed_everything(0)
        model = Net()
        loaders = data_loader(recipe.batch_size, in_memory=True, device="cpu")
        history = fit(model, torch.device("cpu"), *loaders, epochs=1, recipe=recipe, progress=False)
        assert count_parameters(model) == NUM_PARAMETERS and len(history) == 1, recipe.name


def test_fast_recipe_from_the_command_line(tiny_mnist, tmp_path):
    out = tmp_path / "fast"
    argv = ["train", "--recipe", "fast", "--epochs", "3", "--batch-size", "16", "--validation", "20"]
    argv += ["--out", str(out), "--no-progress"]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["recipe"] == "fast" and len(metrics["test_acc"]) == 3
    assert metrics["test_acc"][-1] >= 90  # the synthetic digits are easy
