"""The benchmark script runs end to end (on tiny data, so it measures nothing meaningful here)."""

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "train_speed.py"


def test_benchmark_writes_a_complete_report(tiny_mnist, tmp_path, capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("train_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "probe_bf16_speed", lambda: (0.020, 0.060))  # the real probe: tests/test_precision.py
    # half an epoch of the tiny set at batch 64 is too short for a one-cycle schedule; at 16 it is not
    monkeypatch.setattr(module, "FAST", module.FAST.with_overrides(batch_size=16))
    out = tmp_path / "results.json"
    argv = ["--steps", "3", "--warmup", "1", "--max-epochs", "2", "--evals-per-epoch", "2", "--target", "60"]
    module.main([*argv, "--device", "cpu", "--fast-seeds", "2", "--out", str(out)])
    report = json.loads(out.read_text())
    machine = report["machine"]
    assert machine["cpu_model"] and set(machine["cpu_flags"]) == {"avx2", "avx512f", "avx512_bf16", "amx_bf16"}
    assert machine["cpu_precision"]["choice"] in ("float32", "bfloat16") and machine["cpu_precision"]["reason"]
    probe = machine["bf16_probe"]
    assert [probe[k] for k in ("float32_ms_per_step", "bfloat16_ms_per_step", "bfloat16_speedup")] == [20, 60, 0.33]
    names = [row["name"] for row in report["throughput"]]
    assert names[0].startswith("seed loop") and names[-1].startswith("fast path")
    assert report["throughput"][0]["speedup"] == 1.0
    assert all(row["images_per_s"] > 0 and row["peak_rss_mib"] > 0 for row in report["throughput"])
    classic, *fast = report["time_to_accuracy"]
    assert classic["recipe"] == "classic" and [(r["recipe"], r["seed"]) for r in fast] == [("fast", 1), ("fast", 2)]
    assert all(len(r["evaluations"]) == 1 for r in fast)  # the one-cycle schedule ends with the recipe's half epoch
    printed = capsys.readouterr().out
    assert "| variant | images/s |" in printed and "| recipe | seed |" in printed
    assert machine["cpu_model"] in printed and "bfloat16 probe" in printed
