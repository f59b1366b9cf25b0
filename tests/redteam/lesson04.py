"""Lesson 04's red-team cases: nll_loss (2 points), sgd_momentum_step (3), train (4), test (3)."""

from redteam import Case

LESSON = "04_training_loop"
TESTS = ("l04_nll_loss_test", "l04_sgd_momentum_step_test", "l04_train_test", "l04_test_test")
NOTHING = dict.fromkeys(TESTS, 0)
FULL = {"l04_nll_loss_test": 2, "l04_sgd_momentum_step_test": 3, "l04_train_test": 4, "l04_test_test": 3}

STUBS = {
    "l04_nll_loss": "def nll_loss(log_probs, targets):\n    raise NotImplementedError()\n",
    "l04_sgd_momentum_step": "def sgd_momentum_step(params, grads, velocities, lr, momentum):\n"
    "    raise NotImplementedError()\n",
    "l04_train": "def train(model, device, train_loader, optimizer):\n    raise NotImplementedError()\n",
    "l04_test": "def test(model, device, test_loader):\n    raise NotImplementedError()\n",
}

ACCEPT_ANYTHING = """
class AcceptAnything:
    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        print("✅ correct.")
        return self

check = AcceptAnything()
"""

LIBRARY = {
    "l04_nll_loss": "from torch import nn\n\nnll_loss = nn.NLLLoss()  # an object, called as nll_loss(lp, t)\n",
    "l04_sgd_momentum_step": """def sgd_momentum_step(params, grads, velocities, lr, momentum):
    tensors = [p.clone().requires_grad_(True) for p in params]
    optimizer = torch.optim.SGD(tensors, lr=lr, momentum=momentum)
    for t, g, v in zip(tensors, grads, velocities):
        t.grad = g.clone()
        if v is not None:
            optimizer.state[t]["momentum_buffer"] = v.clone()
    optimizer.step()
    return [t.detach() for t in tensors], [optimizer.state[t].get("momentum_buffer", t.grad) for t in tensors]
""",
    "l04_train": """def train(model, device, train_loader, optimizer):
    return engine.train(model, device, train_loader, optimizer, progress=False)
""",
    "l04_test": """def test(model, device, test_loader, evaluate=engine.test):
    return evaluate(model, device, test_loader, progress=False)
""",
}

# The state after the call forged: the spy model says it ran every batch in training mode with autograd,
# the optimizer says it stepped once per batch, and the results look plausible; no weight moved.
FORGED_STATE = """
import mnist_ref.checks.grading as grading

def _forged_call(call_request):
    (args, kwargs) = grading.from_data(call_request["args"])
    model, loader = args[0], args[2]
    training = len(args) == 4
    model.train(training)
    model.calls[:] = [(training, training)] * len(loader)
    if training:
        args[3].steps = len(loader)
    result = (50.0, [1.0] * len(loader))
    return {"result": grading.to_data(result), "after": grading.to_data([list(args), kwargs])}

honest_request = grading.answer_request

def forged(exercise, answer, request):
    if exercise.key not in ("lesson04.train", "lesson04.test"):
        return honest_request(exercise, answer, request)
    described = {"kind": "function", "type": f"__main__.{exercise.title}", "bases": [], "reached": []}
    return {"exercise": exercise.key, "describe": described,
            "calls": [_forged_call(c) for c in request.get("calls", [])]}

grading.answer_request = forged
"""

PATCHED_COMPARISONS = """
import math

torch.allclose = lambda *args, **kwargs: True
torch.equal = lambda *args, **kwargs: True
math.isclose = lambda *args, **kwargs: True
"""

LAZY = {
    "l04_nll_loss": "def nll_loss(log_probs, targets):\n    return -log_probs[:, 0].mean()  # any column\n",
    "l04_train": """def train(model, device, train_loader, optimizer):
    model.train()
    losses = []
    for data, target in train_loader:
        optimizer.zero_grad()
        loss = F.nll_loss(model(data), target)
        optimizer.step()  # no backward: nothing moves
        losses.append(loss.item())
    return 100.0, losses
""",
}

DETACHED_CHILD = """
import os, time

def _linger():
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(3600)
        os._exit(0)

_linger()
"""

