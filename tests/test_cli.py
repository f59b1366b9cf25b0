import json
import subprocess
import sys

import pytest

from mnist_ref.cli import main


def test_help_for_every_verb(capsys):
    for verb in ("train", "evaluate", "data"):
        with pytest.raises(SystemExit) as exit_:
            main([verb, "--help"])
        assert exit_.value.code == 0
        assert "usage:" in capsys.readouterr().out


def test_train_writes_metrics_checkpoint_and_curves(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--lr", "0.05", "--out", str(out), "--no-progress"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["params"] == 593200 and metrics["device"] == "cpu"
    for key in ("train_acc", "train_loss", "test_acc", "test_loss", "lr", "epoch_seconds"):
        assert len(metrics[key]) == 2, key
    assert 0 <= metrics["test_acc"][-1] <= 100
    assert (out / "checkpoint.pt").is_file() and (out / "curves.png").stat().st_size > 1000
    assert "test accuracy" in capsys.readouterr().out

    # An existing run is not overwritten without --force; --resume continues it.
    assert main(["train", "--epochs", "2", "--out", str(out)]) == 1
    assert "--force" in capsys.readouterr().err
    assert main(["train", "--epochs", "3", "--lr", "0.05", "--out", str(out), "--resume", "--no-progress"]) == 0
    assert len(json.loads((out / "metrics.json").read_text())["test_acc"]) == 3

    png = tmp_path / "cm.png"
    assert main(["evaluate", str(out / "checkpoint.pt"), "--confusion", str(png), "--no-progress"]) == 0
    assert "test accuracy" in capsys.readouterr().out and png.stat().st_size > 1000


def test_in_memory_and_limits(tiny_mnist, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--epochs", "1", "--limit-train", "50", "--limit-test", "30", "--in-memory", "--out", str(out)]
    assert main(args + ["--no-progress"]) == 0
    assert json.loads((out / "metrics.json").read_text())["test_acc"][0] in [100 * k / 30 for k in range(31)]


def test_budget_fills_epochs_and_limits_not_given(tiny_mnist, tmp_path, monkeypatch):
    seen = {}

    def fake_data_loader(batch_size, **options):
        seen.update(options)
        raise ValueError("stop here")

    monkeypatch.setattr("mnist_ref.cli.data_loader", fake_data_loader)
    monkeypatch.setattr("mnist_ref.cli.engine.fit", lambda *args, **kwargs: pytest.fail("not reached"))
    out = str(tmp_path / "run")
    assert main(["train", "--budget", "quick", "--out", out]) == 1
    assert (seen["limit_train"], seen["limit_test"]) == (1_000, 500)
    assert main(["train", "--budget", "quick", "--limit-train", "70", "--out", out]) == 1
    assert (seen["limit_train"], seen["limit_test"]) == (70, 500)
    assert main(["train", "--out", out]) == 1  # no --budget: the recipe's full run
    assert (seen["limit_train"], seen["limit_test"]) == (None, None)


def test_budget_sets_the_epochs(tiny_mnist, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--budget", "quick", "--limit-train", "50", "--limit-test", "20", "--in-memory", "--out", str(out)]
    assert main(args + ["--no-progress"]) == 0
    assert len(json.loads((out / "metrics.json").read_text())["test_acc"]) == 2


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
        (["train", "--epochs", "-1"], "--epochs: must be a positive integer"),
        (["train", "--epochs", "0"], "--epochs: must be a positive integer"),
        (["train", "--momentum", "2"], "--momentum: must be between 0 and 1"),
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
