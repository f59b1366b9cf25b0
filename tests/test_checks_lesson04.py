"""The lesson 04 checks against right answers and the typical wrong ones."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from check_helpers import not_attempted
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


def test_nll_loss_in_place_change_is_refused():
    def in_place(log_probs, targets):
        log_probs.neg_()
        return log_probs[torch.arange(len(targets)), targets].mean()

    with pytest.raises(CheckFailed, match="in place"):
        check.nll_loss(in_place)


def test_nll_loss_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.nll_loss(not_attempted)


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


def test_sgd_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.sgd_momentum_step(not_attempted)


def test_reference_sgd_matches_torch():
    check.sgd_momentum_step.hidden(check.reference_sgd_momentum_step)


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


@pytest.mark.parametrize(
    "answer",
    [train_right, train_zero_grad_after_step, lambda m, d, loader, o: engine.train(m, d, loader, o, progress=False)],
)
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


def test_train_under_no_grad_is_refused():
    def no_grad(model, device, loader, optimizer):
        with torch.no_grad():
            model.train()
            for data, _target in loader:
                model(data)
        return 0.0, []

    with pytest.raises(CheckFailed, match="without autograd"):
        check.train(no_grad)


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


@pytest.mark.parametrize(
    "answer", [evaluate_right, evaluate_inference_mode, lambda m, d, loader: engine.test(m, d, loader, progress=False)]
)
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


def test_test_not_attempted():
    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.test(not_attempted)
