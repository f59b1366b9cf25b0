"""The baselines of lesson 04 (mnist_ref.baselines): nearest class mean, a fully connected net, shifted digits."""

import pytest
import torch

from mnist_ref import engine
from mnist_ref.baselines import (
    BACKGROUND,
    FullyConnectedNet,
    NearestClassMean,
    class_means,
    plot_shift_experiment,
    shift_images,
    shifted_loader,
)
from mnist_ref.data import TensorLoader
from mnist_ref.model import NUM_PARAMETERS, count_parameters


def _loader(n_per_class=3, batch_size=7):
    targets = torch.arange(10).repeat(n_per_class)
    images = torch.randn(len(targets), 1, 28, 28) + targets.view(-1, 1, 1, 1)  # class c has mean c
    return TensorLoader(images, targets, batch_size)


def test_class_means_average_each_class_over_all_batches():
    loader = _loader()
    means = class_means(loader)
    assert means.shape == (10, 1, 28, 28)
    for c in (0, 4, 9):
        assert torch.allclose(means[c], loader.images[loader.targets == c].mean(dim=0), atol=1e-6)
    with pytest.raises(ValueError, match="class"):
        class_means([(torch.zeros(2, 1, 28, 28), torch.tensor([0, 1]))])


def test_nearest_class_mean_picks_the_closest_mean():
    means = torch.zeros(10, 1, 28, 28)
    for c in range(10):
        means[c, 0, c, :] = 1.0  # class c: row c lit
    model = NearestClassMean(means)
    images = means[[3, 7, 0]] + 0.1 * torch.randn(3, 1, 28, 28)
    log_probs = model(images)
    assert log_probs.argmax(dim=1).tolist() == [3, 7, 0]
    assert torch.allclose(log_probs.exp().sum(dim=1), torch.ones(3))
    assert count_parameters(model) == 0  # nothing is trained
    accuracy, _ = engine.test(NearestClassMean.fit(_loader()), "cpu", _loader(), progress=False)
    assert accuracy > 90


def test_fully_connected_net_has_about_the_parameters_of_the_cnn():
    model = FullyConnectedNet()
    assert count_parameters(model) == 785 * 710 + 711 * 50 + 51 * 10 == 593_410
    assert abs(count_parameters(model) - NUM_PARAMETERS) < 0.001 * NUM_PARAMETERS
    out = model(torch.randn(4, 1, 28, 28))
    assert out.shape == (4, 10) and torch.allclose(out.exp().sum(dim=1), torch.ones(4), atol=1e-5)
    assert count_parameters(FullyConnectedNet(hidden=(8,))) == 785 * 8 + 9 * 10


def test_shift_images_moves_the_pixels_and_fills_with_background():
    images = torch.arange(2 * 28 * 28, dtype=torch.float).reshape(2, 1, 28, 28)
    right_down = shift_images(images, 2, 3)
    assert torch.equal(right_down[..., 3:, 2:], images[..., :-3, :-2])
    assert (right_down[..., :3, :] == BACKGROUND).all() and (right_down[..., :, :2] == BACKGROUND).all()
    left_up = shift_images(images, -1, -2)
    assert torch.equal(left_up[..., :-2, :-1], images[..., 2:, 1:])
    assert torch.equal(shift_images(images, 0, 0), images)
    with pytest.raises(ValueError, match="out of its frame"):
        shift_images(images, 28, 0)


def test_shifted_loader_moves_every_image_by_the_same_distance():
    loader = _loader()
    shifted = shifted_loader(loader, 2, batch_size=5)
    assert torch.equal(shifted.targets, loader.targets) and shifted.batch_size == 5
    assert not torch.equal(shifted.images, loader.images)
    for original, moved in zip(loader.images, shifted.images):
        candidates = [shift_images(original, dx, dy) for dx in (-2, 0, 2) for dy in (-2, 0, 2) if dx or dy]
        assert any(torch.equal(moved, c) for c in candidates)
    assert torch.equal(shifted_loader(loader, 2).images, shifted.images)  # the same directions for the same seed


def test_plot_shift_experiment_writes_the_accuracies():
    fig = plot_shift_experiment({"CNN": (97.5, 90.25), "FC": (95.0, 60.0)}, pixels=3)
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert labels == ["97.5", "95.0", "90.2", "60.0"]
    assert "3 pixels" in fig.axes[0].get_title()
