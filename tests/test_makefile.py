"""`make lab`, `make formgrader` and the install, run for real with a stand-in .venv: its `python`,
`jupyter` and `mnist-course` only record how they were called (the real install takes minutes and
gigabytes); `python -m mnist_ref.workspace` runs for real where a test asks (it imports torch: seconds)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_course.course import lesson_names
from mnist_ref.workspace import DEFAULT_FOLDER

ROOT = Path(__file__).resolve().parent.parent
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# What each stand-in does after recording its call: python fails `-m mnist_ref data` (no MNIST, no network)
FAKE_BEHAVIOUR = {"python": '[ "$2 $3" = "mnist_ref data" ] && exit 1', "jupyter": "", "mnist-course": ""}
REAL_WORKSPACE = f'[ "$2" = mnist_ref.workspace ] && exec {sys.executable} "$@"\n'

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")


def fake_venv(folder: Path, installed: bool, workspace: bool = False) -> Path:
    """A venv of stand-ins that record their calls (with JUPYTER_CONFIG_PATH) in the returned file;
    with `workspace`, its python runs `-m mnist_ref.workspace` for real."""
    bin_folder = folder / "bin"
    bin_folder.mkdir(parents=True)
    calls = folder / "calls"
    for name, behaviour in FAKE_BEHAVIOUR.items():
        behaviour = REAL_WORKSPACE + behaviour if workspace and name == "python" else behaviour
        script = bin_folder / name
        script.write_text(f'#!/bin/sh\necho "{name} $* | $JUPYTER_CONFIG_PATH" >> {calls}\n{behaviour}\nexit 0\n')
        script.chmod(0o755)
    if installed:
        (folder / ".installed").touch()
    return calls


def make(
    target: str, venv: Path, installed: bool = False, workspace: bool = False, **variables: str
) -> tuple[subprocess.CompletedProcess, list[str]]:
    """Run `make TARGET` with the stand-in venv (and a workspace beside it, never in the checkout);
    return make's result and the commands it ran, in order."""
    calls = fake_venv(venv, installed, workspace)
    env = dict(os.environ, JUPYTER_CONFIG_PATH="/my/own/config")
    variables = {"VENV": str(venv), "WORKSPACE": str(venv.parent / "work"), **variables}
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), *[f"{k}={v}" for k, v in variables.items()], target],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, [line.split(" | ")[0] for line in calls.read_text().splitlines()]


def make_lab(
    venv: Path, installed: bool = False, workspace: bool = False, **variables: str
) -> tuple[subprocess.CompletedProcess, list[str]]:
    return make("lab", venv, installed, workspace, **variables)


def test_lab_installs_with_progress_and_starts_jupyterlab_without_mnist(tmp_path):
    result, calls = make_lab(tmp_path / "venv")
    assert result.returncode == 0, result.stderr
    # says what it installs and how large it is, then lets pip show its progress
    assert "Installing the course into" in result.stdout and "GB" in result.stdout
    assert calls[:2] == ["python -m pip install -e .[dev]", "python -m mnist_ref data"]
    assert calls[-1].startswith("jupyter lab") and len(calls) == 4
    assert "--quiet" not in result.stdout and CPU_INDEX not in calls[0]  # the default needs PyPI only
    # no MNIST: JupyterLab starts anyway, and the learner is told where to read how to get the data
    assert "MNIST is not available yet: JupyterLab starts anyway" in result.stdout
    assert "If something does not work" in (ROOT / "START-HERE.md").read_text()


def test_lab_opens_the_learners_workspace_with_the_learners_settings(tmp_path):
    work = tmp_path / "work"
    result, calls = make_lab(tmp_path / "venv", installed=True, workspace=True)
    assert result.returncode == 0, result.stderr
    assert calls == [
        "python -m mnist_ref data",
        f"python -m mnist_ref.workspace --course {ROOT} {work}",
        f"jupyter lab --ServerApp.root_dir={work}",  # only the workspace in the file browser
    ]
    assert f"Your workspace: {work} (made from the course's lessons/)" in result.stdout
    for lesson in lesson_names(ROOT):
        assert (work / "lessons" / lesson / f"{lesson}.ipynb").is_file()
    assert (work / "START-HERE.md").is_file()  # the page JupyterLab opens on
    assert not (work / "solutions").exists() and not (work / "grading").exists()
    # the learner's settings, then the course's, then the user's own
    jupyter_call = (tmp_path / "venv" / "calls").read_text().splitlines()[-1]
    config = ROOT / "jupyter-config"
    assert jupyter_call.endswith(f"| {config / 'learner'}:{config}:/my/own/config")

    (work / "lessons" / lesson / f"{lesson}.ipynb").write_text("my answers")
    result, _ = make_lab(tmp_path / "venv2", installed=True, workspace=True, WORKSPACE=str(work))
    assert "your work is kept" in result.stdout
    assert (work / "lessons" / lesson / f"{lesson}.ipynb").read_text() == "my answers"


def test_the_default_workspace_is_in_the_checkout_and_git_ignored(tmp_path):
    fake_venv(tmp_path / "venv", installed=True)
    dry_run = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(ROOT), f"VENV={tmp_path / 'venv'}", "lab"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f'--ServerApp.root_dir="{ROOT / DEFAULT_FOLDER}"' in dry_run.stdout  # as the command's own default
    if shutil.which("git") and (ROOT / ".git").exists():
        for path in (f"{DEFAULT_FOLDER}/lessons/x/x.ipynb", "lessons/x/.ipynb_checkpoints/x-checkpoint.ipynb"):
            assert subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", path]).returncode == 0, path


def test_formgrader_is_one_command_away_for_the_instructor(tmp_path):
    result, calls = make("formgrader", tmp_path / "venv", installed=True)
    assert result.returncode == 0, result.stderr
    assert calls == [f"mnist-course --course {ROOT} formgrader"]


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
    assert "Installing" not in result.stdout and not [call for call in calls if "pip" in call]
