"""Lesson 06's checks of moving work to a device: ``move_batch`` and ``load_for_inference``.

Everything here runs on a CPU-only machine: batch moves with the ``meta`` device (tensors
without data, available everywhere) and a recording stand-in for CUDA tensors, and checkpoint
loading with a checkpoint whose tensors are *tagged* ``cuda:0`` exactly as one saved on a GPU
(see :func:`save_as_if_on_gpu`).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from mnist_ref.engine import History, save_checkpoint
from mnist_ref.model import Net
from mnist_ref.recipes import classic_optimizer, classic_scheduler

from ..framework import CheckFailed, Exercise, NotAttempted, call, expect

# --- a checkpoint "saved on a GPU", written on any machine -------------------------------------


def _tag_cuda(storage):  # torch.serialization tagger: where each storage says it lives
    return "cuda:0"


def _no_restore(storage, location):  # never used to load: tagger only
    return None


def save_as_if_on_gpu(
    path, model, optimizer=None, scheduler=None, epoch: int = 0, history: History | None = None
) -> Path:
    """Write ``save_checkpoint(...)`` with every tensor tagged ``cuda:0``, as a GPU run writes it.

    ``torch.save`` records, next to each tensor's bytes, the device it came from; ``torch.load``
    puts it back there unless ``map_location`` says otherwise. On a machine without CUDA,
    loading this file without ``map_location`` fails exactly like a real GPU checkpoint.
    """
    registry = torch.serialization._package_registry
    entry = (-1000, _tag_cuda, _no_restore)  # the lowest priority number is asked first
    registry.insert(0, entry)
    try:
        return save_checkpoint(path, model, optimizer, scheduler, epoch, history or History())
    finally:
        registry[:] = [e for e in registry if e[1] is not _tag_cuda]


# --- Exercise 2: move_batch ----------------------------------------------------------------------


class _Recorder:
    """Stands in for a CPU tensor on its way to CUDA: records how ``.to`` / ``.cuda`` was called."""

    def __init__(self, name):
        self.name, self.calls = name, []
        self.shape, self.dtype = (64, 1, 28, 28), torch.float32

    def to(self, *args, **kwargs):
        self.calls.append(("to", args, kwargs))
        return self

    def cuda(self, *args, **kwargs):
        self.calls.append(("cuda", args, kwargs))
        return self

    def non_blocking(self) -> bool:
        for _method, args, kwargs in self.calls:
            if kwargs.get("non_blocking"):
                return True
            if any(a is True for a in args):  # non_blocking given by position
                return True
        return False


def _pair(result, what="move_batch"):
    __tracebackhide__ = True
    expect(
        isinstance(result, (tuple, list)) and len(result) == 2,
        f"{what} should return a pair (data, target), got {type(result).__name__}",
    )
    return result


def _move_batch_visible(answer):
    __tracebackhide__ = True
    torch.manual_seed(0)
    data, target = torch.randn(8, 1, 28, 28), torch.randint(0, 10, (8,))
    moved_data, moved_target = _pair(call(answer, data, target, "meta", what="move_batch"))
    for tensor, name, original in ((moved_data, "data", data), (moved_target, "target", target)):
        expect(isinstance(tensor, torch.Tensor), f"the returned {name} should be a tensor, got {type(tensor).__name__}")
        expect(
            tensor.device.type == "meta",
            f"move_batch(data, target, 'meta') returned {name} on {tensor.device}; expected 'meta'. "
            + (
                "Both tensors must move: the labels are compared with the model's output on the device."
                if name == "target"
                else "Use tensor.to(device)."
            ),
        )
        expect(
            tuple(tensor.shape) == tuple(original.shape),
            f"the returned {name} has shape {tuple(tensor.shape)}; expected {tuple(original.shape)}: only the device "
            "should change.",
        )
        expect(
            tensor.dtype == original.dtype,
            f"the returned {name} is {tensor.dtype}; expected {original.dtype}: only the device should change.",
        )
    back_data, back_target = _pair(call(answer, data, target, torch.device("cpu"), what="move_batch"))
    expect(
        isinstance(back_data, torch.Tensor) and back_data.device.type == "cpu" and torch.equal(back_data, data),
        "move_batch(data, target, torch.device('cpu')) should give the same data on the CPU (device may be a string "
        "or a torch.device).",
    )
    expect(
        isinstance(back_target, torch.Tensor) and torch.equal(back_target, target),
        "move_batch(..., 'cpu') should give the same targets on the CPU.",
    )
    return "both tensors move, nothing else changes."


def _move_batch_strict(answer):
    __tracebackhide__ = True
    for device in ("cuda", torch.device("cuda"), "cuda:0"):
        data, target = _Recorder("data"), _Recorder("target")
        moved = _pair(call(answer, data, target, device, what="move_batch"))
        expect(
            data.calls, f"move_batch(data, target, {device!r}) never called data.to(...): the data stays on the CPU."
        )
        expect(
            target.calls,
            f"move_batch(data, target, {device!r}) never called target.to(...): the labels stay on the CPU.",
        )
        expect(
            moved[0] is data and moved[1] is target,
            "move_batch should return what data.to(...) and target.to(...) return, in the order (data, target).",
        )
        for recorder in (data, target):
            expect(
                recorder.non_blocking(),
                f"on CUDA ({device!r}) move_batch should copy {recorder.name} with non_blocking=True: "
                "the copy from pinned memory then overlaps with the GPU's work.",
            )


move_batch = Exercise(
    title="move_batch",
    visible=_move_batch_visible,
    strict=_move_batch_strict,
    hint_text=(
        "Return (data.to(device, non_blocking=...), target.to(device, non_blocking=...)), with non_blocking "
        "True when torch.device(device).type == 'cuda'."
    ),
)

# --- Exercise 3: load_for_inference --------------------------------------------------------------


def _reference_model(seed: int) -> Net:
    torch.manual_seed(seed)
    return Net()


def _write(folder: Path, name: str, seed: int, on_gpu: bool) -> tuple[Path, Net]:
    model = _reference_model(seed)
    optimizer = classic_optimizer(model)
    scheduler = classic_scheduler(optimizer)
    history = History(
        train_acc=[90.0], train_loss=[0.3], test_acc=[95.0], test_loss=[0.2], lr=[0.01], epoch_seconds=[1.0]
    )
    writer = save_as_if_on_gpu if on_gpu else (lambda *a, **k: save_checkpoint(*a, **k))
    path = writer(folder / name, model, optimizer, scheduler, 1, history)
    return path, model


def _load(answer, path, device):
    __tracebackhide__ = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a graded cell fails on anything written to stderr
            return call(answer, path, device, what="load_for_inference")
    except NotAttempted:
        raise
    except CheckFailed as failure:
        if "CUDA device" in str(failure):
            raise CheckFailed(
                "load_for_inference could not read a checkpoint saved on a GPU: torch.load puts every tensor "
                "back on the device it was saved from (here cuda:0), which this machine does not have. "
                "Pass map_location=device to torch.load (or to mnist_ref.load_checkpoint)."
            ) from None
        raise


def _expect_loaded(model, reference: Net, device, what: str):
    __tracebackhide__ = True
    expect(isinstance(model, nn.Module), f"{what} should return the model (an nn.Module), got {type(model).__name__}")
    expect(
        not model.training,
        f"{what} returned a model in training mode: call model.eval() before inference (it matters for dropout and "
        "batch norm).",
    )
    theirs, ours = model.state_dict(), reference.state_dict()
    expect(
        set(theirs) == set(ours),
        f"{what} returned a model whose layers are {sorted(theirs)[:4]}...; expected a mnist_ref.Net.",
    )
    wanted = torch.device(device).type
    for name, tensor in theirs.items():
        expect(
            tensor.device.type == wanted,
            f"{what}: {name} is on {tensor.device}; expected {wanted} — move the model with model.to(device).",
        )
        expect(
            torch.equal(tensor.cpu(), ours[name]),
            f"{what}: {name} differs from the checkpoint — load checkpoint['model'] into the model with "
            "load_state_dict.",
        )


def _load_for_inference_visible(answer):
    __tracebackhide__ = True
    with tempfile.TemporaryDirectory() as tmp:
        path, reference = _write(Path(tmp), "cpu_run.pt", seed=6, on_gpu=False)
        _expect_loaded(_load(answer, path, "cpu"), reference, "cpu", "load_for_inference(path, 'cpu')")
        path, reference = _write(Path(tmp), "gpu_run.pt", seed=7, on_gpu=True)
        _expect_loaded(
            _load(answer, path, "cpu"), reference, "cpu", "load_for_inference(<checkpoint saved on cuda:0>, 'cpu')"
        )
    return "a checkpoint saved on a GPU loads on this CPU, ready for inference."


def _load_for_inference_strict(answer):
    __tracebackhide__ = True
    with tempfile.TemporaryDirectory() as tmp:
        path, reference = _write(Path(tmp), "gpu_run_2.pt", seed=60, on_gpu=True)
        _expect_loaded(
            _load(answer, str(path), torch.device("cpu")),
            reference,
            "cpu",
            "load_for_inference(str path, torch.device('cpu'))",
        )
        model = _load(answer, path, "cpu")
        with torch.no_grad():
            torch.manual_seed(0)
            x = torch.randn(3, 1, 28, 28)
            expect(
                torch.allclose(model(x), reference.eval()(x), atol=1e-6),
                "the loaded model does not compute what the saved one did.",
            )


load_for_inference = Exercise(
    title="load_for_inference",
    visible=_load_for_inference_visible,
    strict=_load_for_inference_strict,
    hint_text=(
        "state = torch.load(path, map_location=device, weights_only=True); model = Net(); "
        "model.load_state_dict(state['model']); return model.to(device).eval() "
        "(or use mnist_ref.load_checkpoint(path, model, map_location=device))."
    ),
)
