"""Grading cost of one learner: the solutions of every lesson autograded, in total and by phase.

    MNIST_DATA=/path/to/data .venv/bin/python benchmarks/grading_cost.py [--runs N] [--workers W]
        [--learners N] [--profile FILE] [--out FILE]

A course is made in a temporary folder as tests/test_autograde.py makes it (nbgrader_config.py,
solutions/, release) and one learner (``--learners N``: N learners) submits the solutions of all
lessons. Then, ``--runs`` times:

(a) total: ``mnist_course.autograde.autograde(course, workers=W, force=True)`` in a child Python, what
    ``mnist-course autograde --workers W`` runs (its imports, nbgrader in child processes, sandboxed as
    root; W=2 shares one learner's lessons between 2 processes); CPU seconds from a cpuacct cgroup when
    this runs as root (kernels killed at shutdown are counted too, which getrusage cannot see), else
    from getrusage of the children;
(b) breakdown: the same ``nbgrader autograde`` in this process, with timers around its phases, per
    lesson: the grader's requests (PrepareRequests), kernel start (sandbox included) and shutdown,
    the cells (the hidden test cells apart), the verdicts (TrustedVerdicts) and the rest (nbgrader:
    sanitizing, gradebook, writing); from the kernel's answers, the seconds it spent running the
    learner's answers and encoding them, and the bytes of requests and answers. ``--profile FILE``
    writes a cProfile of this process (the grading side; the kernel is another process) and prints
    its top entries.

With ``--before FOLDER`` (mnist_ref/ and mnist_course/ of another version), each run also times (a)
with that version (its autograde, nbgrader's preprocessors and the kernels' mnist_ref), right after this
checkout's: a before/after comparison under the same load.
(a) and (b) alternate, so a change in the machine's load shows as a change between runs. The
output states the CPU and the load average before and after; it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import json
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager, suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDENT = "solutions"


def cpu_model() -> str:
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        return next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "?")


def machine() -> dict:
    return {
        "cpu": cpu_model() if os.path.exists("/proc/cpuinfo") else platform.processor(),
        "cores": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "euid": os.geteuid(),
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
    }


def make_course(tmp: Path, learners: int = 1) -> tuple[Path, list[str]]:
    """A released course of every lesson in solutions/, the solutions submitted by `learners` learners
    (the first named STUDENT: the one the breakdown grades)."""
    from mnist_course.course import SUBMITTED, lesson_names
    from mnist_course.release import release

    lessons = lesson_names(ROOT)
    course = tmp / "course"
    course.mkdir()
    shutil.copy2(ROOT / "nbgrader_config.py", course)
    for lesson in lessons:
        shutil.copytree(
            ROOT / "solutions" / lesson, course / "solutions" / lesson, ignore=shutil.ignore_patterns(".ipynb*")
        )
    release(course)
    for learner in [STUDENT] + [f"learner{n:03d}" for n in range(2, learners + 1)]:
        for lesson in lessons:
            dest = course / SUBMITTED / learner / lesson
            dest.mkdir(parents=True)
            shutil.copy2(course / "solutions" / lesson / f"{lesson}.ipynb", dest)
    return course, lessons


@contextmanager
def python_path(folder: Path | None):
    """Let nbgrader and its kernels import mnist_ref and mnist_course from ``folder`` (another version)."""
    saved = os.environ.get("PYTHONPATH")
    if folder is not None:
        os.environ["PYTHONPATH"] = str(folder.resolve())
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


AUTOGRADE = """
import sys
from pathlib import Path
from mnist_course.autograde import autograde
sys.exit(0 if all(r.ok for r in autograde(Path(sys.argv[1]), workers=int(sys.argv[2]), force=True)) else 1)
"""


def total_run(course: Path, version: Path | None = None, cgroup: Path | None = None, workers: int = 1) -> dict:
    """``autograde(workers)`` in a child Python (importing ``version`` if given), as the command runs it."""
    with python_path(version):
        before, start = cpu_used(cgroup), time.perf_counter()
        # cwd: not the checkout, whose mnist_course would come before PYTHONPATH's
        proc = subprocess.run(
            [sys.executable, "-c", AUTOGRADE, str(course), str(workers)], cwd=course.parent, check=False
        )
        seconds, cpu = time.perf_counter() - start, cpu_used(cgroup) - before
    # CPU seconds (user + system of nbgrader and its kernels) say more than wall seconds on a loaded machine.
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2), "ok": proc.returncode == 0, **scores(course)}


def scores(course: Path) -> dict:
    """STUDENT's score per lesson, and the total: a cheaper grading must give the same grades; with
    several learners, also the lowest total of any of them (they all submitted the solutions)."""
    from mnist_course.gradebook import grades

    table = grades(course)
    found = {lesson: round(score, 2) for (student, lesson), (score, _) in sorted(table.items()) if student == STUDENT}
    totals: dict[str, float] = defaultdict(float)
    for (student, _), (score, _) in table.items():
        totals[student] += score
    return {
        "scores": found,
        "score": round(sum(found.values()), 2),
        "learners": len(totals),
        "lowest_learner_score": round(min(totals.values(), default=0.0), 2),
    }


CPUACCT = Path("/sys/fs/cgroup/cpuacct")  # cgroup v1's CPU accounting (where mounted)


@contextmanager
def cpu_cgroup():
    """A cpuacct cgroup holding this process (so every process it starts, however it ends), or None."""
    group = CPUACCT / f"grading-cost-{os.getpid()}"
    try:
        group.mkdir()
        (group / "cgroup.procs").write_text(str(os.getpid()))
    except OSError:
        yield None
        return
    try:
        yield group
    finally:
        (CPUACCT / "cgroup.procs").write_text(str(os.getpid()))
        with suppress(OSError):  # a process left behind still holds it
            group.rmdir()


def cpu_used(cgroup: Path | None) -> float:
    """CPU seconds so far: of the cgroup (this process included), else of the children waited for."""
    if cgroup is not None:
        return int((cgroup / "cpuacct.usage").read_text()) / 1e9
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Phases:
    """Seconds per (lesson, phase), filled by the wrappers `instrument` puts around nbgrader's steps."""

    def __init__(self):
        self.seconds: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.lesson = "?"
        self.cells: list[tuple[float, str, int, str]] = []  # (seconds, lesson, index, first line)

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[self.lesson][phase] += seconds


