import pytest
import torch

from mnist_ref import device as device_module
from mnist_ref.device import autocast, choose_device, grad_scaler, prefers_channels_last, to_device, use_device


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


@pytest.mark.parametrize(
    "cuda, mps, preferred, expected",
    [
        (True, True, None, "cuda"),  # auto: CUDA > MPS > CPU
        (False, True, None, "mps"),
        (False, False, None, "cpu"),
        (True, True, "", "cuda"),  # empty counts as not given
        (False, True, "auto", "mps"),
        (True, True, " CPU ", "cpu"),  # a wish wins; case and spaces do not matter
        (True, False, "cuda", "cuda"),
        (True, False, "cuda:1", "cuda:1"),
        (False, True, "MPS", "mps"),
        (True, True, torch.device("cpu"), "cpu"),
    ],
)
def test_choose_device_table(cuda, mps, preferred, expected):
    assert choose_device(cuda, mps, preferred) == torch.device(expected)


@pytest.mark.parametrize(
    "cuda, mps, preferred, message",
    [
        (False, True, "cuda", "'cuda' was asked for but CUDA is not available here; use 'auto' or 'cpu'"),
        (True, False, "mps", "'mps' was asked for but Apple MPS is not available here"),
        (True, True, "tpu", "unknown device 'tpu': use one of auto, cpu, cuda, cuda:N, mps"),
        (True, True, "meta", "unknown device 'meta'"),
    ],
)
def test_choose_device_refuses(cuda, mps, preferred, message):
    with pytest.raises(ValueError, match=message):
        choose_device(cuda, mps, preferred)


def test_choose_device_counts_gpus_only_when_told():
    with pytest.raises(ValueError, match="'cuda:2' does not exist: this machine has 2 GPU"):
        choose_device(True, False, "cuda:2", cuda_count=2)
    assert choose_device(True, False, "cuda:1", cuda_count=2) == torch.device("cuda:1")


def test_use_device_reads_the_given_environment(no_accelerators):
    with pytest.raises(ValueError, match="CUDA is not available"):
        use_device(environ={"MNIST_DEVICE": "cuda"})
    assert use_device("cpu", environ={"MNIST_DEVICE": "cuda"}) == torch.device("cpu")


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
