"""Side-by-side training benchmark: the seed-style loop against the fast path, in one process.

    python benchmarks/train_speed.py --data ../shared/data --out benchmarks/results.json

(a) throughput (images/s) over the same number of training steps: the seed loop
    (DataLoader + ToTensor + Normalize, batch 64, float32) and the fast path one change
    at a time (in-memory tensors, channels_last, the fast recipe's batch size, and
    bfloat16 autocast where mnist_ref.precision chose it for this CPU);
(b) time to 99.0 % test accuracy, classic recipe (one seed) vs fast recipe (median over
    --fast-seeds seeds), testing on all 10,000 test images every 1/8 epoch (training
    time only; evaluation is not counted);
(c) peak resident memory of each phase (and peak CUDA memory on a GPU).

It states where it ran (CPU model, the flags that decide its speed, torch, threads, the
precision decision and a fresh bfloat16 probe), prints tables and writes JSON. It
measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F

from mnist_ref import Net, data_loader, data_root, seed_everything, use_device
from mnist_ref.data import data_option_help
from mnist_ref.device import autocast, autocast_dtype, to_device
from mnist_ref.engine import test, train
from mnist_ref.precision import REPORTED_FLAGS, cpu_info, cpu_precision, probe_bf16_speed
from mnist_ref.recipes import CLASSIC, FAST, Recipe


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@contextmanager
def peak_memory(result: dict):
    """Record the peak resident set size (sampled every 5 ms) while the block runs, in MiB."""
    peak, done = [_rss_bytes()], threading.Event()

    def sample():
        while not done.wait(0.005):
            peak[0] = max(peak[0], _rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    try:
        yield
    finally:
        done.set()
        sampler.join()
        result["peak_rss_mib"] = round(max(peak[0], _rss_bytes()) / 2**20)
        if torch.cuda.is_available():
            result["peak_cuda_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def throughput(name, loader, device, steps, warmup, channels_last=False, mixed_precision=None) -> dict:
    """Images per second of plain SGD steps over ``steps`` batches after ``warmup`` ones."""
    seed_everything(0)
    model = Net().to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    optimizer = CLASSIC.optimizer(model)
    result = {"name": name}
    with peak_memory(result):
        batches = itertools.cycle(loader) if len(loader) < steps + warmup else iter(loader)
        images = 0
        for step in range(warmup + steps):
            if step == warmup:
                _sync(device)
                began, images = time.perf_counter(), 0
            data, target = next(batches)
            data, target = to_device(data, target, device, channels_last)
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, mixed_precision):
                loss = F.nll_loss(model(data).float(), target)
            loss.backward()
            optimizer.step()
            images += len(target)
        _sync(device)
        seconds = time.perf_counter() - began
    images_per_s = round(images / seconds, 1)
    result.update(steps=steps, batch_size=loader.batch_size, seconds=round(seconds, 2), images_per_s=images_per_s)
    return result


def time_to_accuracy(
    recipe: Recipe, device, root, target: float, max_epochs: int, evals_per_epoch: int, seed: int
) -> dict:
    """Training seconds until the test accuracy first reaches ``target`` (evaluated every 1/evals_per_epoch epoch)."""
    seed_everything(seed)
    train_loader, test_loader = data_loader(
        recipe.batch_size, root=root, test_batch_size=1000, in_memory=recipe.in_memory, device=device
    )
    model = Net()
    channels_last = bool(recipe.channels_last)
    model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    optimizer = recipe.optimizer(model)
    scheduler, per_batch = recipe.scheduler(optimizer, len(train_loader))
    steps = len(train_loader)
    # A one-cycle schedule ends with the recipe's own length (the fast recipe: part of one epoch).
    total = round(steps * (min(max_epochs, recipe.epochs) if per_batch else max_epochs))
    slice_len = -(-steps // evals_per_epoch)
    options = dict(mixed_precision=recipe.mixed_precision, channels_last=channels_last, progress=False)
    result = {"recipe": recipe.name, "seed": seed, "target": target, "evaluations": []}
    trained, reached, done = 0.0, None, 0
    with peak_memory(result):
        while done < total and reached is None:
            if done % steps == 0:
                batches = iter(train_loader)
            part = min(slice_len, total - done, steps - done % steps)
            _sync(device)
            began = time.perf_counter()
            train(
                model, device, itertools.islice(batches, part), optimizer,
                scheduler=scheduler if per_batch else None, label_smoothing=recipe.label_smoothing, **options,
            )  # fmt: skip  # what to train on one line, how on the next
            _sync(device)
            trained += time.perf_counter() - began
            done += part
            if not per_batch and done % steps == 0:
                scheduler.step()
            accuracy, _ = test(model, device, test_loader, **options)
            evaluation = {"epoch": round(done / steps, 3), "train_seconds": round(trained, 1), "test_acc": accuracy}
            result["evaluations"].append(evaluation)
            print(
                f"  {recipe.name} seed {seed}: epoch {evaluation['epoch']:5.3f}  {trained:7.1f} s  {accuracy:.2f} %",
                flush=True,
            )
            if accuracy >= target:
                reached = evaluation
    result["reached"] = reached
    return result


def where_it_ran(device) -> dict:
    """What a speed figure depends on: CPU model and flags, threads, torch, and on the CPU the
    fast recipe's precision decision plus a fresh probe (run even when the flags made it moot)."""
    model, flags = cpu_info()
    machine = {
        "platform": platform.platform(), "cpu_model": model,
        "cpu_flags": {flag: flag in flags for flag in REPORTED_FLAGS},
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
        "device": str(device), "fast_autocast_dtype": str(autocast_dtype(device, FAST.mixed_precision)),
    }  # fmt: skip  # related facts share a line
    if device.type == "cpu":
        choice = cpu_precision()
        machine["cpu_precision"] = {"choice": choice.name, "reason": choice.reason}
        float32_s, bfloat16_s = probe_bf16_speed()
        machine["bf16_probe"] = {
            "float32_ms_per_step": round(1000 * float32_s, 1), "bfloat16_ms_per_step": round(1000 * bfloat16_s, 1),
            "bfloat16_speedup": round(float32_s / bfloat16_s, 2),
        }  # fmt: skip  # the two timings and their ratio on one line
    return machine


