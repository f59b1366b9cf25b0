"""The checks of lesson 01 against right answers (several styles) and typical wrong ones."""

from __future__ import annotations

from collections import Counter
from dataclasses import fields

import pytest
import torch
from torch.utils.data import DataLoader
from torchvision import transforms

from check_helpers import assert_not_attempted, fails, passes
from mnist_course.checks import grade_in_process
from mnist_course.checks.lesson01 import (
    pixel_stats,
    reference_batch_sizes,
    reference_class_counts,
    reference_transform,
)
from mnist_ref.checks import NotAttempted
from mnist_ref.checks import lesson01 as check
from mnist_ref.checks.lesson01.dataset_statistics import VISIBLE_COUNTS, VISIBLE_STATS
from mnist_ref.checks.lesson01.input_pipeline import VISIBLE_BATCHES, VISIBLE_TRANSFORMS
from mnist_ref.data import VALIDATION_SIZE, TensorLoader, mnist_transform, validation_split


@pytest.mark.parametrize(
    "exercise", [check.class_counts, check.pixel_mean_std, check.make_transform, check.batch_sizes]
)
def test_untouched_exercise_is_not_attempted(exercise):
    assert_not_attempted(exercise)


def test_hints_print_in_steps(capsys):
    check.class_counts.hint()
    check.class_counts.hint()
    out = capsys.readouterr().out
    assert "hint 1 of" in out and "hint 2 of" in out


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


@pytest.mark.parametrize("answer", [batches_divmod, batches_range])
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


# --- the grader's side: seeds, exact types, the library's own answers ------------------------------


def test_visible_expected_values_are_the_references():
    for labels, counts in VISIBLE_COUNTS:
        assert reference_class_counts(torch.tensor(labels)).tolist() == counts
    computed = pixel_stats(check.visible_images())
    for field in fields(VISIBLE_STATS):
        assert getattr(computed, field.name) == pytest.approx(getattr(VISIBLE_STATS, field.name), abs=1e-12)
    for case, scale, shift in VISIBLE_TRANSFORMS:
        expected = reference_transform(case.mean, case.std)(check.pil_image(case.pixels)).double()
        assert torch.allclose(case.pixels.double().unsqueeze(0) * scale + shift, expected, atol=1e-6)
    for n, batch_size, drop_last, sizes in VISIBLE_BATCHES:
        assert reference_batch_sizes(n, batch_size, drop_last) == sizes


CORRECT = [
    *[(check.class_counts, a) for a in (counts_bincount, counts_loop, counts_compare, counts_list)],
    (check.class_counts, counts_one_hot_float),
    *[(check.pixel_mean_std, a) for a in (stats_torch, stats_population, stats_numpy, stats_list)],
    *[(check.make_transform, a) for a in (transform_compose, transform_scalars, transform_lambda, transform_v2)],
    *[(check.batch_sizes, a) for a in (batches_divmod, batches_range)],
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("exercise", "answer"), CORRECT, ids=lambda v: getattr(v, "__name__", None) or v.title)
def test_correct_answers_pass_for_every_seed(exercise, answer, seed):
    grade_in_process(exercise, answer, seed=seed)


def test_grader_inputs_vary_with_the_seed():
    assert [c.pixels.shape for c in check.transform_cases(1)] != [c.pixels.shape for c in check.transform_cases(2)]


class AlwaysEqual(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class CountsTensor(torch.Tensor):
    pass


class Size(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


def test_exact_types_only_cross_to_the_grader():
    fails(check.class_counts, lambda t: torch.bincount(t, minlength=10).as_subclass(CountsTensor), "plain", hidden=True)
    fails(check.pixel_mean_std, lambda x: (AlwaysEqual(0), AlwaysEqual(0)), "AlwaysEqual", hidden=True)
    fails(check.batch_sizes, lambda n, b, drop_last=False: [Size(0)], "Size", hidden=True)


def test_make_transform_returning_no_tensor_fails_on_the_grader_side():
    fails(check.make_transform, lambda m, s: lambda image: [[0.0]], "should be a torch.Tensor", hidden=True)


@pytest.mark.parametrize(
    ("exercise", "answer", "used"),
    [
        (check.batch_sizes, batches_loader, "DataLoader"),
        (
            check.batch_sizes,
            lambda n, b, drop_last=False: [len(i) for i in torch.utils.data.BatchSampler(range(n), b, drop_last)],
            "BatchSampler",
        ),
        (
            check.batch_sizes,
            lambda n, b, drop_last=False: [len(t) for _, t in TensorLoader(torch.zeros(n), torch.zeros(n), b)],
            "TensorLoader",
        ),
        (check.make_transform, lambda m, s: mnist_transform() if m == 0.1307 else transform_compose(m, s), "mnist_"),
    ],
)
def test_library_counterparts_are_refused(exercise, answer, used):
    fails(exercise, answer, used, "write it yourself", hidden=True)


# --- the self-checked questions (practice, not graded) ------------------------------------------


@pytest.mark.parametrize(
    ("question", "right", "wrong"),
    [
        (check.validation_question, "b", {"a": "size is not the problem", "c": "no harder", "d": "nothing breaks"}),
        (
            check.held_out_question,
            500,
            {5_000: "whole validation set", 5_500: "TRAINING images that remain", 1_000: "test set", 6_000: "before"},
        ),
        (
            check.batches_question,
            860,
            {859: "one more, smaller batch", 938: "60,000", 79: "validation images", 157: "test set"},
        ),
    ],
)
def test_each_question_says_why_a_typical_wrong_answer_is_wrong(question, right, wrong, capsys):
    question.check(right)
    assert "✅" in capsys.readouterr().out
    for answer, fragment in wrong.items():
        fails(question.check, answer, fragment)
    fails(question.check, 12_345 if isinstance(right, int) else "z", "12,345" if isinstance(right, int) else "one of")
    with pytest.raises(NotAttempted, match="replace None by your answer"):
        question.check(None)


def test_the_numbers_of_the_questions_are_the_course_split():
    targets = torch.arange(60_000) % 10
    train, validation = validation_split(targets, VALIDATION_SIZE)
    assert torch.bincount(targets[validation], minlength=10).tolist() == [500] * 10
    assert len(DataLoader(range(len(train)), batch_size=64)) == 860
