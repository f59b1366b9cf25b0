"""Inputs the checks of several lessons share: seeded tensors, synthetic batches, spy models.

Everything here is deterministic and never touches MNIST, so a check gives the same verdict on
every machine in a fraction of a second.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from .transcript import NotPlainData, register_type

CPU = torch.device("cpu")

# --- seeded tensors --------------------------------------------------------------------------------


def seeded(seed: int, *shape, integers: bool = False) -> torch.Tensor:
    """A random float tensor from its own generator (the learner's random state stays untouched)."""
    generator = torch.Generator().manual_seed(seed)
    if integers:  # small integers: exact sums, easy to read in messages
        return torch.randint(-3, 4, shape, generator=generator).float()
    return torch.randn(*shape, generator=generator)


def seeded_uint8(seed: int, *shape, dark_fraction=None) -> torch.Tensor:
    """Random uint8 images; with ``dark_fraction`` per image, that share of pixels is 0 (like MNIST's background)."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, shape, generator=generator)
    if dark_fraction is not None:
        keep = torch.rand(shape, generator=generator) >= torch.tensor(dark_fraction).view(-1, *[1] * (len(shape) - 1))
        images = images * keep
    return images.to(torch.uint8)


@contextlib.contextmanager
def private_seed(seed: int):
    """Seed torch inside the block (a learner's layers draw their weights from it) without
    disturbing the learner's random state outside it."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


# --- a tiny training set and models that report how they are used -------------------------------


def synthetic_batches(seed: int = 0, sizes=(8, 8, 5), noise: float = 1.0) -> list:
    """A loader as a plain list of ``(data, target)`` batches, data of shape ``(B, 1, 28, 28)``.

    Learnable: every class has a random prototype image; a sample is its prototype plus noise.
    The last batch is smaller, like the last batch of a real epoch.
    """
    g = torch.Generator().manual_seed(seed)
    prototypes = torch.randn(10, 1, 28, 28, generator=g)
    batches = []
    for size in sizes:
        target = torch.randint(0, 10, (size,), generator=g)
        data = prototypes[target] + noise * torch.randn(size, 1, 28, 28, generator=g)
        batches.append((data, target))
    return batches


class SpyNet(nn.Module):
    """A small linear classifier with log_softmax output that records how it is called."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(28 * 28, 10)
        self.calls: list[tuple[bool, bool]] = []  # (training mode, autograd on) at every forward

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return F.log_softmax(self.fc(x.flatten(1)), dim=1)


class SpyConvNet(SpyNet):
    """The course model's first block in small (conv, ReLU, pool, linear): still fast, and not linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 13 * 13, 10)

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return F.log_softmax(self.fc(F.max_pool2d(F.relu(self.conv(x)), 2).flatten(1)), dim=1)


class CountingSGD(torch.optim.SGD):
    """torch.optim.SGD that counts its step() calls."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = 0

    def step(self, closure=None):
        self.steps += 1
        return super().step(closure)


def make_model(kind: str, seed: int) -> SpyNet:
    """A fresh spy model, ``"linear"`` or ``"conv"``; the seed fixes its weights."""
    torch.manual_seed(seed)
    return {"linear": SpyNet, "conv": SpyConvNet}[kind]()


# --- predictions to evaluate --------------------------------------------------------------------

# 3 classes, 10 examples; every off-diagonal count of their confusion matrix [[2, 1, 0], [0, 2, 0],
# [2, 1, 2]] differs from its mirror, so a transposed matrix shows.
HAND_TARGETS = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2, 2])
HAND_PREDICTIONS = torch.tensor([0, 0, 1, 1, 1, 0, 0, 1, 2, 2])


def seeded_predictions(seed: int, n: int, num_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Random targets, and predictions of which about 30 % are drawn again at random (so most are right)."""
    generator = torch.Generator().manual_seed(seed)
    targets = torch.randint(0, num_classes, (n,), generator=generator)
    wrong = torch.rand(n, generator=generator) < 0.3
    predictions = torch.where(wrong, torch.randint(0, num_classes, (n,), generator=generator), targets)
    return targets, predictions


# --- comparing weights ---------------------------------------------------------------------------


def weights_of(model: nn.Module) -> dict:
    """A detached copy of the model's state."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict, b: dict, atol: float = 1e-5) -> bool:
    return all(torch.allclose(a[k], b[k], atol=atol, rtol=1e-4) for k in a)


# --- the fixtures as data: a spy model or optimizer a check passes crosses to the learner's kernel ---


def _encode_spy(model: SpyNet, encode) -> dict:
    return {
        "params": [[name, encode(p)] for name, p in model.named_parameters()],
        "training": model.training,
        "calls": encode(list(model.calls)),
    }


def _restore_spy(model: SpyNet, data: dict, decode) -> None:
    own = dict(model.named_parameters())
    if type(data) is not dict or [name for name, _ in data.get("params", [])] != list(own):
        raise NotPlainData("malformed data (a spy model)")
    with torch.no_grad():
        for name, value in data["params"]:
            tensor = decode(value)
            if not isinstance(tensor, torch.Tensor) or tensor.shape != own[name].shape:
                raise NotPlainData("malformed data (a spy model's weights)")
            own[name].copy_(tensor)
            own[name].grad = tensor.grad
    model.train(data.get("training") is True)
    calls = decode(data.get("calls"))
    if type(calls) is not list or not all(type(c) is tuple and len(c) == 2 for c in calls):
        raise NotPlainData("malformed data (a spy model's calls)")
    model.calls[:] = calls


def _spy_decoder(cls):
    def decode_spy(data: dict, decode, bind) -> SpyNet:
        with private_seed(0):  # building it must not move the learner's random state
            model = cls()
        _restore_spy(model, data, decode)
        for (_, value), param in zip(data["params"], model.parameters(), strict=True):
            bind(value["id"], param)  # the optimizer's references to these weights mean the model's own
        return model

    return decode_spy


def _encode_sgd(optimizer: CountingSGD, encode) -> dict:
    groups = [
        {k: v for k, v in g.items() if k != "params"} | {"size": len(g["params"])} for g in optimizer.param_groups
    ]
    params = [p for g in optimizer.param_groups for p in g["params"]]
    return {
        "params": [encode(p) for p in params],
        "groups": encode([{k: v for k, v in g.items() if type(v) in (int, float, bool)} for g in groups]),
        "steps": optimizer.steps,
        "buffers": [encode(optimizer.state.get(p, {}).get("momentum_buffer")) for p in params],
    }


def _restore_sgd(optimizer: CountingSGD, data: dict, decode) -> None:
    params = [p for g in optimizer.param_groups for p in g["params"]]
    groups = decode(data.get("groups"))
    if (
        type(data.get("steps")) is not int
        or len(data.get("buffers", [])) != len(params)
        or len(groups) != len(optimizer.param_groups)
    ):
        raise NotPlainData("malformed data (an optimizer)")
    optimizer.steps = data["steps"]
    for group, values in zip(optimizer.param_groups, groups, strict=True):
        group.update({k: v for k, v in values.items() if k in group and k != "params"})
    for p, buffer in zip(params, data["buffers"], strict=True):
        value = decode(buffer)
        if isinstance(value, torch.Tensor):
            optimizer.state[p]["momentum_buffer"] = value
        else:
            optimizer.state.pop(p, None)


def _decode_sgd(data: dict, decode, bind) -> CountingSGD:
    params = [decode(p) for p in data.get("params", [])]
    groups = decode(data.get("groups"))
    if not params or not all(isinstance(p, torch.Tensor) for p in params) or type(groups) is not list:
        raise NotPlainData("malformed data (an optimizer)")
    param_groups, start = [], 0
    for group in groups:
        size = group.pop("size", len(params))
        param_groups.append({"params": params[start : start + size], **group})
        start += size
    optimizer = CountingSGD(param_groups, lr=param_groups[0].get("lr", 0.01))
    _restore_sgd(optimizer, data, decode)
    return optimizer


register_type("SpyNet", SpyNet, _encode_spy, _spy_decoder(SpyNet), _restore_spy)
register_type("SpyConvNet", SpyConvNet, _encode_spy, _spy_decoder(SpyConvNet), _restore_spy)
register_type("CountingSGD", CountingSGD, _encode_sgd, _decode_sgd, _restore_sgd)


# --- lesson 05's fixtures as data: a StepLR over a CountingSGD, and the History a run returns ------

from dataclasses import fields  # noqa: E402 (this section was added at the end of the file)

from mnist_ref.engine import History  # noqa: E402

_STEP_LR_STATE = {  # StepLR's state_dict: key -> the exact types its value may have
    "step_size": (int,),
    "gamma": (float, int),
    "base_lrs": (list,),
    "last_epoch": (int,),
    "_step_count": (int,),
    "_is_initial": (bool,),
    "_get_lr_called_within_step": (bool,),
    "_last_lr": (list,),
}


def _step_lr_state(data, decode) -> dict:
    state = decode(data.get("state")) if type(data) is dict else None
    if (
        type(state) is not dict
        or not set(state) <= set(_STEP_LR_STATE)
        or not {"step_size", "gamma", "base_lrs", "last_epoch"} <= set(state)
        or any(type(value) not in _STEP_LR_STATE[key] for key, value in state.items())
        or any(type(lr) not in (float, int) for key in ("base_lrs", "_last_lr") for lr in state.get(key, []))
    ):
        raise NotPlainData("malformed data (a StepLR)")
    return state


def _encode_step_lr(scheduler: torch.optim.lr_scheduler.StepLR, encode) -> dict:
    # The optimizer is encoded first in a check's arguments, so this is a reference to that very optimizer.
    return {"optimizer": encode(scheduler.optimizer), "state": encode(scheduler.state_dict())}


def _decode_step_lr(data, decode, bind) -> torch.optim.lr_scheduler.StepLR:
    optimizer = decode(data.get("optimizer")) if type(data) is dict else None
    if type(optimizer) is not CountingSGD:
        raise NotPlainData("malformed data (a StepLR's optimizer)")
    state = _step_lr_state(data, decode)
    lrs = [group["lr"] for group in optimizer.param_groups]
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, state["step_size"]), gamma=state["gamma"])
    for group, lr in zip(optimizer.param_groups, lrs, strict=True):  # building a scheduler must not move the rate
        group["lr"] = lr
    scheduler.load_state_dict(state)
    return scheduler


def _restore_step_lr(scheduler: torch.optim.lr_scheduler.StepLR, data, decode) -> None:
    scheduler.load_state_dict(_step_lr_state(data, decode))  # its optimizer is restored as an argument of its own


def _encode_history(history, encode) -> dict:
    names = [f.name for f in fields(history)]
    missing = [name for name in names if name not in vars(history)]
    if missing:
        raise NotPlainData(f"a History without {', '.join(missing)}")
    return {name: encode(vars(history)[name]) for name in names}


def _history_fields(data, decode) -> dict:
    names = [f.name for f in fields(History)]
    if type(data) is not dict or set(data) != set(names):
        raise NotPlainData("malformed data (a History)")
    return {name: decode(data[name]) for name in names}


def _decode_history(data, decode, bind):
    return History(**_history_fields(data, decode))


def _restore_history(history, data, decode) -> None:
    for name, value in _history_fields(data, decode).items():
        setattr(history, name, value)


register_type("StepLR", torch.optim.lr_scheduler.StepLR, _encode_step_lr, _decode_step_lr, _restore_step_lr)
register_type("History", History, _encode_history, _decode_history, _restore_history)
