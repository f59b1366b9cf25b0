"""The CPU precision rule: bfloat16 only with native instructions *and* a faster probe (mocked here)."""

import json

import pytest
import torch

from mnist_ref import device as device_module
from mnist_ref import precision
from mnist_ref.device import autocast, autocast_dtype, grad_scaler
from mnist_ref.precision import (
    BF16_ENV,
    CpuPrecision,
    cache_key,
    cached_probe,
    cpu_has_native_bf16,
    cpu_precision,
    decide_cpu_precision,
    parse_override,
    read_cpuinfo,
)

AVX512_ONLY = {"avx2", "avx512f", "avx512bw"}  # an Intel Xeon before Cooper Lake: bfloat16 emulated
WITH_BF16 = AVX512_ONLY | {"avx512_bf16"}


def timings(float32_s, bfloat16_s):
    calls = []

    def probe():
        calls.append(1)
        return float32_s, bfloat16_s

    probe.calls = calls
    return probe


def test_no_native_flags_means_float32_even_if_the_probe_says_faster():
    for flags in (set(), {"avx2"}, AVX512_ONLY):
        probe = timings(1.0, 0.1)
        choice = decide_cpu_precision(flags, None, probe)
        assert not choice.bfloat16 and "emulated" in choice.reason and not probe.calls


def test_native_flags_and_a_slower_or_marginal_probe_mean_float32():
    for bfloat16_s in (3.0, 1.0, 0.9):  # 3x slower, equal, 1.11x faster: not clearly faster
        choice = decide_cpu_precision(WITH_BF16, None, timings(1.0, bfloat16_s))
        assert not choice.bfloat16 and choice.float32_s == 1.0 and choice.bfloat16_s == bfloat16_s


def test_native_flags_and_a_faster_probe_mean_bfloat16():
    for flags in (WITH_BF16, {"avx2", "amx_bf16"}):
        choice = decide_cpu_precision(flags, None, timings(1.0, 0.5))
        assert choice.bfloat16 and choice.speedup == 2.0 and choice.name == "bfloat16"


def test_the_override_wins_without_probing():
    for flags, probe in ((set(), timings(1.0, 3.0)), (WITH_BF16, timings(1.0, 0.5))):
        assert decide_cpu_precision(flags, True, probe).bfloat16
        assert not decide_cpu_precision(flags, False, probe).bfloat16
        assert not probe.calls


def test_override_values():
    assert [parse_override(v) for v in ("1", "on", " TRUE", "0", "no", "", None, "auto")] == [
        True, True, True, False, False, None, None, None,
    ]  # fmt: skip  # inputs and expected answers in two aligned rows
    with pytest.raises(ValueError, match=BF16_ENV):
        parse_override("fast")


def test_flags_come_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    one_cpu = "model name\t: AMD EPYC 9R14\nflags\t\t: fpu avx2 avx512f avx512_bf16\n"
    cpuinfo.write_text(f"processor\t: 0\n{one_cpu}\nprocessor\t: 1\n{one_cpu}")
    model, flags = read_cpuinfo(cpuinfo)
    assert model == "AMD EPYC 9R14" and flags == {"fpu", "avx2", "avx512f", "avx512_bf16"}
    assert cpu_has_native_bf16(flags) and not cpu_has_native_bf16({"avx512f"})
    assert read_cpuinfo(tmp_path / "missing")[1] == frozenset()  # macOS, Windows: no flags, float32


def test_probe_timings_are_cached_per_key_and_a_bad_cache_is_ignored(tmp_path):
    path = tmp_path / "cache" / "precision.json"
    first = timings(1.0, 0.5)
    assert cached_probe(path, "key", first) == (1.0, 0.5) and len(first.calls) == 1
    again = timings(9.0, 9.0)
    assert cached_probe(path, "key", again) == (1.0, 0.5) and not again.calls
    assert cached_probe(path, "other key", again) == (9.0, 9.0) and len(again.calls) == 1
    assert set(json.loads(path.read_text())) == {"key", "other key"}
    path.write_text("{not json")
    assert cached_probe(path, "key", timings(2.0, 1.0)) == (2.0, 1.0)
    unwritable = tmp_path / "file"
    unwritable.write_text("")
    assert cached_probe(unwritable / "precision.json", "key", timings(3.0, 1.0)) == (3.0, 1.0)


