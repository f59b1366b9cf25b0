"""Checks of lesson 04, *The training loop*: ``nll_loss``, ``sgd_momentum_step``, ``train``, ``test``.

The ``train`` and ``test`` checks never touch MNIST: they run the learner's function on a
tiny synthetic loader (a list of a few ``(data, target)`` batches of shape ``(B, 1, 28, 28)``)
with a small model, and compare with ``mnist_ref.engine.train`` / ``test`` started from the
same weights. A spy model records, at every forward pass, whether it was in training mode
and whether autograd was on; a counting optimizer records ``step`` calls.

Decision on the per-batch losses: they must be **Python floats** (``loss.item()``). A list of
tensors, even 0-d ones, is refused with a message saying so: a loss tensor kept from every
batch keeps that batch's computation graph (and its activations) alive for the whole epoch.
"""

from __future__ import annotations

import inspect
import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

from mnist_ref import engine
from mnist_ref.checks import CheckFailed, Exercise, call, expect, expect_close, expect_tensor

CPU = torch.device("cpu")

# --- 1. nll_loss -------------------------------------------------------------------------------


def _log_probs(n: int, classes: int, seed: int):
    g = torch.Generator().manual_seed(seed)
    logits = 2 * torch.randn(n, classes, generator=g)
    targets = torch.randint(0, classes, (n,), generator=g)
    return F.log_softmax(logits, dim=1), targets


def _check_nll_once(answer, n: int, classes: int, seed: int) -> None:
    __tracebackhide__ = True
    log_probs, targets = _log_probs(n, classes, seed)
    given = log_probs.clone()
    out = call(answer, given, targets.clone(), what="nll_loss")
    what = f"nll_loss(log_probs, targets) for {n} samples and {classes} classes"
    expect_tensor(out, what)
    expect(torch.equal(given, log_probs), "nll_loss changed its input log_probs in place; compute a new tensor instead.")
    shape = tuple(out.shape)
    if shape == (n, n) and n > 1:
        raise CheckFailed(f"{what} has shape {shape}: log_probs[:, targets] picks whole columns. "
                          "Pick ONE entry per row with log_probs[torch.arange(N), targets], then average.")
    if shape == (n,) and n > 1:
        raise CheckFailed(f"{what} has shape {shape}: that is the loss of every sample. "
                          "The loss is one number, the MEAN over the batch (.mean()).")
    expect(out.dim() == 0, f"{what} has shape {shape}; expected a single number (a 0-d tensor).")
    expected = F.nll_loss(log_probs, targets)
    value = out.detach().double()
    close = lambda a, b: math.isclose(float(a), float(b), rel_tol=1e-4, abs_tol=1e-5)  # noqa: E731
    if not close(value, expected):
        picked = log_probs[torch.arange(n), targets]
        if close(value, -expected):
            hint = "The sign is flipped: the loss is the NEGATIVE log-probability of the target (it is >= 0)."
        elif close(value, expected * n) and n > 1:
            hint = "That is the SUM over the batch; the loss is the MEAN (divide by N)."
        elif close(value, -log_probs.mean()) or close(value, log_probs.mean()):
            hint = "You averaged over all classes; only the log-probability of each sample's TARGET class counts."
        elif close(value, -picked.exp().mean()):
            hint = "log_probs are already logarithms: do not exponentiate them, just pick and negate."
        else:
            hint = "Expected -mean(log_probs[i, targets[i]]) over the samples i."
        raise CheckFailed(f"{what} is {float(value):.6g}, expected {float(expected):.6g}. {hint}")


def _nll_visible(answer) -> str:
    __tracebackhide__ = True
    _check_nll_once(answer, n=5, classes=10, seed=0)
    return "It matches F.nll_loss."


def _uses_builtin_loss(answer) -> bool:
    try:
        source = inspect.getsource(answer)
    except (OSError, TypeError):
        return False
    body = source.split(":", 1)[-1]  # after the def line: the function is itself called nll_loss
    return any(name in body for name in (".nll_loss(", "cross_entropy(", "NLLLoss", "CrossEntropyLoss"))


