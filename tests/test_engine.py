import pytest
import torch

from mnist_ref import engine
from mnist_ref.data import data_loader, split_loaders
from mnist_ref.engine import History, fit, load_checkpoint, save_checkpoint, seed_everything, train
from mnist_ref.model import Net

CPU = torch.device("cpu")


@pytest.fixture
def loaders(tiny_mnist):
    return data_loader(batch_size=32, in_memory=True, device="cpu")


@pytest.fixture
def split(tiny_mnist):
    return split_loaders(batch_size=32, validation=50, in_memory=True, device="cpu")


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_train_returns_accuracy_and_batch_losses(loaders):
    train_loader, _ = loaders
    seed_everything(0)
    model = Net()
    acc, losses = train(model, CPU, train_loader, engine.classic_optimizer(model), progress=False)
    assert 0 <= acc <= 100 and len(losses) == len(train_loader) == 7
    assert all(isinstance(loss, float) for loss in losses)
    assert model.training


def test_test_returns_accuracy_and_losses_without_changing_weights(loaders):
    _, test_loader = loaders
    model = Net()
    before = _weights(model)
    acc, losses = engine.test(model, CPU, test_loader, progress=False)
    assert 0 <= acc <= 100 and len(losses) == len(test_loader)
    assert torch.equal(before, _weights(model))


def test_fit_learns_and_records_history(loaders):
    seed_everything(0)
    model = Net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.1)
    history = fit(model, CPU, *loaders, epochs=3, optimizer=optimizer, scheduler=scheduler, seed=0, progress=False)
    assert len(history) == 3
    assert history.lr == pytest.approx([0.05, 0.05, 0.005])
    assert history.test_acc[-1] >= 90  # the synthetic digits are easy
    assert history.train_loss[-1] < history.train_loss[0]
    assert all(s > 0 for s in history.epoch_seconds)


def test_fit_evaluates_on_validation_without_touching_the_test_set(split, monkeypatch):
    evaluated = []
    real_test = engine.test
    monkeypatch.setattr(
        engine,
        "test",
        lambda model, device, loader, **kw: evaluated.append(loader) or real_test(model, device, loader, **kw),
    )
    history = fit(Net(), CPU, split.train, validation_loader=split.validation, epochs=2, seed=0, progress=False)
    assert evaluated == [split.validation] * 2
    assert len(history.val_acc) == len(history.val_loss) == len(history) == 2
    assert history.test_acc == history.test_loss == []
    assert all(0 <= acc <= 100 for acc in history.val_acc)


def test_fit_with_validation_and_test_records_both_and_with_test_only_as_before(split):
    seed_everything(0)
    both = fit(Net(), CPU, split.train, split.test, 2, validation_loader=split.validation, seed=0, progress=False)
    assert len(both.val_acc) == len(both.test_acc) == 2
    seed_everything(0)
    test_only = fit(Net(), CPU, split.train, split.test, 2, seed=0, progress=False)
    assert test_only.val_acc == test_only.val_loss == [] and test_only.test_acc == both.test_acc


def test_fit_without_anything_to_evaluate_on_says_what_to_pass(split):
    with pytest.raises(ValueError, match="validation_loader="):
        fit(Net(), CPU, split.train, epochs=1, progress=False)


def test_history_from_an_old_dict_has_empty_validation():
    old = {"train_acc": [90.0], "train_loss": [0.3], "test_acc": [95.0], "test_loss": [0.2], "lr": [0.01]}
    history = History.from_dict(old)
    assert (history.val_acc, history.val_loss, history.epoch_seconds) == ([], [], [])
    assert history.test_acc == [95.0] and len(history) == 1
    assert History.from_dict(history.to_dict()) == history


def test_resumed_run_keeps_its_validation_history(split, tmp_path):
    checkpoint = tmp_path / "checkpoint.pt"
    options = dict(validation_loader=split.validation, seed=1, checkpoint=checkpoint, progress=False)
    seed_everything(1)
    first = fit(Net(), CPU, split.train, epochs=1, **options)
    history = fit(Net(), CPU, split.train, epochs=2, resume=True, **options)
    assert history.val_acc[:1] == first.val_acc and len(history.val_acc) == 2


def test_device_precision_and_layout_are_decided_once_per_epoch(loaders, monkeypatch):
    decided = []
    for name in ("autocast", "prefers_channels_last"):
        real = getattr(engine, name)
        monkeypatch.setattr(engine, name, lambda *args, real=real, name=name: decided.append(name) or real(*args))
    train_loader, test_loader = loaders
    model = Net()
    train(model, "cpu", train_loader, engine.classic_optimizer(model), progress=False)
    engine.test(model, "cpu", test_loader, progress=False)
    assert len(train_loader) > 1 and decided == ["prefers_channels_last", "autocast"] * 2


