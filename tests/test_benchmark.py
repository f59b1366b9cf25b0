"""The benchmark script runs end to end (on tiny data, so it measures nothing meaningful here)."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "train_speed.py"


def test_benchmark_writes_a_complete_report(tiny_mnist, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("train_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "results.json"
    argv = ["--steps", "3", "--warmup", "1", "--max-epochs", "2", "--evals-per-epoch", "2", "--target", "60", "--out", str(out)]
    module.main(argv)
    report = json.loads(out.read_text())
    assert [row["name"].split(":")[0] for row in report["throughput"]][0] == "seed loop"
    assert report["throughput"][0]["speedup"] == 1.0
    assert all(row["images_per_s"] > 0 and row["peak_rss_mib"] > 0 for row in report["throughput"])
    classic, fast = report["time_to_accuracy"]
    assert (classic["recipe"], fast["recipe"]) == ("classic", "fast")
    assert len(fast["evaluations"]) <= 2  # the one-cycle schedule ends with the recipe's single epoch
    printed = capsys.readouterr().out
    assert "| variant | images/s |" in printed and "| recipe |" in printed