def describe(machine: dict) -> str:
    flags = ", ".join(f"{flag} {'yes' if present else 'no'}" for flag, present in machine["cpu_flags"].items())
    lines = [
        f"{machine['cpu_model']} ({flags}); {machine['cpu_count']} CPUs, torch threads {machine['torch_threads']}, "
        f"torch {machine['torch']}, device {machine['device']}"
    ]
    if "cpu_precision" in machine:
        choice, probe = machine["cpu_precision"], machine["bf16_probe"]
        lines.append(f"fast recipe precision on this CPU: {choice['choice']} ({choice['reason']})")
        lines.append(
            f"bfloat16 probe (course model training step, batch 32): float32 {probe['float32_ms_per_step']} ms, "
            f"bfloat16 autocast {probe['bfloat16_ms_per_step']} ms = {probe['bfloat16_speedup']:.2f}x"
        )
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help=data_option_help())
    parser.add_argument("--device", help="auto, cpu, cuda, mps (default: $MNIST_DEVICE, else auto)")
    parser.add_argument("--steps", type=int, default=150, help="timed training steps per throughput variant")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--target", type=float, default=99.0, help="test accuracy (percent) for time-to-accuracy")
    parser.add_argument("--max-epochs", type=int, default=6, help="give up on a recipe after this many epochs")
    parser.add_argument("--evals-per-epoch", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1, help="the classic recipe's seed; the fast recipe's first seed")
    parser.add_argument("--fast-seeds", type=int, default=3, help="fast-recipe runs (seeds seed, seed+1, ...): median")
    parser.add_argument("--skip-accuracy", action="store_true", help="throughput and memory only (minutes less)")
    parser.add_argument("--out", default="benchmarks/results.json")
    args = parser.parse_args(argv)

    root, device = data_root(args.data), use_device(args.device)  # resolved once, passed to every run below
    report = {"machine": where_it_ran(device), "throughput": [], "time_to_accuracy": []}
    print(describe(report["machine"]), flush=True)

    seed_loader, _ = data_loader(CLASSIC.batch_size, root=root, device=device)
    memory_loader, _ = data_loader(CLASSIC.batch_size, root=root, device=device, in_memory=True)
    fast_loader, _ = data_loader(FAST.batch_size, root=root, device=device, in_memory=True)
    variants = [
        ("seed loop: DataLoader + transforms", seed_loader, {}),
        ("+ in-memory tensors", memory_loader, {}),
        ("+ channels_last", memory_loader, {"channels_last": True}),
    ]
    fast_layout = {"channels_last": bool(FAST.channels_last)}
    if FAST.batch_size != CLASSIC.batch_size:
        variants.append((f"+ batch {FAST.batch_size}", fast_loader, fast_layout))
    fast_dtype = autocast_dtype(device, FAST.mixed_precision)
    if fast_dtype is not None:  # float32 here: the row above already is the fast path
        precision = str(fast_dtype).removeprefix("torch.")
        fast_options = {**fast_layout, "mixed_precision": FAST.mixed_precision}
        variants.append((f"+ {precision} autocast", fast_loader, fast_options))
    variants[-1] = ("fast path: " + variants[-1][0].removeprefix("+ "), *variants[-1][1:])
    for name, loader, options in variants:
        row = throughput(name, loader, device, args.steps, args.warmup, **options)
        report["throughput"].append(row)
        print(f"  {name:40s} {row['images_per_s']:8.1f} img/s  peak RSS {row['peak_rss_mib']} MiB", flush=True)
    base = report["throughput"][0]["images_per_s"]
    for row in report["throughput"]:
        row["speedup"] = round(row["images_per_s"] / base, 2)

    if not args.skip_accuracy:
        runs = [(CLASSIC, args.seed)] + [(FAST, args.seed + i) for i in range(args.fast_seeds)]
        for recipe, seed in runs:
            report["time_to_accuracy"].append(
                time_to_accuracy(recipe, device, root, args.target, args.max_epochs, args.evals_per_epoch, seed)
            )
        classic, *fast = (r["reached"] for r in report["time_to_accuracy"])
        if classic and fast and all(fast):
            median = {key: statistics.median(r[key] for r in fast) for key in ("train_seconds", "epoch")}
            report["fast_median"] = median
            report["time_to_accuracy_ratio"] = round(median["train_seconds"] / classic["train_seconds"], 3)
            report["epochs_ratio"] = round(median["epoch"] / classic["epoch"], 3)

    print("\n" + describe(report["machine"]))
    print("\n| variant | images/s | speed-up | peak RSS (MiB) |\n| --- | --- | --- | --- |")
    for row in report["throughput"]:
        print(f"| {row['name']} | {row['images_per_s']:.0f} | {row['speedup']:.2f}x | {row['peak_rss_mib']} |")
    if report["time_to_accuracy"]:
        print(f"\n| recipe | seed | training time to {args.target} % | reached at epoch | peak RSS (MiB) |")
        print("| --- | --- | --- | --- | --- |")
        for row in report["time_to_accuracy"]:
            reached = row["reached"]
            if reached:
                when = f"{reached['train_seconds']} s | {reached['epoch']} ({reached['test_acc']:.2f} %)"
            else:
                when = f"not within {args.max_epochs} epochs | -"
            print(f"| {row['recipe']} | {row['seed']} | {when} | {row['peak_rss_mib']} |")
        if "time_to_accuracy_ratio" in report:
            print(
                f"\nfast (median of {args.fast_seeds}) / classic time to {args.target} %: "
                f"{report['time_to_accuracy_ratio']:.3f} (epochs: {report['epochs_ratio']:.3f})"
            )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
