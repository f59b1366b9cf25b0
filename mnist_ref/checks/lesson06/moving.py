"""Lesson 06's checks of moving work to a device: ``move_batch`` and ``load_for_inference``.

Everything here runs on a CPU-only machine: batch moves with the ``meta`` device (tensors
without data, available everywhere) and a recording stand-in for CUDA tensors, and checkpoint
loading with a checkpoint whose tensors are *tagged* ``cuda:0`` exactly as one saved on a GPU
(see :func:`save_as_if_on_gpu`).

Both exercises are graded from what the answer does, reported as data by their ``ask``
(:func:`observe_moves`, :func:`observe_load`) and judged by :func:`judge_moves` and
:func:`judge_load`, here for the visible cases and on the instructor's side for the grader's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from mnist_ref.engine import History, save_checkpoint
from mnist_ref.model import Net
from mnist_ref.recipes import classic_optimizer, classic_scheduler

from ..fixtures import private_seed, seeded
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


def _field(data, key: str, kind: type, default=None):
    """``data[key]`` if ``data`` is a dict and the value has exactly type ``kind``: reported data is checked."""
    value = data.get(key) if type(data) is dict else None
    return value if type(value) is kind else default


# --- Exercise 2: move_batch ----------------------------------------------------------------------


def batch(seed: int, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """A stand-in batch ``(data, target)`` from its own generator."""
    generator = torch.Generator().manual_seed(seed)
    return seeded(seed, size, 1, 28, 28), torch.randint(0, 10, (size,), generator=generator)


def _pair(result) -> bool:
    return isinstance(result, (tuple, list)) and len(result) == 2


def _summary(result) -> dict:
    """What came back, as data: a pair or not, and each tensor's device, shape and dtype."""
    items = []
    for item in result if _pair(result) else ():
        tensor = isinstance(item, torch.Tensor)
        items.append(
            {
                "type": type(item).__name__,
                "tensor": tensor,
                "device": str(item.device) if tensor else "",
                "shape": list(item.shape) if tensor else [],
                "dtype": str(item.dtype) if tensor else "",
            }
        )
    return {"type": type(result).__name__, "pair": _pair(result), "items": items}


def observe_moves(answer, data: torch.Tensor, target: torch.Tensor) -> dict:
    """The learner's move_batch to ``meta`` (summarized) and back to the CPU (the tensors)."""
    __tracebackhide__ = True
    to_meta = call(answer, data.clone(), target.clone(), "meta", what="move_batch")
    to_cpu = call(answer, data.clone(), target.clone(), torch.device("cpu"), what="move_batch")
    back = [
        item.detach().clone() if type(item) is torch.Tensor and item.device.type == "cpu" else None
        for item in (to_cpu if _pair(to_cpu) else (None, None))
    ]
    return {"meta": _summary(to_meta), "cpu": _summary(to_cpu), "back": back}


def _expect_pair(summary, what="move_batch") -> list:
    __tracebackhide__ = True
    expect(
        _field(summary, "pair", bool, False),
        f"{what} should return a pair (data, target), got {_field(summary, 'type', str, '?')}",
    )
    items = _field(summary, "items", list, [])
    expect(len(items) == 2 and all(type(i) is dict for i in items), f"{what} was not observed on the grader's inputs.")
    return items


def judge_moves(observed, data: torch.Tensor, target: torch.Tensor) -> None:
    """Fail unless both tensors moved to ``meta`` unchanged and came back to the CPU with the same values."""
    __tracebackhide__ = True
    items = _expect_pair(_field(observed, "meta", dict))
    for item, name, original in zip(items, ("data", "target"), (data, target), strict=True):
        expect(_field(item, "tensor", bool, False), f"the returned {name} should be a tensor, got {item.get('type')}")
        device = _field(item, "device", str, "?")
        expect(
            device == "meta",
            f"move_batch(data, target, 'meta') returned {name} on {device}; expected 'meta'. "
            + (
                "Both tensors must move: the labels are compared with the model's output on the device."
                if name == "target"
                else "Use tensor.to(device)."
            ),
        )
        shape = tuple(_field(item, "shape", list, []))
        expect(
            shape == tuple(original.shape),
            f"the returned {name} has shape {shape}; expected {tuple(original.shape)}: only the device should change.",
        )
        dtype = _field(item, "dtype", str, "?")
        expect(
            dtype == str(original.dtype),
            f"the returned {name} is {dtype}; expected {original.dtype}: only the device should change.",
        )
    _expect_pair(_field(observed, "cpu", dict))
    back = _field(observed, "back", list, [None, None])
    back_data, back_target = back if len(back) == 2 else (None, None)
    expect(
        isinstance(back_data, torch.Tensor) and torch.equal(back_data, data),
        "move_batch(data, target, torch.device('cpu')) should give the same data on the CPU (device may be a string "
        "or a torch.device).",
    )
    expect(
        isinstance(back_target, torch.Tensor) and torch.equal(back_target, target),
        "move_batch(..., 'cpu') should give the same targets on the CPU.",
    )


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


