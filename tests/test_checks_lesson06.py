"""The self-checks of lesson 06 accept right answers and explain typical wrong ones."""

from __future__ import annotations

import os

import pytest
import torch

from check_helpers import assert_not_attempted, fails
from mnist_ref import Net, load_checkpoint
from mnist_ref.checks import lesson06 as check
from mnist_ref.device import choose_device as library_choose_device


@pytest.mark.parametrize(
    "exercise", [check.choose_device, check.move_batch, check.load_for_inference, check.amp_enabled]
)
def test_untouched_exercise_is_not_attempted(exercise):
    assert_not_attempted(exercise)


# --- choose_device ---------------------------------------------------------------------------------


def choose_device(cuda_available, mps_available, preferred=None):
    """The lesson's answer: the library's rule, the wish read as the lesson asks (argument, then $MNIST_DEVICE)."""
    return str(library_choose_device(cuda_available, mps_available, preferred or os.environ.get("MNIST_DEVICE")))


def test_choose_device_right_answer(monkeypatch):
    monkeypatch.setenv("MNIST_DEVICE", "mps")  # the check controls the variable itself, and restores it
    check.choose_device(choose_device)
    check.choose_device.hidden(choose_device)
    assert os.environ["MNIST_DEVICE"] == "mps"


def test_choose_device_torch_device_answer_is_accepted():
    check.choose_device.hidden(lambda c, m, p=None: torch.device(choose_device(c, m, p)))


def test_choose_device_mps_first():
    def mps_first(c, m, p=None):
        return "mps" if m and not p and not os.environ.get("MNIST_DEVICE") else choose_device(c, m, p)

    fails(check.choose_device, mps_first, "CUDA comes first")


def test_choose_device_ignores_environment():
    def no_env(c, m, p=None):
        with pytest.MonkeyPatch.context() as mp:
            mp.delenv("MNIST_DEVICE", raising=False)
            return choose_device(c, m, p)

    fails(check.choose_device, no_env, "MNIST_DEVICE")


def test_choose_device_silent_fallback():
    def fallback(c, m, p=None):
        try:
            return choose_device(c, m, p)
        except ValueError:
            return "cpu"

    fails(check.choose_device, fallback, "ValueError", "silent fallback")


def test_choose_device_environment_beats_argument():
    def env_first(c, m, p=None):
        return choose_device(c, m, os.environ.get("MNIST_DEVICE") or p)

    check.choose_device(env_first)  # the visible cases cannot tell ...
    fails(check.choose_device, env_first, "wins over", hidden=True)  # ... the hidden ones can


def test_choose_device_case_sensitive():
    def exact(c, m, p=None):
        requested = p or os.environ.get("MNIST_DEVICE") or "auto"
        if requested not in ("auto", "cpu", "cuda", "mps"):
            raise ValueError(requested)
        return choose_device(c, m, requested)

    fails(check.choose_device, exact, "Case does not matter", hidden=True)


# --- move_batch ------------------------------------------------------------------------------------


def move_batch(data, target, device):
    non_blocking = torch.device(device).type == "cuda"
    return data.to(device, non_blocking=non_blocking), target.to(device, non_blocking=non_blocking)


def test_move_batch_right_answers():
    from mnist_ref import to_device

    for answer in (
        move_batch,
        to_device,
        lambda d, t, dev: (d.to(device=dev, non_blocking=True), t.to(device=dev, non_blocking=True)),
    ):
        check.move_batch(answer)
        check.move_batch.hidden(answer)


def test_move_batch_data_only():
    fails(check.move_batch, lambda d, t, dev: (d.to(dev), t), "target", "labels")


def test_move_batch_nothing_moved():
    fails(check.move_batch, lambda d, t, dev: (d, t), "on cpu; expected 'meta'")


def test_move_batch_without_non_blocking():
    plain = lambda d, t, dev: (d.to(dev), t.to(dev))  # noqa: E731
    check.move_batch(plain)
    fails(check.move_batch, plain, "non_blocking=True", hidden=True)


def test_move_batch_swapped():
    fails(check.move_batch, lambda d, t, dev: (t.to(dev), d.to(dev)), "shape")


# --- load_for_inference ----------------------------------------------------------------------------


def load_for_inference(path, device):
    state = torch.load(path, map_location=device, weights_only=True)
    model = Net()
    model.load_state_dict(state["model"])
    return model.to(device).eval()


def load_with_reference(path, device):
    model = Net().to(device)
    load_checkpoint(path, model, map_location=device)
    model.eval()
    return model


def test_load_for_inference_right_answers():
    for answer in (load_for_inference, load_with_reference):
        check.load_for_inference(answer)
        check.load_for_inference.hidden(answer)


def test_load_for_inference_without_map_location():
    def no_map(path, device):
        model = Net()
        model.load_state_dict(torch.load(path, weights_only=True)["model"])
        return model.to(device).eval()

    fails(check.load_for_inference, no_map, "map_location")


def test_load_for_inference_train_mode():
    fails(check.load_for_inference, lambda p, d: load_for_inference(p, d).train(), "training mode", "eval()")


def test_load_for_inference_fresh_weights():
    fails(check.load_for_inference, lambda p, d: Net().to(d).eval(), "differs from the checkpoint")


def test_load_for_inference_whole_checkpoint():
    def whole(path, device):
        model = Net()
        model.load_state_dict(torch.load(path, map_location=device, weights_only=True))
        return model.eval()

    fails(check.load_for_inference, whole, "raised RuntimeError")


def test_load_for_inference_returns_state_dict():
    fails(check.load_for_inference, lambda p, d: torch.load(p, map_location=d, weights_only=True)["model"], "nn.Module")


def test_gpu_checkpoint_is_tagged_cuda_and_registry_restored(tmp_path):
    before = list(torch.serialization._package_registry)
    path = check.save_as_if_on_gpu(tmp_path / "gpu.pt", Net())
    assert torch.serialization._package_registry == before
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA device"):
            torch.load(path, weights_only=True)
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert state["model"]["conv1.weight"].device.type == "cpu"


# --- amp_enabled -----------------------------------------------------------------------------------


def test_amp_enabled_right_answers():
    for answer in (lambda d: torch.device(d).type == "cuda", lambda d: str(d).startswith("cuda")):
        check.amp_enabled(answer)
        check.amp_enabled.hidden(answer)


def test_amp_enabled_string_compare():
    answer = lambda d: d == "cuda"  # noqa: E731
    fails(check.amp_enabled, answer, "torch.device")


def test_amp_enabled_exact_string():
    answer = lambda d: str(d) == "cuda"  # noqa: E731
    check.amp_enabled(answer)
    fails(check.amp_enabled, answer, "cuda:1", hidden=True)


def test_amp_enabled_any_gpu():
    answer = lambda d: torch.device(d).type != "cpu"  # noqa: E731
    check.amp_enabled(answer)
    fails(check.amp_enabled, answer, "mps", hidden=True)


def test_amp_enabled_not_bool():
    fails(check.amp_enabled, lambda d: torch.tensor(torch.device(d).type == "cuda"), "True or False")
