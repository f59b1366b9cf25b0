"""The train / validation / test picture of lesson 01: drawn from the real split, its numbers written in."""

import torch

from mnist_ref.data import VALIDATION_SIZE
from mnist_ref.diagrams import data_split


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in [*ax.texts, ax.title]]


def test_the_sizes_come_from_the_course_split():
    targets = torch.arange(60_000) % 10
    sizes = data_split.split_sizes(targets, 10_000)
    assert (sizes["train"], sizes["validation"], sizes["test"]) == (60_000 - VALIDATION_SIZE, VALIDATION_SIZE, 10_000)
    assert sizes["held_out_per_digit"] == [VALIDATION_SIZE // 10] * 10


def test_the_figure_writes_the_sizes_and_the_per_digit_counts():
    fig = data_split.train_validation_test(torch.arange(60_000) % 10, 10_000)
    written = " ".join(texts(fig))
    assert len(fig.axes) == 2
    for number in ("60,000", "55,000", "5,000", "10,000", "lesson 07"):
        assert number in written, written
    assert [t.get_text() for t in fig.axes[1].texts] == ["500"] * 10


def test_another_validation_size_is_drawn_as_it_is():
    fig = data_split.train_validation_test(torch.arange(1_200) % 10, 300, validation=200)
    written = " ".join(texts(fig))
    assert "train 1,000" in written and "validation 200" in written and "test 300" in written, written
    assert [t.get_text() for t in fig.axes[1].texts] == ["20"] * 10
