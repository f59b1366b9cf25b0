import pytest
import torch

from mnist_ref import device as device_module
from mnist_ref.device import autocast, grad_scaler, prefers_channels_last, to_device, use_device


@pytest.fixture
def no_accelerators(monkeypatch):
    monkeypatch.delenv("MNIST_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device_module, "_mps_available", lambda: False)


def test_auto_falls_back_to_cpu(no_accelerators):
    assert use_device() == torch.device("cpu")
    assert use_device("auto") == torch.device("cpu")


def test_auto_prefers_cuda_then_mps(no_accelerators, monkeypatch):
    monkeypatch.setattr(device_module, "_mps_available", lambda: True)
    assert use_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert use_device() == torch.device("cuda")


def test_environment_variable_and_argument_override(no_accelerators, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("MNIST_DEVICE", "cpu")
    assert use_device() == torch.device("cpu")
    assert use_device(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setenv("MNIST_DEVICE", "auto")
    assert use_device("CPU") == torch.device("cpu")


@pytest.mark.parametrize("name", ["tpu", "gpu", "banana", "cuda:x"])
def test_unknown_device_is_a_clear_error(name, no_accelerators):
    with pytest.raises(ValueError, match="unknown device .* use one of auto, cpu, cuda"):
        use_device(name)


@pytest.mark.parametrize("name, what", [("cuda", "CUDA is not available"), ("mps", "MPS is not available")])
def test_missing_accelerator_is_an_error_not_a_silent_fallback(name, what, no_accelerators):
    with pytest.raises(ValueError, match=what):
        use_device(name)


def test_cpu_switches_gpu_tricks_off():
    cpu = torch.device("cpu")
    assert not prefers_channels_last(cpu)
    assert not grad_scaler(cpu).is_enabled()
    with autocast(cpu):
        y = torch.nn.Linear(4, 4)(torch.randn(2, 4))
    assert y.dtype == torch.float32  # no float16 on CPU


def test_cuda_turns_on_autocast_scaler_and_channels_last():
    # Only the decisions: constructing CUDA objects needs a GPU.
    cuda = torch.device("cuda")
    assert prefers_channels_last(cuda)
    assert device_module.is_cuda(cuda) and not device_module.is_cuda("cpu")


def test_to_device_moves_and_can_change_layout():
    x, y = torch.randn(2, 1, 28, 28), torch.tensor([1, 2])
    x2, y2 = to_device(x, y, "cpu", channels_last=True)
    assert x2.is_contiguous(memory_format=torch.channels_last) and torch.equal(x2, x) and torch.equal(y2, y)


def test_mixed_precision_choice(monkeypatch):
    from mnist_ref.device import autocast_dtype

    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: True)
    assert autocast_dtype("cpu") is None  # the classic recipe stays float32 on the CPU
    assert autocast_dtype("cpu", True) == torch.bfloat16
    assert autocast_dtype("cuda") == autocast_dtype("cuda", True) == torch.float16
    assert autocast_dtype("cuda", False) is None and autocast_dtype("mps", True) is None
    monkeypatch.setattr(device_module, "cpu_has_native_bf16", lambda: False)
    assert autocast_dtype("cpu", True) is None  # emulated bfloat16 would be slower


def test_bfloat16_autocast_runs_on_cpu_when_supported():
    if not device_module.cpu_has_native_bf16():
        pytest.skip("this CPU has no native bfloat16")
    with autocast("cpu", True):
        assert torch.nn.Linear(4, 4)(torch.randn(2, 4)).dtype == torch.bfloat16
    assert not grad_scaler("cpu", True).is_enabled()  # bfloat16 needs no loss scaling
