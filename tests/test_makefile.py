"""`make lab` and the install, run for real with a stand-in .venv: its `python` and `jupyter` only
record how they were called (the real install takes minutes and gigabytes)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CPU_INDEX = "https://download.pytorch.org/whl/cpu"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def fake_venv(folder: Path, installed: bool) -> Path:
    """A venv whose python fails `-m mnist_ref data` (no MNIST, no network) and succeeds otherwise."""
    bin_folder = folder / "bin"
    bin_folder.mkdir(parents=True)
    calls = folder / "calls"
    for name, status in (("python", '[ "$2 $3" = "mnist_ref data" ] && exit 1; exit 0'), ("jupyter", "exit 0")):
        script = bin_folder / name
        script.write_text(f'#!/bin/sh\necho "{name} $* | $JUPYTER_CONFIG_PATH" >> {calls}\n{status}\n')
        script.chmod(0o755)
    if installed:
        (folder / ".installed").touch()
    return calls


def make_lab(venv: Path, installed: bool = False, **variables: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run `make lab` with the stand-in venv; return make's result and the commands it ran, in order."""
    calls = fake_venv(venv, installed)
    env = dict(os.environ, JUPYTER_CONFIG_PATH="/my/own/config")
    settings = [f"{name}={value}" for name, value in {"VENV": str(venv), **variables}.items()]
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *settings, "lab"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, [line.split(" | ")[0] for line in calls.read_text().splitlines()]


def test_lab_installs_with_progress_and_starts_jupyterlab_without_mnist(tmp_path):
    result, calls = make_lab(tmp_path / "venv")
    assert result.returncode == 0, result.stderr
    # says what it installs and how large it is, then lets pip show its progress
    assert "Installing the course into" in result.stdout and "GB" in result.stdout
    assert calls == ["python -m pip install -e .[dev]", "python -m mnist_ref data", "jupyter lab"]
    assert "--quiet" not in result.stdout and CPU_INDEX not in calls[0]  # the default needs PyPI only
    # no MNIST: JupyterLab starts anyway, and the learner is told where to read how to get the data
    assert "MNIST is not available yet: JupyterLab starts anyway" in result.stdout
    assert "If something does not work" in (ROOT / "START-HERE.md").read_text()
    # the course's settings first, the learner's own after them
    jupyter_call = (tmp_path / "venv" / "calls").read_text().splitlines()[-1]
    assert jupyter_call.endswith(f"| {ROOT / 'jupyter-config'}:/my/own/config")


def test_torch_index_installs_torch_from_there_first(tmp_path):
    result, calls = make_lab(tmp_path / "venv", TORCH_INDEX=CPU_INDEX)
    assert result.returncode == 0, result.stderr
    assert calls[:2] == [
        f"python -m pip install --index-url {CPU_INDEX} torch torchvision",
        "python -m pip install -e .[dev]",  # then torch is already there and stays the CPU build
    ]
    assert f"PyTorch from {CPU_INDEX}" in result.stdout


def test_install_runs_again_only_when_the_dependencies_change(tmp_path):
    result, calls = make_lab(tmp_path / "venv", installed=True)
    assert calls == ["python -m mnist_ref data", "jupyter lab"] and "Installing" not in result.stdout
