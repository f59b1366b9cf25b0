"""Which precision the fast recipe trains in on the CPU: bfloat16 only where it is native *and* faster.

oneDNN runs bfloat16 natively only with the AVX512-BF16 or AMX instructions; on plain AVX-512
or AVX2 it emulates it, and the course model's training step then runs 3x (AVX-512) to 10x
(AVX2) slower than float32. oneDNN's own answer (``_is_mkldnn_bf16_supported``) is True on plain
AVX-512, so it cannot decide. The rule here:

1. ``MNIST_CPU_BF16=1`` / ``0`` forces bfloat16 / float32 (unset, empty or ``auto``: decide).
2. Without ``avx512_bf16`` or ``amx_bf16`` in the CPU flags: float32, whatever a probe would say.
   The flags are read from ``/proc/cpuinfo``; other systems (macOS, Windows) report none, so
   they train in float32 unless the variable says otherwise (a Mac trains on MPS anyway).
3. With them, a probe times the course model's training step (batch 32, channels_last) in
   float32 and under bfloat16 autocast, interleaved, about a second in all: bfloat16 only
   when it is at least ``MIN_SPEEDUP`` times faster.

The decision is made once per process; the probe's timings are kept on disk per CPU model,
flags and torch version (``$XDG_CACHE_HOME/mnist-course/precision.json``; a cache that
cannot be read or written is ignored), so a machine probes once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .model import Net

BF16_ENV = "MNIST_CPU_BF16"
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")
REPORTED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16")  # what decides the CPU's speed here
MIN_SPEEDUP = 1.2  # below it, rounding gradients to 8 mantissa bits is not worth it
CACHE_VERSION = 1

Probe = Callable[[], tuple[float, float]]


@dataclass(frozen=True)
class CpuPrecision:
    """The CPU's training precision, why, and the probe's median seconds per step (when it ran)."""

    bfloat16: bool
    reason: str
    float32_s: float | None = None
    bfloat16_s: float | None = None

    @property
    def name(self) -> str:
        return "bfloat16" if self.bfloat16 else "float32"

    @property
    def speedup(self) -> float | None:
        """bfloat16 images/s over float32 images/s in the probe."""
        return self.float32_s / self.bfloat16_s if self.float32_s and self.bfloat16_s else None


def read_cpuinfo(path: str | Path = "/proc/cpuinfo") -> tuple[str, frozenset[str]]:
    """``(model name, flags)`` of the first CPU in a Linux cpuinfo file; no flags where there is none."""
    model, flags = "", frozenset()
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return platform.processor() or platform.machine(), flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key in ("flags", "Features") and not flags:  # "Features" on ARM Linux
            flags = frozenset(value.split())
    return model or platform.processor() or platform.machine(), flags


@functools.cache
def cpu_info() -> tuple[str, frozenset[str]]:
    """This machine's ``(CPU model, flags)``, read once."""
    return read_cpuinfo()


def cpu_has_native_bf16(flags: Iterable[str] | None = None) -> bool:
    """True when the CPU flags (default: this machine's) name an instruction set that runs bfloat16 natively."""
    flags = cpu_info()[1] if flags is None else set(flags)
    return any(flag in flags for flag in NATIVE_BF16_FLAGS)


def parse_override(value: str | None) -> bool | None:
    """``MNIST_CPU_BF16``: 1/true/yes/on → bfloat16, 0/false/no/off → float32, unset/empty/auto → decide."""
    text = (value or "auto").strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    if text == "auto":
        return None
    raise ValueError(f"{BF16_ENV}={value!r}: use 1 (bfloat16), 0 (float32) or auto")


def decide_cpu_precision(flags: Iterable[str], override: bool | None, probe: Probe) -> CpuPrecision:
    """The rule of this module, pure: ``probe()`` gives (float32, bfloat16) seconds per step and
    is called only when the flags allow bfloat16 and nothing forces the choice."""
    if override is not None:
        return CpuPrecision(override, f"{BF16_ENV}={int(override)}")
    if not cpu_has_native_bf16(flags):
        return CpuPrecision(False, "no avx512_bf16/amx_bf16 in the CPU flags: bfloat16 would be emulated")
    float32_s, bfloat16_s = probe()
    speedup = float32_s / bfloat16_s
    verdict = "faster" if speedup >= MIN_SPEEDUP else f"not {MIN_SPEEDUP}x faster"
    return CpuPrecision(
        speedup >= MIN_SPEEDUP, f"probe: bfloat16 steps {speedup:.2f}x float32, {verdict}", float32_s, bfloat16_s
    )


def _training_step(batch_size: int, bfloat16: bool) -> Callable[[], None]:
    model = Net().to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    data = torch.randn(batch_size, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    target = torch.randint(0, 10, (batch_size,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bfloat16):
            output = model(data)
        F.nll_loss(output.float(), target).backward()
        optimizer.step()

    return step


def probe_bf16_speed(batch_size: int = 32, rounds: int = 5, budget_s: float = 2.0) -> tuple[float, float]:
    """Median seconds of one training step of the course model, (float32, bfloat16 autocast).

    One warm-up step each (oneDNN builds its kernels then), then up to ``rounds`` timed steps
    each, alternating so that a busy neighbour slows both alike, stopping early after
    ``budget_s``. The caller's random state and grad mode are left as they were: the probe
    may run in the middle of a seeded run or inside ``torch.inference_mode``.
    """
    with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
        torch.manual_seed(0)
        steps = {False: _training_step(batch_size, False), True: _training_step(batch_size, True)}
        for step in steps.values():
            step()
        seconds = {False: [], True: []}
        began = time.perf_counter()
        for _ in range(rounds):
            for bfloat16, step in steps.items():
                start = time.perf_counter()
                step()
                seconds[bfloat16].append(time.perf_counter() - start)
            if time.perf_counter() - began > budget_s:
                break
    return statistics.median(seconds[False]), statistics.median(seconds[True])


def cache_path() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mnist-course" / "precision.json"


def cache_key(model: str, flags: Iterable[str]) -> str:
    """The probe's result holds for one CPU model, flag set (e.g. AMX enabled by the kernel) and torch."""
    flag_hash = hashlib.sha256(" ".join(sorted(flags)).encode()).hexdigest()[:12]
    return f"v{CACHE_VERSION} | {model} | flags {flag_hash} | torch {torch.__version__}"


def _read_cache(path: Path) -> dict:
    try:
        entries = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return entries if isinstance(entries, dict) else {}


def cached_probe(path: Path, key: str, probe: Probe) -> tuple[float, float]:
    """``probe()``'s timings from the cache file when it holds ``key``, else probe and store them."""
    entries = _read_cache(path)
    try:
        entry = entries[key]
        return float(entry["float32_s"]), float(entry["bfloat16_s"])
    except (KeyError, TypeError, ValueError):
        pass
    float32_s, bfloat16_s = probe()
    entries[key] = {"float32_s": float32_s, "bfloat16_s": bfloat16_s}
    try:  # written whole then renamed: two processes probing at once never leave half a file
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(entries, indent=1) + "\n")
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs a probe per process
    return float32_s, bfloat16_s


@functools.cache
def cpu_precision() -> CpuPrecision:
    """This process's CPU training precision for the fast recipe (see the module docstring)."""
    model, flags = cpu_info()
    override = parse_override(os.environ.get(BF16_ENV))
    probe = lambda: cached_probe(cache_path(), cache_key(model, flags), probe_bf16_speed)  # noqa: E731
    return decide_cpu_precision(flags, override, probe)
