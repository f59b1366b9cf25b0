"""The learner's and the instructor's JupyterLab, checked in a real browser.

JupyterLab starts as the instructor's lab (`make formgrader`: jupyter-config/ first on
JUPYTER_CONFIG_PATH, the whole course as its root; the learner's, `make lab`, is checked in
tests/test_jupyter_config.py), in a temporary copy of the course, on a free loopback port with
a token; every Jupyter folder of the home directory is redirected into the copy, so nothing of
the user's is read or written.
Debian's chromium is driven through playwright with `executable_path` (playwright's own
browser download does not work on these machines).

For every lesson, the solution notebook is opened, run with Run > Run All Cells on the quick
budget, and checked as a learner would see it: no error output, every figure rendered as an
image, the lesson's explorer renders and reacts to its slider and dropdown, a tqdm progress
bar is a widget, and nbgrader's Validate button reports success. For instructors, the
formgrader opens with the course's nbgrader configuration and lists the seven lessons.
Screenshots go to artifacts/browser/ (git-ignored).

Without chromium (or playwright) these tests skip, with the remedy in the reason; with
MNIST_REQUIRE_BROWSER=1 (CI) that is a failure instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mnist_course.course import lesson_names

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.notebooks]

LESSONS = lesson_names(ROOT)
ARTIFACTS = ROOT / "artifacts" / "browser"
REQUIRE_BROWSER = "MNIST_REQUIRE_BROWSER"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# The flags these machines need (see the machine notes): no sandbox as root, and no background
# connections, which the closed network refuses many at a time.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]  # one list of flags, wrapped  # fmt: skip
# as in a fresh checkout: grading/ holds only its README (the gradebook's folder, see grading/README.md)
COURSE_FILES = ["solutions", "lessons", "jupyter-config", "grading/README.md", "nbgrader_config.py", "START-HERE.md"]
RUN_TIMEOUT = 180  # s for Run All on the quick budget (about 10-25 s each on the 2-core machine)
VALIDATE_TIMEOUT = 300  # s for nbgrader validate, which runs the notebook once more


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, with the remedy; None when they can."""
    if not Path(CHROMIUM).exists():
        return (
            f"no chromium at {CHROMIUM}: install Debian's browser with `sudo apt-get install chromium` "
            "(or set CHROMIUM to a Chromium binary)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[dev]'"
    return None


@pytest.fixture(scope="module")
def chromium_ready():
    reason = missing_browser()
    if reason and os.environ.get(REQUIRE_BROWSER) == "1":
        pytest.fail(f"{REQUIRE_BROWSER}=1 but the browser test cannot run: {reason}")
    if reason:
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Lab:
    """A JupyterLab server on a copy of the course: the instructor's (the whole course, all of nbgrader:
    `mnist-course formgrader`), or with `workspace` the learner's as `make lab` starts it (the learner's
    settings first, the workspace as the root)."""

    def __init__(self, course: Path, mnist: Path, workspace: Path | None = None):
        self.course, self.port, self.token = course, free_port(), os.urandom(16).hex()
        self.url = f"http://127.0.0.1:{self.port}"
        home = course / ".home"
        config = course / "jupyter-config"
        env = dict(
            os.environ,
            JUPYTER_CONFIG_PATH=str(config) if workspace is None else f"{config / 'learner'}{os.pathsep}{config}",
            JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_DATA_DIR=str(home / "data"),
            JUPYTER_RUNTIME_DIR=str(home / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), IPYTHONDIR=str(home / "ipython"),
            MNIST_DATA=str(mnist), MNIST_BUDGET="quick", MNIST_DEVICE="cpu",
        )  # related variables kept on one line each  # fmt: skip
        command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={self.port}",
                   f"--IdentityProvider.token={self.token}", "--ServerApp.port_retries=0"]  # wrapped  # fmt: skip
        command += [] if workspace is None else [f"--ServerApp.root_dir={workspace}"]
        # no --allow-root: as root (CI), jupyter-config allows it, as it does for `make lab`
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / "jupyterlab.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 -- open for the server's lifetime, closed in stop()
        self.process = subprocess.Popen(command, cwd=course, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.wait_until_up()

    def page_url(self, path: str) -> str:
        """A URL of the server for the browser; the token logs it in (then a cookie does)."""
        return f"{self.url}/{path}{'&' if '?' in path else '?'}token={self.token}"

    def api(self, path: str, method: str = "GET"):
        request = urllib.request.Request(
            f"{self.url}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_until_up(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with {self.process.returncode}:\n{self.log_path.read_text()[-3000:]}"
                )
            try:
                self.api("status")
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer within {timeout} s:\n{self.log_path.read_text()[-3000:]}")

    def shut_down_kernels(self) -> None:
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


@pytest.fixture(scope="module")
def lab(chromium_ready, real_mnist, tmp_path_factory):
    course = tmp_path_factory.mktemp("browser") / "course"
    for name in COURSE_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, course / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        else:
            (course / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, course / name)
    server = Lab(course, real_mnist)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()
    lab.shut_down_kernels()


def open_notebook(page, lab: Lab, path: str) -> None:
    # ?reset: a fresh workspace, so earlier notebooks are not reopened next to this one
    page.goto(lab.page_url(f"lab/tree/{path}?reset"))
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    wait_until_idle(page)


def wait_until_idle(page) -> None:
    # The kernel is connected and idle when the status bar says so (the toolbar's indicator reads
    # "idle" before the kernel is there, and Run All would then run nothing).
    page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle")).first.wait_for()


def menu(page, top: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{top}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).click()


def run_all_cells(page, lesson: str) -> float:
    start = time.monotonic()
    menu(page, "Run", "Run All Cells")
    # Done when every code cell shows an execution count and the kernel is idle again.
    try:
        page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell .jp-InputPrompt')];
                const idle = document.querySelector(
                    ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status='idle']");
                return idle && prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=RUN_TIMEOUT * 1000, polling=500,
        )  # the JavaScript stays as written  # fmt: skip
    except Exception:
        page.screenshot(path=ARTIFACTS / f"{lesson}-timeout.png")
        prompts = page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt").all_inner_texts()
        raise AssertionError(f"{lesson}: Run All did not finish in {RUN_TIMEOUT} s; prompts {prompts}") from None
    return time.monotonic() - start


