"""The pictures of lessons 05-07 (mnist_ref/diagrams/training.py and devices.py): what they draw is what they claim."""

import math

import pytest
import torch

from mnist_ref import History, Net
from mnist_ref.diagrams import devices, training


def texts(fig) -> str:
    """Every string written in a figure: titles, annotations, labels, legends."""
    found = [text.get_text() for text in fig.findobj(lambda artist: hasattr(artist, "get_text"))]
    return "\n".join(found)


@pytest.fixture
def classic_history():
    history = History()
    for epoch in range(1, 21):
        history.append(
            train_acc=99.0,
            train_loss=0.2 / epoch,
            val_acc=99.0,
            val_loss=0.05 + 0.002 * abs(epoch - 17),  # lowest at epoch 17
            lr=0.01 if epoch <= 15 else 0.001,
            epoch_seconds=1.0,
        )
    return history


def test_rate_drops_and_best_epoch():
    assert training.rate_drops([0.01] * 15 + [0.001] * 5) == [16]
    assert training.rate_drops([0.1, 0.1, 0.05, 0.05, 0.025]) == [3, 5]
    assert training.rate_drops([0.01] * 3) == []
    assert training.best_epoch([0.3, 0.1, 0.2, 0.1]) == 2


def test_schedule_against_loss_draws_the_history(classic_history):
    fig = training.schedule_against_loss(classic_history)
    top, bottom = fig.axes
    assert list(top.lines[0].get_ydata()) == classic_history.lr
    curves = {line.get_label(): list(line.get_ydata()) for line in bottom.lines if not line.get_label().startswith("_")}
    assert curves["train loss (mean over the epoch)"] == classic_history.train_loss
    assert curves["validation loss (after the epoch)"] == classic_history.val_loss
    written = texts(fig)
    assert "×0.1 before epoch 16: 0.01 → 0.001" in written
    assert "best epoch by validation loss: 17 (0.0500)" in written
    assert [line.get_xdata()[0] for line in bottom.lines if line.get_linestyle() == "--"] == [15.5]


def test_schedule_against_loss_without_validation_draws_the_training_loss_only(classic_history):
    history = History.from_dict({**classic_history.to_dict(), "val_acc": [], "val_loss": []})
    fig = training.schedule_against_loss(history)
    assert "best epoch" not in texts(fig)
    assert len([line for line in fig.axes[1].lines if line.get_marker() in ("o", "s")]) == 1


def test_momentum_reaches_the_minimum_faster_and_the_legend_says_how_far():
    plain, heavy = training.descent_path(0.0), training.descent_path(0.9)
    assert plain.shape == heavy.shape == (41, 2)
    assert plain[0].tolist() == heavy[0].tolist() == [-10.0, 1.0]
    assert float(heavy[-1].norm()) < 0.2 * float(plain[-1].norm())
    fig = training.momentum_paths()
    legend = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert legend == [
        f"plain SGD: {float(plain[-1].norm()):.2f} from the minimum",
        f"momentum 0.9: {float(heavy[-1].norm()):.2f} from the minimum",
    ]
    assert len(fig.axes[1].lines) == 2


def test_descent_path_is_torchs_sgd():
    path = training.descent_path(0.0, lr=0.1, steps=1, start=(2.0, 1.0))
    # gradient (a x, b y) = (2, 20): one step of lr 0.1
    assert path[1].tolist() == pytest.approx([2.0 - 0.2, 1.0 - 2.0])


def test_byte_counts_of_a_batch_the_model_and_an_epoch():
    counts = devices.byte_counts(64, 593_200)
    assert counts == {"data": 200_704, "target": 512, "model": 2_372_800, "epoch": 55_000 * (3136 + 8)}


def test_where_tensors_live_writes_the_bytes_of_each_copy():
    written = texts(devices.where_tensors_live(batch_size=32, parameters=1000))
    assert "data (32, 1, 28, 28) float32: 100,352 B" in written
    assert "every step: 100,608 B" in written
    assert "once: model.to(device)\n4,000 B" in written
    assert "One epoch of 55,000 training images copies 172.9 MB" in written


@pytest.mark.parametrize(
    ("dtype", "bits", "largest"),
    [(torch.float32, (1, 8, 23), 3.4e38), (torch.bfloat16, (1, 8, 7), 3.39e38), (torch.float16, (1, 5, 10), 65504)],
)
def test_number_formats_bits_and_ranges(dtype, bits, largest):
    assert devices.format_bits(dtype) == bits
    subnormal, normal, top = devices.format_range(dtype)
    assert top == pytest.approx(largest, rel=0.01)
    assert subnormal < normal and torch.tensor(subnormal, dtype=dtype).item() > 0
    assert torch.tensor(subnormal / 4, dtype=dtype).item() == 0  # below the smallest subnormal: lost


def test_number_formats_figure_labels_every_field():
    fig = devices.number_formats()
    bits, ranges = fig.axes
    assert [tick.get_text() for tick in bits.get_yticklabels()] == ["float32", "bfloat16", "float16"]
    widths = [round(patch.get_width()) for patch in bits.patches]
    assert widths == [1, 8, 23, 1, 8, 7, 1, 5, 10]
    assert "6.0e-08" in texts(fig) and "6.6e+04" in texts(fig)


def test_filter_mosaic_tiles_each_filter_scaled():
    weight = torch.arange(2 * 9, dtype=torch.float32).view(2, 1, 3, 3) - 4
    mosaic = training.filter_mosaic(weight, columns=2)
    assert mosaic.shape == (3, 7) and torch.isnan(mosaic[:, 3]).all()
    assert torch.allclose(mosaic[:, :3], weight[0, 0] / 4)
    assert torch.allclose(mosaic[:, 4:], weight[1, 0] / 13)


def test_conv1_filters_shows_both_models():
    torch.manual_seed(0)
    before, after = Net(), Net()
    fig = training.conv1_filters(before, after)
    assert len(fig.axes) == 2
    assert fig.axes[0].get_title().startswith("conv1, fresh init: 32 filters 3×3")
    shown = torch.as_tensor(fig.axes[1].images[0].get_array().filled(math.nan))
    assert torch.allclose(shown[:3, :3], training.filter_mosaic(after.conv1.weight)[:3, :3], equal_nan=True)


def test_conv1_feature_maps_are_the_relu_of_conv1():
    torch.manual_seed(0)
    before, after, image = Net(), Net(), torch.randn(1, 28, 28)
    fig = training.conv1_feature_maps(before, after, image, channels=4)
    assert len(fig.axes) == 2 * 5
    assert "32×26×26 out" in fig.get_suptitle()
    expected = torch.relu(after.conv1(image.unsqueeze(0)))[0, 3].detach()
    assert torch.allclose(torch.as_tensor(fig.axes[9].images[0].get_array()), expected, atol=1e-6)