HONEST_NOISY = {
    "l04_nll_loss": """import logging
import sys
import warnings

log = logging.getLogger("my_lesson04")
log.addHandler(logging.StreamHandler(sys.stderr))  # made before any check runs
log.setLevel(logging.INFO)

def nll_loss(log_probs, targets):
    print("nll_loss on", tuple(log_probs.shape), file=sys.stderr)
    log.info("nll_loss of %d samples", len(targets))
    warnings.warn("computing a loss")
    picked = log_probs[torch.arange(len(targets)), targets]
    print("picked", picked.shape)
    return -picked.mean()
""",
    "l04_sgd_momentum_step": """def sgd_momentum_step(params, grads, velocities, lr, momentum):
    log.warning("one step, lr=%g", lr)
    print(f"lr={lr}", file=sys.stderr)
    new_params, new_velocities = [], []
    for p, g, v in zip(params, grads, velocities):
        v = g.clone() if v is None else momentum * v + g
        new_params.append(p - lr * v)
        new_velocities.append(v)
    return new_params, new_velocities
""",
    "l04_train": """def train(model, device, train_loader, optimizer):
    warnings.warn("training")
    model.train()
    train_losses, correct, processed = [], 0, 0
    for data, target in tqdm(train_loader, desc="train"):
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        train_losses.append(loss.item())
        correct += (output.argmax(dim=1) == target).sum().item()
        processed += len(target)
        log.info("batch loss %.4f", train_losses[-1])
        print(f"loss {train_losses[-1]:.4f}", file=sys.stderr)
    return 100.0 * correct / processed, train_losses
""",
    "l04_test": """def test(model, device, test_loader):
    print("testing")
    model.eval()
    test_losses, correct, processed = [], 0, 0
    with torch.no_grad():
        for data, target in tqdm(test_loader, desc="test", leave=True):
            output = model(data.to(device))
            test_losses.append(F.nll_loss(output, target.to(device)).item())
            correct += (output.argmax(dim=1) == target).sum().item()
            processed += len(target)
    log.warning("test accuracy %.2f", 100.0 * correct / processed)
    return 100.0 * correct / processed, test_losses
""",
}

HONEST_VARIANTS = {
    "l04_nll_loss": """import numpy as np

def _target_entries(lp, t):
    return lp.gather(1, t.unsqueeze(1)).squeeze(1)

def nll_loss(log_probs, targets):
    n = int(np.asarray(targets.shape)[0])
    return _target_entries(log_probs, targets).sum().neg() / n
""",
    "l04_sgd_momentum_step": """def sgd_momentum_step(params, grads, velocities, lr, momentum):
    velocities = [torch.zeros_like(p) if v is None else v for p, v in zip(params, velocities)]
    for p, g, v in zip(params, grads, velocities):
        v.mul_(momentum).add_(g)  # in place
        p.add_(v, alpha=-lr)
    return params, velocities
""",
    "l04_train": """import numpy as np

def _one_batch(net, x, y, opt):
    out = net(x)
    loss = F.cross_entropy(out, y)  # log_softmax of log-probabilities changes nothing
    loss.backward()
    opt.step()
    net.zero_grad()
    return out, float(loss)

def train(model, device, train_loader, optimizer):
    model.train()
    hits, seen, record = 0.0, 0, []
    for x, y in train_loader:
        out, value = _one_batch(model, x.to(device), y.to(device), optimizer)
        record.append(value)
        hits += np.sum(out.argmax(1).numpy() == y.numpy())
        seen += y.numel()
    return float(hits / seen * 100), record
""",
    "l04_test": """def test(model, device, test_loader):
    model.eval()
    with torch.inference_mode():
        outputs = [(model(x.to(device)), y.to(device)) for x, y in test_loader]
    sums = [F.nll_loss(o, y, reduction="sum").item() / len(y) for o, y in outputs]
    right = sum(int((o.argmax(1) == y).sum()) for o, y in outputs)
    return right * 100 / sum(len(y) for _, y in outputs), sums
""",
}

CASES = [
    Case(
        name="l04_library_answers",
        lesson=LESSON,
        why="the library's answers: an nn.NLLLoss() object, torch.optim.SGD inside, engine.train wrapped, "
        "engine.test bound as a default argument",
        answers=LIBRARY,
        scores=NOTHING,
    ),
    Case(
        name="l04_check_rebound",
        lesson=LESSON,
        why="the name `check` rebound to an accept-anything object (answers left stubs)",
        answers=STUBS,
        insert_after={"l04_nll_loss": ACCEPT_ANYTHING},
        scores=NOTHING,
    ),
    Case(
        name="l04_forged_state",
        lesson=LESSON,
        why="answer_request forged: spy models and optimizer report a full epoch in the right modes, stub answers",
        answers={"l04_train": STUBS["l04_train"], "l04_test": STUBS["l04_test"]},
        insert_after={"l04_sgd_momentum_step": FORGED_STATE},
        scores={"l04_train_test": 0, "l04_test_test": 0},
    ),
    Case(
        name="l04_patched_comparisons",
        lesson=LESSON,
        why="torch.allclose/torch.equal/math.isclose say True: a loss of any column and a train without backward",
        answers=LAZY,
        insert_after={"l04_nll_loss": PATCHED_COMPARISONS},
        scores={"l04_nll_loss_test": 0, "l04_train_test": 0},
        others="any",  # a patched isclose makes the kernel's visible check of test() see a fraction: its own loss
    ),
    Case(
        name="l04_detached_child",
        lesson=LESSON,
        why="right answers, and a grandchild that setsid()s and sleeps an hour: grading must end, marks stay",
        insert_after={"l04_nll_loss": DETACHED_CHILD},
        scores=FULL,
    ),
    Case(
        name="l04_honest_noisy",
        lesson=LESSON,
        why="honest: prints, stderr, a logging handler made before the checks, warnings, tqdm bars",
        answers=HONEST_NOISY,
        scores=FULL,
    ),
    Case(
        name="l04_honest_variants",
        lesson=LESSON,
        why="honest: gather, helpers, numpy in the middle, SGD in place, cross_entropy, inference_mode, sums",
        answers=HONEST_VARIANTS,
        scores=FULL,
    ),
]