def test_cache_key_names_cpu_flags_and_torch():
    key = cache_key("AMD EPYC", WITH_BF16)
    assert "AMD EPYC" in key and torch.__version__ in key
    assert key != cache_key("AMD EPYC", AVX512_ONLY) and key == cache_key("AMD EPYC", sorted(WITH_BF16))


@pytest.fixture
def fresh_decision(monkeypatch, tmp_path):
    """A process-wide decision made from mocked flags and probe, forgotten afterwards."""
    monkeypatch.delenv(BF16_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    cpu_precision.cache_clear()

    def make(flags, probe):
        monkeypatch.setattr(precision, "cpu_info", lambda: ("Test CPU", frozenset(flags)))
        monkeypatch.setattr(precision, "probe_bf16_speed", probe)
        cpu_precision.cache_clear()

    yield make
    cpu_precision.cache_clear()


def test_the_decision_is_made_once_per_process_and_read_from_the_environment(fresh_decision, monkeypatch):
    probe = timings(1.0, 0.5)
    fresh_decision(WITH_BF16, probe)
    assert cpu_precision().bfloat16 and cpu_precision() is cpu_precision() and len(probe.calls) == 1
    cpu_precision.cache_clear()
    assert cpu_precision().bfloat16 and len(probe.calls) == 1  # the next process reads the disk cache
    monkeypatch.setenv(BF16_ENV, "0")
    cpu_precision.cache_clear()
    assert not cpu_precision().bfloat16


def test_autocast_dtype_follows_the_decision(monkeypatch):
    monkeypatch.setattr(device_module, "cpu_precision", lambda: CpuPrecision(True, "mocked"))
    assert autocast_dtype("cpu") is None  # the classic recipe stays float32 on the CPU
    assert autocast_dtype("cpu", True) == torch.bfloat16 and autocast_dtype("cpu", False) is None
    assert autocast_dtype("cuda") == autocast_dtype("cuda", True) == torch.float16  # CUDA: unchanged
    assert autocast_dtype("cuda", False) is None and autocast_dtype("mps", True) is None
    assert not grad_scaler("cpu", True).is_enabled()  # bfloat16 needs no loss scaling
    with autocast("cpu", True):
        assert torch.nn.Linear(4, 4)(torch.randn(2, 4)).dtype == torch.bfloat16
    monkeypatch.setattr(device_module, "cpu_precision", lambda: CpuPrecision(False, "mocked"))
    assert autocast_dtype("cpu", True) is None
    with autocast("cpu", True):
        assert torch.nn.Linear(4, 4)(torch.randn(2, 4)).dtype == torch.float32


def test_the_real_rule_on_this_machine_never_picks_emulated_bfloat16(monkeypatch):
    monkeypatch.delenv(BF16_ENV, raising=False)
    cpu_precision.cache_clear()
    try:
        if not cpu_has_native_bf16():  # no probe runs here: nothing to time
            assert not cpu_precision().bfloat16 and cpu_precision().float32_s is None
        else:
            pytest.skip("this CPU has native bfloat16: the decision would run the real probe")
    finally:
        cpu_precision.cache_clear()


def test_the_probe_keeps_the_callers_random_state_and_grad_mode():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    with torch.inference_mode():
        float32_s, bfloat16_s = precision.probe_bf16_speed(batch_size=2, rounds=1, budget_s=0)
    assert float32_s > 0 and bfloat16_s > 0
    assert torch.equal(torch.rand(3), expected)