def _nll_strict(answer) -> None:
    __tracebackhide__ = True
    for n, classes, seed in ((1, 3, 1), (64, 10, 2), (7, 2, 3)):
        _check_nll_once(answer, n, classes, seed)
    # It must be differentiable: training calls backward() on it.
    log_probs, targets = _log_probs(6, 10, 4)
    mine = log_probs.clone().requires_grad_(True)
    out = call(answer, mine, targets, what="nll_loss")
    expect(isinstance(out, torch.Tensor) and out.requires_grad,
           "nll_loss must stay a tensor connected to log_probs (no .item(), float(...) or torch.tensor(...)): "
           "training calls loss.backward() on it.")
    out.backward()
    ref = log_probs.clone().requires_grad_(True)
    F.nll_loss(ref, targets).backward()
    expect_close(mine.grad, ref.grad, "the gradient of nll_loss with respect to log_probs")
    expect(not _uses_builtin_loss(answer),
           "nll_loss should be written by indexing (log_probs[torch.arange(N), targets]), not by calling PyTorch's loss.")


nll_loss = Exercise(
    "nll_loss",
    _nll_visible,
    "pick each row's target entry with log_probs[torch.arange(len(targets)), targets], negate, and take the mean.",
    strict=_nll_strict,
)


# --- 2. sgd_momentum_step ----------------------------------------------------------------------


def reference_sgd_momentum_step(params, grads, velocities, lr, momentum):
    """PyTorch's form (dampening 0, no Nesterov): v = momentum * v + g (v = g the first time); p = p - lr * v."""
    new_params, new_velocities = [], []
    for p, g, v in zip(params, grads, velocities):
        v = g.clone() if v is None else momentum * v + g
        new_params.append(p - lr * v)
        new_velocities.append(v)
    return new_params, new_velocities


def _sgd_problem(seed: int, steps: int):
    """Two parameters of different shapes (float64) and `steps` sets of gradients for them."""
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(3, 4, generator=g, dtype=torch.float64), torch.randn(5, generator=g, dtype=torch.float64)]
    grads = [[torch.randn(p.shape, generator=g, dtype=torch.float64) for p in params] for _ in range(steps)]
    return params, grads


def _torch_sgd_trace(params, grads, lr, momentum):
    """[(params, velocities)] after every step, as torch.optim.SGD computes them."""
    tensors = [p.clone().requires_grad_(True) for p in params]
    opt = torch.optim.SGD(tensors, lr=lr, momentum=momentum)
    trace = []
    for step_grads in grads:
        for t, g in zip(tensors, step_grads):
            t.grad = g.clone()
        opt.step()
        velocities = [opt.state[t]["momentum_buffer"].clone() if momentum else t.grad.clone() for t in tensors]
        trace.append(([t.detach().clone() for t in tensors], velocities))
    return trace


def _as_pair_of_lists(result, n: int, step: int):
    __tracebackhide__ = True
    expect(isinstance(result, (tuple, list)) and len(result) == 2 and all(isinstance(r, (tuple, list)) for r in result),
           "sgd_momentum_step should return a pair (new_params, new_velocities) of two lists (one tensor per parameter "
           f"in each); step {step} returned a {type(result).__name__}"
           + (f" of {', '.join(type(r).__name__ for r in result)}" if isinstance(result, (tuple, list)) else "") + ".")
    new_params, new_velocities = result
    for name, value in (("new_params", new_params), ("new_velocities", new_velocities)):
        expect(isinstance(value, (tuple, list)) and len(value) == n,
               f"{name} should be a list with one tensor per parameter ({n}); got {type(value).__name__}"
               + (f" of length {len(value)}" if isinstance(value, (tuple, list)) else "") + ".")
        for item in value:
            expect_tensor(item, f"each entry of {name}")
    return list(new_params), list(new_velocities)


def _allclose(a, b) -> bool:
    return all(torch.allclose(x.detach().double(), y.double(), atol=1e-10, rtol=1e-9) for x, y in zip(a, b))


