"""The learner's and the instructor's JupyterLab, checked in a real browser.

Two JupyterLab servers, each started once for the whole module, on a temporary copy of the course, on
a free loopback port with a token; every Jupyter folder of the home directory is redirected into the
copy, so nothing of the user's is read or written:
* the instructor's (`make formgrader`: jupyter-config/ first on JUPYTER_CONFIG_PATH, the whole course
  as its root);
* the learner's (`make lab`: jupyter-config/learner/ before it, the learner's workspace, made by
  mnist_ref.workspace as `make lab` makes it, as the root).
Debian's chromium is driven through playwright with `executable_path` (playwright's own
browser download does not work on these machines).

For every lesson, the solution notebook is opened in the instructor's lab, run with Run > Run All
Cells on the quick budget, and checked as a learner would see it: no error output, every figure
rendered as an image, as many figures as an nbclient run of the same notebook makes (so a figure a
lesson adds is covered without being listed here), the lesson's explorer renders and reacts to its
slider and dropdown, a tqdm progress bar is a widget. nbgrader's Validate button is pressed for one
lesson (tests/test_lessons.py validates every solution with `nbgrader validate`, the button's backend).
In the learner's lab, an untouched released lesson runs to the end with Run All: no error output,
every check says "not attempted yet", figures as above; then a typical wrong answer gets the ❌ verdict
with its message, and hint(1), hint(2) show the first two steps. For instructors, the formgrader opens
with the course's nbgrader configuration and lists the seven lessons.
Screenshots go to artifacts/browser/ (git-ignored).

nbclient runs the same notebooks in a background thread meanwhile, one at a time, so that the
comparison costs little wall time.

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
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from browser_helpers import ARTIFACTS, REQUIRE_BROWSER, launch_chromium, menu, missing_browser
from mnist_course.course import lesson_names

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.notebooks]

LESSONS = lesson_names(ROOT)
# as in a fresh checkout: grading/ holds only its README (the gradebook's folder, see grading/README.md)
COURSE_FILES = ["solutions", "lessons", "jupyter-config", "grading/README.md", "nbgrader_config.py", "START-HERE.md"]
RUN_TIMEOUT = 180  # s for Run All on the quick budget (about 10-25 s each on the 2-core machine)
VALIDATE_TIMEOUT = 300  # s for nbgrader validate, which runs the notebook once more
# Validate is pressed for one lesson, a fast one: tests/test_lessons.py validates every solution
VALIDATED_LESSON = "02_convolution"
# Untouched lessons a learner runs with Run All here (the fast ones: the run is the test's time), and the
# typical wrong answer typed into one of their exercises: its function, and the source that replaces it.
LEARNER_LESSONS = ["03_pooling_and_head"]
WRONG_ANSWER = ("03_pooling_and_head", "flatten_size", "def flatten_size(size=28):\n    return 4096\n")
# The cells that call a check: each prints one verdict ("not attempted yet" while untouched)
CHECK_CALL = re.compile(r"^check\.\w+\(", re.M)


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
        self.root = course if workspace is None else workspace  # what the file browser shows
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
        self.log_path = ARTIFACTS / f"jupyterlab-{'instructor' if workspace is None else 'learner'}.log"
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
def course(chromium_ready, tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("browser") / "course"
    for name in COURSE_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, course / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        else:
            (course / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, course / name)
    return course


@pytest.fixture(scope="module")
def servers() -> list[Lab]:
    """The servers started so far: each page's kernels are shut down on all of them."""
    return []


@pytest.fixture(scope="module")
def lab(course, real_mnist, servers):
    server = Lab(course, real_mnist)
    servers.append(server)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def learner_lab(course, real_mnist, servers):
    """The learner's lab as `make lab` starts it: the workspace made from the course, then JupyterLab on it."""
    workspace = course / "my-work"
    subprocess.run([sys.executable, "-m", "mnist_ref.workspace", "--course", str(course), str(workspace)], check=True)
    server = Lab(course, real_mnist, workspace)
    servers.append(server)
    yield server
    server.stop()


def count_figures(notebook: dict) -> int:
    """Figures in a notebook's cell outputs: image/png data (a widget's own outputs are not cell outputs)."""
    return sum("image/png" in o.get("data", {}) for c in notebook["cells"] for o in c.get("outputs", []))


def nbclient_figures(notebook, mnist: Path, workdir: Path) -> int:
    """Run a notebook with nbclient on the quick budget, as the browser's kernel does; its figure count."""
    from nbclient import NotebookClient

    workdir.mkdir(parents=True)
    env = dict(os.environ, MNIST_DATA=str(mnist), MNIST_BUDGET="quick", MNIST_DEVICE="cpu")
    env.pop("NBGRADER_EXECUTION", None)  # a learner's session: checks print their verdicts
    client = NotebookClient(notebook, timeout=RUN_TIMEOUT, resources={"metadata": {"path": str(workdir)}})
    client.execute(env=env)
    return count_figures(notebook)


