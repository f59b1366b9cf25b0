"""The network's pictures (mnist_ref.diagrams.network): the numbers and shapes they write are the real ones."""

import re

import pytest
import torch
from matplotlib.patches import Rectangle
from torch import nn

from mnist_ref.diagrams import network
from mnist_ref.model import Net


def _texts(ax):
    return [t.get_text() for t in ax.texts]


def _red(ax):
    return [t.get_text() for t in ax.texts if t.get_color() == network.WINNER]


def test_max_pool_windows_writes_every_input_and_marks_each_winner():
    patch = torch.tensor([[1.0, 3.0, 2.0, 0.0], [4.0, 2.0, 1.0, 1.0], [0.0, 1.0, 5.0, 6.0], [2.0, 2.0, 7.0, 8.0]])
    left, right = network.max_pool_windows(patch).axes
    assert _texts(left) == ["1", "3", "4", "2", "2", "0", "1", "1", "0", "1", "2", "2", "5", "6", "7", "8"]
    assert _red(left) == ["4", "2", "2", "8"]  # one winner per window, the first of a tie
    assert _texts(right) == ["4", "2", "2", "8"]
    assert sum(isinstance(p, Rectangle) for p in left.patches) == 2 * 4  # each window and each winner boxed
    assert "4 x 4" in left.get_title() and "2 x 2" in right.get_title()


def test_max_pool_windows_writes_decimals_and_refuses_odd_sides():
    _, right = network.max_pool_windows(torch.tensor([[0.5, -1.0], [0.25, 0.0]])).axes
    assert _texts(right) == ["0.5"]
    with pytest.raises(ValueError, match="even"):
        network.max_pool_windows(torch.zeros(3, 4))


def test_network_stages_are_the_shape_walk_of_the_real_net():
    stages = network.network_stages(Net())
    shapes = [shape for _, _, shape, _ in stages]
    assert " -> ".join(shapes) == (
        "1 x 28 x 28 -> 32 x 26 x 26 -> 64 x 24 x 24 -> 64 x 12 x 12 -> 128 x 10 x 10 -> 256 x 8 x 8 -> 256 x 4 x 4"
        " -> 4096 -> 50 -> 10"
    )
    assert [params for *_, params in stages] == [0, 320, 18_496, 0, 73_856, 295_168, 0, 0, 204_850, 510]
    assert [name for name, *_ in stages][:3] == ["input", "conv1", "conv2"]


def test_net_diagram_writes_shapes_parameters_and_the_total_of_the_model_given():
    fig = network.net_diagram()
    texts = _texts(fig.axes[0])
    for written in ("32 x 26 x 26", "256 x 4 x 4", "4096", "295,168", "204,850", "fc2"):
        assert written in texts
    assert "593,200" in fig.axes[0].get_title()
    smaller = Net()
    smaller.fc2 = nn.Linear(50, 10, bias=False)  # 500 parameters instead of 510: the numbers follow the model
    fig = network.net_diagram(smaller)
    assert "500" in _texts(fig.axes[0]) and "593,190" in fig.axes[0].get_title()


def test_class_mean_templates_has_a_titled_panel_per_class():
    fig = network.class_mean_templates(torch.randn(10, 1, 28, 28))
    assert [ax.get_title() for ax in fig.axes] == [str(d) for d in range(10)]


def test_weight_sharing_keeps_the_conv_maximum_but_not_the_fully_connected_score():
    image = torch.full((1, 28, 28), -0.4242)
    image[0, 8:18, 12:14] = 2.8  # a vertical stroke, far from the border
    kernel = torch.tensor([[-1.0, 2.0, -1.0]] * 3)
    template = torch.zeros(28, 28)
    template[8:18, 12:14] = 1.0  # weights that match the stroke where it was
    fig = network.weight_sharing(image, kernel, template, shift=3)
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 6
    assert titles[1] == titles[4]  # the same maximum response after the shift
    assert titles[2] != titles[5]  # the fixed weights score the shifted stroke differently
    before, after = ([int(n) for n in re.findall(r"\d+", title)[-2:]] for title in (titles[0], titles[3]))
    assert (after[0] - before[0], after[1] - before[1]) == (3, 3)  # the window moved with the digit


def test_busiest_patch_finds_the_varied_region_at_even_coordinates():
    image = torch.zeros(28, 28)
    image[13:19, 9:15] = torch.arange(36.0).reshape(6, 6)  # the only varied region, at odd rows
    patch, top, left = network.busiest_patch(image)
    assert patch.shape == (6, 6) and top % 2 == 0 and left % 2 == 0
    assert torch.equal(patch, image[top : top + 6, left : left + 6])
    others = [image[r : r + 6, c : c + 6].std() for r in range(0, 23, 2) for c in range(0, 23, 2)]
    assert patch.std() == max(others) > 0  # the most varied of all, not background
