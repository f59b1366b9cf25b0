"""The course's own Jupyter configuration: jupyter-config/ (read first by `make formgrader`) and the
learner's jupyter-config/learner/ before it (`make lab`)."""

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from traitlets.config.loader import PyFileConfigLoader

import test_browser
from browser_helpers import launch_chromium
from mnist_course import formgrader
from mnist_ref.workspace import update_workspace
from test_browser import chromium_ready  # noqa: F401 -- the browser test's fixture: skips (CI: fails) without chromium

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "jupyter-config"
LEARNER = CONFIG / "learner"  # before CONFIG in the learner's lab (`make lab`) only
NBGRADER_LABEXTENSION = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyter" / "nbgrader"
# Of nbgrader's JupyterLab plugins, the learner keeps the Validate button; the instructor keeps them all.
LEARNERS_NBGRADER = {"@jupyter/nbgrader:validate-assignment"}
INSTRUCTORS_NBGRADER = {
    f"@jupyter/nbgrader:{name}"
    for name in ("assignment-list", "course-list", "create-assignment", "formgrader", "menu")
}


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


def nbgrader_plugins() -> set[str]:
    """The plugin ids nbgrader's installed labextension registers (its compiled JavaScript)."""
    code = "".join(path.read_text(encoding="utf-8") for path in (NBGRADER_LABEXTENSION / "static").glob("*.js"))
    return set(re.findall(r'"(@jupyter/nbgrader:[a-z-]+)"', code))


def test_the_learners_lab_has_validate_and_none_of_the_instructors_nbgrader():
    # every nbgrader plugin is one or the other: a new one in an nbgrader upgrade makes this fail
    assert nbgrader_plugins() == LEARNERS_NBGRADER | INSTRUCTORS_NBGRADER
    page_config = json.loads((LEARNER / "labconfig" / "page_config.json").read_text())
    assert {name for name, off in page_config["disabledExtensions"].items() if off} == INSTRUCTORS_NBGRADER
    # ... and their server parts (the formgrader's pages, the exchange's lists) are not served
    server = PyFileConfigLoader("jupyter_server_config.py", path=str(LEARNER)).load_config()
    assert server.ServerApp.jpserver_extensions == {
        f"nbgrader.server_extensions.{name}": False for name in ("formgrader", "course_list", "assignment_list")
    }
    assert not (CONFIG / "labconfig" / "page_config.json").exists()  # the instructor's lab has them all


def test_the_instructors_lab_reads_the_course_settings_without_the_learners(monkeypatch):
    started = {}
    monkeypatch.setattr(subprocess, "call", lambda command, cwd, env: started.update(command=command, env=env) or 0)
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/my/own/config")
    assert formgrader.formgrader(ROOT) == 0
    assert started["env"]["JUPYTER_CONFIG_PATH"] == f"{CONFIG}{os.pathsep}/my/own/config"
    assert "--LabApp.default_url=/formgrader" in started["command"]


def http(server: test_browser.Lab, path: str, data: dict | None = None) -> tuple[int, str]:
    """GET (or with `data`, POST as JSON) a page of the server; its status and body."""
    request = urllib.request.Request(
        f"{server.url}/{path}",
        data=None if data is None else json.dumps(data).encode(),
        headers={"Authorization": f"token {server.token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


@pytest.fixture(scope="module")
def learner_lab(tmp_path_factory):
    """A real server as `make lab` starts it: the learner's settings first, the workspace as the root,
    from the course folder (where Validate reads nbgrader_config.py), with no MNIST anywhere."""
    course = tmp_path_factory.mktemp("learner") / "course"
    for name in ("jupyter-config", "lessons", "START-HERE.md", "nbgrader_config.py"):
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, course / name)
    update_workspace(course, course / "my-work")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(test_browser, "ARTIFACTS", course.parent / "artifacts")  # not the browser test's log
        server = test_browser.Lab(course, mnist=course.parent / "no-mnist", workspace=course / "my-work")
    yield server
    server.stop()


@pytest.mark.slow
def test_the_learners_lab_shows_the_workspace_and_validates_there(learner_lab):
    # the file browser: the learner's copies only (no solutions/, tests/, grading/)
    assert sorted(item["name"] for item in learner_lab.api("contents")["content"]) == ["START-HERE.md", "lessons"]
    status, page = http(learner_lab, "lab/tree/START-HERE.md")
    assert status == 200
    config = json.loads(re.search(r'id="jupyter-config-data"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert set(config["disabledExtensions"]) == INSTRUCTORS_NBGRADER
    assert http(learner_lab, "formgrader")[0] == 404
    lesson = "lessons/02_convolution/02_convolution.ipynb"  # no MNIST needed to run through
    status, body = http(learner_lab, "assignments/validate", {"path": lesson})
    result = json.loads(body)
    assert status == 200 and result["success"], result["value"]
    assert result["value"]["failed"]  # it ran the lesson: untouched, its graded tests fail


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.usefixtures("chromium_ready")
def test_the_learner_sees_validate_but_no_nbgrader_menu_or_panel(learner_lab, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        page = chromium.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        test_browser.open_notebook(page, learner_lab, "lessons/02_convolution/02_convolution.ipynb")
        menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
        side_tabs = page.locator(".jp-SideBar .lm-TabBar-tab").evaluate_all("tabs => tabs.map(t => t.title)")
        validate_buttons = page.locator(".jp-NotebookPanel .validate-button").count()
        page.screenshot(path=tmp_path / "learner.png")
        chromium.close()
    learner_lab.shut_down_kernels()
    assert "Run" in menus and "Nbgrader" not in menus, menus
    assert side_tabs and not [title for title in side_tabs if "Assignment" in title], side_tabs
    assert validate_buttons == 1
