"""Lesson 02's pictures: the numbers and sizes they write are those of F.conv2d and nn.Conv2d."""

import pytest
import torch
import torch.nn.functional as F

from mnist_ref.diagrams import convolution


def test_the_sliding_window_writes_the_window_the_kernel_and_the_output_number():
    image = torch.arange(36.0).reshape(6, 6) / 10
    kernel = torch.tensor([[1.0, 0.0, -1.0], [2.0, 0.0, -2.0], [1.0, 0.0, -1.0]])
    fig = convolution.sliding_window(image, kernel, 2, 1)
    picture, window, weights, output = fig.axes
    assert [float(t.get_text()) for t in window.texts] == pytest.approx(image[2:5, 1:4].flatten().tolist())
    assert [float(t.get_text()) for t in weights.texts] == kernel.flatten().tolist()
    expected = F.conv2d(image[None, None], kernel[None, None])[0, 0, 2, 1].item()
    assert output.texts[0].get_text() == f"{expected:.2f}"
    assert f"(4, 4): y[2, 1] = {expected:.2f}" in output.get_title()
    box = picture.patches[0]
    assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (0.5, 1.5, 3, 3)


@pytest.mark.parametrize(("n", "k"), [(5, 3), (7, 3), (6, 2)])
def test_padding_and_stride_label_the_output_size_and_draw_one_dot_per_output_pixel(n, k):
    fig = convolution.padding_and_stride(n, k)
    assert len(fig.axes) == len(convolution.PADDING_STRIDE)
    for ax, (padding, stride) in zip(fig.axes, convolution.PADDING_STRIDE):
        side = (n + 2 * padding - k) // stride + 1
        assert ax.get_title().endswith(f"{n}x{n} -> output {side}x{side}")
        (dots,) = ax.lines
        assert len(dots.get_xdata()) == side * side
        hatched = [p for p in ax.patches if p.get_hatch()]
        assert len(hatched) == (n + 2 * padding) ** 2 - n * n


def test_the_five_by_five_case_reads_three_five_two_three():
    titles = [ax.get_title() for ax in convolution.padding_and_stride().axes]
    assert [title.rsplit("output ", 1)[1] for title in titles] == ["3x3", "5x5", "2x2", "3x3"]


def test_channels_write_conv2s_shapes_and_parameter_count():
    written = " ".join(t.get_text() for t in convolution.channels().axes[0].texts)
    for fragment in (
        "32 maps\n26 x 26",
        "64 kernels, each 32 x 3 x 3",
        "64 maps\n24 x 24",
        "18,432 weights",
        "= 18,496",
    ):
        assert fragment in written, written
    written = " ".join(t.get_text() for t in convolution.channels(1, 32, 3, 28).axes[0].texts)
    assert "= 320" in written and "26 x 26" in written, written