def save(page, file: Path) -> dict:
    """File > Save Notebook; wait until the file on disk is rewritten; return it as JSON."""
    before = file.stat().st_mtime_ns
    menu(page, "File", "Save Notebook")
    deadline = time.monotonic() + 30
    while file.stat().st_mtime_ns == before:
        assert time.monotonic() < deadline, f"{file.name} was not saved"
        page.wait_for_timeout(200)
    page.wait_for_timeout(500)  # let the writer finish
    return json.loads(file.read_text())


def explorer_state(root) -> tuple:
    """What an explorer shows: the sources of its images and its text."""
    return tuple(root.locator("img").evaluate_all("imgs => imgs.map(i => i.src)")), root.text_content()


def all_loaded(images) -> bool:
    return all(images.evaluate_all("imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"))


def wait_for_change(page, root, before: tuple, what: str) -> tuple:
    """Wait until the explorer shows other images or text than `before`; return the new state."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = explorer_state(root)
        if now != before:
            return now
        page.wait_for_timeout(200)
    raise AssertionError(f"the explorer did not react to {what}: still {before[1]!r}")


def settle(page, root) -> tuple:
    """Wait until the kernel is idle and the explorer no longer changes (each key press is one
    redraw, and the first one alone ends wait_for_change); return the final state."""
    wait_until_idle(page)
    state = None
    while (now := explorer_state(root)) != state:
        state = now
        page.wait_for_timeout(1000)
    return state


def check_explorer(page, lesson: str) -> list[str]:
    """Move the explorer's slider and pick another value in its dropdown; each must redraw."""
    explorers = page.locator(".jp-NotebookPanel .jp-OutputArea-output").filter(has=page.locator(".widget-slider"))
    assert explorers.count() == 1, f"{lesson}: expected one explorer output with a slider, found {explorers.count()}"
    root = explorers.first
    root.scroll_into_view_if_needed()
    state = explorer_state(root)
    assert state[0], f"{lesson}: the explorer shows no image"
    assert all_loaded(root.locator("img")), f"{lesson}: an explorer image did not load"
    done = []
    handle = root.locator(".widget-slider .noUi-handle").first
    at_end = float(handle.get_attribute("aria-valuenow")) >= float(handle.get_attribute("aria-valuemax"))
    key = "ArrowLeft" if at_end else "ArrowRight"  # 01's check cell leaves its slider at the end
    handle.focus()
    for _ in range(3):
        handle.press(key)
    wait_for_change(page, root, state, f"the slider ({key})")
    state = settle(page, root)
    done.append(f"slider -> {handle.get_attribute('aria-valuetext') or handle.get_attribute('aria-valuenow')}")
    dropdowns = root.locator("select")
    if dropdowns.count():
        options = dropdowns.first.locator("option").all_inner_texts()
        selected = dropdowns.first.evaluate("s => s.options[s.selectedIndex].text")
        choice = options[-1] if options[-1] != selected else options[0]  # another value than now
        dropdowns.first.select_option(label=choice)
        wait_for_change(page, root, state, f"the dropdown ({selected} -> {choice})")
        state = settle(page, root)
        done.append(f"dropdown -> {choice}")
    # The screenshot shows the explorer whole: its controls at the top of the page, the figure below
    root.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(500)
    return done


