"""`mnist-course hub` (`make hub`): JupyterHub for a class, from mnist_course/hub/jupyterhub_config.py.

As root (it starts each learner's JupyterLab as that learner). Before starting it checks what would
otherwise fail later, one message each: the instructor account, the exchange folders (made here,
root's, before a learner could make them), and warns when it listens beyond loopback without TLS.
"""

from __future__ import annotations

import ipaddress
import os
import pwd
import subprocess
import sys
from pathlib import Path

from mnist_ref.data import data_root

from ..course import GradingError, log
from .config import BIN, JUPYTERHUB_CONFIG, SETTINGS_ENV, HubSettings
from .exchange import hand_back, prepare_exchange


def default_instructor(course_owner_uid: int) -> str | None:
    """The owner of the course folder, unless it is root (who may not be a hub user)."""
    return None if course_owner_uid == 0 else pwd.getpwuid(course_owner_uid).pw_name


def closed_folders(*paths: Path) -> list[Path]:
    """Folders on the way to `paths` that other users cannot enter (no o+x): a learner's server could not
    run the course's Python or read its settings through them."""
    closed = []
    for path in paths:
        for folder in [*reversed(Path(os.path.realpath(path)).parents)]:
            if not folder.stat().st_mode & 0o001 and folder not in closed:
                closed.append(folder)
    return closed


def check_settings(settings: HubSettings) -> list[str]:
    """Why the hub cannot start with these settings (empty: it can), and warnings as log lines."""
    problems = []
    try:
        account = pwd.getpwnam(settings.instructor)
    except KeyError:
        return [f"the instructor {settings.instructor!r} is not a user of this machine: create it (adduser) first"]
    if account.pw_uid == 0:
        problems.append("root cannot be the hub's instructor: use an ordinary account that owns the course folder")
    elif (settings.course / "nbgrader_config.py").stat().st_uid != account.pw_uid:
        log(
            f"warning: {settings.course} does not belong to {settings.instructor}: the formgrader on the hub "
            f"cannot write the gradebook (chown -R {settings.instructor} {settings.course})"
        )
    closed = closed_folders(Path(sys.executable), settings.course / "jupyter-config" / "learner")
    if closed:
        problems.append(
            f"learners cannot enter {', '.join(map(str, closed))} (on the way to the course's Python or its "
            "jupyter-config/): install the course with a Python outside root's home, or `chmod o+x` them"
        )
    if bool(settings.ssl_cert) != bool(settings.ssl_key):
        problems.append("--ssl-cert and --ssl-key go together")
    if not ipaddress.ip_address(settings.ip).is_loopback and not settings.ssl_cert:
        log(f"warning: listening on {settings.ip} without TLS: passwords cross the network in clear (docs/HUB.md)")
    return problems


def start_hub(settings: HubSettings) -> int:
    """Run JupyterHub in the foreground until it is stopped (Ctrl-C); returns its exit status."""
    if os.geteuid() != 0:
        raise GradingError("the hub runs as root (it starts each learner's server as that learner): sudo ...")
    problems = check_settings(settings)
    if problems:
        raise GradingError("the hub cannot start:\n  " + "\n  ".join(problems))
    settings.data = settings.data or data_root()
    prepare_exchange(settings.exchange, settings.course_id)
    hand_back(settings.course)  # solutions, gradebook, hidden checks: the instructor's only
    path = settings.save()
    scheme = "https" if settings.ssl_cert else "http"
    log(f"JupyterHub on {scheme}://{settings.ip}:{settings.port}/ (state in {settings.state}; Ctrl-C stops it)")
    return subprocess.call(
        [str(BIN / "jupyterhub"), "-f", str(JUPYTERHUB_CONFIG)],
        cwd=settings.state,
        env={**os.environ, SETTINGS_ENV: str(path), "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")])},
        stdout=sys.stdout,
        stderr=sys.stderr,
    )
