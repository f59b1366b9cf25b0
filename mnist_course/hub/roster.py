"""`mnist-course roster ROSTER.csv`: the class's learners as system users, for the hub's PAM login.

The roster is CSV, one learner a row: `username,full name` (a header row `username,...` is allowed).
The whole roster is checked first; any problem (a duplicate, a name that is not a valid Unix user
name, a full name that would break /etc/passwd, the name of an existing account that is not a learner
of this course) stops it with one message listing every problem, before anything is created.
Then, for each learner not created yet: a user in the learners' group, a private home folder (0700:
learners cannot read one another's work), and a random first password, printed and written to a file
only root can read. Learners created earlier are left as they are, so running it again after adding
rows creates only the new ones.
"""

from __future__ import annotations

import csv
import grp
import os
import pwd
import re
import secrets
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..course import GradingError, log

# Debian's default NAME_REGEX (adduser.conf), at most 32 characters (useradd's limit).
USERNAME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Learner:
    username: str
    full_name: str


class SystemAccounts:
    """The machine's users and groups (tests pass another object with the same two methods)."""

    def exists(self, name: str) -> bool:
        try:
            pwd.getpwnam(name)
        except KeyError:
            return False
        return True

    def in_group(self, name: str, group: str) -> bool:
        try:
            members = grp.getgrnam(group)
        except KeyError:
            return False
        return name in members.gr_mem or pwd.getpwnam(name).pw_gid == members.gr_gid


def read_roster(path: Path) -> list[Learner]:
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    if rows and rows[0][0].strip().lower() in {"username", "user", "login"}:
        rows = rows[1:]
    return [Learner(row[0].strip(), (row[1] if len(row) > 1 else "").strip()) for row in rows]


def roster_problems(learners: list[Learner], group: str, accounts) -> list[str]:
    """Everything wrong with the roster, one line each (empty: it can be created)."""
    problems, seen = [], set()
    for number, learner in enumerate(learners, start=1):
        name, where = learner.username, f"row {number} ({learner.username!r})"
        if not USERNAME.match(name):
            problems.append(
                f"{where}: not a valid user name (lower-case letter first, then a-z, 0-9, '_' or '-', at most 32)"
            )
        elif name in seen:
            problems.append(f"{where}: duplicate user name")
        elif accounts.exists(name) and not accounts.in_group(name, group):
            problems.append(f"{where}: an account of that name exists and is not a learner of this course ({group})")
        if re.search(r"[:,=\n]", learner.full_name):
            problems.append(f"{where}: the full name may not contain ':', ',', '=' or a line break")
        seen.add(name)
    if not learners:
        problems.append("the roster has no learners")
    return problems


def create_learners(
    roster: Path, group: str, passwords: Path | None = None, accounts=None, run=subprocess.run
) -> dict[str, str]:
    """Check the roster, then create its new learners; return {username: first password} of those created."""
    if os.geteuid() != 0:
        raise GradingError("creating system users needs root: sudo mnist-course roster ...")
    learners = read_roster(roster)
    problems = roster_problems(learners, group, accounts or SystemAccounts())
    if problems:
        raise GradingError(f"{roster}: nothing was created, fix these first:\n  " + "\n  ".join(problems))
    accounts = accounts or SystemAccounts()
    if run(["getent", "group", group], capture_output=True).returncode != 0:
        run(["groupadd", group], check=True)
    created = {}
    for learner in learners:
        if accounts.exists(learner.username):
            continue
        run(
            ["useradd", "--create-home", "--shell", "/bin/bash", "--groups", group]
            + ["--comment", learner.full_name, learner.username],
            check=True,
        )
        home = Path(pwd.getpwnam(learner.username).pw_dir)
        home.chmod(0o700)  # Debian's useradd makes homes 0755 unless HOME_MODE is set
        password = secrets.token_urlsafe(9)
        run(["chpasswd"], input=f"{learner.username}:{password}\n", text=True, check=True)
        created[learner.username] = password
        print(f"{learner.username}\t{password}")
    kept = len(learners) - len(created)
    log(f"{len(created)} learner(s) created in group {group}, {kept} already there (unchanged)")
    if created:
        passwords = passwords or roster.with_name(f"{roster.stem}-passwords.csv")
        _append_passwords(passwords, created)
        log(f"their first passwords are in {passwords} (root only); a learner changes theirs with `passwd`")
    return created


def _append_passwords(path: Path, created: dict[str, str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", newline="") as handle:
        csv.writer(handle).writerows(created.items())
    path.chmod(0o600)
