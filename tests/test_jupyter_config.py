"""The course's own Jupyter configuration (jupyter-config/, read first by `make lab`)."""

import json
import os
import shutil
import sys
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from traitlets.config.loader import PyFileConfigLoader

import test_browser

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "jupyter-config"


def load_server_config(monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # the file edits PATH; monkeypatch restores it
    return PyFileConfigLoader("jupyter_server_config.py", path=str(CONFIG)).load_config()


def test_lab_opens_on_the_course_index_without_news_or_update_checks(monkeypatch):
    config = load_server_config(monkeypatch)
    assert config.LabApp.default_url == "/lab/tree/START-HERE.md"
    assert (ROOT / "START-HERE.md").read_text().startswith("# Start here")
    assert config.LabApp.news_url is None
    assert config.LabApp.check_for_updates_class == "jupyterlab.NeverCheckForUpdate"
    overrides = json.loads((CONFIG / "labconfig" / "default_setting_overrides.json").read_text())
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false", "checkForUpdates": False}
    assert overrides["@jupyterlab/docmanager-extension:plugin"]["defaultViewers"]["markdown"] == "Markdown Preview"


def test_the_environment_comes_first_on_path(monkeypatch):
    load_server_config(monkeypatch)
    # the formgrader's gradebook runs `alembic` from PATH; it is in the environment's bin/
    assert os.environ["PATH"].split(os.pathsep) == [str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    assert (Path(sys.executable).parent / "alembic").exists()


def test_only_the_environments_python_kernel_is_offered(monkeypatch, tmp_path):
    # Kernels of the learner's own (ipykernel install --user): another Python named "python3",
    # and some other environment's kernel; neither has the course installed.
    for name in ("python3", "old-env"):
        folder = tmp_path / "data" / "kernels" / name
        folder.mkdir(parents=True)
        (folder / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": ["/somewhere/else/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                    "display_name": f"{name} (somewhere else)",
                    "language": "python",
                }
            )
        )
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("JUPYTER_PREFER_ENV_PATH", "0")  # the user folder first, as outside a venv/conda env
    config = load_server_config(monkeypatch)

    # What Jupyter would offer by default (this is what the course's manager guards against)
    default_manager = KernelSpecManager()
    assert default_manager.get_kernel_spec("python3").argv[0] == "/somewhere/else/python"
    assert "old-env" in default_manager.find_kernel_specs()

    course_manager = config.ServerApp.kernel_spec_manager_class()
    assert list(course_manager.find_kernel_specs()) == ["python3"]
    # "python" is what ipykernel's own spec says; jupyter_client starts it as sys.executable
    assert course_manager.get_kernel_spec("python3").argv[0] in ("python", sys.executable)


def test_root_is_allowed_only_for_root_with_a_note(monkeypatch, capsys):
    # containers, Codespaces and CI run as root, where Jupyter would refuse to start
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert load_server_config(monkeypatch).ServerApp.allow_root is True
    assert "running as root" in capsys.readouterr().err
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert "allow_root" not in load_server_config(monkeypatch).ServerApp
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_jupyterlab_starts_with_the_course_config_alone(tmp_path, monkeypatch):
    """A real server as `make lab` starts it, as this user (root in CI) and with no MNIST anywhere:
    no --allow-root on the command line, only the course's jupyter-config."""
    course = tmp_path / "course"
    shutil.copytree(CONFIG, course / "jupyter-config")
    shutil.copy2(ROOT / "START-HERE.md", course)
    monkeypatch.setattr(test_browser, "ARTIFACTS", tmp_path / "artifacts")  # not the browser test's log
    server = test_browser.Lab(course, mnist=tmp_path / "no-mnist")
    try:
        assert server.api("status")["started"]
        assert server.api("contents/START-HERE.md")["type"] == "file"  # the page it opens on
    finally:
        server.stop()
    assert ("running as root" in server.log_path.read_text()) == (os.geteuid() == 0)