SPY_DEVICES = ("cuda", torch.device("cuda"), "cuda:0")


def observe_spies(answer, device) -> dict:
    """How the learner's move_batch copies to CUDA, seen through recording stand-ins for the tensors."""
    __tracebackhide__ = True
    data, target = _Recorder("data"), _Recorder("target")
    moved = call(answer, data, target, device, what="move_batch")
    return {
        "type": type(moved).__name__,
        "pair": _pair(moved),
        "same": _pair(moved) and moved[0] is data and moved[1] is target,
        "called": [bool(data.calls), bool(target.calls)],
        "non_blocking": [data.non_blocking(), target.non_blocking()],
    }


def judge_spies(observed, device) -> None:
    __tracebackhide__ = True
    called = _field(observed, "called", list, [False, False])
    non_blocking = _field(observed, "non_blocking", list, [False, False])
    expect(
        _field(observed, "pair", bool, False),
        f"move_batch should return a pair (data, target), got {_field(observed, 'type', str, '?')}",
    )
    expect(
        called[:1] == [True],
        f"move_batch(data, target, {device!r}) never called data.to(...): the data stays on the CPU.",
    )
    expect(
        called[1:] == [True],
        f"move_batch(data, target, {device!r}) never called target.to(...): the labels stay on the CPU.",
    )
    expect(
        _field(observed, "same", bool, False),
        "move_batch should return what data.to(...) and target.to(...) return, in the order (data, target).",
    )
    for name, flag in zip(("data", "target"), non_blocking + [False] * 2, strict=False):
        expect(
            flag is True,
            f"on CUDA ({device!r}) move_batch should copy {name} with non_blocking=True: "
            "the copy from pinned memory then overlaps with the GPU's work.",
        )