def test_fit_epochs_default_to_the_recipe(loaders):
    one_epoch = engine.get_recipe("classic").with_overrides(epochs=1)
    assert len(fit(Net(), CPU, *loaders, recipe=one_epoch, progress=False)) == 1


def test_epoch_batches_ends_a_fractional_run_part_way_through_its_last_epoch():
    assert [engine.epoch_batches(2, e, 10) for e in range(2)] == [10, 10]
    assert [engine.epoch_batches(1.5, e, 10) for e in range(2)] == [10, 5]
    assert engine.epoch_batches(0.5, 0, 7) == 4 and engine.epoch_batches(0.01, 0, 7) == 1  # at least one batch


def test_fit_for_half_an_epoch_trains_on_half_the_batches_with_the_whole_one_cycle(loaders, monkeypatch):
    seen, real_train = [], engine.train

    def recording_train(model, device, batches, *args, **kwargs):
        seen.append(list(batches))
        return real_train(model, device, seen[-1], *args, **kwargs)

    monkeypatch.setattr(engine, "train", recording_train)
    half = engine.get_recipe("fast").with_overrides(epochs=0.5, mixed_precision=False)
    model = Net()
    history = fit(model, CPU, *loaders, recipe=half, progress=False)
    assert len(history) == 1 and [len(batches) for batches in seen] == [4]  # 7 batches per epoch here
    assert history.lr[0] == pytest.approx(half.lr / 25)  # the one-cycle starts low and is stepped 4 times


def test_classic_defaults_are_the_course_recipe():
    model = Net()
    optimizer = engine.classic_optimizer(model)
    scheduler = engine.classic_scheduler(optimizer)
    assert optimizer.defaults["lr"] == 0.01 and optimizer.defaults["momentum"] == 0.9
    lrs = []
    for _ in range(20):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert lrs[:15] == [0.01] * 15 and lrs[15:] == pytest.approx([0.001] * 5)
    assert (engine.BATCH_SIZE, engine.EPOCHS) == (64, 20)


def test_same_seed_same_run_on_classic_loader(tiny_mnist):
    def run():
        seed_everything(3)
        train_loader, test_loader = data_loader(batch_size=50, device="cpu")
        model = Net()
        fit(model, CPU, train_loader, test_loader, epochs=1, seed=3, progress=False)
        return _weights(model)

    assert torch.equal(run(), run())


def test_resumed_run_equals_uninterrupted_run(loaders, tmp_path):
    seed_everything(1)
    straight = Net()
    initial = {k: v.clone() for k, v in straight.state_dict().items()}
    full = fit(straight, CPU, *loaders, epochs=2, seed=1, progress=False)

    interrupted = Net()
    interrupted.load_state_dict(initial)
    checkpoint = tmp_path / "run" / "checkpoint.pt"
    fit(interrupted, CPU, *loaders, epochs=1, seed=1, checkpoint=checkpoint, progress=False)
    resumed = Net()  # a fresh process would start from scratch and load the checkpoint
    history = fit(resumed, CPU, *loaders, epochs=2, seed=1, checkpoint=checkpoint, resume=True, progress=False)

    assert torch.equal(_weights(straight), _weights(resumed))
    assert len(history) == 2 and history.test_acc == full.test_acc
    assert load_checkpoint(checkpoint, Net())["epoch"] == 2


def test_checkpoint_round_trip_with_map_location(tmp_path):
    model = Net()
    optimizer = engine.classic_optimizer(model)
    scheduler = engine.classic_scheduler(optimizer)
    model(torch.randn(2, 1, 28, 28)).sum().backward()
    optimizer.step()
    scheduler.step()
    history = History()
    history.append(train_acc=50.0, train_loss=1.0, test_acc=60.0, test_loss=0.9, lr=0.01, epoch_seconds=1.5)
    path = save_checkpoint(tmp_path / "c.pt", model, optimizer, scheduler, 1, history)
    assert not (tmp_path / "c.pt.tmp").exists()

    model2 = Net()
    optimizer2 = engine.classic_optimizer(model2)
    scheduler2 = engine.classic_scheduler(optimizer2)
    state = load_checkpoint(path, model2, optimizer2, scheduler2, map_location=torch.device("cpu"))
    assert torch.equal(_weights(model), _weights(model2))
    assert scheduler2.last_epoch == 1 and state["epoch"] == 1
    assert optimizer2.state_dict()["state"][0]["momentum_buffer"].device.type == "cpu"
    assert History.from_dict(state["history"]) == history


def test_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "nope.pt", Net())
