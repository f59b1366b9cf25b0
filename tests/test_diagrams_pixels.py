"""Lesson 01's pictures of pixels: a digit as its numbers, and the histograms before / after Normalize."""

import pytest
import torch

from mnist_ref.diagrams import pixels


def test_the_numbers_written_are_the_pixels_in_the_box():
    image = torch.arange(28 * 28).reshape(28, 28).remainder(256).to(torch.uint8)
    fig = pixels.digit_as_numbers(image, top=3, left=5, size=4)
    picture, numbers = fig.axes
    written = [int(t.get_text()) for t in numbers.texts]
    assert written == image[3:7, 5:9].flatten().tolist()
    box = picture.patches[0]
    assert (box.get_x(), box.get_y(), box.get_width()) == (4.5, 2.5, 4)
    assert "rows 3-6, columns 5-8" in numbers.get_title()


def test_the_histograms_mark_the_measured_and_the_normalized_statistics():
    images = torch.tensor([[0, 255], [51, 102]], dtype=torch.uint8)[None]
    mean, std = 0.3, 0.4
    fig = pixels.normalization(images, mean, std)
    before, after = fig.axes
    assert [line.get_xdata()[0] for line in before.lines] == pytest.approx([mean, mean - std, mean + std])
    assert [line.get_xdata()[0] for line in after.lines] == pytest.approx([0, -1, 1])
    assert "from -0.7500 (black) to 1.7500 (white)" in after.get_xlabel()
    assert "measured: mean 0.4000" in before.get_title()  # (0 + 1 + 0.2 + 0.4) / 4