def move_batches(seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The grader's batches: the visible one, then one whose size and values come from ``seed``."""
    return [batch(0), batch(seed + 1, size=1 + seed % 13)]


def _move_batch_visible(answer):
    __tracebackhide__ = True
    data, target = batch(0)
    judge_moves(observe_moves(answer, data, target), data, target)
    return "both tensors move, nothing else changes."


def _ask_move_batch(answer, seed: int) -> dict:
    __tracebackhide__ = True
    return {
        "moves": [observe_moves(answer, data, target) for data, target in move_batches(seed)],
        "spies": [observe_spies(answer, device) for device in SPY_DEVICES],
    }


move_batch = Exercise(
    title="move_batch",
    visible=_move_batch_visible,
    key="lesson06.move_batch",
    ask=_ask_move_batch,
    hint_text=(
        "Return (data.to(device, non_blocking=...), target.to(device, non_blocking=...)), with non_blocking "
        "True when torch.device(device).type == 'cuda'."
    ),
)

# --- Exercise 3: load_for_inference --------------------------------------------------------------


def saved_model(seed: int) -> Net:
    """The model a checkpoint of the check holds: its weights come from ``seed`` alone."""
    with private_seed(seed):
        return Net()


def _write(path: Path, seed: int, on_gpu: bool) -> Path:
    model = saved_model(seed)
    optimizer = classic_optimizer(model)
    scheduler = classic_scheduler(optimizer)
    history = History(
        train_acc=[90.0], train_loss=[0.3], test_acc=[95.0], test_loss=[0.2], lr=[0.01], epoch_seconds=[1.0]
    )
    writer = save_as_if_on_gpu if on_gpu else save_checkpoint
    return writer(path, model, optimizer, scheduler, 1, history)


@dataclass(frozen=True)
class Loading:
    """One call of load_for_inference: which checkpoint, how the path and device are given, what to compare."""

    file: str
    weights: int  # the seed of the saved weights
    on_gpu: bool
    as_str: bool  # the path as a str (else a Path)
    device: str | torch.device
    what: str
    outputs: bool = False  # also compare the outputs on a batch with the saved model's


VISIBLE_LOADINGS = [
    Loading("cpu_run.pt", 6, False, False, "cpu", "load_for_inference(path, 'cpu')"),
    Loading("gpu_run.pt", 7, True, False, "cpu", "load_for_inference(<checkpoint saved on cuda:0>, 'cpu')"),
]


def loadings(seed: int) -> list[Loading]:
    """The grader's calls: the visible ones, then a GPU checkpoint with weights from ``seed``, by str and Path."""
    weights = 60 + seed
    return [
        *VISIBLE_LOADINGS,
        Loading(
            "gpu_run_2.pt",
            weights,
            True,
            True,
            torch.device("cpu"),
            "load_for_inference(str path, torch.device('cpu'))",
        ),
        Loading("gpu_run_2.pt", weights, True, False, "cpu", "load_for_inference(path, 'cpu')", outputs=True),
    ]


def probe(seed: int) -> torch.Tensor:
    """The batch the loaded model's outputs are compared on."""
    return seeded(seed, 3, 1, 28, 28)


@contextlib.contextmanager
def _scratch_folder():
    """A temporary folder in the working folder (while grading, the only place the kernel may write)."""
    try:
        folder = tempfile.TemporaryDirectory(prefix=".load_for_inference-", dir=os.getcwd())
    except OSError:
        folder = tempfile.TemporaryDirectory(prefix="load_for_inference-")
    with folder as name:
        yield Path(name)


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


def _digest(tensor: torch.Tensor) -> str:
    """The exact bytes of a tensor, shortened: the grader compares weights without receiving them."""
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    return hashlib.sha256(flat.view(torch.uint8).numpy().tobytes()).hexdigest()


def describe_state(model: nn.Module) -> dict:
    """A model's state as data: each entry's device, dtype, shape and a digest of its values."""
    return {
        name: {
            "device": tensor.device.type,
            "dtype": str(tensor.dtype),
            "shape": list(tensor.shape),
            "digest": _digest(tensor),
        }
        for name, tensor in model.state_dict().items()
    }


def observe_load(answer, folder: Path, loading: Loading, seed: int) -> dict:
    """Write ``loading``'s checkpoint (once) and report what the learner's load_for_inference returns."""
    __tracebackhide__ = True
    path = folder / loading.file
    if not path.exists():
        _write(path, loading.weights, loading.on_gpu)
    model = _load(answer, str(path) if loading.as_str else path, loading.device)
    if not isinstance(model, nn.Module):
        return {"module": False, "type": type(model).__name__}
    observed = {"module": True, "type": type(model).__name__, "training": bool(model.training)}
    observed["state"] = describe_state(model)
    if loading.outputs:
        with torch.no_grad():
            output = call(model, probe(seed), what="the loaded model")
        observed["output"] = output.detach().cpu().clone() if type(output) is torch.Tensor else None
    return observed


def judge_load(observed, reference: nn.Module, loading: Loading, expected_output=None) -> None:
    """Fail unless the loaded model is an nn.Module in eval mode holding ``reference``'s weights on the device."""
    __tracebackhide__ = True
    what = loading.what
    expect(
        _field(observed, "module", bool, False),
        f"{what} should return the model (an nn.Module), got {_field(observed, 'type', str, '?')}",
    )
    expect(
        _field(observed, "training", bool, True) is False,
        f"{what} returned a model in training mode: call model.eval() before inference (it matters for dropout and "
        "batch norm).",
    )
    theirs, ours = _field(observed, "state", dict, {}), describe_state(reference)
    expect(
        set(theirs) == set(ours),
        f"{what} returned a model whose layers are {sorted(map(str, theirs))[:4]}...; expected a mnist_ref.Net.",
    )
    wanted = torch.device(loading.device).type
    for name, entry in ours.items():
        device = _field(theirs[name], "device", str, "?")
        expect(
            device == wanted,
            f"{what}: {name} is on {device}; expected {wanted} — move the model with model.to(device).",
        )
        same = all(_field(theirs[name], key, type(entry[key])) == entry[key] for key in ("dtype", "shape", "digest"))
        expect(
            same,
            f"{what}: {name} differs from the checkpoint — load checkpoint['model'] into the model with "
            "load_state_dict.",
        )
    if expected_output is not None:
        output = _field(observed, "output", torch.Tensor)
        expect(
            output is not None
            and output.shape == expected_output.shape
            and torch.allclose(output, expected_output, atol=1e-6),
            "the loaded model does not compute what the saved one did.",
        )


def _load_for_inference_visible(answer):
    __tracebackhide__ = True
    with _scratch_folder() as folder:
        for loading in VISIBLE_LOADINGS:
            judge_load(observe_load(answer, folder, loading, 0), saved_model(loading.weights), loading)
    return "a checkpoint saved on a GPU loads on this CPU, ready for inference."


def _ask_load_for_inference(answer, seed: int) -> list[dict]:
    __tracebackhide__ = True
    with _scratch_folder() as folder:
        return [observe_load(answer, folder, loading, seed) for loading in loadings(seed)]


load_for_inference = Exercise(
    title="load_for_inference",
    visible=_load_for_inference_visible,
    key="lesson06.load_for_inference",
    ask=_ask_load_for_inference,
    hint_text=(
        "state = torch.load(path, map_location=device, weights_only=True); model = Net(); "
        "model.load_state_dict(state['model']); return model.to(device).eval() "
        "(or use mnist_ref.load_checkpoint(path, model, map_location=device))."
    ),
)
