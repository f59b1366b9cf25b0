"""The sandbox's zygote: a root process that imports once what every learner kernel imports (torch,
torch._dynamo, torchvision, ipykernel: about 4 s of CPU per kernel otherwise) and forks each
sandbox from itself, so every kernel starts with them already imported.

Two roles, one file, standard library only until `serve` imports the preloaded modules:

    python -P zygote.py serve SOCKET MODULE...                 # manager.Zygote starts it
    python -I -S zygote.py connect SOCKET SPEC_JSON -- KERNEL_CMD...  # what jupyter_client runs

`connect` is the kernel process jupyter_client sees: it hands its stdin, stdout, stderr and the
lifeline (SCM_RIGHTS) with the spec, the command and its environment to the zygote, passes
interrupts on, and exits with the sandbox's exit code; when it dies, the sandbox is killed.

For each connection the zygote forks at once and reads nothing (it holds nothing of any learner).
The child takes the request, unshares the mount, network and PID namespaces, and forks the
namespace's PID 1, which builds the file system and supervises the kernel as inside.py does for
`unshare`. The kernel, forked from PID 1 and unprivileged, runs ipykernel in that process instead of
exec'ing Python again. The manager only sends here the standard ipykernel command with the
environment the zygote imported under; anything else goes through `unshare` and inside.py.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib
import importlib.util
import json
import os
import select
import signal
import socket
import sys
import time
from pathlib import Path

CLONE_NEWNS, CLONE_NEWNET, CLONE_NEWPID = 0x00020000, 0x40000000, 0x20000000
PR_SET_PDEATHSIG = 1
HEADER = 8  # bytes of the request's length, sent with the file descriptors
INTERRUPT = b"I"


def load_inside():
    spec = importlib.util.spec_from_file_location("mnist_sandbox_inside", Path(__file__).with_name("inside.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the zygote ------------------------------------------------------------------------------


def serve(path: str, modules: list[str]) -> int:
    for name in modules:
        importlib.import_module(name)
    inside = load_inside()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    print("ready", flush=True)  # to the manager, which waits for this line
    sys.stderr.flush()
    try:
        return accept_forever(listener, inside)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def accept_forever(listener: socket.socket, inside) -> int:
    while True:
        ready = select.select([listener, 0], [], [], 1.0)[0]
        reap()
        if 0 in ready and not os.read(0, 1):  # the grading process closed our stdin, or died
            reap(within=5.0)  # sandboxes ending now are counted as ours (CPU accounting)
            return 0
        if listener in ready:
            connection, _ = listener.accept()
            if peer_uid(connection) != os.geteuid():
                connection.close()
                continue
            if os.fork() == 0:
                listener.close()
                code = 1
                try:
                    code = sandbox(connection, inside)
                finally:
                    os._exit(code)
            connection.close()


def reap(within: float = 0.0) -> None:
    """Wait for the sandboxes that have ended; with `within`, for the others too, at most that long."""
    deadline = time.monotonic() + within
    with contextlib.suppress(ChildProcessError):
        while True:
            if os.waitpid(-1, os.WNOHANG)[0]:
                continue
            if time.monotonic() >= deadline:
                return
            time.sleep(0.05)


def peer_uid(connection: socket.socket) -> int:
    pid_uid_gid = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    return int.from_bytes(pid_uid_gid[4:8], sys.byteorder)


def sandbox(connection: socket.socket, inside) -> int:
    """The zygote's child: one sandbox, from the request to the exit code sent back."""
    header, fds, _, _ = socket.recv_fds(connection, HEADER, 4)
    request = json.loads(receive_exactly(connection, int.from_bytes(header, "big")))
    for target, fd in enumerate(fds[:3]):  # the connecting process's stdin, stdout, stderr
        os.dup2(fd, target)
        os.close(fd)
    lifeline = fds[3]
    close_all_but(3, lifeline, connection.fileno())  # what the zygote's imports opened: not the kernel's
    spec = dict(request["spec"], lifeline=lifeline)
    libc = inside._libc
    if libc.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID) != 0:
        print(f"mnist-course sandbox: unshare failed: {os.strerror(ctypes.get_errno())}", file=sys.stderr)
        return 1
    pid1 = os.fork()
    if pid1 == 0:
        code = 1
        try:
            connection.close()
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # until run_sandbox passes interrupts to the kernel
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)  # this process dies if its parent does
            code = inside.run_sandbox(
                spec, lambda: run_ipykernel(request["command"], request["environ"]), forward_interrupts=True
            )
        finally:
            os._exit(code)
    os.close(lifeline)
    return relay(connection, pid1)


def close_all_but(low: int, *kept: int) -> None:
    """Close every file descriptor from `low` up, except `kept`."""
    for start, end in zip([low, *(fd + 1 for fd in sorted(kept))], [*sorted(kept), 1 << 16]):
        if start < end:
            os.closerange(start, end)


def receive_exactly(connection: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the request was cut short")
        data += chunk
    return bytes(data)


def relay(connection: socket.socket, pid1: int) -> int:
    """Pass interrupts to PID 1 and its exit code back; kill it if the connecting process goes."""
    pidfd = os.pidfd_open(pid1)
    while True:
        ready = select.select([pidfd, connection], [], [])[0]
        if pidfd in ready:
            code = os.waitstatus_to_exitcode(os.waitpid(pid1, 0)[1])
            code = code if code >= 0 else 128 - code
            connection.sendall(str(code).encode())
            return 0
        message = connection.recv(64)
        if not message:  # the connecting process is gone
            os.kill(pid1, signal.SIGKILL)  # PID 1 gone: the kernel of Linux kills the whole namespace
            os.waitpid(pid1, 0)
            return 0
        if INTERRUPT in message:
            os.kill(pid1, signal.SIGINT)


def run_ipykernel(command: list[str], environ: dict[str, str]) -> None:
    """In the unprivileged kernel process: what `python -m ipykernel_launcher ARGS` would do, then exit."""
    os.environ.clear()
    os.environ.update(environ, JPY_PARENT_PID="1")  # ipykernel exits when its parent is PID 1 unless told
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if "numpy" in sys.modules:  # a new process seeds numpy's global generator afresh (random does at fork)
        sys.modules["numpy"].random.seed()
    sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *command[3:]]
    code = 0
    try:
        from ipykernel import kernelapp

        kernelapp.launch_new_instance()
    except SystemExit as exit:
        code = exit.code if isinstance(exit.code, int) else int(exit.code is not None)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


# --- the connecting process ----------------------------------------------------------------------


def connect(path: str, spec: dict, command: list[str]) -> int:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(path)
    except OSError as error:
        print(f"mnist-course sandbox: the zygote at {path} is not there: {error}", file=sys.stderr)
        return 1
    request = json.dumps({"spec": spec, "command": command, "environ": dict(os.environ)}).encode()
    socket.send_fds(connection, [len(request).to_bytes(HEADER, "big")], [0, 1, 2, spec["lifeline"]])
    connection.sendall(request)
    signal.signal(signal.SIGINT, lambda signum, frame: connection.send(INTERRUPT))
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(128 + signum))  # our end closes: sandbox killed
    reply = bytearray()
    while chunk := connection.recv(16):
        reply += chunk
    if not reply:
        print("mnist-course sandbox: the zygote's child died", file=sys.stderr)
        return 1
    return int(reply)


def main(argv: list[str]) -> int:
    role, path = argv[1], argv[2]
    if role == "serve":
        return serve(path, argv[3:])
    separator = argv.index("--")
    return connect(path, json.loads(argv[3]), argv[separator + 1 :])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
