"""How long each lesson takes a learner, and how much of it is training.

    MNIST_DATA=../shared/data python benchmarks/lesson_times.py --budget cpu 04 05 07 \\
        --out benchmarks/lesson_times.json

Each lesson (``lessons/<L>/<L>.ipynb`` untouched, as a learner gets it; ``solutions/`` with
--solutions) runs top to bottom with nbclient in a fresh kernel started in its folder, with
``MNIST_BUDGET`` set to --budget and ``MNIST_DATA`` from --data or the environment. Per lesson it
reports the whole wall time (kernel start included), the wall time of the cells that train, the
rest, and the kernel's CPU seconds (user + system, all threads): in all and in the training cells.

A cell trains when it calls ``fit``, ``train`` or ``run_training`` with arguments (``fit`` also
fits a baseline), outside a ``def`` and not through a lesson's checks (``check.train(train)`` tries
the learner's function on a few batches). On a loaded machine the wall times mean little; training
CPU seconds / torch threads estimates the idle wall time (a lower bound: the threads never share
the work perfectly).

It states where it ran (CPU model and flags, threads, load average), prints a markdown table and
writes JSON. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import time
from pathlib import Path

import nbformat
import psutil
import torch
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient

from mnist_ref.data import data_option_help
from mnist_ref.precision import REPORTED_FLAGS, cpu_info
from mnist_ref.settings import BUDGET_ENV, BUDGETS, GRADER_ENV

ROOT = Path(__file__).resolve().parents[1]
TRAINING_CALLS = frozenset({"fit", "train", "run_training"})
CHECK_MODULES = frozenset({"check"})  # every lesson imports its checks as `check`
CELL_TIMEOUT_S = 3600  # a loaded machine can be 100 times slower than an idle one


def _executed_nodes(node: ast.AST):
    """The nodes a cell runs when executed: a function body runs later, when called."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        yield child
        yield from _executed_nodes(child)


def trains(source: str) -> bool:
    """True when a code cell calls fit / train / run_training with arguments (``model.train()`` only
    switches a mode), outside a ``def`` and not through ``check``."""
    try:
        tree = ast.parse(TransformerManager().transform_cell(source))  # %magics and !shell become calls
    except SyntaxError:
        return False
    for node in _executed_nodes(tree):
        if not isinstance(node, ast.Call) or not (node.args or node.keywords):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in TRAINING_CALLS:
            return True
        if isinstance(function, ast.Attribute) and function.attr in TRAINING_CALLS:
            owner = function.value
            if not (isinstance(owner, ast.Name) and owner.id in CHECK_MODULES):
                return True
    return False


class TimedClient(NotebookClient):
    """nbclient's client, noting each code cell's wall time and the kernel's CPU seconds after it."""

    def __init__(self, nb, **kwargs):
        super().__init__(nb, **kwargs)
        self.cells: list[dict] = []
        self.first_cell_at: float | None = None

    def kernel_cpu_s(self) -> float:
        times = psutil.Process(self.km.provisioner.pid).cpu_times()  # all threads of the kernel
        return times.user + times.system

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type != "code" or not cell.source.strip():
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        cpu_before, began = self.kernel_cpu_s(), time.perf_counter()
        self.first_cell_at = self.first_cell_at or began
        try:
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        finally:
            wall_s, cpu_after = time.perf_counter() - began, self.kernel_cpu_s()
            errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
            self.cells.append({
                "index": cell_index, "trains": trains(cell.source), "first_line": cell.source.strip().splitlines()[0],
                "wall_s": round(wall_s, 2), "cpu_s": round(cpu_after - cpu_before, 2),
                "kernel_cpu_s": round(cpu_after, 2), "error": errors[0]["ename"] if errors else None,
            })  # fmt: skip  # one cell's record on few lines


def notebook_path(lesson: str, solutions: bool = False) -> Path:
    """The notebook of ``lesson`` (a folder name, or its unique prefix such as ``05``)."""
    folder = ROOT / ("solutions" if solutions else "lessons")
    matches = sorted(p for p in folder.glob(f"{lesson}*/*.ipynb") if p.stem == p.parent.name)
    if len(matches) != 1:
        raise SystemExit(f"{lesson!r} names {len(matches)} lessons in {folder}: {[p.stem for p in matches]}")
    return matches[0]


def kernel_environment(budget: str, data: str | None) -> dict[str, str]:
    """A learner's environment: the budget chosen, nbgrader not running (it would force ``quick``)."""
    environ = {key: value for key, value in os.environ.items() if key != GRADER_ENV}
    environ[BUDGET_ENV] = budget
    if data:
        environ["MNIST_DATA"] = str(Path(data).resolve())
    return environ


