"""The checks of lesson 02 against right answers (several styles) and typical wrong ones."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.functional import conv2d as taken_conv2d  # taken before a check switches it off

from check_helpers import assert_not_attempted, fails, passes
from mnist_course.checks import grade_in_process, requests_for
from mnist_course.checks.lesson02 import (
    reference_conv2d_loops,
    reference_conv2d_unfold,
    reference_output_size,
    reference_parameters,
)
from mnist_ref.checks import CheckFailed
from mnist_ref.checks import lesson02 as check
from mnist_ref.checks.lesson02.sizes import VISIBLE_PARAMETERS, VISIBLE_SIZES
from mnist_ref.model import count_parameters, layer_table


@pytest.mark.parametrize(
    "exercise", [check.conv2d_loops, check.conv2d_unfold, check.conv_output_size, check.conv_parameters]
)
def test_untouched_exercise_is_not_attempted(exercise):
    assert_not_attempted(exercise)


def test_library_conv_is_restored_after_a_check():
    with pytest.raises(CheckFailed):
        check.conv2d_loops(lambda image, kernel: F.conv2d(image[None, None], kernel[None, None])[0, 0])
    x = torch.ones(1, 1, 3, 3)
    assert F.conv2d(x, torch.ones(1, 1, 3, 3)).item() == 9.0
    assert torch.conv2d(x, torch.ones(1, 1, 3, 3)).item() == 9.0
    assert nn.Conv2d(1, 1, 3)(x).shape == (1, 1, 1, 1)


# --- conv2d_loops -------------------------------------------------------------------------------


def loops_sum(image, kernel):
    kh, kw = kernel.shape
    h, w = image.shape
    out = torch.zeros(h - kh + 1, w - kw + 1)
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            out[i, j] = (image[i : i + kh, j : j + kw] * kernel).sum()
    return out


def loops_four(image, kernel):
    kh, kw = kernel.shape
    h, w = image.shape
    out = [[0.0] * (w - kw + 1) for _ in range(h - kh + 1)]
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            for a in range(kh):
                for b in range(kw):
                    out[i][j] += float(image[i + a, j + b]) * float(kernel[a, b])
    return torch.tensor(out)


def loops_unfold(image, kernel):
    kh, kw = kernel.shape
    return (image.unfold(0, kh, 1).unfold(1, kw, 1) * kernel).sum(dim=(-1, -2))


def loops_shift(image, kernel):  # sum of shifted images, one per kernel entry
    kh, kw = kernel.shape
    h, w = image.shape
    return sum(kernel[a, b] * image[a : a + h - kh + 1, b : b + w - kw + 1] for a in range(kh) for b in range(kw))


def loops_float64(image, kernel):
    return loops_unfold(image.double(), kernel.double())


@pytest.mark.parametrize("answer", [loops_sum, loops_four, loops_unfold, loops_shift, loops_float64])
def test_conv2d_loops_accepts_correct_answers(answer, capsys):
    passes(check.conv2d_loops, answer)
    assert "conv2d_loops: correct" in capsys.readouterr().out


def test_conv2d_loops_library_is_refused():
    fails(
        check.conv2d_loops,
        lambda image, kernel: F.conv2d(image[None, None], kernel[None, None])[0, 0],
        "calls F.conv2d",
    )

    def with_module(image, kernel):
        conv = nn.Conv2d(1, 1, kernel.shape, bias=False)
        conv.weight.data = kernel[None, None]
        return conv(image[None, None])[0, 0].detach()

    fails(check.conv2d_loops, with_module, "calls F.conv2d")


def test_conv2d_loops_flipped_kernel_is_named():
    fails(check.conv2d_loops, lambda image, kernel: loops_sum(image, kernel.flip(0, 1)), "true convolution", "flipped")


def test_conv2d_loops_transposed_kernel_is_named():
    fails(check.conv2d_loops, lambda image, kernel: loops_sum(image, kernel.T.contiguous()), "transposed")


def test_conv2d_loops_off_by_one_is_named():
    def short(image, kernel):
        return loops_sum(image, kernel)[:-1, :-1]

    fails(check.conv2d_loops, short, "off by one")


def test_conv2d_loops_same_size_is_named():
    def padded(image, kernel):
        k = kernel.shape[0]
        return loops_sum(F.pad(image, (k // 2,) * 4), kernel)[: image.shape[0], : image.shape[1]]

    fails(check.conv2d_loops, padded, "needs padding")


def test_conv2d_loops_square_assumption_is_named_in_hidden():
    def square(image, kernel):
        k = kernel.shape[0]
        h, w = image.shape
        out = torch.zeros(h - k + 1, w - k + 1)
        for i in range(h - k + 1):
            for j in range(w - k + 1):
                out[i, j] = (image[i : i + k, j : j + k] * kernel).sum()
        return out

    check.conv2d_loops(square)
    fails(check.conv2d_loops, square, "not square: use kh, kw = kernel.shape", hidden=True)


def test_conv2d_loops_4d_is_named():
    fails(check.conv2d_loops, lambda image, kernel: loops_sum(image, kernel)[None, None], "2-D result")


def test_conv2d_loops_in_place_is_named():
    def in_place(image, kernel):
        image -= 0
        image.mul_(1.0)
        image[0, 0] = 99
        return loops_sum(image, kernel)

    fails(check.conv2d_loops, in_place, "in place")


# --- conv2d_unfold ------------------------------------------------------------------------------


def unfold_matmul(x, weight, bias):
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    cols = F.unfold(x, (kh, kw))
    out = weight.view(c_out, -1) @ cols + bias.view(1, -1, 1)
    return out.view(n, c_out, h - kh + 1, w - kw + 1)


def unfold_einsum(x, weight, bias):
    kh, kw = weight.shape[2:]
    patches = x.unfold(2, kh, 1).unfold(3, kw, 1)  # (N, C, H', W', kh, kw)
    return torch.einsum("nchwab,ocab->nohw", patches, weight) + bias[None, :, None, None]


def unfold_loops(x, weight, bias):
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    out = torch.empty(n, c_out, h - kh + 1, w - kw + 1)
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            patch = x[:, :, i : i + kh, j : j + kw]
            out[:, :, i, j] = torch.einsum("ncab,ocab->no", patch, weight) + bias
    return out


@pytest.mark.parametrize("answer", [unfold_matmul, unfold_einsum, unfold_loops])
def test_conv2d_unfold_accepts_correct_answers(answer, capsys):
    passes(check.conv2d_unfold, answer)
    assert "conv2d_unfold: correct" in capsys.readouterr().out


def test_conv2d_unfold_library_is_refused():
    fails(check.conv2d_unfold, F.conv2d, "calls F.conv2d")


def test_conv2d_unfold_missing_bias_is_named():
    fails(
        check.conv2d_unfold, lambda x, weight, bias: unfold_matmul(x, weight, torch.zeros_like(bias)), "bias is missing"
    )


def test_conv2d_unfold_flipped_is_named():
    fails(check.conv2d_unfold, lambda x, weight, bias: unfold_matmul(x, weight.flip(2, 3), bias), "flipped")


def test_conv2d_unfold_bias_on_last_axis_is_named():
    def wrong_axis(x, weight, bias):
        return unfold_matmul(x, weight, torch.zeros_like(bias)) + bias

    fails(check.conv2d_unfold, wrong_axis, "(1, C_out, 1, 1)")


def test_conv2d_unfold_non_contiguous_view_is_hinted():
    def transposed_view(x, weight, bias):
        return unfold_matmul(x, weight.transpose(2, 3).transpose(2, 3), bias).transpose(2, 3).view(-1)

    fails(check.conv2d_unfold, transposed_view, ".contiguous()")


def test_conv2d_unfold_summed_bias_is_named():
    def summed(x, weight, bias):
        return unfold_matmul(x, weight, torch.zeros_like(bias)) + bias.sum()

    fails(check.conv2d_unfold, summed, "sum of all biases")


def test_conv2d_unfold_swapped_hw_is_named():
    def swapped(x, weight, bias):
        out = unfold_matmul(x, weight, bias)
        return out.reshape(*out.shape[:2], out.shape[3], out.shape[2])

    fails(check.conv2d_unfold, swapped, "height and width are swapped")


def test_conv2d_unfold_flat_is_named():
    fails(check.conv2d_unfold, lambda x, weight, bias: unfold_matmul(x, weight, bias).flatten(2), "still flat")


def test_conv2d_unfold_wrong_weight_order_is_named():
    def wrong_order(x, weight, bias):  # weight flattened as (kh, kw, C_in) while unfold gives (C_in, kh, kw)
        return unfold_matmul(x, weight.permute(0, 2, 3, 1).contiguous().reshape(weight.shape), bias)

    fails(check.conv2d_unfold, wrong_order, "(C_in, kh, kw)")


def test_conv2d_unfold_per_input_channel_is_named():
    def depthwise(x, weight, bias):
        return unfold_einsum(x, weight, bias).new_zeros(x.shape[0], x.shape[1], x.shape[2] - 2, x.shape[3] - 2)

    fails(check.conv2d_unfold, depthwise, "INPUT channel")


def test_conv2d_unfold_square_assumption_is_named():
    def square_only(x, weight, bias):
        n, _, h, _ = x.shape
        c_out, _, k, _ = weight.shape
        cols = F.unfold(x, k)
        return (weight.view(c_out, -1) @ cols + bias.view(1, -1, 1)).view(n, c_out, h - k + 1, h - k + 1)

    fails(check.conv2d_unfold, square_only, "compute the output height and width separately")


# --- conv_output_size ---------------------------------------------------------------------------


def size_formula(n, k, padding=0, stride=1):
    return (n + 2 * padding - k) // stride + 1


def size_floor(n, k, padding=0, stride=1):
    return math.floor((n + 2 * padding - k) / stride) + 1


def size_tensor(n, k, padding=0, stride=1):
    return torch.tensor((n + 2 * padding - k) // stride + 1)


def size_by_range(n, k, padding=0, stride=1):  # counts the window positions
    return len(range(0, n + 2 * padding - k + 1, stride))


@pytest.mark.parametrize("answer", [size_formula, size_floor, size_tensor, size_by_range])
def test_conv_output_size_accepts_correct_answers(answer, capsys):
    passes(check.conv_output_size, answer)
    assert "conv_output_size: correct" in capsys.readouterr().out


def test_conv_output_size_off_by_one_is_named():
    fails(check.conv_output_size, lambda n, k, padding=0, stride=1: (n + 2 * padding - k) // stride, "off by one")


def test_conv_output_size_float_is_named():
    fails(check.conv_output_size, lambda n, k, padding=0, stride=1: (n + 2 * padding - k) / stride + 1, "float", "//")


def test_conv_output_size_padding_once_is_named():
    fails(check.conv_output_size, lambda n, k, padding=0, stride=1: (n + padding - k) // stride + 1, "BOTH sides")


def test_conv_output_size_round_up_is_named():
    fails(
        check.conv_output_size,
        lambda n, k, padding=0, stride=1: math.ceil((n + 2 * padding - k) / stride) + 1,
        "round down",
    )


def test_conv_output_size_plus_one_inside_is_named():
    fails(
        check.conv_output_size,
        lambda n, k, padding=0, stride=1: (n + 2 * padding - k + 1) // stride,
        "after the division",
    )


def test_conv_output_size_ignoring_stride_is_named():
    fails(check.conv_output_size, lambda n, k, padding=0, stride=1: n + 2 * padding - k + 1, "stride is ignored")


def test_conv_output_size_ignoring_padding_is_named():
    fails(check.conv_output_size, lambda n, k, padding=0, stride=1: (n - k) // stride + 1, "padding is ignored")


# --- conv_parameters ----------------------------------------------------------------------------


def params_formula(c_in, c_out, k):
    return (k * k * c_in + 1) * c_out


def params_module(c_in, c_out, k):
    return sum(p.numel() for p in nn.Conv2d(c_in, c_out, k).parameters())


@pytest.mark.parametrize("answer", [params_formula, params_module])
def test_conv_parameters_accepts_correct_answers(answer, capsys):
    passes(check.conv_parameters, answer)
    assert "conv_parameters: correct" in capsys.readouterr().out


def test_conv_parameters_no_bias_is_named():
    fails(check.conv_parameters, lambda c_in, c_out, k: k * k * c_in * c_out, "biases are missing")


def test_conv_parameters_swapped_channels_is_named():
    fails(check.conv_parameters, lambda c_in, c_out, k: (k * k * c_out + 1) * c_in, "swapped")
    fails(check.conv_parameters, lambda c_in, c_out, k: k * k * c_in * c_out + c_in, "swapped")


def test_conv_parameters_k_not_squared_is_named():
    fails(check.conv_parameters, lambda c_in, c_out, k: (k * c_in + 1) * c_out, "k*k weights, not k")


def test_conv_parameters_single_bias_is_named():
    fails(
        check.conv_parameters,
        lambda c_in, c_out, k: k * k * c_in * c_out + 1,
        "one bias per OUTPUT channel, not one in all",
    )


def test_conv_parameters_no_kernel_area_is_named():
    fails(check.conv_parameters, lambda c_in, c_out, k: (c_in + 1) * c_out, "multiply by k*k")


def test_conv_parameters_float_is_named():
    fails(check.conv_parameters, lambda c_in, c_out, k: float((k * k * c_in + 1) * c_out), "float")


# --- the grader's side: seeds, exact types, the library's own answers ------------------------------


def test_visible_expected_values_are_the_references():
    for expected, n, k, padding, stride in VISIBLE_SIZES:
        assert reference_output_size(n, k, padding, stride) == expected
    for expected, c_in, c_out, k in VISIBLE_PARAMETERS:
        assert reference_parameters(c_in, c_out, k) == expected == params_formula(c_in, c_out, k)


def test_references_are_not_in_the_learners_package():
    from mnist_ref.checks.lesson02 import convolution, sizes

    for module in (check, convolution, sizes):
        assert not [name for name in vars(module) if name.startswith("reference")], module.__name__


def test_references_agree_with_the_library_convolution():
    image, kernel = torch.randn(7, 9), torch.randn(2, 4)
    assert torch.allclose(reference_conv2d_loops(image, kernel), F.conv2d(image[None, None], kernel[None, None])[0, 0])
    x, weight, bias = torch.randn(2, 3, 8, 6), torch.randn(4, 3, 3, 2), torch.randn(4)
    assert torch.allclose(reference_conv2d_unfold(x, weight, bias), F.conv2d(x, weight, bias), atol=1e-5)


CORRECT = [
    *[(check.conv2d_loops, a) for a in (loops_sum, loops_four, loops_unfold, loops_shift, loops_float64)],
    *[(check.conv2d_unfold, a) for a in (unfold_matmul, unfold_einsum, unfold_loops)],
    *[(check.conv_output_size, a) for a in (size_formula, size_floor, size_tensor, size_by_range)],
    *[(check.conv_parameters, a) for a in (params_formula, params_module)],
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("exercise", "answer"), CORRECT, ids=lambda v: getattr(v, "__name__", None) or v.title)
def test_correct_answers_pass_for_every_seed(exercise, answer, seed):
    grade_in_process(exercise, answer, seed=seed)


@pytest.mark.parametrize(
    "exercise", [check.conv2d_loops, check.conv2d_unfold, check.conv_output_size, check.conv_parameters]
)
def test_grader_inputs_vary_with_the_seed(exercise):
    assert (
        requests_for([exercise.key], 1)[exercise.key]["calls"] != requests_for([exercise.key], 2)[exercise.key]["calls"]
    )


@pytest.mark.parametrize("exercise", [check.conv2d_loops, check.conv2d_unfold])
def test_the_kernel_is_asked_to_switch_the_library_convolution_off(exercise):
    calls = requests_for([exercise.key], 0)[exercise.key]["calls"]
    for targets in ["torch.nn.functional:conv2d", "torch:conv2d", "torch:convolution"]:
        assert all(targets in request["forbid"] for request in calls)


class Size(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class ConvTensor(torch.Tensor):
    pass


def test_exact_types_only_cross_to_the_grader():
    fails(check.conv_output_size, lambda n, k, padding=0, stride=1: Size(0), "Size", hidden=True)
    fails(check.conv_parameters, lambda c_in, c_out, k: Size(0), "Size", hidden=True)
    fails(check.conv_parameters, lambda c_in, c_out, k: True, "should return a number", hidden=True)
    fails(
        check.conv2d_loops,
        lambda image, kernel: loops_unfold(image, kernel).as_subclass(ConvTensor),
        "plain",
        hidden=True,
    )
    fails(
        check.conv2d_unfold,
        lambda x, weight, bias: unfold_matmul(x, weight, bias).tolist(),
        "torch.Tensor",
        hidden=True,
    )


def test_wrong_answers_fail_on_the_grader_side_with_their_message():
    fails(check.conv2d_loops, lambda image, kernel: loops_sum(image, kernel.flip(0, 1)), "flipped", hidden=True)
    fails(
        check.conv2d_unfold, lambda x, weight, bias: unfold_matmul(x, weight, 0 * bias), "bias is missing", hidden=True
    )

    def in_place(image, kernel):
        image[0, 0] = 99
        return loops_sum(image, kernel)

    fails(check.conv2d_loops, in_place, "in place", hidden=True)


def test_conv_parameters_messages_name_the_misconception_not_the_formula():
    for answer, misconception in [
        (lambda c_in, c_out, k: k * k * c_in * c_out, "biases are missing"),
        (lambda c_in, c_out, k: (k * k + 1) * c_out, "c_in is forgotten"),
        (lambda c_in, c_out, k: (c_in + 1) * c_out, "multiply by k*k"),
        (lambda c_in, c_out, k: 7, "none of the usual slips"),
    ]:
        for hidden in (False, True):
            message = fails(check.conv_parameters, answer, misconception, hidden=hidden)
            assert "c_in + 1" not in message and "* c_out" not in message, message


def conv2d_dynamic(x, weight, bias):  # looks F.conv2d up by a name the grader cannot read
    return getattr(F, "conv" + "2d")(x, weight, bias)


def test_library_convolution_is_switched_off_in_the_grader_run():
    fails(check.conv2d_unfold, conv2d_dynamic, "calls F.conv2d", hidden=True)


def loops_taken_before(image, kernel):  # `from torch.nn.functional import conv2d` before the check
    return taken_conv2d(image[None, None], kernel[None, None])[0, 0]


def loops_module(image, kernel):
    conv = nn.Conv2d(1, 1, kernel.shape, bias=False)
    conv.weight.data = kernel[None, None]
    return conv(image[None, None])[0, 0].detach()


@pytest.mark.parametrize(
    ("exercise", "answer", "used"),
    [
        (check.conv2d_loops, loops_taken_before, "conv2d"),
        (check.conv2d_loops, loops_module, "Conv2d"),
        (check.conv2d_unfold, F.conv2d, "conv2d"),
        (check.conv2d_unfold, torch.conv2d, "conv2d"),
        (
            check.conv2d_unfold,
            lambda x, weight, bias: torch.convolution(x, weight, bias, (1, 1), (0, 0), (1, 1), False, (0, 0), 1),
            "convolution",
        ),
        (check.conv2d_unfold, lambda x, weight, bias: torch.ops.aten.conv2d(x, weight, bias), "conv2d"),
        (check.conv_parameters, lambda c_in, c_out, k: count_parameters(nn.Conv2d(c_in, c_out, k)), "count_parameters"),
        (check.conv_parameters, reference_parameters, "reference_parameters"),
        (check.conv2d_unfold, lambda x, weight, bias: reference_conv2d_unfold(x, weight, bias), "reference_conv2d"),
        (
            check.conv_output_size,
            lambda n, k, padding=0, stride=1: layer_table(nn.Conv2d(1, 1, k, stride, padding), (1, n, n))[0][1][-1],
            "layer_table",
        ),
    ],
)
def test_library_counterparts_are_refused(exercise, answer, used):
    fails(exercise, answer, used, "write it yourself", hidden=True)
