"""The self-checks of lesson 06 accept right answers and explain typical wrong ones."""

from __future__ import annotations

import os

import pytest
import torch

import mnist_ref
from check_helpers import assert_not_attempted, fails
from mnist_course.checks import grade_in_process
from mnist_ref import Net, load_checkpoint
from mnist_ref.checks import CheckFailed
from mnist_ref.checks import lesson06 as check


@pytest.mark.parametrize(
    "exercise", [check.choose_device, check.move_batch, check.load_for_inference, check.amp_enabled]
)
def test_untouched_exercise_is_not_attempted(exercise):
    assert_not_attempted(exercise)


# --- choose_device ---------------------------------------------------------------------------------


def choose_device(cuda_available, mps_available, preferred=None):
    """The lesson's answer, written out (the library's own rule is refused as an answer)."""
    requested = (preferred or os.environ.get("MNIST_DEVICE") or "auto").strip().lower()
    if requested == "auto":
        return "cuda" if cuda_available else "mps" if mps_available else "cpu"
    available = {"cpu": True, "cuda": cuda_available, "mps": mps_available}
    if not available.get(requested, False):
        raise ValueError(f"device {requested!r} is unknown or not available here")
    return requested


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
    for answer in (
        move_batch,
        lambda d, t, dev: tuple(x.to(dev, non_blocking=torch.device(dev).type == "cuda") for x in (d, t)),
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


# --- graded in the grader's process: seeds, exact types, the library's own answers -----------------


def amp_by_name(device):
    return str(device).split(":")[0] == "cuda"


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(
    ("exercise", "answer"),
    [
        (check.choose_device, choose_device),
        (check.choose_device, lambda c, m, p=None: torch.device(choose_device(c, m, p))),
        (check.move_batch, move_batch),
        (check.amp_enabled, lambda d: torch.device(d).type == "cuda"),
        (check.amp_enabled, amp_by_name),
        (check.load_for_inference, load_for_inference),
        (check.load_for_inference, load_with_reference),
    ],
)
def test_right_answers_pass_for_every_seed(exercise, answer, seed):
    grade_in_process(exercise, answer, seed=seed)


def test_choose_device_seeded_situations_vary():
    from mnist_ref.checks.lesson06.device_choice import choice_situations

    assert choice_situations(0) != choice_situations(1)
    assert choice_situations(3) == choice_situations(3)


@pytest.mark.parametrize(
    ("exercise", "library", "qualified"),
    [
        (check.choose_device, mnist_ref.device.choose_device, "mnist_ref.device.choose_device"),
        (
            check.choose_device,
            lambda c, m, p=None: str(mnist_ref.device.choose_device(c, m, p or os.environ.get("MNIST_DEVICE"))),
            "mnist_ref.device.choose_device",
        ),
        (check.move_batch, mnist_ref.to_device, "mnist_ref.device.to_device"),
        (check.amp_enabled, mnist_ref.device.is_cuda, "mnist_ref.device.is_cuda"),
        (
            check.amp_enabled,
            lambda d: mnist_ref.device.autocast_dtype(d) == torch.float16,
            "mnist_ref.device.autocast_dtype",
        ),
        (check.amp_enabled, lambda d: mnist_ref.grad_scaler(d).is_enabled(), "mnist_ref.device.grad_scaler"),
    ],
)
def test_library_answers_are_refused(exercise, library, qualified):
    fails(exercise, library, qualified, "the library's own version", hidden=True)


class Truthy(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def test_exact_types_only():
    class Name(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    fails(check.choose_device, lambda c, m, p=None: Name("cpu"), "device name", hidden=True)
    fails(check.amp_enabled, lambda d: Truthy(1), "returned a", hidden=True)


def test_load_for_inference_checks_outputs_with_fresh_seeded_weights(tmp_path, monkeypatch):
    """The weights of the grader's checkpoint change with the seed: a model saved once cannot pass."""
    from mnist_ref.checks.lesson06.moving import loadings

    assert loadings(0)[-1].weights != loadings(1)[-1].weights
    monkeypatch.chdir(tmp_path)
    grade_in_process(check.load_for_inference, load_for_inference, seed=5)
    assert list(tmp_path.iterdir()) == []  # the scratch checkpoints were written here, and removed


# --- the self-checked questions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "answer", "fragment"),
    [
        (check.q_batch_bytes, 50_176, "number of VALUES"),
        (check.q_batch_bytes, 100_352, "float16"),
        (check.q_batch_bytes, 401_408, "float64"),
        (check.q_batch_bytes, 784, "one image"),
        (check.q_batch_bytes, 12345, "Multiply"),
        (check.q_float16_gradient, "a", "5 exponent bits"),
        (check.q_float16_gradient, "c", "NEAREST"),
        (check.q_float16_gradient, "d", "overflow"),
    ],
)
def test_questions_name_each_wrong_answer(question, answer, fragment):
    with pytest.raises(CheckFailed, match=fragment):
        question.check(answer)


@pytest.mark.parametrize("question", [check.q_batch_bytes, check.q_float16_gradient])
def test_questions_accept_the_right_answer(question, capsys):
    question.check(question.right)
    question("x" if isinstance(question.right, str) else 1)  # wrong: printed, never raised
    assert "✅" in capsys.readouterr().out.splitlines()[0]


def test_the_batch_bytes_agree_with_the_figure():
    from mnist_ref.diagrams.devices import byte_counts

    assert check.q_batch_bytes.right == byte_counts()["data"]
    assert float(torch.tensor(1e-9, dtype=torch.float16)) == 0.0  # the float16 question's premise
