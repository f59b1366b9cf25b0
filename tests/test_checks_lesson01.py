"""The checks of lesson 01 against right answers (several styles) and typical wrong ones."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from torchvision import transforms

from check_helpers import assert_not_attempted, fails, passes
from mnist_ref.checks import CheckFailed
from mnist_ref.checks import lesson01 as check
from mnist_ref.checks.fixtures import seeded_uint8


@pytest.mark.parametrize(
    "exercise", [check.class_counts, check.pixel_mean_std, check.make_transform, check.batch_sizes]
)
def test_untouched_exercise_is_not_attempted(exercise):
    assert_not_attempted(exercise)


def test_hint_prints(capsys):
    check.class_counts.hint()
    assert "minlength" in capsys.readouterr().out


# --- class_counts -------------------------------------------------------------------------------


def counts_bincount(targets):
    return torch.bincount(targets, minlength=10)


def counts_loop(targets):
    counts = torch.zeros(10, dtype=torch.long)
    for t in targets:
        counts[int(t)] += 1
    return counts


def counts_compare(targets):
    return torch.stack([(targets == d).sum() for d in range(10)])


def counts_list(targets):
    return [int((targets == d).sum()) for d in range(10)]


def counts_one_hot_float(targets):
    return torch.nn.functional.one_hot(targets.long(), 10).float().sum(dim=0)


@pytest.mark.parametrize("answer", [counts_bincount, counts_loop, counts_compare, counts_list, counts_one_hot_float])
def test_class_counts_accepts_correct_answers(answer, capsys):
    passes(check.class_counts, answer)
    assert "class_counts: correct" in capsys.readouterr().out


def test_class_counts_without_minlength_is_named():
    fails(check.class_counts, lambda t: torch.bincount(t), "9 entries", "minlength=10")


def test_class_counts_of_present_digits_only_is_named():
    fails(check.class_counts, lambda t: torch.unique(t, return_counts=True)[1], "entries", "never occur")


def test_class_counts_eleven_entries_is_named():
    fails(check.class_counts, lambda t: torch.bincount(t, minlength=11), "11 entries", "0 to 9")


def test_class_counts_dict_is_named():
    fails(check.class_counts, lambda t: Counter(t.tolist()), "Counter", "position d")


def test_class_counts_sorted_is_named():
    fails(check.class_counts, lambda t: torch.bincount(t, minlength=10).sort(descending=True).values, "wrong order")


def test_class_counts_fractions_is_named():
    fails(check.class_counts, lambda t: torch.bincount(t, minlength=10) / len(t), "fractions")


def test_class_counts_off_by_one_label_is_named():
    fails(check.class_counts, lambda t: torch.bincount((t - 1).clamp(min=0), minlength=10), "expected")


def test_class_counts_strict_catches_uint8_and_empty():
    # correct on long targets, crashes on an empty tensor (max of nothing)
    def by_max(t):
        counts = torch.zeros(max(10, int(t.max()) + 1), dtype=torch.long)
        counts[: int(t.max()) + 1] += torch.bincount(t.long())
        return counts

    by_max(torch.tensor([1, 2]))
    check.class_counts(by_max)
    fails(check.class_counts, by_max, "raised", hidden=True)


# --- pixel_mean_std -----------------------------------------------------------------------------


def stats_torch(images):
    pixels = images.float() / 255
    return pixels.mean().item(), pixels.std().item()


def stats_population(images):
    pixels = images.double().div(255)
    return pixels.mean(), pixels.std(unbiased=False)


def stats_numpy(images):
    pixels = images.numpy() / 255.0
    return float(pixels.mean()), float(pixels.std())


def stats_list(images):
    pixels = images.float() / 255
    return [pixels.mean(), pixels.std()]


@pytest.mark.parametrize("answer", [stats_torch, stats_population, stats_numpy, stats_list])
def test_pixel_mean_std_accepts_correct_answers(answer, capsys):
    passes(check.pixel_mean_std, answer)
    assert "pixel_mean_std: correct" in capsys.readouterr().out


def test_pixel_mean_std_without_scaling_is_named():
    fails(check.pixel_mean_std, lambda x: (x.float().mean().item(), x.float().std().item()), "0..255", "divide by 255")


def test_pixel_mean_std_on_uint8_is_named():
    fails(check.pixel_mean_std, lambda x: (x.mean(), x.std()), "uint8", "float")


def test_pixel_mean_std_of_per_image_means_is_named():
    def per_image(x):
        means = (x.float() / 255).mean(dim=(1, 2))
        return means.mean().item(), means.std().item()

    fails(check.pixel_mean_std, per_image, "per-image MEANS")


def test_pixel_mean_std_mean_of_per_image_stds_is_named():
    def mean_of_stds(x):
        pixels = x.float() / 255
        return pixels.mean().item(), pixels.std(dim=(1, 2)).mean().item()

    fails(check.pixel_mean_std, mean_of_stds, "average of the per-image stds")


def test_pixel_mean_std_swapped_is_named():
    fails(check.pixel_mean_std, lambda x: stats_torch(x)[::-1], "swapped")


def test_pixel_mean_std_variance_is_named():
    fails(check.pixel_mean_std, lambda x: ((x.float() / 255).mean(), (x.float() / 255).var()), "variance")


def test_pixel_mean_std_single_tensor_is_named():
    fails(check.pixel_mean_std, lambda x: torch.tensor(stats_torch(x)), "pair (mean, std)")


def test_pixel_mean_std_per_image_vector_is_named():
    fails(check.pixel_mean_std, lambda x: ((x.float() / 255).mean(dim=(1, 2)), (x.float() / 255).std()), "one number")


def test_pixel_mean_std_in_place_is_named():
    def in_place(x):
        x //= 2
        return stats_torch(x * 2)

    fails(check.pixel_mean_std, in_place, "changed the images")


def test_mnist_statistics_check():
    # A synthetic set whose statistics round to MNIST's is hard to build; check the message path instead.
    images = seeded_uint8(5, 10, 28, 28)
    with pytest.raises(CheckFailed, match="expected \\(0.1307, 0.3081\\)"):
        check.check_mnist_statistics(stats_torch, images)


@pytest.mark.slow
def test_mnist_statistics_on_real_data(real_mnist):
    from torchvision import datasets

    images = datasets.MNIST(str(real_mnist), train=True).data
    check.check_mnist_statistics(stats_torch, images)


# --- make_transform -----------------------------------------------------------------------------


def transform_compose(mean, std):
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])


def transform_scalars(mean, std):
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize(mean, std)])


def transform_lambda(mean, std):
    return lambda image: (transforms.functional.to_tensor(image) - mean) / std


def transform_v2(mean, std):
    from torchvision.transforms import v2

    return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize([mean], [std])])


@pytest.mark.parametrize("answer", [transform_compose, transform_scalars, transform_lambda, transform_v2])
def test_make_transform_accepts_correct_answers(answer, capsys):
    passes(check.make_transform, answer)
    assert "make_transform: correct" in capsys.readouterr().out


def test_make_transform_normalize_first_is_named():
    wrong = lambda m, s: transforms.Compose([transforms.Normalize((m,), (s,)), transforms.ToTensor()])  # noqa: E731
    fails(check.make_transform, wrong, "BEFORE")


def test_make_transform_swapped_mean_std_is_named():
    wrong = lambda m, s: transforms.Compose([transforms.ToTensor(), transforms.Normalize((s,), (m,))])  # noqa: E731
    fails(check.make_transform, wrong, "swapped")


def test_make_transform_without_normalize_is_named():
    fails(check.make_transform, lambda m, s: transforms.ToTensor(), "Normalize is missing")


def test_make_transform_pil_to_tensor_is_named():
    wrong = lambda m, s: transforms.Compose([transforms.PILToTensor(), transforms.Normalize((m,), (s,))])  # noqa: E731
    fails(check.make_transform, wrong, "PILToTensor", "ToTensor")


def test_make_transform_unscaled_is_named():
    wrong = lambda m, s: lambda img: (transforms.functional.pil_to_tensor(img).float() - m) / s  # noqa: E731
    fails(check.make_transform, wrong, "0..255")


def test_make_transform_constants_are_named():
    fails(check.make_transform, lambda m, s: transform_compose(0.1307, 0.3081), "instead of the mean and std arguments")


def test_make_transform_applied_is_named():
    fails(check.make_transform, lambda m, s: torch.zeros(1, 28, 28), "returned a tensor")


def test_make_transform_no_channel_is_named():
    wrong = lambda m, s: lambda img: transform_compose(m, s)(img)[0]  # noqa: E731
    fails(check.make_transform, wrong, "channel dimension")


def test_make_transform_float64_is_named():
    wrong = lambda m, s: lambda img: transform_compose(m, s)(img).double()  # noqa: E731
    fails(check.make_transform, wrong, "float32")


# --- batch_sizes --------------------------------------------------------------------------------


def batches_divmod(n, batch_size, drop_last=False):
    full, rest = divmod(n, batch_size)
    return [batch_size] * full + ([rest] if rest and not drop_last else [])


def batches_range(n, batch_size, drop_last=False):
    sizes = [min(batch_size, n - start) for start in range(0, n, batch_size)]
    return [s for s in sizes if s == batch_size] if drop_last else sizes


def batches_loader(n, batch_size, drop_last=False):
    loader = torch.utils.data.DataLoader(torch.arange(n), batch_size=batch_size, drop_last=drop_last)
    return torch.tensor([len(b) for b in loader], dtype=torch.long)


@pytest.mark.parametrize("answer", [batches_divmod, batches_range, batches_loader])
def test_batch_sizes_accepts_correct_answers(answer, capsys):
    passes(check.batch_sizes, answer)
    assert "batch_sizes: correct" in capsys.readouterr().out


def test_batch_sizes_missing_last_batch_is_named():
    fails(check.batch_sizes, lambda n, b, drop_last=False: [b] * (n // b), "last, smaller batch is missing")


def test_batch_sizes_ignoring_drop_last_is_named():
    fails(check.batch_sizes, lambda n, b, drop_last=False: batches_divmod(n, b), "drop_last=True", "dropped")


def test_batch_sizes_full_last_batch_is_named():
    fails(
        check.batch_sizes,
        lambda n, b, drop_last=False: [b] * -(-n // b) if not drop_last else [b] * (n // b),
        "can't be full",
    )


def test_batch_sizes_empty_last_batch_is_named():
    fails(
        check.batch_sizes,
        lambda n, b, drop_last=False: [b] * (n // b) + ([] if drop_last else [n % b]),
        "no empty batch",
    )


def test_batch_sizes_float_is_named():
    fails(check.batch_sizes, lambda n, b, drop_last=False: [n / b], "whole number")
