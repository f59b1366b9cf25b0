import json
import subprocess
import sys

import pytest

from mnist_ref.cli import main


def test_help_for_every_verb(capsys):
    for verb in ("train", "evaluate", "data", "ship-run"):
        with pytest.raises(SystemExit) as exit_:
            main([verb, "--help"])
        assert exit_.value.code == 0
        assert "usage:" in capsys.readouterr().out


def test_train_writes_metrics_checkpoint_and_curves(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--epochs", "2", "--lr", "0.05", "--validation", "50", "--out", str(out), "--no-progress"]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["params"] == 593200 and metrics["device"] == "cpu"
    assert (metrics["recipe"], metrics["seed"]) == ("classic", 1)
    assert metrics["command"] == "python -m mnist_ref " + " ".join(argv)
    for key in ("train_acc", "train_loss", "test_acc", "test_loss", "val_acc", "val_loss", "lr", "epoch_seconds"):
        assert len(metrics[key]) == 2, key
    assert 0 <= metrics["test_acc"][-1] <= 100 and 0 <= metrics["val_acc"][-1] <= 100
    assert (out / "checkpoint.pt").is_file() and (out / "curves.png").stat().st_size > 1000
    assert "test accuracy" in capsys.readouterr().out

    # An existing run is not overwritten without --force; --resume continues it.
    assert main(["train", "--epochs", "2", "--out", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    argv = ["train", "--epochs", "3", "--lr", "0.05", "--validation", "50", "--out", str(out), "--resume"]
    assert main(argv + ["--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["test_acc"]) == len(metrics["val_acc"]) == 3

    png = tmp_path / "cm.png"
    assert main(["evaluate", str(out / "checkpoint.pt"), "--confusion", str(png), "--no-progress"]) == 0
    assert "test accuracy" in capsys.readouterr().out and png.stat().st_size > 1000


def test_in_memory_and_limits(tiny_mnist, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--epochs", "1", "--limit-train", "50", "--limit-test", "30", "--in-memory", "--out", str(out)]
    assert main(args + ["--validation", "60", "--limit-validation", "20", "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test_acc"][0] in [100 * k / 30 for k in range(31)]
    assert metrics["val_acc"][0] in [100 * k / 20 for k in range(21)]


def test_validation_0_trains_on_every_training_image_and_reports_no_validation(tiny_mnist, tmp_path):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "1", "--validation", "0", "--in-memory", "--out", str(out), "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["val_acc"], metrics["val_loss"], len(metrics["test_acc"])) == ([], [], 1)


def test_budget_fills_epochs_and_limits_not_given(tiny_mnist, tmp_path, monkeypatch):
    seen = {}

    def fake_loaders(batch_size, **options):
        seen.clear()
        seen.update(options)
        raise ValueError("stop here")

    monkeypatch.setattr("mnist_ref.cli.split_loaders", fake_loaders)
    monkeypatch.setattr("mnist_ref.cli.data_loader", fake_loaders)
    monkeypatch.setattr("mnist_ref.cli.engine.fit", lambda *args, **kwargs: pytest.fail("not reached"))
    out = str(tmp_path / "run")

    def limits(*options):
        assert main(["train", *options, "--out", out]) == 1
        return tuple(seen.get(f"limit_{part}") for part in ("train", "validation", "test"))

    assert limits("--budget", "quick") == (1_000, 500, 500) and seen["validation"] == 5_000
    assert limits("--budget", "quick", "--limit-train", "70", "--limit-validation", "90") == (70, 90, 500)
    assert limits("--budget", "quick", "--validation", "0") == (1_000, None, 500)
    assert "validation" not in seen  # all 60,000 train: data_loader, not split_loaders
    assert limits() == (None, None, None)  # no --budget: the recipe's full run


def test_budget_sets_the_epochs(tiny_mnist, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--budget", "quick", "--limit-train", "50", "--limit-test", "20", "--in-memory", "--out", str(out)]
    assert main(args + ["--validation", "40", "--no-progress"]) == 0
    assert len(json.loads((out / "metrics.json").read_text())["val_acc"]) == 2


def test_help_names_the_real_data_default(capsys):
    from mnist_ref.data import default_data_root

    for verb in ("train", "evaluate", "data"):
        with pytest.raises(SystemExit):
            main([verb, "--help"])
        text = " ".join(capsys.readouterr().out.split())  # argparse wraps long lines
        assert str(default_data_root()) in text and "./data" not in text


def test_data_verb_reports_the_folder(tiny_mnist, capsys):
    assert main(["data", "--no-download"]) == 0
    assert str(tiny_mnist / "MNIST" / "raw") in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--epochs", "-1"], "--epochs: must be positive, got -1"),
        (["train", "--epochs", "0"], "--epochs: must be positive, got 0"),
        (["train", "--momentum", "2"], "--momentum: must be between 0 and 1"),
        (["train", "--validation", "-5"], "--validation: must be 0 or a positive integer"),
        (["ship-run", "nowhere"], "nowhere holds no finished run (no metrics.json)"),
        (["train", "--budget", "huge"], "argument --budget: invalid choice: 'huge'"),
        (["train", "--device", "tpu"], "unknown device 'tpu'"),
        (["evaluate", "missing.pt"], "no checkpoint at missing.pt"),
        (["data", "--data", "/nonexistent/dir", "--no-download"], "MNIST not found"),
        (["fly"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line(argv, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = subprocess.run([sys.executable, "-m", "mnist_ref", *argv], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
