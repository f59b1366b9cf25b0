"""Run nbgrader as a child process: this interpreter, the course as cwd, bounded in memory and time.

nbgrader reads nbgrader_config.py from its current directory, so every command runs in the course
(or in an autograde worker's copy of it). The environment's bin/ goes first on PATH: the gradebook
runs the `alembic` executable from PATH, which an unactivated venv would not provide.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

from .course import GradingError

KILL_GRACE = 10.0  # s to wait for a killed process group's output before giving up on it


def nbgrader(
    course: Path, *args: str, memory_gib: float | None = None, timeout: float | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """`python -m nbgrader ARGS` in `course`; stdout and stderr together in .stdout."""
    return run(
        [sys.executable, "-m", "nbgrader", *args],
        course,
        f"nbgrader {' '.join(args)}",
        memory_gib=memory_gib,
        timeout=timeout,
        check=check,
    )


def run(
    command: list[str],
    cwd: Path,
    title: str,
    *,
    memory_gib: float | None = None,
    timeout: float | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run `command` in its own process group (so a timeout kills it with the kernels it started),
    under an address-space limit of `memory_gib` that those kernels inherit; GradingError on a
    timeout, or on a non-zero exit when `check`."""
    path = os.pathsep.join(filter(None, [str(Path(sys.executable).parent), os.environ.get("PATH")]))
    limit = int(memory_gib * 2**30) if memory_gib else None
    # preexec_fn in a worker thread is safe here: it only calls setrlimit (no locks, nothing to import),
    # and the limit must be in place before exec for the kernels to inherit it.
    proc = subprocess.Popen(
        command,
        cwd=cwd,
        env={**os.environ, "PATH": path},
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_address_space_limit(limit) if limit else None,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(proc)
        raise GradingError(f"timed out after {timeout:.0f} s: {title}") from None
    if check and proc.returncode != 0:
        raise GradingError(f"{title} failed (exit {proc.returncode}):\n{tail(out)}")
    return subprocess.CompletedProcess(command, proc.returncode, out or "", "")


def _address_space_limit(limit_bytes: int):
    def preexec() -> None:  # runs in the child before exec: the kernels it starts inherit the limit
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    return preexec


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group, then wait boundedly: a process that left the group (its own
    setsid) may keep the pipe open forever, so after KILL_GRACE the pipe is closed and it is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    try:
        proc.communicate(timeout=KILL_GRACE)
    except subprocess.TimeoutExpired:
        proc.stdout.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=KILL_GRACE)


def tail(text: str | None, lines: int = 40) -> str:
    return "\n".join((text or "").splitlines()[-lines:])
