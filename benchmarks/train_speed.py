"""Side-by-side training benchmark: the seed-style loop against the fast path, in one process.

    python benchmarks/train_speed.py --data ../shared/data --out benchmarks/results.json

(a) throughput (images/s) over the same number of training steps: the seed loop
    (DataLoader + ToTensor + Normalize, batch 64, float32) and the fast path one change
    at a time (in-memory tensors, channels_last, bfloat16 autocast where the CPU has it);
(b) time to 99.0 % test accuracy, classic recipe vs fast recipe, testing on all 10,000
    test images every quarter epoch (training time only; evaluation is not counted);
(c) peak resident memory of each phase (and peak CUDA memory on a GPU).

It prints a table and writes JSON. It measures; it asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import torch
import torch.nn.functional as F

from mnist_ref import Net, data_loader, seed_everything, use_device
from mnist_ref.device import autocast, autocast_dtype, to_device
from mnist_ref.engine import test, train
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
    result.update(steps=steps, batch_size=loader.batch_size, seconds=round(seconds, 2), images_per_s=round(images / seconds, 1))
    return result


def time_to_accuracy(recipe: Recipe, device, root, target: float, max_epochs: int, evals_per_epoch: int, seed: int) -> dict:
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
    if per_batch:  # a one-cycle schedule ends with the recipe's own epochs
        max_epochs = min(max_epochs, recipe.epochs)
    options = dict(mixed_precision=recipe.mixed_precision, channels_last=channels_last, progress=False)
    result = {"recipe": recipe.name, "target": target, "evaluations": []}
    trained, reached = 0.0, None
    with peak_memory(result):
        for epoch in range(max_epochs):
            batches = iter(train_loader)
            slice_len = -(-len(train_loader) // evals_per_epoch)
            for part in range(evals_per_epoch):
                _sync(device)
                began = time.perf_counter()
                train(
                    model, device, itertools.islice(batches, slice_len), optimizer,
                    scheduler=scheduler if per_batch else None, label_smoothing=recipe.label_smoothing, **options,
                )  # fmt: skip
                _sync(device)
                trained += time.perf_counter() - began
                accuracy, _ = test(model, device, test_loader, **options)
                at = round(epoch + (part + 1) / evals_per_epoch, 2)
                result["evaluations"].append({"epoch": at, "train_seconds": round(trained, 1), "test_acc": accuracy})
                print(f"  {recipe.name}: epoch {at:5.2f}  {trained:7.1f} s  {accuracy:.2f} %", flush=True)
                if accuracy >= target:
                    reached = {"epoch": at, "train_seconds": round(trained, 1), "test_acc": accuracy}
                    break
            if reached:
                break
            if not per_batch:
                scheduler.step()
    result["reached"] = reached
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="folder holding MNIST/raw (default: $MNIST_DATA or ./data)")
    parser.add_argument("--device", help="auto (default), cpu, cuda, mps")
    parser.add_argument("--steps", type=int, default=150, help="timed training steps per throughput variant")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--target", type=float, default=99.0, help="test accuracy (percent) for time-to-accuracy")
    parser.add_argument("--max-epochs", type=int, default=6, help="give up on a recipe after this many epochs")
    parser.add_argument("--evals-per-epoch", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-accuracy", action="store_true", help="throughput and memory only (minutes less)")
    parser.add_argument("--out", default="benchmarks/results.json")
    args = parser.parse_args(argv)

    device = use_device(args.device)
    report = {
        "machine": {
            "platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "torch": torch.__version__,
            "device": str(device), "fast_autocast_dtype": str(autocast_dtype(device, FAST.mixed_precision)),
        },
        "throughput": [],
        "time_to_accuracy": [],
    }  # fmt: skip
    print(f"device {device}, {os.cpu_count()} CPUs, torch {torch.__version__}")

    seed_loader, _ = data_loader(CLASSIC.batch_size, root=args.data, device=device)
    memory_loader, _ = data_loader(CLASSIC.batch_size, root=args.data, device=device, in_memory=True)
    fast_loader, _ = data_loader(FAST.batch_size, root=args.data, device=device, in_memory=True)
    variants = [
        ("seed loop: DataLoader + transforms", seed_loader, {}),
        ("+ in-memory tensors", memory_loader, {}),
        ("+ channels_last", memory_loader, {"channels_last": True}),
        ("fast path: + mixed precision", fast_loader, {"channels_last": True, "mixed_precision": True}),
    ]
    for name, loader, options in variants:
        row = throughput(name, loader, device, args.steps, args.warmup, **options)
        report["throughput"].append(row)
        print(f"  {name:40s} {row['images_per_s']:8.1f} img/s  peak RSS {row['peak_rss_mib']} MiB", flush=True)
    base = report["throughput"][0]["images_per_s"]
    for row in report["throughput"]:
        row["speedup"] = round(row["images_per_s"] / base, 2)

    if not args.skip_accuracy:
        for recipe in (CLASSIC, FAST):
            report["time_to_accuracy"].append(
                time_to_accuracy(recipe, device, args.data, args.target, args.max_epochs, args.evals_per_epoch, args.seed)
            )
        classic, fast = (r["reached"] for r in report["time_to_accuracy"])
        if classic and fast:
            report["time_to_accuracy_ratio"] = round(fast["train_seconds"] / classic["train_seconds"], 3)

    print("\n| variant | images/s | speed-up | peak RSS (MiB) |\n| --- | --- | --- | --- |")
    for row in report["throughput"]:
        print(f"| {row['name']} | {row['images_per_s']:.0f} | {row['speedup']:.2f}x | {row['peak_rss_mib']} |")
    if report["time_to_accuracy"]:
        print(f"\n| recipe | time to {args.target} % (training s) | at epoch | peak RSS (MiB) |\n| --- | --- | --- | --- |")
        for row in report["time_to_accuracy"]:
            reached = row["reached"]
            when = (f"{reached['train_seconds']}", f"{reached['epoch']}") if reached else (f"not within {args.max_epochs} epochs", "-")
            print(f"| {row['recipe']} | {when[0]} | {when[1]} | {row['peak_rss_mib']} |")
        if "time_to_accuracy_ratio" in report:
            print(f"\nfast / classic time to {args.target} %: {report['time_to_accuracy_ratio']:.3f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return report


if __name__ == "__main__":
    main()