def validate(page) -> str:
    page.locator(".jp-NotebookPanel .validate-button").click()
    dialog = page.locator(".jp-Dialog", has_text="Validation Results")
    dialog.wait_for(timeout=VALIDATE_TIMEOUT * 1000)
    text = dialog.inner_text()
    page.screenshot(path=ARTIFACTS / "validate.png")
    dialog.locator("button", has_text="Ok").click()
    return text


def test_landing_page_is_the_course_index(page, lab):
    page.goto(lab.page_url(""))  # what `make lab` opens
    heading = page.locator(".jp-RenderedMarkdown h1").first
    heading.wait_for()
    assert page.url.endswith("/lab/tree/START-HERE.md")
    assert heading.inner_text().startswith("Start here")
    links = page.locator(".jp-RenderedMarkdown a[href*='lessons/']").evaluate_all(
        "a => a.map(x => x.getAttribute('href'))"
    )
    assert [Path(h).stem for h in links] == LESSONS
    page.wait_for_timeout(3000)  # the news prompt, when enabled, appears a moment after start-up
    assert page.get_by_text("official Jupyter news").count() == 0
    page.screenshot(path=ARTIFACTS / "00_landing.png")


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_in_jupyterlab(page, lab, lesson):
    path = f"solutions/{lesson}/{lesson}.ipynb"
    open_notebook(page, lab, path)
    seconds = run_all_cells(page, lesson)
    notebook = page.locator(".jp-NotebookPanel .jp-Notebook")

    errors = notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"{lesson}: error output:\n" + "\n---\n".join(errors.all_inner_texts())[:3000]

    saved = save(page, lab.course / path)
    figures = sum("image/png" in o.get("data", {}) for c in saved["cells"] for o in c.get("outputs", []))
    # Cell outputs only: a widget's Output area (the explorers of 01 and 07) has figures of its own
    shown = notebook.locator(
        ".jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output[data-mime-type='image/png'] img"
    )
    assert figures > 0
    assert shown.count() == figures, f"{lesson}: {figures} figures in the notebook, {shown.count()} shown"
    assert all_loaded(shown), f"{lesson}: a figure did not load"

    bars = notebook.locator(".jp-OutputArea-output .widget-hbox").filter(has=page.locator(".widget-hprogress"))
    assert bars.count() >= 1, f"{lesson}: no tqdm progress bar widget"
    assert "100%" in bars.first.text_content(), (
        f"{lesson}: the progress bar did not finish: {bars.first.text_content()!r}"
    )
    assert notebook.locator(".jp-OutputArea-output", has_text="Error displaying widget").count() == 0

    moves = check_explorer(page, lesson)
    page.screenshot(path=ARTIFACTS / f"{lesson}.png")

    result = validate(page)
    shutil.move(ARTIFACTS / "validate.png", ARTIFACTS / f"{lesson}-validate.png")
    assert "Success! Your notebook passes all the tests." in result, f"{lesson}: Validate said:\n{result}"
    print(f"\n{lesson}: ran in {seconds:.0f} s, {figures} figures, {bars.count()} progress bar(s), explorer {moves}")


def test_formgrader_lists_the_lessons(page, lab):
    page.goto(lab.page_url("formgrader"))  # redirects to Manage Assignments
    table = page.locator("#main-table")  # the assignments, one row each, loaded by the page's script
    table.locator("td.name", has_text=LESSONS[-1]).wait_for()
    names = [name.strip() for name in table.locator("td.name").all_inner_texts()]
    assert names == LESSONS, f"formgrader lists {names}"
    # The course's nbgrader_config.py puts the gradebook under grading/: the formgrader read it.
    assert (lab.course / "grading" / "gradebook.db").is_file()
    page.screenshot(path=ARTIFACTS / "formgrader.png")