# The notebook each test runs, by test function: nbclient runs the same ones
NOTEBOOKS = {
    "test_untouched_lesson_runs_to_the_end_for_a_learner": "lessons/{lesson}/{lesson}.ipynb",
    "test_lesson_in_jupyterlab": "solutions/{lesson}/{lesson}.ipynb",
}


@pytest.fixture(scope="module")
def reference_figures(request, course, real_mnist, tmp_path_factory):
    """path in the course copy -> a Future of its nbclient figure count. The notebooks of the selected tests
    are read now, before the browser edits them, and run one at a time in the order of the tests, while
    the browser works."""
    import nbformat

    paths = [
        NOTEBOOKS[item.originalname].format(**item.callspec.params)
        for item in request.session.items
        if getattr(item, "originalname", None) in NOTEBOOKS
    ]
    workroot = tmp_path_factory.mktemp("nbclient")
    with ThreadPoolExecutor(max_workers=1) as pool:
        futures: dict[str, Future] = {
            path: pool.submit(
                nbclient_figures, nbformat.read(course / path, as_version=4), real_mnist, workroot / str(i)
            )
            for i, path in enumerate(paths)
        }
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.fixture(scope="module")
def browser(chromium_ready):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, servers):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()
    for server in servers:
        server.shut_down_kernels()


def open_notebook(page, lab: Lab, path: str) -> None:
    # ?reset: a fresh workspace, so earlier notebooks are not reopened next to this one
    page.goto(lab.page_url(f"lab/tree/{path}?reset"))
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    wait_until_idle(page)


def wait_until_idle(page) -> None:
    # The kernel is connected and idle when the status bar says so (the toolbar's indicator reads
    # "idle" before the kernel is there, and Run All would then run nothing).
    page.locator(".jp-StatusBar-Widget", has_text=re.compile(r"\| Idle")).first.wait_for()


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
        selected = dropdowns.first.evaluate("s => s.selectedIndex < 0 ? '' : s.options[s.selectedIndex].text")
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


def assert_no_error_output(notebook, lesson: str) -> None:
    errors = notebook.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"{lesson}: error output:\n" + "\n---\n".join(errors.all_inner_texts())[:3000]


def assert_figures_rendered(notebook, lesson: str, expected: Future) -> int:
    """Every figure of the lesson is shown as a loaded image, as many as nbclient's run of it made."""
    # Cell outputs only: a widget's Output area (the explorers of 01 and 07) has figures of its own
    shown = notebook.locator(
        ".jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output[data-mime-type='image/png'] img"
    )
    figures = expected.result(timeout=2 * RUN_TIMEOUT)
    assert figures > 0, f"{lesson}: nbclient's run made no figure"
    assert shown.count() == figures, (
        f"{lesson}: nbclient's run made {figures} figures, the browser shows {shown.count()}"
    )
    assert all_loaded(shown), f"{lesson}: a figure did not load"
    return figures


@pytest.mark.parametrize("lesson", LEARNER_LESSONS)
def test_untouched_lesson_runs_to_the_end_for_a_learner(page, learner_lab, reference_figures, lesson):
    """Run All of a released lesson as the learner gets it (issue #13): every check says "not attempted
    yet", nothing stops the run; then a wrong answer and the first two hints."""
    path = f"lessons/{lesson}/{lesson}.ipynb"
    released = json.loads((learner_lab.root / path).read_text())
    checks = sum(len(CHECK_CALL.findall("".join(c["source"]))) for c in released["cells"] if c["cell_type"] == "code")
    open_notebook(page, learner_lab, path)
    seconds = run_all_cells(page, lesson)
    notebook = page.locator(".jp-NotebookPanel .jp-Notebook")
    assert_no_error_output(notebook, lesson)
    # textContent, not innerText: JupyterLab does not lay out cells out of view (content-visibility)
    outputs = "\n".join(notebook.locator(".jp-OutputArea-output").all_text_contents())
    verdicts = re.findall(r"^(⏳|✅|❌) .*$", outputs, re.M)
    assert checks > 0 and [v for v in verdicts if v != "⏳"] == [], (
        f"{lesson}: verdicts of an untouched lesson {verdicts}"
    )
    assert verdicts.count("⏳") == checks, f"{lesson}: {checks} checks, verdicts:\n{outputs[-3000:]}"
    figures = assert_figures_rendered(notebook, lesson, reference_figures[path])
    notebook.locator(".jp-OutputArea-output", has_text="⏳").first.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / f"{lesson}-learner.png")  # the first "not attempted yet" verdict
    if lesson == WRONG_ANSWER[0]:
        wrong_answer_and_hints(page, lesson, *WRONG_ANSWER[1:])
    print(f"\n{lesson} (learner, untouched): ran in {seconds:.0f} s, {checks} checks not attempted, {figures} figures")


