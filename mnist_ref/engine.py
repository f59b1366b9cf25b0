"""Training and evaluation: ``train`` and ``test`` for one epoch, ``fit`` for many.

``train`` and ``test`` keep the seed's signatures and read like pytorch/examples
``mnist/main.py``; ``fit`` adds the StepLR schedule, a per-epoch history, seeding and
checkpoints that can be resumed on another device.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import statistics
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .device import autocast, grad_scaler, prefers_channels_last, to_device
from .recipes import (  # noqa: F401 (the classic recipe's names are re-exported for the lessons)
    BATCH_SIZE,
    EPOCHS,
    GAMMA,
    LR,
    MOMENTUM,
    STEP_SIZE,
    Recipe,
    classic_optimizer,
    classic_scheduler,
    get_recipe,
)


def seed_everything(seed: int) -> None:
    """Seed Python and torch (CPU and all GPUs): the same seed gives the same run on the CPU."""
    random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def _percent(correct: int, total: int) -> float:
    return 100.0 * correct / max(total, 1)


def train(
    model,
    device,
    train_loader,
    optimizer,
    *,
    scheduler=None,
    label_smoothing: float = 0.0,
    mixed_precision: bool | None = None,
    channels_last: bool | None = None,
    scaler=None,
    progress: bool = True,
    leave: bool = True,
):
    """One epoch of training. Returns ``(train_acc, train_losses)``: accuracy in percent
    over the epoch and the loss of every batch.

    The keyword options serve the fast recipe: ``scheduler`` is stepped after every batch
    (one-cycle), ``label_smoothing`` softens the targets, ``mixed_precision`` and
    ``channels_last`` (default: by device) see ``mnist_ref.device``. ``progress`` shows a tqdm
    bar; ``leave=False`` removes it when done (``fit`` does, under its own bar of epochs).
    """
    model.train()
    # Decided once per epoch, not per batch: the device, the layout, the autocast type (its bf16 probe).
    device = torch.device(device)
    channels_last = prefers_channels_last(device, channels_last)
    mixed = autocast(device, mixed_precision)  # one context, entered again for every batch
    scaler = scaler or grad_scaler(device, mixed_precision)
    train_losses, correct, processed = [], 0, 0
    bar = tqdm(train_loader, desc="train", leave=leave, disable=not progress)
    for data, target in bar:
        data, target = to_device(data, target, device, channels_last)
        optimizer.zero_grad(set_to_none=True)
        with mixed:
            output = model(data)
        if label_smoothing:  # cross_entropy on log-probabilities: log_softmax of them changes nothing
            loss = F.cross_entropy(output.float(), target, label_smoothing=label_smoothing)
        else:
            loss = F.nll_loss(output.float(), target)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        if scheduler is not None:
            scheduler.step()

        train_losses.append(loss.item())
        correct += (output.argmax(dim=1) == target).sum().item()
        processed += len(target)
        bar.set_postfix(loss=f"{train_losses[-1]:.4f}", acc=f"{_percent(correct, processed):.2f}%")
    return _percent(correct, processed), train_losses


def test(
    model,
    device,
    test_loader,
    *,
    mixed_precision: bool | None = None,
    channels_last: bool | None = None,
    progress: bool = True,
    leave: bool = True,
):
    """Evaluate. Returns ``(test_acc, test_losses)``: accuracy in percent and the mean loss of every batch.
    ``progress`` and ``leave`` as in ``train``."""
    model.eval()
    device = torch.device(device)  # decided once, as in train
    channels_last = prefers_channels_last(device, channels_last)
    mixed = autocast(device, mixed_precision)
    test_losses, correct, processed = [], 0, 0
    with torch.inference_mode():
        for data, target in tqdm(test_loader, desc="test", leave=leave, disable=not progress):
            data, target = to_device(data, target, device, channels_last)
            with mixed:
                output = model(data)
            test_losses.append(F.nll_loss(output.float(), target).item())
            correct += (output.argmax(dim=1) == target).sum().item()
            processed += len(target)
    return _percent(correct, processed), test_losses


@dataclass
class History:
    """Per-epoch record of a run; accuracies in percent, losses are batch means."""

    train_acc: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    test_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)  # empty when fit had no validation_loader
    val_loss: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    epoch_seconds: list = field(default_factory=list)

    def append(self, **values) -> None:
        for name, value in values.items():
            getattr(self, name).append(value)

    def append_epoch(self, train_acc, train_losses, test_acc, test_losses, lr, seconds, val=None) -> None:
        """Record one epoch from what ``train`` and ``test`` return (losses averaged over batches);
        ``test_*`` or ``val`` (``(val_acc, val_losses)``) are None when that set was not evaluated."""
        self.append(train_acc=train_acc, train_loss=statistics.fmean(train_losses), lr=lr, epoch_seconds=seconds)
        if test_acc is not None:
            self.append(test_acc=test_acc, test_loss=statistics.fmean(test_losses))
        if val is not None:
            self.append(val_acc=val[0], val_loss=statistics.fmean(val[1]))

    def __len__(self) -> int:
        return len(self.train_acc)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> History:
        return cls(**{f.name: list(values.get(f.name, [])) for f in fields(cls)})


def save_checkpoint(path, model, optimizer, scheduler, epoch: int, history: History, **extra) -> Path:
    """Write model, optimizer, scheduler, epoch and history; atomically, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "epoch": epoch,
        "history": history.to_dict(),
        **extra,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
    return path


