"""The sandbox's first process: runs as root inside the new mount, network and PID namespaces
that `unshare` made, builds the learner kernel's file system, then starts the kernel unprivileged.

Started as `python -I -S inside.py SPEC_JSON -- KERNEL_CMD...` (see manager.py), or run by the
zygote (zygote.py) in a process forked from it; it must import only the standard library: the
course's packages are not visible to what it starts. It stays
as PID 1 of the namespace (reaping orphans); when it exits, the kernel of Linux kills every process
left in the namespace, detached children included. It exits when the kernel exits, or when the
grading process dies (its end of the lifeline pipe closes).
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import resource
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
READ_ONLY = MS_RDONLY | MS_NOSUID | MS_NODEV  # flags of the binds: host setuid bits and devices never work
WRITABLE = MS_NOSUID | MS_NODEV
DEVICE = MS_NOSUID | MS_NOEXEC
DEVICES = ("null", "zero", "full", "random", "urandom")

_libc = ctypes.CDLL(None, use_errno=True)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def arg(text):
        return text.encode() if text is not None else None

    if _libc.mount(arg(source), arg(target), arg(fstype), flags, arg(data)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source} on {target}: {os.strerror(errno)}")


def bind(source: str, target: str, flags: int) -> None:
    """Bind `source` at `target` (made first, as a folder or an empty file) with mount `flags`."""
    if os.path.isdir(source):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "a").close()
    mount(source, target, None, MS_BIND | MS_REC)
    mount(None, target, None, MS_REMOUNT | MS_BIND | flags)


def loopback_up() -> None:
    """A new network namespace has only `lo`, and it is down: bring it up (struct ifreq: name, flags)."""
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH22s", b"lo", 0, b"")
        flags = struct.unpack("16sH22s", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sH22s", b"lo", flags | iff_up, b""))


def build_root(spec: dict) -> None:
    """Make spec["root"] a fresh tmpfs holding only what the kernel may see, and pivot into it."""
    root = spec["root"]
    mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing mounted here propagates to the host
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['tmpfs_size']},nr_inodes=200000,mode=755")
    for link, target in spec["symlinks"].items():  # /bin -> usr/bin and the like
        os.symlink(target, root + link)
    for path in spec["read_only"]:
        bind(path, root + path, READ_ONLY)
    for path in spec["writable"]:
        bind(path, root + path, WRITABLE)
    for shared in ("/tmp", "/dev/shm"):  # fresh and empty: parts of the tmpfs, gone with it
        os.makedirs(root + shared, exist_ok=True)
        os.chmod(root + shared, 0o1777)
    for device in DEVICES:
        bind(f"/dev/{device}", f"{root}/dev/{device}", DEVICE)
    for name, fd in (("stdin", 0), ("stdout", 1), ("stderr", 2)):
        os.symlink(f"/proc/self/fd/{fd}", f"{root}/dev/{name}")
    os.symlink("/proc/self/fd", f"{root}/dev/fd")
    os.makedirs(root + "/proc")
    mount("proc", root + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)  # this PID namespace's processes only
    # The working folder is a copy in the tmpfs at its own path: the kernel may write there, and
    # nothing it writes reaches the grading folder or outlives the sandbox.
    work = root + spec["cwd"]
    shutil.copytree(spec["cwd"], work, symlinks=True, dirs_exist_ok=True)
    for folder, _, files in os.walk(work):
        for name in [folder, *(os.path.join(folder, f) for f in files)]:
            os.lchown(name, spec["uid"], spec["gid"])
    os.chdir(root)
    os.mkdir(".old")
    subprocess.run([spec["pivot_root"], ".", ".old"], check=True)
    os.chdir("/")
    if _libc.umount2(b"/.old", MNT_DETACH) != 0:
        raise OSError(ctypes.get_errno(), "umount of the old root failed")
    os.rmdir("/.old")


def drop_privileges(spec: dict) -> None:
    """In the forked kernel: limits, then the sandbox user (no supplementary groups), then its folder."""
    for name, value in spec["limits"].items():
        limit = getattr(resource, name)
        soft, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(limit, (value, value))
    os.setgroups([])
    os.setgid(spec["gid"])
    os.setuid(spec["uid"])
    os.chdir(spec["cwd"])


def exec_kernel(command: list[str], environ: dict[str, str]) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_DFL)
    # ipykernel exits when its parent is PID 1 unless told that PID 1 is its parent: we are
    os.execve(command[0], command, dict(environ, JPY_PARENT_PID="1"))


def supervise(kernel: int, lifeline: int) -> int:
    """PID 1: reap every child; return the kernel's exit code when it ends, or 137 if the lifeline closes."""
    pidfd = os.pidfd_open(kernel)
    while True:
        ready, _, _ = select.select([pidfd, lifeline], [], [], 5.0)
        while True:  # orphans of the namespace become our children: reap them all
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return 0
            if pid == 0:
                break
            if pid == kernel:
                code = os.waitstatus_to_exitcode(status)
                return code if code >= 0 else 128 - code
        if lifeline in ready:  # EOF: the grading process is gone, so is every reason to run
            return 137


def run_sandbox(spec: dict, start_kernel, forward_interrupts: bool = False) -> int:
    """PID 1's life: build the file system, fork the kernel (unprivileged, then `start_kernel()`,
    which does not return), reap until it ends. With `forward_interrupts`, a SIGINT sent to PID 1
    is passed on to the kernel (the zygote's path: the kernel is not in the grader's process group)."""
    try:
        loopback_up()
        build_root(spec)
    except Exception as error:  # the kernel never starts: nbclient reports a dead kernel at once
        print(f"mnist-course sandbox: could not set up: {error}", file=sys.stderr)
        return 1
    kernel = os.fork()
    if kernel == 0:
        try:
            os.close(spec["lifeline"])
            drop_privileges(spec)
            start_kernel()
        except BaseException as error:
            print(f"mnist-course sandbox: could not start the kernel: {error}", file=sys.stderr)
        os._exit(127)
    if forward_interrupts:
        signal.signal(signal.SIGINT, lambda signum, frame: os.kill(kernel, signal.SIGINT))
    return supervise(kernel, spec["lifeline"])


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    command = argv[argv.index("--") + 1 :]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # interrupts are for the kernel (same process group)
    return run_sandbox(spec, lambda: exec_kernel(command, dict(os.environ)))


if __name__ == "__main__":
    os._exit(main(sys.argv))
