"""The course's shipped reference run: the classic recipe's full 20 epochs, trained once on a CPU.

A lesson's CPU budget trains for a minute; lessons 05 and 07 show this run beside it, so the
learner sees the real curves, the learning rate's drop and the mistakes of a well-trained model
(issue #13). Its three files ship with the package in ``mnist_ref/reference_run/``:

* ``history.json`` — the per-epoch :class:`~mnist_ref.engine.History` (validation and test);
* ``weights.pt``   — the final model's ``state_dict`` (float32, ≈ 2.4 MB);
* ``run.json``     — how it was made: the exact command, CPU, torch version, seconds per epoch,
  date, and ``"interim": true`` (with ``"why"``) while a short stand-in run is shipped instead.

Maintainers make them from a finished ``python -m mnist_ref train --out RUN_DIR`` with
``python -m mnist_ref ship-run RUN_DIR`` (:func:`ship`).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path

import torch

from .engine import History
from .model import Net

FOLDER = Path(__file__).resolve().with_suffix("")  # mnist_ref/reference_run/, beside this module
HISTORY, WEIGHTS, RUN = "history.json", "weights.pt", "run.json"


def _file(name: str, folder: Path | None = None) -> Path:
    path = (folder or FOLDER) / name
    if not path.is_file():
        raise FileNotFoundError(
            f"the shipped reference run has no {path}: reinstall mnist-ref, or make it from a finished "
            "run with `python -m mnist_ref ship-run RUN_DIR`"
        )
    return path


def load_history(folder: Path | None = None) -> History:
    """The reference run's per-epoch history (``val_*`` and ``test_*`` for each of its epochs)."""
    return History.from_dict(json.loads(_file(HISTORY, folder).read_text()))


def load_model(device="cpu", folder: Path | None = None) -> Net:
    """The reference run's final model on ``device``, in eval mode."""
    model = Net()
    model.load_state_dict(torch.load(_file(WEIGHTS, folder), map_location=device, weights_only=True))
    return model.to(device).eval()


def run_info(folder: Path | None = None) -> dict:
    """``run.json``: how the reference run was made."""
    return json.loads(_file(RUN, folder).read_text())


def describe(folder: Path | None = None) -> str:
    """One paragraph saying what the shipped run is, on what machine, and how well it did."""
    info, history = run_info(folder), load_history(folder)
    lines = [
        f"{'INTERIM stand-in for the' if info['interim'] else 'The'} course's reference run: "
        f"recipe '{info['recipe']}', seed {info['seed']}, {len(history)} epochs "
        f"(a median {info['seconds_per_epoch']:.1f} s per epoch on {info['cpu']}, {info['cpu_count']} cores, "
        f"torch {info['torch']}, finished {info['date']}).",
        f"Command: {info['command']}",
        "Final accuracy: "
        + ", ".join(
            f"{name} {values[-1]:.2f}%"
            for name, values in (("validation", history.val_acc), ("test", history.test_acc))
            if values
        )
        + ".",
    ]
    if info["interim"]:
        lines.append(f"Interim because: {info['why']}")
    return "\n".join(lines)


def cpu_name() -> str:
    """The processor's model name as the OS reports it (Linux: /proc/cpuinfo)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def ship(run_dir, *, command: str | None = None, interim: str | None = None, folder: Path | None = None) -> Path:
    """Write the three files of the shipped run from the finished run in ``run_dir`` (its
    ``metrics.json`` and ``checkpoint.pt``) into ``folder`` (default: the package's). ``command``
    is the training command (default: the one ``metrics.json`` recorded); ``interim`` is the reason
    when this is a stand-in for the real run. Returns the folder."""
    run_dir, folder = Path(run_dir), Path(folder or FOLDER)
    metrics_path = run_dir / "metrics.json"
    if not metrics_path.is_file():
        raise FileNotFoundError(f"{run_dir} holds no finished run (no metrics.json): wait for train to end")
    metrics = json.loads(metrics_path.read_text())
    command = command or metrics.get("command")
    if not command:
        raise ValueError(f"{metrics_path} does not record its command: pass --command 'python -m mnist_ref train ...'")
    state = torch.load(run_dir / "checkpoint.pt", map_location="cpu", weights_only=True)
    history = History.from_dict(state["history"])
    weights = {name: t.float().contiguous() for name, t in state["model"].items()}  # float32, plain layout
    run = {
        "interim": interim is not None,
        **({"why": interim} if interim else {}),
        "command": command,
        "recipe": metrics["recipe"],
        "seed": metrics["seed"],
        "epochs": len(history),
        "device": metrics["device"],
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        # the median: epochs that shared the machine with other jobs (history.json keeps them all) are outliers
        "seconds_per_epoch": round(statistics.median(history.epoch_seconds), 1),
        "date": datetime.fromtimestamp(metrics_path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(weights, folder / WEIGHTS)
    (folder / HISTORY).write_text(json.dumps(history.to_dict(), indent=1) + "\n")
    (folder / RUN).write_text(json.dumps(run, indent=2) + "\n")
    return folder