def _check_sgd(answer, seed: int, steps: int, lr: float, momentum: float) -> None:
    __tracebackhide__ = True
    params, grads = _sgd_problem(seed, steps)
    trace = _torch_sgd_trace(params, grads, lr, momentum)
    current, velocities = [p.clone() for p in params], [None] * len(params)
    for step, (step_grads, (want_params, want_velocities)) in enumerate(zip(grads, trace), start=1):
        previous = [p.clone() for p in current]
        old_velocities = [torch.zeros_like(p) if v is None else v.detach().clone() for p, v in zip(current, velocities)]
        result = call(answer, [p.clone() for p in current], [g.clone() for g in step_grads],
                      [None if v is None else v.clone() for v in velocities], lr, momentum, what="sgd_momentum_step")
        current, velocities = _as_pair_of_lists(result, len(params), step)
        for got, want in zip(current, want_params):
            expect(tuple(got.shape) == tuple(want.shape),
                   f"after step {step} a parameter has shape {tuple(got.shape)}; expected {tuple(want.shape)}.")
        where = f"(lr={lr}, momentum={momentum}, step {step})"
        if not _allclose(velocities, want_velocities):
            if step == 1:
                hint = ("At the first step there is no velocity yet (None): PyTorch starts with v = g, the gradient "
                        "itself (the same as v = momentum * 0 + g).")
            else:
                hint = "The velocity is v = momentum * v + g: the old velocity times momentum, plus the new gradient."
            if lr not in (0, 1) and _allclose(velocities, [lr * v for v in want_velocities]):
                hint = ("Your velocity is lr times PyTorch's: in PyTorch's form the velocity collects raw gradients, "
                        "v = momentum * v + g, and lr only multiplies it in the parameter update p = p - lr * v.")
            raise CheckFailed(f"the velocities after the step differ from torch.optim.SGD's momentum buffers {where}. {hint}")
        if not _allclose(current, want_params):
            up = [2 * p - w for p, w in zip(previous, want_params)]  # p + lr * v instead of p - lr * v
            late = [p - lr * v for p, v in zip(previous, old_velocities)]
            if _allclose(current, up):
                hint = "The parameters moved UP the gradient: the update is p = p - lr * v."
            elif _allclose(current, late):
                hint = "You moved the parameters with the OLD velocity: first update v = momentum * v + g, then p = p - lr * v."
            else:
                hint = "After updating the velocity, move each parameter by p = p - lr * v."
            raise CheckFailed(f"the parameters after the step differ from torch.optim.SGD's {where}. {hint}")


def _sgd_visible(answer) -> str:
    __tracebackhide__ = True
    _check_sgd(answer, seed=0, steps=3, lr=0.05, momentum=0.9)
    return "Three steps match torch.optim.SGD(lr=0.05, momentum=0.9), parameters and velocities."


def _sgd_strict(answer) -> None:
    __tracebackhide__ = True
    _check_sgd(answer, seed=1, steps=5, lr=0.01, momentum=0.9)
    _check_sgd(answer, seed=2, steps=3, lr=0.5, momentum=0.0)  # plain SGD: v = g
    _check_sgd(answer, seed=3, steps=4, lr=0.03, momentum=0.5)


sgd_momentum_step = Exercise(
    "sgd_momentum_step",
    _sgd_visible,
    "for each (p, g, v): v = g.clone() if v is None else momentum * v + g; then p = p - lr * v. Return both lists.",
    strict=_sgd_strict,
)


# --- tiny synthetic data and spy models for train / test ---------------------------------------


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
    torch.manual_seed(seed)
    return {"linear": SpyNet, "conv": SpyConvNet}[kind]()


PRETRAIN = (8, 8, 8, 8)  # batches a test-check model trains on before it is evaluated
TEST_NOISE = 1.5