def _timed(phases: Phases, phase: str, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            phases.add(phase, time.perf_counter() - start)

    return wrapper


def _timed_async(phases: Phases, phase: str, function):
    @functools.wraps(function)
    async def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            phases.add(phase, time.perf_counter() - start)

    return wrapper


@contextmanager
def instrument(phases: Phases):
    """Timers around the phases of nbgrader's autograde, in this process, undone afterwards."""
    from nbclient.client import NotebookClient
    from nbconvert.preprocessors import ExecutePreprocessor
    from nbgrader.converters.autograde import Autograde

    from mnist_course.preprocessors import grading_requests, trusted_verdicts
    from mnist_course.sandbox.manager import SandboxKernelManager
    from mnist_ref.checks.grading import ANSWERS_MIMETYPE

    convert = Autograde.convert_single_notebook

    def convert_single_notebook(self, notebook_filename):
        phases.lesson = Path(notebook_filename).stem
        start = time.perf_counter()
        try:
            return convert(self, notebook_filename)
        finally:
            phases.add("total", time.perf_counter() - start)

    prepare = grading_requests.PrepareRequests.preprocess

    def prepare_requests(self, nb, resources):
        start = time.perf_counter()
        nb, resources = prepare(self, nb, resources)
        phases.add("requests", time.perf_counter() - start)
        phases.add("request_bytes", len(json.dumps(resources[grading_requests.STATE]["requests"])))
        return nb, resources

    judge = trusted_verdicts.judge_cell

    def judge_cell(keys, requests, outputs):
        for output in outputs:
            payload = output.get("data", {}).get(ANSWERS_MIMETYPE) if output.output_type == "display_data" else None
            if isinstance(payload, dict):
                phases.add("answer_bytes", len(json.dumps(payload)))
                for name, seconds in (payload.get("seconds") or {}).items():
                    phases.add(f"kernel_{name}", float(seconds))
        return judge(keys, requests, outputs)

    execute_cell = ExecutePreprocessor.preprocess_cell

    def preprocess_cell(self, cell, resources, index):
        hidden = "check." in cell.source and ".hidden(" in cell.source
        start = time.perf_counter()
        try:
            return execute_cell(self, cell, resources, index)
        finally:
            seconds = time.perf_counter() - start
            phases.add("hidden_cells" if hidden else "other_cells", seconds)
            phases.cells.append((seconds, phases.lesson, index, cell.source.strip().split("\n")[0][:60]))

    patches = [
        (Autograde, "convert_single_notebook", convert_single_notebook),
        (Autograde, "init_assignment", _timed(phases, "init_assignment", Autograde.init_assignment)),
        (grading_requests.PrepareRequests, "preprocess", prepare_requests),
        (trusted_verdicts, "judge_cell", judge_cell),
        (
            trusted_verdicts.TrustedVerdicts,
            "preprocess",
            _timed(phases, "verdicts", trusted_verdicts.TrustedVerdicts.preprocess),
        ),
        (ExecutePreprocessor, "preprocess_cell", preprocess_cell),
        # nbclient calls the synchronous wrappers, made from the async methods when its class was defined
        (NotebookClient, "start_new_kernel", _timed(phases, "kernel_start", NotebookClient.start_new_kernel)),
        (
            NotebookClient,
            "start_new_kernel_client",
            _timed(phases, "kernel_ready", NotebookClient.start_new_kernel_client),
        ),
        (NotebookClient, "_cleanup_kernel", _timed(phases, "kernel_shutdown", NotebookClient._cleanup_kernel)),
        (
            SandboxKernelManager,
            "_async_pre_start_kernel",
            _timed_async(phases, "sandbox_setup", SandboxKernelManager._async_pre_start_kernel),
        ),
    ]
    saved = [(owner, name, owner.__dict__[name]) for owner, name, _ in patches]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


def breakdown_run(course: Path, profile: cProfile.Profile | None) -> dict:
    """nbgrader autograde of the learner in this process (as the autograde worker runs it), timed."""
    from nbgrader.apps.autogradeapp import AutogradeApp

    phases = Phases()
    cwd = os.getcwd()
    os.chdir(course)  # nbgrader reads nbgrader_config.py from the current folder
    try:
        with instrument(phases):
            app = AutogradeApp()
            app.initialize(["*", f"--student={STUDENT}", "--force", "--log-level=WARN"])
            start = time.perf_counter()
            if profile:
                profile.enable()
            try:
                app.start()
            finally:
                if profile:
                    profile.disable()
            seconds = time.perf_counter() - start
    finally:
        os.chdir(cwd)
        AutogradeApp.clear_instance()
    per_lesson = {lesson: {k: round(v, 3) for k, v in found.items()} for lesson, found in phases.seconds.items()}
    totals: dict[str, float] = defaultdict(float)
    for found in per_lesson.values():
        for key, value in found.items():
            totals[key] += value
    slowest = [
        {"seconds": round(s, 2), "lesson": lesson, "cell": index, "source": line}
        for s, lesson, index, line in sorted(phases.cells, reverse=True)[:15]
    ]
    return {
        "seconds": round(seconds, 2),
        "phases": {k: round(v, 3) for k, v in totals.items()},
        "lessons": per_lesson,
        "slowest_cells": slowest,
    }


PHASES = [
    ("init_assignment", "nbgrader: copy, sanitize, gradebook"),
    ("requests", "grader: requests (discovery)"),
    ("sandbox_setup", "sandbox setup (in kernel start)"),
    ("kernel_start", "kernel start"),
    ("kernel_ready", "kernel ready"),
    ("other_cells", "cells (lesson)"),
    ("hidden_cells", "cells (hidden tests)"),
    ("kernel_run", "  kernel: answers run"),
    ("kernel_encode", "  kernel: answers encoded"),
    ("kernel_shutdown", "kernel shutdown"),
    ("verdicts", "grader: verdicts (replay)"),
    ("total", "lesson total"),
]


def print_breakdown(result: dict) -> None:
    lessons = list(result["lessons"])
    print(f"{'phase (s)':38}" + "".join(f"{lesson[:2]:>7}" for lesson in lessons) + f"{'sum':>8}")
    for key, title in PHASES:
        row = [result["lessons"][lesson].get(key, 0.0) for lesson in lessons]
        print(f"{title:38}" + "".join(f"{x:7.2f}" for x in row) + f"{sum(row):8.2f}")
    for key in ("request_bytes", "answer_bytes"):
        row = [result["lessons"][lesson].get(key, 0) / 1e6 for lesson in lessons]
        print(f"{key + ' (MB)':38}" + "".join(f"{x:7.2f}" for x in row) + f"{sum(row):8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="alternating (total, breakdown) pairs")
    parser.add_argument("--no-breakdown", action="store_true", help="only the totals")
    parser.add_argument("--no-total", action="store_true", help="only the breakdowns")
    parser.add_argument(
        "--before",
        type=Path,
        help="a folder holding another version of mnist_ref/ and mnist_course/: each run also grades with it "
        "(right after this checkout), for a before/after comparison under the same load",
    )
    parser.add_argument("--workers", type=int, default=1, help="the total's autograde --workers (default 1)")
    parser.add_argument("--learners", type=int, default=1, help="learners submitting the solutions (default 1)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of the breakdown runs here")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    options = parser.parse_args()
    # The in-process breakdown does not go through autograde(), which sets this for its kernels (workers=1);
    # the total's child Python sets it itself from --workers.
    threads = os.environ.get("OMP_NUM_THREADS")
    report: dict = {"command": " ".join(sys.argv), "machine_before": machine(), "runs": []}
    profile = cProfile.Profile() if options.profile else None
    with tempfile.TemporaryDirectory(prefix="grading-cost-") as tmp, cpu_cgroup() as cgroup:
        report["cpu_accounting"] = "cgroup cpuacct" if cgroup else "getrusage of children (misses killed kernels)"
        print(f"CPU seconds from: {report['cpu_accounting']}")
        course, lessons = make_course(Path(tmp), options.learners)
        report["lessons"] = lessons
        for run in range(options.runs):
            entry: dict = {"load_average": [round(x, 2) for x in os.getloadavg()]}
            if not options.no_total:
                entry["total"] = total = total_run(course, cgroup=cgroup, workers=options.workers)
                print(
                    f"run {run + 1}: autograde(workers={options.workers}) of {total['learners']} learner(s) "
                    f"{total['seconds']:.1f} s ({total['cpu_seconds']:.1f} s CPU), lowest learner total "
                    f"{total['lowest_learner_score']}, {STUDENT}: {total['score']}: {total['scores']}"
                )
            if options.before:
                entry["total_before"] = total = total_run(course, options.before, cgroup, options.workers)
                print(
                    f"run {run + 1}: the same with {options.before}: "
                    f"{total['seconds']:.1f} s ({total['cpu_seconds']:.1f} s CPU), "
                    f"score {total['score']}: {total['scores']}"
                )
            print(f"load average {entry['load_average']} -> {[round(x, 2) for x in os.getloadavg()]}")
            if not options.no_breakdown:
                os.environ["OMP_NUM_THREADS"] = threads or str(os.cpu_count() or 1)
                entry["breakdown"] = breakdown_run(course, profile)
                if threads is None:
                    del os.environ["OMP_NUM_THREADS"]
                print(f"run {run + 1}: in-process nbgrader autograde {entry['breakdown']['seconds']:.1f} s")
                print_breakdown(entry["breakdown"])
                for cell in entry["breakdown"]["slowest_cells"]:
                    print(f"{cell['seconds']:7.2f} s  {cell['lesson'][:2]} cell {cell['cell']:3d}  {cell['source']}")
            report["runs"].append(entry)
            sys.stdout.flush()
    report["machine_after"] = machine()
    if profile:
        profile.dump_stats(options.profile)
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(40)
        print(text.getvalue())
    print(json.dumps(report, indent=1))
    if options.out:
        options.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
