"""The lesson 04 checks against right answers and the typical wrong ones."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.optim.sgd import sgd as torch_sgd

from check_helpers import fails, not_attempted, question_explains
from mnist_course.checks import grade_in_process
from mnist_course.checks.lesson04 import reference_sgd_momentum_step, reference_test, reference_train
from mnist_ref import engine
from mnist_ref.checks import CheckFailed, NotAttempted
from mnist_ref.checks import lesson04 as check

# --- nll_loss ----------------------------------------------------------------------------------


def nll_right(log_probs, targets):
    return -log_probs[torch.arange(len(targets)), targets].mean()


def nll_gather(log_probs, targets):  # another correct way
    return -log_probs.gather(1, targets[:, None]).squeeze(1).sum() / len(targets)


def nll_builtin(log_probs, targets):
    return F.nll_loss(log_probs, targets)


@pytest.mark.parametrize("answer", [nll_right, nll_gather])
def test_nll_loss_accepts_right_answers(answer):
    check.nll_loss(answer)
    check.nll_loss.hidden(answer)


@pytest.mark.parametrize(
    "answer, message",
    [
        (lambda lp, t: log_probs_item(lp, t), "stay a tensor"),
        (lambda lp, t: lp[torch.arange(len(t)), t].mean(), "sign is flipped"),
        (lambda lp, t: -lp[torch.arange(len(t)), t].sum(), "SUM over the batch"),
        (lambda lp, t: -lp[:, t].mean() if len(t) == 1 else -lp[:, t], "whole columns"),
        (lambda lp, t: -lp[torch.arange(len(t)), t], "loss of every sample"),
        (lambda lp, t: -lp.mean(), "all classes"),
        (lambda lp, t: -lp[torch.arange(len(t)), t].exp().mean(), "do not exponentiate"),
        (nll_builtin, "by indexing"),
    ],
)
def test_nll_loss_explains_wrong_answers(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check.nll_loss.hidden(answer)


def log_probs_item(log_probs, targets):
    return torch.tensor(-log_probs[torch.arange(len(targets)), targets].mean().item())


def nll_torch_tensor_requires_grad(log_probs, targets):  # a number re-wrapped: backward reaches nothing
    value = -log_probs[torch.arange(len(targets)), targets].mean().item()
    return torch.tensor(value, requires_grad=True)


def test_nll_loss_must_stay_connected_to_its_input():
    check.nll_loss(nll_torch_tensor_requires_grad)  # the visible check looks at the value only
    fails(check.nll_loss, nll_torch_tensor_requires_grad, "connected to log_probs", hidden=True)


def test_nll_loss_in_place_change_is_refused():
    def in_place(log_probs, targets):
        log_probs.neg_()
        return log_probs[torch.arange(len(targets)), targets].mean()

    with pytest.raises(CheckFailed, match="in place"):
        check.nll_loss(in_place)
    with pytest.raises(CheckFailed, match="in place"):
        check.nll_loss.hidden(in_place)


def test_nll_loss_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.nll_loss(not_attempted)
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.nll_loss.hidden(not_attempted)


# --- sgd_momentum_step -------------------------------------------------------------------------


def sgd_right(params, grads, velocities, lr, momentum):
    new_p, new_v = [], []
    for p, g, v in zip(params, grads, velocities):
        v = g.clone() if v is None else momentum * v + g
        new_p.append(p - lr * v)
        new_v.append(v)
    return new_p, new_v


def sgd_in_place_zeros(params, grads, velocities, lr, momentum):  # also right: zeros at the start, in place
    velocities = [torch.zeros_like(p) if v is None else v for p, v in zip(params, velocities)]
    for p, g, v in zip(params, grads, velocities):
        v.mul_(momentum).add_(g)
        p.sub_(lr * v)
    return params, velocities


def sgd_lr_in_velocity(params, grads, velocities, lr, momentum):
    velocities = [torch.zeros_like(p) if v is None else v for p, v in zip(params, velocities)]
    new_v = [momentum * v + lr * g for v, g in zip(velocities, grads)]
    return [p - v for p, v in zip(params, new_v)], new_v


def sgd_wrong_order(params, grads, velocities, lr, momentum):
    velocities = [torch.zeros_like(p) if v is None else v for p, v in zip(params, velocities)]
    new_p = [p - lr * v for p, v in zip(params, velocities)]
    return new_p, [momentum * v + g for v, g in zip(velocities, grads)]


def sgd_dampened(params, grads, velocities, lr, momentum):
    velocities = [torch.zeros_like(p) if v is None else v for p, v in zip(params, velocities)]
    new_v = [momentum * v + (1 - momentum) * g for v, g in zip(velocities, grads)]
    return [p - lr * v for p, v in zip(params, new_v)], new_v


def sgd_uphill(params, grads, velocities, lr, momentum):
    new_p, new_v = sgd_right(params, grads, velocities, lr, momentum)
    return [2 * p - q for p, q in zip(params, new_p)], new_v


def sgd_momentum_on_gradient(params, grads, velocities, lr, momentum):
    velocities = [torch.zeros_like(p) if v is None else v for p, v in zip(params, velocities)]
    new_v = [v + momentum * g for v, g in zip(velocities, grads)]
    return [p - lr * v for p, v in zip(params, new_v)], new_v


def sgd_params_only(params, grads, velocities, lr, momentum):
    return sgd_right(params, grads, velocities, lr, momentum)[0]


@pytest.mark.parametrize("answer", [sgd_right, sgd_in_place_zeros])
def test_sgd_accepts_right_answers(answer):
    check.sgd_momentum_step(answer)
    check.sgd_momentum_step.hidden(answer)


@pytest.mark.parametrize(
    "answer, message",
    [
        (sgd_lr_in_velocity, "lr times PyTorch's"),
        (sgd_wrong_order, "OLD velocity"),
        (sgd_dampened, "first step"),
        (sgd_uphill, "UP the gradient"),
        (sgd_momentum_on_gradient, "first step"),
        (sgd_params_only, "two lists"),
    ],
)
def test_sgd_explains_wrong_answers(answer, message):
    with pytest.raises(CheckFailed, match=message):
        check.sgd_momentum_step(answer)
    with pytest.raises(CheckFailed, match=message):
        check.sgd_momentum_step.hidden(answer)


def test_sgd_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.sgd_momentum_step(not_attempted)


def test_reference_sgd_matches_torch():
    check.sgd_momentum_step.hidden(reference_sgd_momentum_step)


# --- train -------------------------------------------------------------------------------------


def train_right(model, device, train_loader, optimizer):
    model.train()
    correct, processed, losses = 0, 0, []
    for data, target in train_loader:
        data, target = data.to(device), target.to(device)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        correct += (output.argmax(dim=1) == target).sum().item()
        processed += len(target)
    return 100 * correct / processed, losses


def train_zero_grad_after_step(model, device, train_loader, optimizer):  # also right
    model.train()
    correct, total, losses = 0, 0, []
    for data, target in train_loader:
        output = model(data.to(device))
        loss = F.cross_entropy(output, target.to(device))  # log_softmax of log-probabilities changes nothing
        loss.backward()
        optimizer.step()
        model.zero_grad()
        losses.append(float(loss))
        correct += output.argmax(1).eq(target).sum().item()
        total += target.numel()
    return 100.0 * correct / total, losses


def train_variant(**bugs):
    def answer(model, device, train_loader, optimizer):
        if not bugs.get("no_train_mode"):
            model.train()
        correct, processed, losses = 0, 0, []
        for data, target in train_loader:
            if not bugs.get("no_zero_grad"):
                optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            if not bugs.get("no_backward"):
                loss.backward()
            if bugs.get("zero_grad_before_step"):
                optimizer.zero_grad()
            optimizer.step()
            losses.append(
                loss if bugs.get("tensor_losses") else loss.detach() if bugs.get("detached_losses") else loss.item()
            )
            correct += (output.argmax(dim=1) == target).sum().item()
            processed += len(target)
        if bugs.get("mean_loss"):
            losses = sum(losses) / len(losses)
        if bugs.get("batch_count_total"):
            processed = len(train_loader) * len(train_loader[0][1])
        return (correct / processed if bugs.get("fraction") else 100 * correct / processed), losses

    return answer


@pytest.mark.parametrize("answer", [train_right, train_zero_grad_after_step])
def test_train_accepts_right_answers(answer):
    check.train(answer)
    check.train.hidden(answer)


@pytest.mark.parametrize(
    "bug, message",
    [
        ("no_zero_grad", "ACCUMULATED"),
        ("no_train_mode", "model.train\\(\\)"),
        ("no_backward", "did not change"),
        ("zero_grad_before_step", "did not change"),
        ("tensor_losses", "torch.Tensor values; store Python floats"),
        ("detached_losses", "torch.Tensor values; store Python floats"),
        ("mean_loss", "not a single number"),
        ("fraction", "PERCENT"),
        ("batch_count_total", "last batch is smaller"),
    ],
)
def test_train_explains_wrong_answers(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check.train(train_variant(**{bug: True}))
    with pytest.raises(CheckFailed, match=message):
        check.train.hidden(train_variant(**{bug: True}))


def test_train_checks_write_no_warnings(recwarn):
    # nbgrader fails a test cell that writes to stderr: float(loss) warns, and is still right
    check.train.hidden(train_zero_grad_after_step)
    assert len(recwarn) == 0


def test_train_needs_one_step_per_batch():
    def two_steps(model, device, loader, optimizer):
        acc, losses = train_right(model, device, loader, optimizer)
        optimizer.step()
        return acc, losses

    with pytest.raises(CheckFailed, match="once per batch"):
        check.train(two_steps)
    with pytest.raises(CheckFailed, match="once per batch"):
        check.train.hidden(two_steps)


def test_train_under_no_grad_is_refused():
    def no_grad(model, device, loader, optimizer):
        with torch.no_grad():
            model.train()
            for data, _target in loader:
                model(data)
        return 0.0, []

    with pytest.raises(CheckFailed, match="without autograd"):
        check.train(no_grad)
    with pytest.raises(CheckFailed, match="without autograd"):
        check.train.hidden(no_grad)


def test_train_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.train(not_attempted)


def test_train_wrong_return_shape():
    with pytest.raises(CheckFailed, match="pair"):
        check.train(lambda m, d, loader, o: train_right(m, d, loader, o)[0])


def test_synthetic_batches_are_learnable_and_shaped():
    batches = check.synthetic_batches(0)
    assert [tuple(d.shape) for d, _ in batches] == [(8, 1, 28, 28), (8, 1, 28, 28), (5, 1, 28, 28)]
    model = check.make_model("linear", 0)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    acc, _ = engine.train(model, torch.device("cpu"), batches, opt, progress=False)
    assert acc > 1  # percent and fraction are told apart


# --- test --------------------------------------------------------------------------------------


def evaluate_right(model, device, test_loader):
    model.eval()
    correct, total, losses = 0, 0, []
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data.to(device))
            losses.append(F.nll_loss(output, target.to(device)).item())
            correct += (output.argmax(dim=1) == target).sum().item()
            total += len(target)
    return 100 * correct / total, losses


def evaluate_inference_mode(model, device, test_loader):  # also right
    model.eval()
    with torch.inference_mode():
        outs = [(model(d), t) for d, t in test_loader]
    correct = sum((o.argmax(1) == t).sum().item() for o, t in outs)
    return 100.0 * correct / sum(len(t) for _, t in outs), [F.nll_loss(o, t).item() for o, t in outs]


def evaluate_variant(**bugs):
    def answer(model, device, test_loader):
        if not bugs.get("no_eval"):
            model.eval()
        correct, total, losses = 0, 0, []
        context = torch.enable_grad() if bugs.get("no_no_grad") or bugs.get("backward") else torch.no_grad()
        with context:
            for data, target in test_loader:
                output = model(data)
                loss = F.nll_loss(output, target, reduction="sum" if bugs.get("sum") else "mean")
                if bugs.get("backward"):
                    loss.backward()
                if bugs.get("changes_weights"):
                    with torch.no_grad():
                        for p in model.parameters():
                            p.mul_(0.9)
                losses.append(loss.item())
                correct += (output.argmax(dim=1) == target).sum().item()
                total += len(target)
        return (correct / total if bugs.get("fraction") else 100 * correct / total), losses

    return answer


@pytest.mark.parametrize("answer", [evaluate_right, evaluate_inference_mode])
def test_test_accepts_right_answers(answer):
    check.test(answer)
    check.test.hidden(answer)


@pytest.mark.parametrize(
    "bug, message",
    [
        ("no_eval", "model.eval\\(\\)"),
        ("no_no_grad", "autograd on"),
        ("backward", "computed gradients"),
        ("changes_weights", "changed the weights"),
        ("sum", "SUM over the batch"),
        ("fraction", "PERCENT"),
    ],
)
def test_test_explains_wrong_answers(bug, message):
    with pytest.raises(CheckFailed, match=message):
        check.test(evaluate_variant(**{bug: True}))
    with pytest.raises(CheckFailed, match=message):
        check.test.hidden(evaluate_variant(**{bug: True}))


def test_test_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.test(not_attempted)


# --- graded: right answers written other ways, exact types, the library refused ------------------


def nll_numpy_middle(log_probs, targets):  # numpy picks the rows; torch keeps the graph
    rows = torch.from_numpy(np.arange(len(targets)))
    return log_probs[rows, targets].sum().neg() / len(targets)


def sgd_fused_in_place(params, grads, velocities, lr, momentum):  # add(..., alpha=-lr): another rounding
    new_v = []
    for p, g, v in zip(params, grads, velocities):
        v = g.clone() if v is None else v.mul_(momentum).add_(g)
        p.add_(v, alpha=-lr)
        new_v.append(v)
    return tuple(params), new_v


def train_noisy(model, device, train_loader, optimizer):  # prints, stderr, a progress bar, float sums
    import sys

    from tqdm.auto import tqdm

    print("training...")
    print("to stderr", file=sys.stderr)
    model.train()
    losses, hits, seen = [], 0.0, 0
    for data, target in tqdm(train_loader, desc="train"):
        optimizer.zero_grad(set_to_none=False)
        output = model(data.to(device))
        loss = F.nll_loss(output, target.to(device), reduction="sum") / len(target)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
        hits += float((output.argmax(1) == target).float().sum())
        seen += len(target)
    return float(np.float64(hits) / seen * 100), losses


def evaluate_summed(model, device, test_loader):  # sums then divides; numpy in the middle
    model.eval()
    losses, correct, total = [], 0, 0
    with torch.no_grad():
        for data, target in test_loader:
            output = model(data)
            losses.append(F.nll_loss(output, target, reduction="sum").item() / len(target))
            correct += int(np.sum(output.argmax(dim=1).numpy() == target.numpy()))
            total += len(target)
    return correct * 100 / total, losses


GRADED_RIGHT = [
    (check.nll_loss, nll_right),
    (check.nll_loss, nll_gather),
    (check.nll_loss, nll_numpy_middle),
    (check.sgd_momentum_step, sgd_right),
    (check.sgd_momentum_step, sgd_in_place_zeros),
    (check.sgd_momentum_step, sgd_fused_in_place),
    (check.train, train_right),
    (check.train, train_zero_grad_after_step),
    (check.train, train_noisy),
    (check.train, reference_train),
    (check.test, evaluate_right),
    (check.test, evaluate_inference_mode),
    (check.test, evaluate_summed),
    (check.test, reference_test),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("exercise, answer", GRADED_RIGHT, ids=lambda v: getattr(v, "__name__", None))
def test_graded_right_answers_pass_for_every_seed(exercise, answer, seed):
    grade_in_process(exercise, answer, seed=seed)


class Anything(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class LossTensor(torch.Tensor):
    pass


@pytest.mark.parametrize(
    "exercise, answer, fragment",
    [
        (check.nll_loss, lambda lp, t: Anything(0.0), "got Anything"),
        (check.nll_loss, lambda lp, t: nll_right(lp, t).as_subclass(LossTensor), "got LossTensor"),
        (check.sgd_momentum_step, lambda *args: Anything(0.0), "returned"),
        (check.train, lambda m, d, loader, o: (Anything(0.0), train_right(m, d, loader, o)[1]), "returned"),
        (check.test, lambda m, d, loader: (evaluate_right(m, d, loader)[0], [Anything(0.0)] * 3), "returned"),
        (
            check.test,
            lambda m, d, loader: (str(evaluate_right(m, d, loader)[0]), evaluate_right(m, d, loader)[1]),
            "number",
        ),
    ],
)
def test_graded_results_must_be_plain_values(exercise, answer, fragment):
    fails(exercise, answer, fragment, hidden=True)


def sgd_by_torch(params, grads, velocities, lr, momentum):
    tensors = [p.clone().requires_grad_(True) for p in params]
    optimizer = torch.optim.SGD(tensors, lr=lr, momentum=momentum)
    for t, g, v in zip(tensors, grads, velocities):
        t.grad = g.clone()
        if v is not None:
            optimizer.state[t]["momentum_buffer"] = v.clone()
    optimizer.step()
    return [t.detach() for t in tensors], [optimizer.state[t].get("momentum_buffer", t.grad) for t in tensors]


def sgd_functional(params, grads, velocities, lr, momentum):
    params, velocities = [p.clone() for p in params], list(velocities)
    torch_sgd(
        params, grads, velocities, weight_decay=0, momentum=momentum, lr=lr, dampening=0, nesterov=False, maximize=False
    )
    return params, [v if v is not None else g for v, g in zip(velocities, grads)]


@pytest.mark.parametrize(
    "exercise, answer, fragment",
    [
        (check.nll_loss, F.nll_loss, "torch.nn.functional.nll_loss"),
        (check.nll_loss, nll_builtin, "by indexing"),
        (check.nll_loss, nn.NLLLoss(), "torch.nn.modules.loss.NLLLoss"),
        (check.nll_loss, lambda lp, t: F.cross_entropy(lp, t), "cross_entropy"),
        (check.sgd_momentum_step, sgd_by_torch, "torch.optim.sgd.SGD"),
        (check.sgd_momentum_step, sgd_functional, "torch.optim.sgd.sgd"),
        (check.train, engine.train, "mnist_ref.engine.train"),
        (check.train, lambda m, d, loader, o: engine.train(m, d, loader, o, progress=False), "mnist_ref.engine.train"),
        (check.test, engine.test, "mnist_ref.engine.test"),
        (check.test, lambda m, d, loader: engine.test(m, d, loader, progress=False), "mnist_ref.engine.test"),
    ],
)
def test_graded_library_counterparts_are_refused(exercise, answer, fragment):
    fails(exercise, answer, fragment, "write it yourself", hidden=True)


def test_graded_train_replays_the_state_after_the_call():
    """The replayed train leaves the grader's spy model and optimizer as the learner's call left them."""
    from mnist_course.checks.lesson04 import check_train
    from mnist_course.checks.replay import Recorder, Replayer
    from mnist_ref.checks.grading import answer_call

    recorder = Recorder(reference_train, "train")
    check_train(recorder, 0)
    outcomes = [answer_call(train_right, call) for call in recorder.calls]
    seen = []

    def spying_check(answer, seed):  # the first call check_train makes, then a look at its fixtures
        model = check.make_model("linear", 0)
        optimizer = check.CountingSGD(model.parameters(), lr=0.05, momentum=0.9)
        model.eval()
        answer(model, check.CPU, check.synthetic_batches(0, (8, 8, 5)), optimizer)
        seen.append((model, optimizer))

    spying_check(Replayer(recorder.calls, outcomes, "train"), 0)
    model, optimizer = seen[0]
    assert optimizer.steps == 3 and len(model.calls) == 3 and model.training
    assert all(p.grad is not None for p in model.parameters())
    assert all("momentum_buffer" in optimizer.state[p] for p in model.parameters())
    expected = check.make_model("linear", 0)
    train_right(
        expected,
        check.CPU,
        check.synthetic_batches(0, (8, 8, 5)),
        torch.optim.SGD(expected.parameters(), lr=0.05, momentum=0.9),
    )
    assert all(torch.allclose(a, b) for a, b in zip(model.parameters(), expected.parameters()))


# --- overfit one batch: the sanity check's self-check (practice, not graded) -----------------------


def _losses(first=2.31, last=0.004, steps=25):
    return [first * (last / first) ** (i / (steps - 1)) for i in range(steps)]


def test_overfit_check_accepts_a_loss_that_falls_near_zero(capsys):
    check.overfit_one_batch(_losses())
    out = capsys.readouterr().out
    assert "✅" in out and "2.310" in out


@pytest.mark.parametrize(
    ("losses", "why"),
    [
        ([2.3026] * 25, "weights do not move"),  # no optimizer.step(), or lr = 0
        (_losses(last=0.6), "fell only from 2.310 to 0.600"),  # lr far too small, or not enough steps
        (_losses(last=40.0), "rose from 2.310 to 40.000"),  # lr far too large
        ([2.3, 5.0, float("nan")], "inf or nan"),
        (_losses(first=0.02, last=0.001), "about ln 10"),  # not log-probabilities, or a model already trained
        ([torch.tensor(2.3), torch.tensor(0.01)], "Python floats"),  # loss tensors kept, not loss.item()
        (2.3, "the list of the losses"),
    ],
)
def test_overfit_check_names_what_went_wrong(losses, why):
    fails(check.overfit_one_batch, losses, why)


# --- end-of-lesson questions that check themselves (practice, not graded) --------------------------


@pytest.mark.parametrize(
    ("question", "right", "wrong_answers"),
    [
        ("first_loss_question", 2.30, {0.1: "probability", 1.0: "natural logarithm", -2.30: "negative"}),
        ("overfit_question", "b", {"a": "MEMORISE", "c": "generalisation", "d": "even faster"}),
        ("validation_question", "b", {"a": "memorising", "c": "honest estimate"}),
    ],
)
def test_each_question_explains_each_typical_wrong_answer(question, right, wrong_answers, capsys):
    question_explains(getattr(check, question), right, wrong_answers, capsys)


def test_the_first_loss_accepts_two_decimals_or_more():
    check.first_loss_question.check(2.3026)
    check.first_loss_question.check(2.3)
    fails(check.first_loss_question.check, 2.0, "not 2.", "Uniform guessing")