def trained_model_and_test_batches(kind: str, seed: int, sizes) -> tuple[SpyNet, list]:
    """A model after a few deterministic training steps, and fresh batches of the same classes to
    evaluate it on: its accuracy there is neither 0 nor 100 %, so every mistake shows."""
    batches = synthetic_batches(seed, PRETRAIN + tuple(sizes), noise=TEST_NOISE)
    model = make_model(kind, seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    engine.train(model, CPU, batches[: len(PRETRAIN)], optimizer, progress=False)
    model.calls.clear()
    for p in model.parameters():
        p.grad = None
    return model, batches[len(PRETRAIN) :]


def _weights(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _same_weights(a: dict, b: dict, atol: float = 1e-5) -> bool:
    return all(torch.allclose(a[k], b[k], atol=atol, rtol=1e-4) for k in a)


def _train_without_zero_grad(model, loader, optimizer) -> None:
    """The classic bug: gradients of all earlier batches pile up in .grad."""
    model.train()
    for data, target in loader:
        F.nll_loss(model(data), target).backward()
        optimizer.step()


def _expect_float_losses(losses, n_batches: int, who: str) -> None:
    __tracebackhide__ = True
    name = f"{who}_losses"
    if isinstance(losses, (numbers.Number, torch.Tensor)) and not (isinstance(losses, torch.Tensor) and losses.dim() == 1):
        raise CheckFailed(f"{name} should be a list with the loss of EVERY batch ({n_batches} here), "
                          "not a single number: append each batch's loss to a list.")
    expect(isinstance(losses, (list, tuple)),
           f"{name} should be a list of Python floats (one per batch); got {type(losses).__name__}.")
    expect(len(losses) == n_batches,
           f"{name} has {len(losses)} entries for a loader of {n_batches} batches: append exactly one loss per batch.")
    for value in losses:
        if isinstance(value, torch.Tensor):
            raise CheckFailed(f"{name} holds torch.Tensor values; store Python floats with loss.item(). "
                              "(This course asks for floats: a loss tensor kept from every batch also keeps that "
                              "batch's computation graph in memory for the whole epoch.)")
        expect(isinstance(value, numbers.Real), f"{name} should hold Python floats (loss.item()); found a {type(value).__name__}.")


def _expect_percent(acc, expected: float, who: str, hint: str) -> None:
    __tracebackhide__ = True
    name = f"{who}_acc"
    if isinstance(acc, torch.Tensor) and acc.dim() == 0:
        acc = acc.item()
    expect(isinstance(acc, numbers.Real), f"{name} should be a number (a percentage); got {type(acc).__name__}.")
    if expected > 1 and math.isclose(acc, expected / 100, rel_tol=1e-6, abs_tol=1e-9):
        raise CheckFailed(f"{name} is {acc:.4g}: that is a fraction. Report accuracy in PERCENT: 100 * correct / total.")
    if not math.isclose(acc, expected, rel_tol=1e-6, abs_tol=1e-6):
        raise CheckFailed(f"{name} is {acc:.4g}%, expected {expected:.4g}%. {hint}")


def _expect_result_pair(result, who: str):
    __tracebackhide__ = True
    expect(isinstance(result, (tuple, list)) and len(result) == 2,
           f"{who} should return a pair ({who}_acc, {who}_losses); got {type(result).__name__}"
           + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "") + ".")
    return result


# --- 3. train ----------------------------------------------------------------------------------


def _check_train(answer, kind: str = "linear", seed: int = 0, lr: float = 0.05, momentum: float = 0.9, sizes=(8, 8, 5)) -> None:
    __tracebackhide__ = True
    loader = synthetic_batches(seed, sizes)
    n = len(loader)

    def fresh():
        model = make_model(kind, seed)
        model.eval()  # start in eval mode: train() must switch it to training mode itself
        return model, CountingSGD(model.parameters(), lr=lr, momentum=momentum)

    ref_model, ref_opt = fresh()
    ref_acc, ref_losses = engine.train(ref_model, CPU, loader, ref_opt, progress=False)
    ref_weights = _weights(ref_model)

    model, opt = fresh()
    start = _weights(model)
    acc, losses = _expect_result_pair(call(answer, model, CPU, loader, opt, what="train"), "train")

    expect(model.calls, "train never called the model: run every batch through model(data).")
    expect(all(training for training, _ in model.calls),
           "the model was in evaluation mode while training: call model.train() at the start of train "
           "(the previous test() left it in eval mode; dropout and batch-norm layers behave differently in the two modes).")
    expect(all(grad for _, grad in model.calls), "the forward pass ran without autograd (no_grad/inference_mode): "
           "training needs gradients, keep torch.no_grad() for test().")
    expect(opt.steps == n, f"optimizer.step() was called {opt.steps} time(s) for {n} batches: call it once per batch.")
    _expect_float_losses(losses, n, "train")

    weights = _weights(model)
    if not _same_weights(weights, ref_weights):
        bug_model, bug_opt = fresh()
        _train_without_zero_grad(bug_model, loader, bug_opt)
        if _same_weights(weights, _weights(bug_model)):
            raise CheckFailed("the weights after train differ from the reference: the gradients ACCUMULATED over the batches. "
                              "Call optimizer.zero_grad() in every batch, before loss.backward().")
        if _same_weights(weights, start, atol=0):
            raise CheckFailed("the weights did not change: compute the loss, call loss.backward() (after zero_grad, "
                              "not between backward and step), then optimizer.step().")
        raise CheckFailed("the weights after train differ from mnist_ref.train started from the same weights: each batch "
                          "is zero_grad -> output = model(data) -> loss = F.nll_loss(output, target) -> loss.backward() -> optimizer.step().")
    for i, (got, want) in enumerate(zip(losses, ref_losses)):
        expect(math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-5),
               f"train_losses[{i}] is {got:.6g}, expected {want:.6g}: record each batch's F.nll_loss(output, target).item(), "
               "computed on that batch before the step.")
    _expect_percent(acc, ref_acc, "train", "Count output.argmax(dim=1) == target over the epoch and divide by the number of "
                    "images seen (the last batch is smaller: do not assume batch_size * number of batches).")