def cell_with(page, text: str):
    """The notebook cell whose code contains `text`."""
    cells = page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    return cells.filter(has=page.locator(".jp-InputArea-editor", has_text=text)).first


def run_cell(page, cell) -> None:
    """Select the cell (command mode) and run it with Shift+Enter, as a learner does."""
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")


def wrong_answer_and_hints(page, lesson: str, exercise: str, wrong: str) -> None:
    """Type a wrong answer over the exercise's stub, run it and its check: a ❌ verdict with a message;
    then the same cell asks for hint(1) and hint(2). Screenshots of both."""
    answer = cell_with(page, f"def {exercise}(")
    answer.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(wrong)  # as typed, without the editor's auto-indentation
    run_cell(page, answer)
    check = cell_with(page, f"check.{exercise}({exercise})")
    run_cell(page, check)
    verdict = check.locator(".jp-OutputArea-output", has_text="❌")
    verdict.wait_for(state="attached")
    text = verdict.text_content().strip()
    assert text.startswith(f"❌ {exercise}: not yet correct."), f"{lesson}: {text!r}"
    assert len(text.split("not yet correct.", 1)[1].strip()) > 20, f"{lesson}: the verdict says not why: {text!r}"
    assert "Traceback" not in text and "raise " not in text, f"{lesson}: the checker's source is shown: {text!r}"
    answer.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / f"{lesson}-wrong-answer.png")

    # the hints asked for below the answer, in the learner's own cell
    answer.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(f"{wrong}\ncheck.{exercise}.hint(1)\ncheck.{exercise}.hint(2)\n")
    run_cell(page, answer)
    hints = answer.locator(".jp-OutputArea-output", has_text="hint 2 of")
    hints.wait_for(state="attached")
    steps = re.findall(rf"^💡 {exercise}, hint (\d+) of (\d+): \S", hints.text_content(), re.M)
    assert [step for step, _ in steps] == ["1", "2"], f"{lesson}: {hints.text_content()!r}"
    hints.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    page.screenshot(path=ARTIFACTS / f"{lesson}-hints.png")


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_in_jupyterlab(page, lab, reference_figures, lesson):
    path = f"solutions/{lesson}/{lesson}.ipynb"
    open_notebook(page, lab, path)
    seconds = run_all_cells(page, lesson)
    notebook = page.locator(".jp-NotebookPanel .jp-Notebook")
    assert_no_error_output(notebook, lesson)
    figures = assert_figures_rendered(notebook, lesson, reference_figures[path])

    bars = notebook.locator(".jp-OutputArea-output .widget-hbox").filter(has=page.locator(".widget-hprogress"))
    assert bars.count() >= 1, f"{lesson}: no tqdm progress bar widget"
    assert "100%" in bars.first.text_content(), (
        f"{lesson}: the progress bar did not finish: {bars.first.text_content()!r}"
    )
    assert notebook.locator(".jp-OutputArea-output", has_text="Error displaying widget").count() == 0

    moves = check_explorer(page, lesson)
    page.screenshot(path=ARTIFACTS / f"{lesson}.png")

    if lesson == VALIDATED_LESSON:
        result = validate(page)
        shutil.move(ARTIFACTS / "validate.png", ARTIFACTS / f"{lesson}-validate.png")
        assert "Success! Your notebook passes all the tests." in result, f"{lesson}: Validate said:\n{result}"
    print(f"\n{lesson}: ran in {seconds:.0f} s, {figures} figures, {bars.count()} progress bar(s), explorer {moves}")


def test_formgrader_lists_the_lessons(page, lab):
    page.goto(lab.page_url("formgrader"))  # redirects to Manage Assignments
    table = page.locator("#main-table")  # the assignments, one row each, loaded by the page's script
    table.locator("td.name", has_text=LESSONS[-1]).wait_for(timeout=RUN_TIMEOUT * 1000)  # a minute when busy
    names = [name.strip() for name in table.locator("td.name").all_inner_texts()]
    assert names == LESSONS, f"formgrader lists {names}"
    # The course's nbgrader_config.py puts the gradebook under grading/: the formgrader read it.
    assert (lab.course / "grading" / "gradebook.db").is_file()
    page.screenshot(path=ARTIFACTS / "formgrader.png")
