"""The instructor command `mnist-course`: its steps, how it finds the course, how it runs nbgrader.

Fast: no notebook runs here (tests/test_autograde.py grades a class end to end)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mnist_course import cli, course, runner
from mnist_course.course import GradingError, find_course

ROOT = Path(__file__).resolve().parents[1]
MNIST_COURSE = Path(sys.executable).parent / "mnist-course"  # the console script of `pip install -e .`
STEPS = [
    "lessons",
    "release",
    "collect",
    "zip_collect",
    "autograde",
    "formgrader",
    "feedback",
    "export",
    "report",
    "all",
    "roster",
    "hub",
    "exchange",
]
AUTOGRADE_FLAGS = [
    "--workers",
    "--student",
    "--lesson",
    "--force",
    "--memory-gib",
    "--student-timeout",
    "--execute-timeout",
]


def mnist_course(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(MNIST_COURSE), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def make_course(folder: Path) -> Path:
    (folder / "solutions" / "01_x").mkdir(parents=True)
    (folder / "solutions" / "01_x" / "01_x.ipynb").write_text("{}")
    (folder / "nbgrader_config.py").write_text("c = get_config()\n")
    return folder


def test_help_lists_every_step_from_any_folder(tmp_path):
    result = mnist_course("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    listed = [
        line.split()[0]
        for line in result.stdout.split("STEP\n", 1)[1].split("\noptions:")[0].splitlines()
        if line.startswith("    ") and not line.startswith("     ")
    ]
    assert listed == STEPS
    assert "--course" in result.stdout


def test_instructors_guide_shows_every_step():
    guide = (ROOT / "docs" / "INSTRUCTORS.md").read_text()
    assert [step for step in STEPS if f"mnist-course {step}" not in guide] == []


@pytest.mark.parametrize("step", ["autograde", "all"])
def test_grading_steps_keep_their_flags(step, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main([step, "--help"])
    assert exit_info.value.code == 0
    shown = capsys.readouterr().out
    assert [flag for flag in AUTOGRADE_FLAGS if flag not in shown] == []
    assert "steps, in order" in shown


def test_the_command_and_autograde_start_without_torch_or_nbformat():
    # `mnist-course --help` and the parent of `mnist-course autograde` (MNIST_DATA set) need neither: they took
    # seconds of CPU to import, before any grading started.
    code = (
        "import sys, mnist_course.cli, mnist_course.autograde; "
        "print(sorted(m for m in ('torch', 'nbformat', 'mnist_ref') if m in sys.modules))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert shown.stdout.strip() == "[]"


def test_autograde_names_the_data_variable_as_mnist_ref_does():
    from mnist_course import autograde
    from mnist_ref import data

    assert autograde.DATA_ENV == data.DATA_ENV


def test_report_help_names_the_reports_real_default(capsys):
    from mnist_course.class_report import CLASS_REPORT

    with pytest.raises(SystemExit):
        cli.main(["report", "--help"])
    assert CLASS_REPORT in capsys.readouterr().out


def test_course_is_found_upward_from_a_subfolder(tmp_path):
    course_dir = make_course(tmp_path / "course")
    deep = course_dir / "grading" / "submitted" / "ada"
    deep.mkdir(parents=True)
    assert find_course(cwd=deep) == course_dir
    assert find_course(cwd=course_dir) == course_dir


def test_course_given_by_option_wins(tmp_path):
    course_dir = make_course(tmp_path / "course")
    assert find_course(course_dir, cwd=ROOT) == course_dir
    with pytest.raises(GradingError, match="is not a course folder"):
        find_course(tmp_path, cwd=course_dir)


def test_outside_any_course_the_installed_checkout_is_used(tmp_path):
    assert find_course(cwd=tmp_path) == ROOT  # the editable install of this project


def test_no_course_anywhere_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(course, "INSTALLED_FROM", tmp_path / "site-packages")
    with pytest.raises(GradingError, match="no course folder found.*pass --course FOLDER"):
        find_course(cwd=tmp_path)


def test_command_runs_in_the_course_found_from_a_subfolder(tmp_path):
    course_dir = make_course(tmp_path / "course")
    (tmp_path / "inbox").mkdir()
    result = mnist_course("collect", str(tmp_path / "inbox"), cwd=course_dir / "solutions" / "01_x")
    assert result.returncode == 0, result.stderr
    assert "[mnist-course] collected 0 submission(s) of 0 student(s)" in result.stdout
    assert (course_dir / "grading").is_dir()  # made by the command: the gradebook's sqlite needs it


def test_command_outside_a_course_exits_with_the_reason(tmp_path):
    result = mnist_course("--course", str(tmp_path), "export", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {tmp_path} is not a course folder")
    assert not (tmp_path / "grading").exists()


def test_nbgrader_runs_with_the_environments_bin_first_on_path(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    result = runner.run(
        [sys.executable, "-c", "import os; print(os.getcwd()); print(os.environ['PATH'])"], tmp_path, "show path"
    )
    cwd, path = result.stdout.splitlines()
    assert Path(cwd) == tmp_path.resolve()
    assert path.split(os.pathsep) == [str(Path(sys.executable).parent), "/usr/bin", "/bin"]


def test_memory_limit_reaches_the_process():
    hog = "bytearray(2 * 2**30)"  # 2 GiB: over the 1 GiB address-space limit
    result = runner.run([sys.executable, "-c", hog], ROOT, "hog", memory_gib=1, check=False)
    assert result.returncode != 0 and "MemoryError" in result.stdout
    with pytest.raises(GradingError, match=r"(?s)^hog failed \(exit 1\):\n.*MemoryError"):
        runner.run([sys.executable, "-c", hog], ROOT, "hog", memory_gib=1)


def test_timeout_kills_the_group_and_does_not_wait_for_escaped_processes(tmp_path, monkeypatch):
    """A kernel (same process group) dies with nbgrader; a process that left the group and holds the
    output pipe is waited for KILL_GRACE seconds only, not until it exits."""
    monkeypatch.setattr(runner, "KILL_GRACE", 1.0)
    spawn = (
        "import subprocess, sys\n"
        "def child(code, name):\n"
        "    p = subprocess.Popen([sys.executable, '-c', code])\n"
        f"    open({str(tmp_path)!r} + '/' + name, 'w').write(str(p.pid))\n"
        "child('import time; time.sleep(60)', 'kernel')\n"
        "child('import os, time; os.setsid(); time.sleep(60)', 'escaped')\n"
        "import time; time.sleep(60)\n"
    )
    start = time.perf_counter()
    try:
        with pytest.raises(GradingError, match=r"^timed out after 2 s: grading"):
            runner.run([sys.executable, "-c", spawn], tmp_path, "grading", timeout=2)
        elapsed = time.perf_counter() - start
        assert elapsed < 20, f"waited {elapsed:.0f} s after the kill"
        kernel = int((tmp_path / "kernel").read_text())
        time.sleep(0.5)
        assert not _alive(kernel), "the process group was not killed"
    finally:
        escaped = tmp_path / "escaped"
        if escaped.exists() and _alive(pid := int(escaped.read_text())):
            os.kill(pid, 9)


def _alive(pid: int) -> bool:
    """Running (not a zombie waiting for its parent to reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


LESSONS7 = [f"0{n}_lesson" for n in range(1, 8)]


def test_a_class_at_least_as_large_as_the_workers_is_one_process_per_student():
    from mnist_course.autograde import shares

    plan = {"ada": LESSONS7, "bob": LESSONS7[:2]}
    assert shares(plan, 2) == [("ada", LESSONS7), ("bob", LESSONS7[:2])]
    assert shares(plan, 1) == [("ada", LESSONS7), ("bob", LESSONS7[:2])]


def test_one_learner_is_shared_out_between_idle_workers_in_consecutive_shares():
    from mnist_course.autograde import shares

    assert shares({"ada": LESSONS7}, 2) == [("ada", LESSONS7[:4]), ("ada", LESSONS7[4:])]
    assert shares({"ada": LESSONS7}, 3) == [("ada", LESSONS7[:3]), ("ada", LESSONS7[3:5]), ("ada", LESSONS7[5:])]
    # never an empty share, never a lesson twice or lost
    assert shares({"ada": LESSONS7[:1]}, 4) == [("ada", LESSONS7[:1])]
    assert shares({"ada": LESSONS7[:2], "bob": LESSONS7[:3]}, 5) == [
        ("ada", LESSONS7[:1]),
        ("ada", LESSONS7[1:2]),
        ("bob", LESSONS7[:2]),
        ("bob", LESSONS7[2:3]),
    ]


def test_a_learner_graded_in_shares_is_merged_share_by_share_and_reported_once(tmp_path, monkeypatch):
    from mnist_course import autograde as autograde_module
    from mnist_course.autograde import StudentResult

    course_dir = make_course(tmp_path / "course")
    (course_dir / course.GRADEBOOK).parent.mkdir(parents=True, exist_ok=True)
    (course_dir / course.GRADEBOOK).write_bytes(b"")
    for lesson in LESSONS7[:3]:
        (course_dir / course.SUBMITTED / "ada" / lesson).mkdir(parents=True)
    monkeypatch.setattr(autograde_module, "lesson_names", lambda _: LESSONS7[:3])
    monkeypatch.setattr(autograde_module, "grades", lambda _: {})
    graded, merged = [], []

    def grade(course_dir, snapshot, student, lessons, workroot, memory_gib, timeout, execute_timeout):
        graded.append((student, lessons, timeout))
        ok = lessons != LESSONS7[2:3]
        return StudentResult(student, lessons, 10.0, ok, "" if ok else "boom", Path(workroot))

    monkeypatch.setattr(autograde_module, "_grade_student", grade)
    monkeypatch.setattr(
        autograde_module, "merge_student", lambda c, w, s, lessons: merged.append((s, lessons)) or list(lessons)
    )
    monkeypatch.setenv("MNIST_DATA", str(tmp_path))
    (result,) = autograde_module.autograde(course_dir, workers=2, execute_timeout=30)
    assert sorted(graded) == [("ada", LESSONS7[:2], 180), ("ada", LESSONS7[2:3], 90)]
    assert sorted(merged) == [("ada", LESSONS7[:2]), ("ada", LESSONS7[2:3])]
    assert (result.student, result.lessons, result.merged) == ("ada", LESSONS7[:3], LESSONS7[:3])
    assert (result.seconds, result.ok, result.message) == (20.0, False, "boom")