def _train_visible(answer) -> str:
    __tracebackhide__ = True
    _check_train(answer)
    return "Same weights, losses and accuracy as mnist_ref.train on a tiny synthetic loader."


def _train_strict(answer) -> None:
    __tracebackhide__ = True
    _check_train(answer, kind="conv", seed=1, lr=0.02, momentum=0.9, sizes=(6, 6, 6, 3))
    _check_train(answer, kind="linear", seed=2, lr=0.1, momentum=0.5, sizes=(4,))


train = Exercise(
    "train",
    _train_visible,
    "model.train(); then for every batch: move data and target to device, optimizer.zero_grad(), output = model(data), "
    "loss = F.nll_loss(output, target), loss.backward(), optimizer.step(); append loss.item() and count correct predictions.",
    strict=_train_strict,
)


# --- 4. test -----------------------------------------------------------------------------------


def _check_test(answer, kind: str = "linear", seed: int = 3, sizes=(8, 8, 5)) -> None:
    __tracebackhide__ = True
    ref_model, loader = trained_model_and_test_batches(kind, seed, sizes)
    n = len(loader)
    ref_acc, ref_losses = engine.test(ref_model, CPU, loader, progress=False)

    model, _ = trained_model_and_test_batches(kind, seed, sizes)
    model.train()  # start in training mode: test() must switch to evaluation mode itself
    start = _weights(model)
    acc, losses = _expect_result_pair(call(answer, model, CPU, loader, what="test"), "test")

    expect(model.calls, "test never called the model: run every batch through model(data).")
    expect(all(p.grad is None for p in model.parameters()),
           "test() computed gradients (the parameters have .grad): evaluation must not call loss.backward(); "
           "wrap the loop in torch.no_grad() (or torch.inference_mode()).")
    expect(_same_weights(_weights(model), start, atol=0),
           "test() changed the weights: evaluation only measures the model, it must never update it.")
    expect(not any(training for training, _ in model.calls),
           "the model was in training mode during test: call model.eval() at the start of test "
           "(dropout would drop units and batch-norm would use batch statistics).")
    expect(not any(grad for _, grad in model.calls),
           "the test loop ran with autograd on: wrap it in `with torch.no_grad():` (or torch.inference_mode()) — "
           "no graph is needed, which saves memory and time. (model.eval() alone does not switch autograd off.)")
    _expect_float_losses(losses, n, "test")
    for i, (got, want) in enumerate(zip(losses, ref_losses)):
        if not math.isclose(got, want, rel_tol=1e-4, abs_tol=1e-5):
            hint = ("that is the SUM over the batch: use the mean loss of the batch (F.nll_loss's default reduction)."
                    if math.isclose(got, want * len(loader[i][1]), rel_tol=1e-4) else "record F.nll_loss(output, target).item() for every batch.")
            raise CheckFailed(f"test_losses[{i}] is {got:.6g}, expected {want:.6g}: {hint}")
    _expect_percent(acc, ref_acc, "test", "Count output.argmax(dim=1) == target over all batches and divide by the "
                    "number of images (the last batch is smaller).")


def _test_visible(answer) -> str:
    __tracebackhide__ = True
    _check_test(answer)
    return "Same accuracy and losses as mnist_ref.test; no weights changed, no gradients."


def _test_strict(answer) -> None:
    __tracebackhide__ = True
    _check_test(answer, kind="conv", seed=4, sizes=(5, 5, 2))
    _check_test(answer, kind="linear", seed=5, sizes=(16,))


test = Exercise(
    "test",
    _test_visible,
    "model.eval(); with torch.no_grad(): for every batch compute output = model(data), append "
    "F.nll_loss(output, target).item() and count output.argmax(dim=1) == target; return (100 * correct / total, losses).",
    strict=_test_strict,
)
