"""The kernel manager of autograde: each learner kernel in a sandbox when grading runs as root.

SandboxKernelManager launches the kernel through `unshare` (new mount, network and PID
namespaces; inside.py builds the file system and starts the kernel) as `mnist-grader-N`, a
system user of its own per concurrently running kernel (RLIMIT_NPROC counts per user: one
learner's fork bomb cannot starve another's kernel). The kernel talks to the grader over ZMQ
`ipc` sockets in a folder both sides see at the same path: it has no network, not even the host's
loopback. Not root, or `unshare` not permitted: a warning, and the kernel starts as before.

Each sandbox is forked from a zygote (zygote.py) that imported torch and ipykernel once for the
grading process, so a kernel does not spend seconds importing them again; `preload = []`, another
kernel command or a zygote that cannot start: `unshare` runs inside.py, which starts a new Python.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import importlib.util
import json
import os
import pwd
import resource
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, List, Unicode

from mnist_ref.checks.grading import REQUESTS_ENV
from mnist_ref.data import DATA_ENV, data_root

from ..autograde import DEFAULT_MEMORY_GIB
from ..preprocessors import RobustExecute

INSIDE = Path(__file__).with_name("inside.py")
ZYGOTE = Path(__file__).with_name("zygote.py")
# What every lesson's kernel imports, the bulk of its start (torch.optim pulls in torch._dynamo).
# Not matplotlib: importing it reads and writes its configuration folder under HOME.
PRELOAD = ("torch", "torch._dynamo", "torch.optim", "torchvision", "ipykernel.kernelapp")
# Variables that differ between kernels and that the preloaded modules do not read on import
# (pytest's changes with every test).
PER_KERNEL_ENV = ("PWD", "JPY_PARENT_PID", "JPY_SESSION_NAME", "PYTEST_CURRENT_TEST", REQUESTS_ENV)
USER_PREFIX = "mnist-grader-"
STATE_DIR = Path("/run/mnist-sandbox")  # root-only: slot locks and folders (ZMQ sockets, the tmpfs's mount point)
SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/sys")
NAMESPACES = ["--mount", "--net", "--pid", "--fork", "--kill-child", "--propagation", "private"]
NO_SANDBOX = "grading without a sandbox: "

_decided: dict[str, str | None] = {}  # "why not" per process, decided once (None: sandbox on)


def unshare_refusal(unshare: str | None) -> str | None:
    """Why `unshare` cannot make the sandbox's namespaces here (None: it can)."""
    if unshare is None:
        return "`unshare` (util-linux) was not found"
    try:
        probe = subprocess.run([unshare, *NAMESPACES, "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`unshare` failed: {error}"
    if probe.returncode != 0:
        why = probe.stderr.strip() or f"exit {probe.returncode}"
        return f"`unshare` is not permitted here ({why}), e.g. in a container without CAP_SYS_ADMIN"
    return None


def why_not_sandboxed(euid: int, refusal) -> str | None:
    """None when the sandbox can run; else the warning saying why not. `refusal()` is asked only as root."""
    if euid != 0:
        return NO_SANDBOX + (
            "run autograde as root to run each learner's kernel as an unprivileged user, without network, "
            "seeing only its own folder (docs/INSTRUCTORS.md, Sandbox)"
        )
    reason = refusal()
    return None if reason is None else NO_SANDBOX + reason


def read_only_paths(environ: dict[str, str], cwd: str) -> list[str]:
    """What the kernel reads: the system, Python and the venv, mnist_ref, MNIST, the grading requests."""
    wanted = [p for p in SYSTEM_PATHS if os.path.isdir(p) and not os.path.islink(p)]
    wanted += [sys.prefix, sys.base_prefix, *importlib.util.find_spec("mnist_ref").submodule_search_locations]
    data = data_root(environ=environ)
    if data.is_dir():
        wanted.append(str(data))
    requests = environ.get(REQUESTS_ENV)
    if requests and os.path.isfile(requests):  # PrepareRequests writes it in cwd: then the copy of cwd has it
        wanted.append(requests)
    return outermost([os.path.realpath(p) for p in wanted], also_covered_by=[cwd])


def outermost(paths: list[str], also_covered_by: list[str] = ()) -> list[str]:
    """`paths` without duplicates and without those inside another one (or inside `also_covered_by`)."""
    kept: list[str] = []
    for path in sorted(set(paths), key=len):
        if not any(path == top or path.startswith(top.rstrip("/") + "/") for top in [*kept, *also_covered_by]):
            kept.append(path)
    return kept


def sandbox_command(unshare: str, spec: dict, kernel_cmd: list[str]) -> list[str]:
    return [unshare, *NAMESPACES, sys.executable, "-I", "-S", str(INSIDE), json.dumps(spec), "--", *kernel_cmd]


def kernel_environment(environ: dict[str, str], cwd: str) -> dict[str, str]:
    """The kernel's environment: HOME and TMPDIR in its fresh /tmp, MNIST where the host finds it."""
    env = dict(environ, HOME="/tmp", TMPDIR="/tmp", PWD=cwd)
    env[DATA_ENV] = str(data_root(environ=environ))
    return env


class Slot:
    """An exclusive system user and folder for one kernel: `mnist-grader-N` and STATE_DIR/slot-N for
    the lowest N nobody holds.

    The hold is an flock, so concurrent graders (workers, processes) get different users; it ends
    with the kernel, or with the process holding it. Whatever a dead holder left is cleared first."""

    def __init__(self):
        STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        for number in range(1024):
            fd = os.open(STATE_DIR / f"slot-{number}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            self.fd, self.user, self.folder = fd, ensure_user(f"{USER_PREFIX}{number}"), STATE_DIR / f"slot-{number}"
            if self.clear():
                self.folder.mkdir(mode=0o700)
                return
            os.close(fd)
        raise RuntimeError("no free sandbox slot")

    def clear(self) -> bool:
        """Kill what the slot's last kernel left and remove its folder; False if processes remain."""
        shutil.rmtree(self.folder, ignore_errors=True)
        return kill_processes_of(self.user.pw_uid)

    def release(self) -> None:
        self.clear()
        os.close(self.fd)


def ensure_user(name: str) -> pwd.struct_passwd:
    """The system user `name` (no home, no login shell), created once, under a lock: useradd is not concurrent."""
    with open(os.open(STATE_DIR / "users.lock", os.O_RDWR | os.O_CREAT, 0o600)) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin"]
            + ["--user-group", "--comment", "mnist-course sandboxed kernel", name],
            check=True,
            capture_output=True,
        )
        return pwd.getpwnam(name)


def kill_processes_of(uid: int, timeout: float = 10.0) -> bool:
    """SIGKILL every process of `uid` (a slot's user owns one kernel's processes, nothing else) and
    wait, at most `timeout` s, until they are gone: until then they count against the next kernel's
    RLIMIT_NPROC. False if some are still there."""
    deadline = time.monotonic() + timeout
    while True:
        found = [entry for entry in Path("/proc").iterdir() if entry.name.isdigit() and _owner(entry) == uid]
        if not found:
            return True
        if time.monotonic() > deadline:
            return False
        for entry in found:
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)
        time.sleep(0.05)


def _owner(path: Path) -> int | None:
    try:
        return path.stat().st_uid
    except OSError:  # gone meanwhile
        return None


class Zygote:
    """A running zygote.py for one set of modules and one kernel environment."""

    def __init__(self, modules: list[str], environ: dict[str, str], timeout: float = 300):
        STATE_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = str(STATE_DIR / f"zygote-{os.getpid()}-{len(_zygotes)}.sock")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        # Its own session: a Ctrl-C meant for the grader does not reach the kernels forked from it;
        # its stdin is how it learns that this process is gone.
        self.process = subprocess.Popen(
            [sys.executable, "-P", str(ZYGOTE), "serve", self.path, *modules],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=environ,
            cwd="/",
            start_new_session=True,
        )
        ready = select.select([self.process.stdout], [], [], timeout)[0]
        if not ready or self.process.stdout.readline().strip() != b"ready":
            self.stop()
            raise RuntimeError(f"the zygote did not start within {timeout:.0f} s (exit {self.process.poll()})")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        self.process.stdin.close()  # it exits at once; kernels forked from it keep running
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


_zygotes: dict[tuple, Zygote] = {}


def zygote_for(modules: list[str], environ: dict[str, str]) -> Zygote:
    """The zygote for these modules and this environment (apart from what differs per kernel), started if needed."""
    # ipykernel reads JPY_PARENT_PID on import; in the sandbox its parent is PID 1
    shared = {k: v for k, v in environ.items() if k not in PER_KERNEL_ENV} | {"JPY_PARENT_PID": "1"}
    key = (tuple(modules), tuple(sorted(shared.items())))
    zygote = _zygotes.get(key)
    if zygote is None or not zygote.alive():
        if not _zygotes:
            atexit.register(stop_zygotes)
        zygote = _zygotes[key] = Zygote(list(modules), shared)
    return zygote


def stop_zygotes() -> None:
    while _zygotes:
        _zygotes.popitem()[1].stop()


def zygote_command(zygote_path: str, spec: dict, kernel_cmd: list[str]) -> list[str]:
    return [sys.executable, "-I", "-S", str(ZYGOTE), "connect", zygote_path, json.dumps(spec), "--", *kernel_cmd]


def is_ipykernel(kernel_cmd: list[str]) -> bool:
    """The standard kernel, run by this Python: what the zygote can run without a new Python."""
    python = kernel_cmd[0] if kernel_cmd else ""
    same = os.path.exists(python) and os.path.samefile(python, sys.executable)
    return same and kernel_cmd[1:3] == ["-m", "ipykernel_launcher"]


class SandboxKernelManager(AsyncKernelManager):
    """AsyncKernelManager that starts the kernel in a sandbox when the grader runs as root."""

    enabled = Bool(True, help="Sandbox learner kernels when running as root").tag(config=True)
    max_processes = Integer(256, help="RLIMIT_NPROC of the sandbox user (processes and threads)").tag(config=True)
    max_file_mib = Integer(256, help="RLIMIT_FSIZE: largest file the kernel may write, MiB").tag(config=True)
    cpu_seconds = Integer(900, help="RLIMIT_CPU per process of the kernel, s").tag(config=True)
    memory_gib = Integer(int(DEFAULT_MEMORY_GIB), help="RLIMIT_AS, GiB (a lower inherited limit is kept)").tag(
        config=True
    )
    tmpfs_size = Unicode("1g", help="Size of the sandbox's tmpfs: its /tmp, /dev/shm and working folder").tag(
        config=True
    )
    extra_read_only = List(Unicode(), help="More host paths the kernel may read (same path inside)").tag(config=True)
    preload = List(
        Unicode(),
        default_value=list(PRELOAD),
        help="Modules the zygote imports once for every kernel; [] starts each kernel in a new Python",
    ).tag(config=True)

    _slot: Slot | None = None
    _lifeline: int | None = None

    def sandbox_refusal(self) -> str | None:
        if not self.enabled:
            return NO_SANDBOX + "c.SandboxKernelManager.enabled = False"
        if "decision" not in _decided:
            unshare = shutil.which("unshare") or shutil.which("unshare", path="/usr/bin:/bin")
            _decided["unshare"] = unshare
            _decided["decision"] = why_not_sandboxed(os.geteuid(), lambda: unshare_refusal(unshare))
            if _decided["decision"]:
                self.log.warning(_decided["decision"])
        return _decided["decision"]

    async def _async_pre_start_kernel(self, **kw):
        if self.sandbox_refusal():
            return await super()._async_pre_start_kernel(**kw)
        self._slot = Slot()
        user, folder = self._slot.user, str(self._slot.folder)
        ipc = os.path.join(folder, "ipc")  # short: a Unix socket's path has at most 107 bytes
        os.mkdir(ipc, 0o700)
        os.chown(ipc, user.pw_uid, user.pw_gid)
        os.mkdir(os.path.join(folder, "root"))
        # ZMQ over Unix sockets in `ipc`, which the sandbox sees at the same path
        self.transport, self.ip, self.cache_ports = "ipc", os.path.join(ipc, "kernel"), False
        self.connection_file = os.path.join(ipc, "kernel.json")
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        os.chown(self.connection_file, user.pw_uid, user.pw_gid)
        cwd = os.path.realpath(kw.get("cwd") or os.getcwd())
        environ = kw.get("env") or dict(os.environ)
        read, self._lifeline = os.pipe()
        spec = {
            "root": os.path.join(folder, "root"),
            "cwd": cwd,
            "read_only": read_only_paths(environ, cwd) + list(self.extra_read_only),
            "writable": [ipc],
            "symlinks": {p: os.readlink(p) for p in SYSTEM_PATHS if os.path.islink(p)},
            "tmpfs_size": self.tmpfs_size,
            "uid": user.pw_uid,
            "gid": user.pw_gid,
            "limits": self.limits(),
            "pivot_root": shutil.which("pivot_root", path="/usr/sbin:/sbin:/usr/bin:/bin"),
            "lifeline": read,
        }
        self.log.debug("Sandbox for %s: %s", cwd, spec)
        kw.update(env=kernel_environment(environ, cwd), cwd="/", pass_fds=(read,))
        zygote = self.zygote(kernel_cmd, kw["env"])
        if zygote is not None:
            return zygote_command(zygote.path, spec, kernel_cmd), kw
        return sandbox_command(_decided["unshare"], spec, kernel_cmd), kw

    def zygote(self, kernel_cmd: list[str], environ: dict[str, str]) -> Zygote | None:
        """The zygote to fork this kernel from, or None: a new Python (and a warning once if it failed)."""
        if not self.preload or not is_ipykernel(kernel_cmd) or _decided.get("zygote"):
            return None
        try:
            return zygote_for(self.preload, environ)
        except (OSError, RuntimeError) as error:
            _decided["zygote"] = f"each kernel starts a new Python: {error}"
            self.log.warning(_decided["zygote"])
            return None

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            for fd in kw.get("pass_fds", ()):  # the child has its copy of the lifeline's reading end
                os.close(fd)

    def limits(self) -> dict[str, int]:
        inherited = resource.getrlimit(resource.RLIMIT_AS)[0]
        memory = self.memory_gib * 2**30
        return {
            "RLIMIT_NPROC": self.max_processes,
            "RLIMIT_FSIZE": self.max_file_mib * 2**20,
            "RLIMIT_CPU": self.cpu_seconds,
            "RLIMIT_AS": memory if inherited == resource.RLIM_INFINITY else min(memory, inherited),
        }

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._lifeline is not None:  # closing it ends the sandbox's PID 1, so the whole namespace
            os.close(self._lifeline)
            self._lifeline = None
        if self._slot is not None:
            self._slot.release()
            self._slot = None


class SandboxedExecute(RobustExecute):
    """RobustExecute whose kernels run in the sandbox (autograde only: Validate keeps nbgrader's Execute).

    A subclass, not `c.Execute.kernel_manager_class`: nbgrader's Execute.__init__ passes
    kernel_manager_class=AsyncKernelManager as a keyword, and keywords override config."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxKernelManager)
        super().__init__(*args, **kwargs)