def load_checkpoint(path, model, optimizer=None, scheduler=None, map_location="cpu") -> dict:
    """Load a checkpoint into ``model`` (and optimizer / scheduler if given), mapping tensors to
    ``map_location``; returns the checkpoint dict (``epoch``, ``history``, ...)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    state = torch.load(path, map_location=map_location, weights_only=True)
    model.load_state_dict(state["model"])
    if optimizer is not None and state.get("optimizer") is not None:
        optimizer.load_state_dict(state["optimizer"])
    if scheduler is not None and state.get("scheduler") is not None:
        scheduler.load_state_dict(state["scheduler"])
    return state


def epoch_batches(epochs: float, epoch: int, steps_per_epoch: int) -> int:
    """How many batches epoch number ``epoch`` (0-based) of an ``epochs``-long run trains on: all of
    them, except in the last epoch of a run that ends part-way through one (the fast recipe's half epoch)."""
    total = max(1, round(epochs * steps_per_epoch))
    return max(0, min(steps_per_epoch, total - epoch * steps_per_epoch))


def fit(
    model,
    device,
    train_loader,
    test_loader=None,
    epochs: float | None = None,
    *,
    validation_loader=None,
    recipe: Recipe | str = "classic",
    optimizer=None,
    scheduler=None,
    seed: int | None = None,
    checkpoint=None,
    resume: bool = False,
    progress: bool = True,
) -> History:
    """Train for ``epochs`` epochs and return the per-epoch History. The recipe owns the default
    number of epochs; a lesson passes its budget's (see ``mnist_ref.settings``). A fraction ends the
    run part-way through its last epoch (``epochs=0.5``: half the training set, one History row).

    The optimizer and schedule come from ``recipe`` (the classic one by default) unless
    given; a given scheduler is stepped once per epoch. Each epoch reseeds from
    ``seed + epoch``, so a run resumed from a checkpoint takes the same batches as one that
    never stopped. ``checkpoint`` is written after every epoch; with ``resume=True``
    training continues from it when it exists.

    After every epoch the model is evaluated on ``validation_loader`` (``val_acc``, ``val_loss``)
    and on ``test_loader`` (``test_acc``, ``test_loss``), each when given. Choices (epochs,
    learning rates) are made on validation; the test set is for the final report.
    """
    if test_loader is None and validation_loader is None:
        raise ValueError("fit needs something to evaluate on: pass validation_loader= (or test_loader)")
    recipe = get_recipe(recipe)
    epochs = recipe.epochs if epochs is None else epochs
    device = torch.device(device)
    channels_last = prefers_channels_last(device, recipe.channels_last)
    model.to(device, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    optimizer = optimizer or recipe.optimizer(model)
    per_batch = False
    if scheduler is None:
        scheduler, per_batch = recipe.scheduler(optimizer, len(train_loader), epochs)
    history, start = History(), 0
    if resume and checkpoint is not None and Path(checkpoint).is_file():
        state = load_checkpoint(checkpoint, model, optimizer, scheduler, map_location=device)
        history, start = History.from_dict(state["history"]), state["epoch"]
    scaler = grad_scaler(device, recipe.mixed_precision)
    precision = dict(mixed_precision=recipe.mixed_precision, channels_last=channels_last)
    whole = math.ceil(epochs)
    epochs_bar = tqdm(range(start, whole), desc="epochs", initial=start, total=whole, disable=not progress)
    for epoch in epochs_bar:
        if seed is not None:
            seed_everything(seed + epoch)
        began = time.perf_counter()
        lr = optimizer.param_groups[0]["lr"]
        batches = epoch_batches(epochs, epoch, len(train_loader))
        train_acc, train_losses = train(
            model,
            device,
            train_loader if batches == len(train_loader) else itertools.islice(train_loader, batches),
            optimizer,
            scheduler=scheduler if per_batch else None,
            label_smoothing=recipe.label_smoothing,
            scaler=scaler,
            progress=progress,
            leave=False,
            **precision,
        )
        if not per_batch:
            scheduler.step()
        val = test_acc = test_losses = None
        if validation_loader is not None:
            val = test(model, device, validation_loader, progress=progress, leave=False, **precision)
        if test_loader is not None:
            test_acc, test_losses = test(model, device, test_loader, progress=progress, leave=False, **precision)
        history.append_epoch(train_acc, train_losses, test_acc, test_losses, lr, time.perf_counter() - began, val)
        shown = {"val": val and val[0], "test": test_acc}
        epochs_bar.set_postfix(
            train=f"{train_acc:.2f}%", **{k: f"{v:.2f}%" for k, v in shown.items() if v is not None}, lr=f"{lr:g}"
        )
        if checkpoint is not None:
            save_checkpoint(checkpoint, model, optimizer, scheduler, epoch + 1, history)
    return history
