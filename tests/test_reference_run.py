import json
import tomllib
from pathlib import Path

import pytest
import torch

from mnist_ref import reference_run
from mnist_ref.cli import main
from mnist_ref.model import Net, count_parameters

CHECKOUT = Path(__file__).resolve().parents[1]
RUN_FIELDS = {"interim", "command", "recipe", "seed", "epochs", "device", "cpu", "cpu_count", "torch"}
RUN_FIELDS |= {"seconds_per_epoch", "date"}


def test_the_shipped_run_loads_and_its_parts_agree():
    info = reference_run.run_info()
    assert set(info) >= RUN_FIELDS and info["recipe"] == "classic" and info["epochs"] == 20
    assert info["command"].startswith("python -m mnist_ref train ") and "--epochs 20" in info["command"]
    history = reference_run.load_history()
    assert len(history) == info["epochs"]
    for name in ("train_acc", "train_loss", "val_acc", "val_loss", "test_acc", "test_loss", "lr", "epoch_seconds"):
        assert len(getattr(history, name)) == info["epochs"], name
    model = reference_run.load_model()
    assert isinstance(model, Net) and not model.training and count_parameters(model) == 593_200
    weights = torch.load(reference_run.FOLDER / reference_run.WEIGHTS, weights_only=True)
    assert all(t.dtype == torch.float32 and t.is_contiguous() for t in weights.values())
    assert 2.2e6 < (reference_run.FOLDER / reference_run.WEIGHTS).stat().st_size < 2.6e6
    with torch.inference_mode():
        assert model(torch.zeros(3, 1, 28, 28)).shape == (3, 10)


def test_describe_says_what_the_shipped_run_is():
    info, text = reference_run.run_info(), reference_run.describe()
    assert ("INTERIM" in text) == info["interim"] and (info.get("why", "") in text)
    assert info["command"] in text and info["torch"] in text and info["cpu"] in text
    assert f"validation {reference_run.load_history().val_acc[-1]:.2f}%" in text


def test_the_shipped_files_are_package_data():
    package_data = tomllib.loads((CHECKOUT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    shipped = {p.relative_to(CHECKOUT / "mnist_ref") for p in reference_run.FOLDER.iterdir()}
    assert shipped == {Path("reference_run", name) for name in ("history.json", "weights.pt", "run.json")}
    assert all(any(path.match(pattern) for pattern in package_data["mnist_ref"]) for path in shipped)


def test_ship_run_makes_the_three_files_from_a_finished_run(tiny_mnist, tmp_path, capsys):
    run, shipped = tmp_path / "run", tmp_path / "shipped"
    argv = ["train", "--epochs", "2", "--validation", "50", "--in-memory", "--no-progress", "--out", str(run)]
    assert main(argv) == 0
    assert main(["ship-run", str(run), "--to", str(shipped), "--interim", "a tiny test run"]) == 0
    assert "INTERIM" in capsys.readouterr().out
    info = reference_run.run_info(shipped)
    assert info["interim"] and info["why"] == "a tiny test run" and info["epochs"] == 2
    assert info["command"] == "python -m mnist_ref " + " ".join(argv)
    history = reference_run.load_history(shipped)
    assert history.to_dict() == {
        k: v for k, v in json.loads((run / "metrics.json").read_text()).items() if k in history.to_dict()
    }
    model, trained = reference_run.load_model(folder=shipped), Net()
    trained.load_state_dict(torch.load(run / "checkpoint.pt", weights_only=True)["model"])
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), trained.state_dict().values()))
    assert "Interim because: a tiny test run" in reference_run.describe(shipped)

    assert main(["ship-run", str(run), "--to", str(shipped), "--command", "python -m mnist_ref train --x"]) == 0
    info = reference_run.run_info(shipped)
    assert not info["interim"] and "why" not in info and info["command"] == "python -m mnist_ref train --x"
    assert "INTERIM" not in reference_run.describe(shipped)


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no .*history.json: reinstall mnist-ref, or make it"):
        reference_run.load_history(tmp_path)
    with pytest.raises(FileNotFoundError, match="weights.pt"):
        reference_run.load_model(folder=tmp_path)
