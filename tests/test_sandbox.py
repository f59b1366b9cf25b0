"""The autograde sandbox (mnist_course/sandbox/): how it decides and what it builds (everywhere), and
what a learner kernel in it can and cannot do (root only: skipped otherwise, a failure in CI, where
MNIST_REQUIRE_SANDBOX=1)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_client.blocking import BlockingKernelClient
from traitlets.config.loader import PyFileConfigLoader

import mnist_course
from mnist_course.sandbox import SandboxedExecute, SandboxKernelManager
from mnist_course.sandbox import manager as sandbox
from mnist_ref.checks.grading import REQUESTS_ENV

REQUIRE_SANDBOX = "MNIST_REQUIRE_SANDBOX"
PROJECT = Path(__file__).resolve().parents[1]


# --- everywhere: decisions and construction ---------------------------------------------------


def test_not_root_warns_and_never_probes_unshare():
    def refusal():
        raise AssertionError("unshare must not be probed when not root")

    warning = sandbox.why_not_sandboxed(1000, refusal)
    assert warning.startswith("grading without a sandbox: run autograde as root")


def test_root_sandboxes_unless_unshare_is_refused():
    assert sandbox.why_not_sandboxed(0, lambda: None) is None
    warning = sandbox.why_not_sandboxed(0, lambda: "`unshare` is not permitted here (EPERM)")
    assert warning == "grading without a sandbox: `unshare` is not permitted here (EPERM)"


def test_unshare_refusal_names_the_reason():
    assert "not found" in sandbox.unshare_refusal(None)
    assert "not permitted" in sandbox.unshare_refusal(shutil.which("false"))


def test_the_manager_warns_once_and_starts_the_kernel_as_before_when_not_root(monkeypatch, caplog):
    monkeypatch.setattr(sandbox, "_decided", {})
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    km = SandboxKernelManager()
    with caplog.at_level(logging.WARNING):
        assert km.sandbox_refusal().startswith("grading without a sandbox")
        assert SandboxKernelManager().sandbox_refusal() == km.sandbox_refusal()
    assert [r.getMessage() for r in caplog.records].count(km.sandbox_refusal()) == 1


def test_command_runs_the_helper_in_new_namespaces():
    command = sandbox.sandbox_command("/usr/bin/unshare", {"uid": 5}, ["python", "-m", "ipykernel_launcher"])
    assert command[0] == "/usr/bin/unshare"
    for flag in ("--mount", "--net", "--pid", "--fork", "--kill-child"):
        assert flag in command
    helper = command.index(str(sandbox.INSIDE))
    assert command[helper - 3 : helper] == [sys.executable, "-I", "-S"]
    assert json.loads(command[helper + 1]) == {"uid": 5}
    assert command[helper + 2 :] == ["--", "python", "-m", "ipykernel_launcher"]


def test_outermost_keeps_only_top_folders():
    paths = ["/a/b", "/a", "/ab", "/c/d", "/a/b/c", "/ab"]
    assert sandbox.outermost(paths) == ["/a", "/ab", "/c/d"]
    assert sandbox.outermost(paths, also_covered_by=["/c"]) == ["/a", "/ab"]


def test_the_kernel_reads_the_venv_mnist_ref_and_data_but_not_the_instructor_side(tmp_path):
    data, cwd = tmp_path / "data", tmp_path / "course" / "lesson"
    data.mkdir()
    cwd.mkdir(parents=True)
    requests = tmp_path / "requests.json"
    requests.write_text("{}")
    paths = sandbox.read_only_paths({"MNIST_DATA": str(data), REQUESTS_ENV: str(requests)}, str(cwd))
    assert os.path.realpath(sys.prefix) in paths and str(data) in paths and str(requests) in paths
    assert str(PROJECT / "mnist_ref") in paths
    course_package = str(Path(mnist_course.__file__).resolve().parent)
    for secret in (course_package, str(PROJECT), str(PROJECT / "solutions"), str(PROJECT / "grading"), "/root"):
        assert not any(secret == p or secret.startswith(p + "/") for p in paths), secret
    in_cwd = cwd / "requests.json"
    in_cwd.write_text("{}")
    assert str(in_cwd) not in sandbox.read_only_paths({REQUESTS_ENV: str(in_cwd)}, str(cwd))


def test_kernel_environment_points_home_and_tmp_inside(tmp_path):
    env = sandbox.kernel_environment({"HOME": "/root", "MNIST_DATA": str(tmp_path), "X": "1"}, "/w")
    assert env["HOME"] == env["TMPDIR"] == "/tmp" and env["MNIST_DATA"] == str(tmp_path) and env["X"] == "1"


def test_autograde_alone_uses_the_sandboxed_execute():
    config = PyFileConfigLoader("nbgrader_config.py", path=str(PROJECT)).load_config()
    assert "mnist_course.sandbox.SandboxedExecute" in config.Autograde.autograde_preprocessors
    assert SandboxedExecute().kernel_manager_class is SandboxKernelManager
    # `nbgrader validate` (the learner's Validate button) builds nbgrader's own Execute
    assert "kernel_manager_class" not in config.Validator.get("Execute", {})


def test_only_the_standard_kernel_of_this_python_is_forked_from_the_zygote():
    assert sandbox.is_ipykernel([sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"])
    assert not sandbox.is_ipykernel([sys.executable, "-m", "other_kernel", "-f", "k.json"])
    assert not sandbox.is_ipykernel(["/nonexistent/python", "-m", "ipykernel_launcher", "-f", "k.json"])
    assert not sandbox.is_ipykernel([])


class FakeZygote:
    started: list[dict] = []

    def __init__(self, modules, environ):
        self.environ = environ
        FakeZygote.started.append(environ)

    def alive(self):
        return True

    def stop(self):
        pass


def test_one_zygote_per_environment_apart_from_what_differs_per_kernel(monkeypatch):
    monkeypatch.setattr(sandbox, "Zygote", FakeZygote)
    monkeypatch.setattr(sandbox, "_zygotes", {})
    monkeypatch.setattr(FakeZygote, "started", [])
    first = sandbox.zygote_for(["json"], {"HOME": "/tmp", "PWD": "/a", REQUESTS_ENV: "/a/r.json"})
    assert sandbox.zygote_for(["json"], {"HOME": "/tmp", "PWD": "/b", REQUESTS_ENV: "/b/r.json"}) is first
    assert sandbox.zygote_for(["json"], {"HOME": "/elsewhere", "PWD": "/a"}) is not first
    assert sandbox.zygote_for(["json", "csv"], {"HOME": "/tmp", "PWD": "/a"}) is not first
    # what it imports under: the kernel's environment, never a learner's folder, and its parent is PID 1
    assert FakeZygote.started[0] == {"HOME": "/tmp", "JPY_PARENT_PID": "1"}
    assert len(FakeZygote.started) == 3


def test_a_zygote_that_cannot_start_means_a_new_python_per_kernel_and_one_warning(monkeypatch, caplog):
    def broken(modules, environ):
        raise RuntimeError("the zygote did not start within 300 s (exit 1)")

    monkeypatch.setattr(sandbox, "Zygote", broken)
    monkeypatch.setattr(sandbox, "_zygotes", {})
    monkeypatch.setattr(sandbox, "_decided", {})
    kernel_cmd = [sys.executable, "-m", "ipykernel_launcher", "-f", "k.json"]
    with caplog.at_level(logging.WARNING):
        assert SandboxKernelManager().zygote(kernel_cmd, {}) is None
        assert SandboxKernelManager().zygote(kernel_cmd, {}) is None
    assert [r.getMessage() for r in caplog.records] == [
        "each kernel starts a new Python: the zygote did not start within 300 s (exit 1)"
    ]
    assert SandboxKernelManager(preload=[]).zygote(kernel_cmd, {}) is None


def test_the_forked_sandbox_keeps_only_the_descriptors_it_needs():
    from mnist_course.sandbox import zygote

    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        opened = [os.open(os.devnull, os.O_RDONLY) for _ in range(5)]
        keep = [opened[3], write, opened[1]]
        zygote.close_all_but(3, *keep)
        left = sorted(int(fd) for fd in os.listdir("/proc/self/fd"))  # + the one listing them
        os.write(write, json.dumps([left, keep]).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    left, keep = json.loads(os.read(read, 4096))
    os.close(read)
    assert set(keep) <= set(left)
    assert len(set(left) - {0, 1, 2} - set(keep)) == 1  # the descriptor of /proc/self/fd itself


# --- root: a real sandboxed kernel ---------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox_available():
    reason = sandbox.why_not_sandboxed(os.geteuid(), lambda: sandbox.unshare_refusal(shutil.which("unshare")))
    if reason:
        if os.environ.get(REQUIRE_SANDBOX) == "1":
            pytest.fail(f"{REQUIRE_SANDBOX}=1 but the sandbox cannot run: {reason}")
        pytest.skip(reason)


class Kernel:
    """A sandboxed kernel in a fake course (solutions, gradebook, another learner), driven synchronously."""

    def __init__(self, course: Path, preload: list[str] | None = None):
        self.course = course
        self.cwd = course / "grading" / "autograded" / "ada" / "01_lesson"
        self.loop = asyncio.new_event_loop()
        self.km = SandboxKernelManager() if preload is None else SandboxKernelManager(preload=preload)
        started = time.perf_counter()
        self.loop.run_until_complete(self.km.start_kernel(cwd=str(self.cwd)))
        self.client = blocking_client(self.km)
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.start_seconds = time.perf_counter() - started
        self.uid = self.km._slot.user.pw_uid

    def run(self, code: str, timeout: float = 60) -> tuple[str, str | None]:
        """(stdout, "ename: evalue" or None) of `code`."""
        out: list[str] = []
        reply = self.client.execute_interactive(
            textwrap.dedent(code),
            timeout=timeout,
            output_hook=lambda msg: out.append(msg["content"].get("text", "")),
        )
        content = reply["content"]
        error = f"{content['ename']}: {content['evalue']}" if content["status"] == "error" else None
        return "".join(out), error

    def shutdown(self) -> float:
        started = time.perf_counter()
        self.client.stop_channels()
        self.loop.run_until_complete(self.km.shutdown_kernel())
        self.loop.close()
        return time.perf_counter() - started


def blocking_client(km) -> BlockingKernelClient:
    """A blocking client of an async manager's kernel; its parent says whether the kernel is alive
    (a client of its own would judge by heartbeats, which a slow start on a busy machine misses)."""
    return BlockingKernelClient(parent=km, **km.get_connection_info(session=True))


def processes_of(uid: int) -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and sandbox._owner(p) == uid]


@pytest.fixture
def course(tmp_path) -> Path:
    course = tmp_path / "course"
    (course / "solutions" / "01_lesson").mkdir(parents=True)
    (course / "solutions" / "01_lesson" / "01_lesson.ipynb").write_text("the solutions")
    (course / "grading" / "gradebook.db").parent.mkdir()
    (course / "grading" / "gradebook.db").write_text("the grades")
    for student in ("ada", "bob"):
        folder = course / "grading" / "autograded" / student / "01_lesson"
        folder.mkdir(parents=True)
        (folder / "01_lesson.ipynb").write_text(f"{student}'s answers")
    return course


@pytest.fixture
def kernel(sandbox_available, course, request):
    """Forked from the zygote, or (param "new python") started by unshare and inside.py alone."""
    kernel = Kernel(course, preload=[] if getattr(request, "param", "zygote") == "new python" else None)
    yield kernel
    if kernel.km.has_kernel:
        kernel.shutdown()


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["zygote", "new python"], indirect=True)
def test_the_kernel_runs_unprivileged_with_limits(kernel):
    out, error = kernel.run("""
        import os, resource
        print(os.getuid(), os.getgid(), os.getgroups(), os.getcwd())
        print([resource.getrlimit(getattr(resource, n))[0] for n in ("RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_CPU")])
    """)
    assert error is None, error
    ids, limits = out.splitlines()
    assert ids == f"{kernel.uid} {kernel.km._slot.user.pw_gid} [] {kernel.cwd}"
    assert json.loads(limits) == [256, 256 * 2**20, 900]


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["zygote", "new python"], indirect=True)
def test_the_kernel_sees_neither_solutions_nor_grades_nor_the_course_package(kernel):
    secrets = [
        kernel.course / "solutions" / "01_lesson" / "01_lesson.ipynb",
        kernel.course / "grading" / "gradebook.db",
        kernel.course / "grading" / "autograded" / "bob" / "01_lesson" / "01_lesson.ipynb",
        PROJECT / "solutions",
        PROJECT / "grading",
        Path(mnist_course.__file__),
        Path("/work/notes"),
        Path("/home"),
    ]
    out, error = kernel.run(f"""
        import os
        print([p for p in {[str(s) for s in secrets]!r} if os.path.exists(p)])
        print(sorted(os.listdir(".")), os.path.exists("/root") and os.listdir("/root"), sorted(os.listdir("{PROJECT}")))
        try:
            import mnist_course
        except ImportError:
            print("no mnist_course")
    """)
    assert error is None, error
    visible, listing, package = out.splitlines()
    assert visible == "[]"
    # /root holds at most the way to a Python installed there (pyenv)
    python_in_root = Path(sys.base_prefix).is_relative_to("/root")
    root = [Path(sys.base_prefix).relative_to("/root").parts[0]] if python_in_root else False
    assert listing == f"['01_lesson.ipynb'] {root} {sorted(p.name for p in [Path(sys.prefix), PROJECT / 'mnist_ref'])}"
    assert package == "no mnist_course"


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["zygote", "new python"], indirect=True)
def test_the_kernel_has_no_network(kernel):
    with socket.socket() as listening:  # a service on the host's loopback
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        out, error = kernel.run(f"""
            import socket
            for address in [("1.1.1.1", 53), ("127.0.0.1", {port})]:
                try:
                    socket.create_connection(address, timeout=5).close()
                    print("connected", address)
                except OSError as error:
                    print(type(error).__name__)
        """)
    assert error is None, error
    assert out.split() == ["OSError", "ConnectionRefusedError"]  # unreachable; nobody on the sandbox's own lo


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["zygote", "new python"], indirect=True)
def test_writes_stay_in_the_sandbox_and_vanish(kernel):
    marker = f"sandbox-test-{os.getpid()}"
    targets = [str(PROJECT / marker), f"/etc/{marker}", str(kernel.course / "grading" / marker), f"/{marker}"]
    out, error = kernel.run(f"""
        refused = []
        for path in {targets!r}:
            try:
                open(path, "w").write("x")
            except OSError:
                refused.append(path)
        open("{marker}", "w").write("in cwd")
        open("/tmp/{marker}", "w").write("in tmp")
        open("01_lesson.ipynb", "w").write("overwritten")
        print(len(refused))
    """)
    assert (error, out.strip()) == (None, str(len(targets)))
    kernel.shutdown()
    for path in [*map(Path, targets), kernel.cwd / marker, Path("/tmp") / marker]:
        assert not path.exists(), path
    assert (kernel.cwd / "01_lesson.ipynb").read_text() == "ada's answers"


@pytest.mark.slow
def test_a_big_file_is_cut_at_the_file_size_limit(kernel):
    out, error = kernel.run("""
        import errno
        try:
            with open("big", "wb") as f:
                for _ in range(300):
                    f.write(bytes(2**20))
        except OSError as error:
            print(errno.errorcode[error.errno])
    """)
    assert (out.strip(), error) == ("EFBIG", None)


@pytest.mark.slow
def test_a_fork_bomb_stops_at_the_process_limit_and_dies_with_the_kernel(kernel):
    out, error = kernel.run("""
        import os, time
        children = 0
        try:
            while True:
                if os.fork() == 0:
                    while True:  # every child forks too, and keeps its place
                        try:
                            os.fork()
                        except OSError:
                            time.sleep(3600)
                children += 1
        except OSError as error:
            print("stopped", error.errno)
    """)
    assert error is None and out.startswith("stopped"), (out, error)
    assert 100 < len(processes_of(kernel.uid)) <= 256  # (threads count too; the kernel may now fail to run)
    assert kernel.shutdown() < 30
    assert processes_of(kernel.uid) == []


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["zygote", "new python"], indirect=True)
def test_detached_children_die_with_the_kernel(kernel):
    out, error = kernel.run("""
        import os, signal, subprocess
        subprocess.Popen(["sleep", "3600"], start_new_session=True)
        if os.fork() == 0:  # a daemon: new session, ignores polite signals, parent gone
            os.setsid()
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGHUP, signal.SIG_IGN)
            if os.fork() == 0:
                while True:
                    signal.pause()
            os._exit(0)
        print("started")
    """)
    assert (out.strip(), error) == ("started", None)
    time.sleep(0.5)
    assert len(processes_of(kernel.uid)) >= 3  # the kernel, sleep, the daemon
    assert kernel.shutdown() < 30
    assert processes_of(kernel.uid) == []


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["zygote", "new python"], indirect=True)
def test_an_interrupt_reaches_the_kernel(kernel):
    """nbclient interrupts a cell at its timeout: the signal goes to the process group, through unshare."""
    request = kernel.client.execute("import time; time.sleep(60)")
    time.sleep(1)
    kernel.loop.run_until_complete(kernel.km.interrupt_kernel())
    reply = kernel.client.get_shell_msg(timeout=10)
    while reply["parent_header"].get("msg_id") != request:
        reply = kernel.client.get_shell_msg(timeout=10)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"


@pytest.mark.slow
def test_when_the_grader_dies_the_sandbox_dies(sandbox_available, course):
    """nbgrader killed (a worker's hard timeout): its kernels must not live on."""
    script = textwrap.dedent(f"""
        import asyncio, os, signal, sys
        from mnist_course.sandbox import SandboxKernelManager
        km = SandboxKernelManager()
        asyncio.new_event_loop().run_until_complete(km.start_kernel(cwd={str(course)!r}))
        from mnist_course.sandbox import manager
        print(km._slot.user.pw_uid, *[z.process.pid for z in manager._zygotes.values()], flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    grader = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    uid, *zygotes = map(int, grader.stdout.split())
    assert len(zygotes) == 1
    deadline = time.monotonic() + 10
    while (processes_of(uid) or Path(f"/proc/{zygotes[0]}").exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_of(uid) == []
    assert not Path(f"/proc/{zygotes[0]}").exists()  # nor does the zygote outlive it


@pytest.mark.slow
def test_a_kernel_forked_from_the_zygote_has_torch_imported_and_numpy_seeded_afresh(kernel, course):
    code = "import sys, numpy; print('torch' in sys.modules, numpy.random.randint(2**62))"
    imported, seed = kernel.run(code)[0].split()
    other = Kernel(course)
    try:
        other_imported, other_seed = other.run(code)[0].split()
    finally:
        other.shutdown()
    assert imported == other_imported == "True"
    assert seed != other_seed  # as two new Pythons would draw
    new_python = Kernel(course, preload=[])
    try:
        assert new_python.run(code)[0].split()[0] == "False"
    finally:
        new_python.shutdown()


@pytest.mark.slow
def test_the_zygote_holds_nothing_of_any_learner(kernel):
    """It forks before reading a request: no learner's folder (nor anything else of it) is in its memory."""
    assert kernel.run("import os; print(os.getcwd())")[0].strip() == str(kernel.cwd)
    needle = str(kernel.cwd).encode()
    assert sandbox._zygotes
    holders = []
    for zygote in sandbox._zygotes.values():
        assert not in_writable_memory(zygote.process.pid, needle)
        children = Path(f"/proc/{zygote.process.pid}/task/{zygote.process.pid}/children").read_text().split()
        holders += [child for child in map(int, children) if in_writable_memory(child, needle)]
    assert len(holders) == 1  # the search works: the zygote's child serving this kernel has its request


def in_writable_memory(pid: int, needle: bytes) -> bool:
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
        for line in maps:
            span, permissions = line.split()[:2]
            if not permissions.startswith("rw"):
                continue
            start, end = (int(x, 16) for x in span.split("-"))
            mem.seek(start)
            try:
                if needle in mem.read(end - start):
                    return True
            except OSError:  # [vvar] and the like
                continue
    return False


@pytest.mark.slow
def test_honest_work_runs(kernel, real_mnist):
    out, error = kernel.run("""
        import torch
        from mnist_ref.data import make_data
        from mnist_ref.model import Net
        train, test = make_data()
        image, label = train[0]
        torch.save(Net().state_dict(), "net.pt")
        print(len(train), len(test), tuple(image.shape), len(torch.load("net.pt")))
    """)
    assert error is None, error
    assert out.split()[:3] == ["60000", "10000", "(1,"]


@pytest.mark.slow
def test_sandboxed_execute_runs_a_notebook(sandbox_available, course):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import os; print(os.getuid(), os.getcwd())")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cwd = course / "grading" / "autograded" / "ada" / "01_lesson"
    nb, _ = SandboxedExecute().preprocess(nb, {"metadata": {"path": str(cwd)}})
    uid, folder = nb.cells[0].outputs[0]["text"].split()
    assert int(uid) != 0 and folder == str(cwd)


@pytest.mark.slow
def test_start_overhead_is_small(sandbox_available, course):
    """Time to the first execute_reply, sandboxed or not (printed: pytest -s shows it)."""
    from jupyter_client.manager import AsyncKernelManager

    def first_reply(manager) -> float:
        loop = asyncio.new_event_loop()
        started = time.perf_counter()
        loop.run_until_complete(manager.start_kernel(cwd=str(course)))
        client = blocking_client(manager)
        client.start_channels()
        client.wait_for_ready(timeout=60)
        client.execute_interactive("1", timeout=60)
        seconds = time.perf_counter() - started
        client.stop_channels()
        loop.run_until_complete(manager.shutdown_kernel())
        loop.close()
        return seconds

    plain = min(first_reply(AsyncKernelManager()) for _ in range(3))
    boxed = min(first_reply(SandboxKernelManager()) for _ in range(3))
    print(f"first execute_reply: {plain:.2f} s plain, {boxed:.2f} s sandboxed")
    assert boxed < plain + 2