def time_lesson(path: Path, environ: dict[str, str]) -> dict:
    """Run one notebook in a fresh kernel and summarise where its time went (errors do not stop it)."""
    notebook = nbformat.read(path, as_version=4)
    client = TimedClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(path.parent)}},
    )
    began = time.perf_counter()
    client.execute(env=environ)
    return summarise(
        path.stem,
        client.cells,
        whole_s=time.perf_counter() - began,
        kernel_start_s=(client.first_cell_at or began) - began,
    )


def summarise(lesson: str, cells: list[dict], whole_s: float, kernel_start_s: float) -> dict:
    training = [cell for cell in cells if cell["trains"]]
    training_s = sum(cell["wall_s"] for cell in training)
    return {
        "lesson": lesson, "whole_s": round(whole_s, 1), "kernel_start_s": round(kernel_start_s, 1),
        "training_s": round(training_s, 1), "rest_s": round(whole_s - training_s, 1),
        "kernel_cpu_s": cells[-1]["kernel_cpu_s"] if cells else 0.0,
        "training_cpu_s": round(sum(cell["cpu_s"] for cell in training), 1),
        "training_cells": [cell["index"] for cell in training],
        "errors": [f"cell {cell['index']}: {cell['error']}" for cell in cells if cell["error"]],
        "cells": cells,
    }  # fmt: skip  # the summary's related numbers share lines


def where_it_ran() -> dict:
    model, flags = cpu_info()
    return {
        "platform": platform.platform(), "cpu_model": model,
        "cpu_flags": {flag: flag in flags for flag in REPORTED_FLAGS},
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
    }  # fmt: skip  # related facts share a line


def describe(report: dict) -> str:
    machine = report["machine"]
    flags = ", ".join(f"{flag} {'yes' if present else 'no'}" for flag, present in machine["cpu_flags"].items())
    before, after = (" ".join(f"{x:.2f}" for x in report[k]) for k in ("load_before", "load_after"))
    return (
        f"{machine['cpu_model']} ({flags}); {machine['cpu_count']} CPUs, torch threads {machine['torch_threads']}, "
        f"torch {machine['torch']}\n{report['notebooks']} at {report['budget_description']}\n"
        f"load average (1, 5, 15 min) before {before}, after {after}"
    )


def table(report: dict) -> str:
    """The markdown table of a report: one row per lesson."""
    threads = report["machine"]["torch_threads"]
    lines = [
        f"| lesson | whole (s) | training (s) | rest (s) | kernel CPU (s) | training CPU (s) "
        f"| training CPU / {threads} threads (s) | training cells | errors |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for row in report["lessons"]:
        cells = ", ".join(map(str, row["training_cells"])) or "none"
        lines.append(
            f"| {row['lesson']} | {row['whole_s']:.1f} | {row['training_s']:.1f} | {row['rest_s']:.1f} "
            f"| {row['kernel_cpu_s']:.1f} | {row['training_cpu_s']:.1f} | {row['training_cpu_s'] / threads:.1f} "
            f"| {cells} | {'; '.join(row['errors']) or 'none'} |"
        )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lessons", nargs="*", help="lesson folders or prefixes (04, 05_schedules...; default: all)")
    parser.add_argument("--budget", choices=sorted(BUDGETS), default="cpu", help="MNIST_BUDGET of the runs")
    parser.add_argument("--data", help=data_option_help())
    parser.add_argument("--solutions", action="store_true", help="run solutions/ instead of the released lessons")
    parser.add_argument("--out", default="benchmarks/lesson_times.json")
    args = parser.parse_args(argv)

    names = args.lessons or sorted(p.name for p in (ROOT / "lessons").iterdir() if p.is_dir())
    paths = [notebook_path(name, args.solutions) for name in names]
    environ = kernel_environment(args.budget, args.data)
    report = {
        "machine": where_it_ran(),
        "budget": args.budget,
        "budget_description": BUDGETS[args.budget].describe(),
        "notebooks": "solutions" if args.solutions else "released lessons",
        "load_before": os.getloadavg(),
        "lessons": [],
    }
    for path in paths:
        row = time_lesson(path, environ)
        report["lessons"].append(row)
        print(
            f"  {row['lesson']}: whole {row['whole_s']} s, training {row['training_s']} s "
            f"(CPU {row['training_cpu_s']} s), errors: {row['errors'] or 'none'}",
            flush=True,
        )
    report["load_after"] = os.getloadavg()
    print("\n" + describe(report) + "\n\n" + table(report))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
