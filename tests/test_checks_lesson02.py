"""The checks of lesson 02 against right answers (several styles) and typical wrong ones."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd import grad as taken_autograd  # taken before a check switches it off
from torch.nn.functional import conv2d as taken_conv2d  # taken before a check switches it off

from check_helpers import assert_not_attempted, fails, passes
from mnist_course.checks import grade_in_process, requests_for
from mnist_course.checks.lesson02 import (
    reference_conv2d_backward,
    reference_conv2d_loops,
    reference_conv2d_strided,
    reference_conv2d_unfold,
    reference_output_size,
    reference_parameters,
)
from mnist_ref.checks import CheckFailed
from mnist_ref.checks import lesson02 as check
from mnist_ref.checks.lesson02.backward import autograd_gradients, numerical_gradient
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


# --- conv2d_strided -----------------------------------------------------------------------------


def strided_loops(image, kernel, padding=0, stride=1):
    kh, kw = kernel.shape
    padded = F.pad(image, (padding,) * 4)
    rows, cols = (padded.shape[0] - kh) // stride + 1, (padded.shape[1] - kw) // stride + 1
    out = torch.zeros(rows, cols, dtype=image.dtype)
    for i in range(rows):
        for j in range(cols):
            out[i, j] = (padded[i * stride : i * stride + kh, j * stride : j * stride + kw] * kernel).sum()
    return out


def strided_from_loops(image, kernel, padding=0, stride=1):  # the learner's own stride-1 convolution, subsampled
    padded = torch.zeros(image.shape[0] + 2 * padding, image.shape[1] + 2 * padding)
    padded[padding : padding + image.shape[0], padding : padding + image.shape[1]] = image
    return loops_sum(padded, kernel)[::stride, ::stride]


def strided_unfold(image, kernel, padding=0, stride=1):
    windows = F.pad(image, (padding,) * 4).unfold(0, kernel.shape[0], stride).unfold(1, kernel.shape[1], stride)
    return torch.einsum("ijab,ab->ij", windows, kernel)


@pytest.mark.parametrize("answer", [strided_loops, strided_from_loops, strided_unfold])
def test_conv2d_strided_accepts_correct_answers(answer, capsys):
    passes(check.conv2d_strided, answer)
    assert "✅" in capsys.readouterr().out


def strided_with(pad=lambda image, p: F.pad(image, (p,) * 4), stride_of=lambda s: s, kernel_of=lambda k: k):
    """A strided convolution with one slip put in."""

    def answer(image, kernel, padding=0, stride=1):
        kernel = kernel_of(kernel)
        kh, kw = kernel.shape
        padded, step = pad(image, padding), stride_of(stride)
        rows = range(0, padded.shape[0] - kh + 1, step)
        cols = range(0, padded.shape[1] - kw + 1, step)
        return torch.stack([torch.stack([(padded[i : i + kh, j : j + kw] * kernel).sum() for j in cols]) for i in rows])

    return answer


@pytest.mark.parametrize(
    ("answer", "misconception"),
    [
        (strided_with(pad=lambda image, p: F.pad(image, (p, 0, p, 0))), "BOTH sides"),
        (strided_with(pad=lambda image, p: image), "padding is ignored"),
        (strided_with(stride_of=lambda s: 1), "stride is ignored"),
        (strided_with(pad=lambda image, p: F.pad(image[None], (p,) * 4, mode="replicate")[0]), "copies of the edge"),
        (strided_with(kernel_of=lambda k: k.flip(0, 1)), "flipped"),
        (lambda image, kernel, padding=0, stride=1: F.pad(loops_sum(image, kernel), (padding,) * 4), "OUTPUT"),
        (lambda image, kernel, padding=0, stride=1: strided_loops(image, kernel, padding, stride)[None], "2-D"),
        (
            lambda image, kernel, padding=0, stride=1: F.conv2d(
                image[None, None], kernel[None, None], None, stride, padding
            )[0, 0],
            "conv2d",
        ),
        (strided_with(pad=lambda image, p: F.pad(image, (p,) * 4) + 0.5), "values differ"),
    ],
)
def test_conv2d_strided_slips_are_named(answer, misconception):
    fails(check.conv2d_strided, answer, misconception)
    fails(check.conv2d_strided, answer, misconception, hidden=True)


def strided_rounded_up(image, kernel, padding=0, stride=1):  # keeps a window that sticks out
    kh, kw = kernel.shape
    padded = F.pad(image, (padding, padding + stride, padding, padding + stride))
    rows = -(-(image.shape[0] + 2 * padding - kh) // stride) + 1
    cols = -(-(image.shape[1] + 2 * padding - kw) // stride) + 1
    return strided_loops(padded, kernel, 0, stride)[:rows, :cols]


def test_conv2d_strided_rounding_up_is_named():
    fails(check.conv2d_strided, strided_rounded_up, "rounds down")


# --- conv2d_backward ----------------------------------------------------------------------------


def backward_loops(image, kernel, grad_out):
    kh, kw = kernel.shape
    grad_image, grad_kernel = torch.zeros_like(image), torch.zeros_like(kernel)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            grad_image[i : i + kh, j : j + kw] += grad_out[i, j] * kernel
            grad_kernel += grad_out[i, j] * image[i : i + kh, j : j + kw]
    return grad_image, grad_kernel


def backward_as_convolutions(image, kernel, grad_out):  # CS231n's observation, with the learner's own conv
    kh, kw = kernel.shape
    padded = torch.zeros(grad_out.shape[0] + 2 * (kh - 1), grad_out.shape[1] + 2 * (kw - 1), dtype=grad_out.dtype)
    padded[kh - 1 : kh - 1 + grad_out.shape[0], kw - 1 : kw - 1 + grad_out.shape[1]] = grad_out
    return [loops_sum(padded, kernel.flip(0, 1)).to(image.dtype), loops_sum(image, grad_out).to(image.dtype)]


def backward_einsum(image, kernel, grad_out):
    kh, kw = kernel.shape
    grad_kernel = torch.einsum("ijab,ij->ab", image.unfold(0, kh, 1).unfold(1, kw, 1), grad_out)
    grad_image = torch.zeros_like(image)
    for a in range(kh):
        for b in range(kw):
            grad_image[a : a + grad_out.shape[0], b : b + grad_out.shape[1]] += kernel[a, b] * grad_out
    return grad_image, grad_kernel


@pytest.mark.parametrize("answer", [backward_loops, backward_as_convolutions, backward_einsum])
def test_conv2d_backward_accepts_correct_answers(answer, capsys):
    passes(check.conv2d_backward, answer)
    assert "✅" in capsys.readouterr().out


def backward_not_flipped(image, kernel, grad_out):
    grad_image, grad_kernel = backward_as_convolutions(image, kernel.flip(0, 1), grad_out)
    return grad_image, backward_loops(image, kernel, grad_out)[1]


def backward_kernel_flipped(image, kernel, grad_out):
    grad_image, grad_kernel = backward_loops(image, kernel, grad_out)
    return grad_image, grad_kernel.flip(0, 1)


def backward_no_upstream(image, kernel, grad_out):
    return backward_loops(image, kernel, torch.ones_like(grad_out))


def backward_kernel_per_position(image, kernel, grad_out):  # summed over the kernel's axes, not the positions
    kh, kw = kernel.shape
    windows = image.unfold(0, kh, 1).unfold(1, kw, 1)
    return backward_loops(image, kernel, grad_out)[0], (windows * grad_out[:, :, None, None]).sum(dim=(2, 3))


def backward_with_autograd(image, kernel, grad_out):
    image, kernel = image.clone().requires_grad_(), kernel.clone().requires_grad_()
    (loops_sum(image, kernel) * grad_out).sum().backward()
    return image.grad, kernel.grad


@pytest.mark.parametrize(
    ("answer", "misconception"),
    [
        (backward_not_flipped, "FLIPPED kernel"),
        (backward_kernel_flipped, "grad_kernel is flipped"),
        (lambda image, kernel, grad_out: backward_loops(image, kernel, grad_out)[::-1], "swapped"),
        (lambda image, kernel, grad_out: (grad_out, backward_loops(image, kernel, grad_out)[1]), "not the output's"),
        (backward_kernel_per_position, "ALL output positions"),
        (backward_no_upstream, "ignores grad_out"),
        (backward_with_autograd, "calls autograd"),
        (lambda image, kernel, grad_out: backward_loops(image, kernel, grad_out)[0], "a pair"),
        (
            lambda image, kernel, grad_out: (backward_loops(image, kernel, grad_out)[0], kernel * 0),
            "grad_kernel is wrong",
        ),
    ],
)
def test_conv2d_backward_slips_are_named(answer, misconception):
    fails(check.conv2d_backward, answer, misconception)
    fails(check.conv2d_backward, answer, misconception, hidden=True)


def test_conv2d_backward_in_place_is_named():
    def in_place(image, kernel, grad_out):
        grad_out *= 1.5
        return backward_loops(image, kernel, grad_out / 1.5)

    fails(check.conv2d_backward, in_place, "changed grad_out in place")


def test_the_lessons_numerical_gradient_agrees_with_autograd():
    image, kernel, grad_out = torch.randn(5, 6).double(), torch.randn(3, 3).double(), torch.randn(3, 4).double()
    want_image, want_kernel = autograd_gradients(image, kernel, grad_out)

    def loss(x=image, w=kernel):
        return (F.conv2d(x[None, None], w[None, None])[0, 0] * grad_out).sum()

    assert torch.allclose(numerical_gradient(lambda x: loss(x=x), image), want_image, atol=1e-6)
    assert torch.allclose(numerical_gradient(lambda w: loss(w=w), kernel), want_kernel, atol=1e-6)


def test_new_references_agree_with_the_library():
    image, kernel = torch.randn(9, 7), torch.randn(3, 2)
    for padding, stride in [(0, 1), (1, 2), (2, 3)]:
        expected = F.conv2d(image[None, None], kernel[None, None], padding=padding, stride=stride)[0, 0]
        assert torch.allclose(reference_conv2d_strided(image, kernel, padding, stride), expected, atol=1e-5)
    grad_out = torch.randn(7, 6)
    for got, want in zip(
        reference_conv2d_backward(image, kernel, grad_out), autograd_gradients(image, kernel, grad_out)
    ):
        assert torch.allclose(got, want, atol=1e-5)


NEW_CORRECT = [
    *[(check.conv2d_strided, a) for a in (strided_loops, strided_from_loops, strided_unfold)],
    *[(check.conv2d_backward, a) for a in (backward_loops, backward_as_convolutions, backward_einsum)],
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("exercise", "answer"), NEW_CORRECT, ids=lambda v: getattr(v, "__name__", None) or v.title)
def test_new_correct_answers_pass_for_every_seed(exercise, answer, seed):
    grade_in_process(exercise, answer, seed=seed)


@pytest.mark.parametrize("exercise", [check.conv2d_strided, check.conv2d_backward])
def test_new_grader_inputs_vary_with_the_seed(exercise):
    assert (
        requests_for([exercise.key], 1)[exercise.key]["calls"] != requests_for([exercise.key], 2)[exercise.key]["calls"]
    )


def test_the_kernel_is_asked_to_switch_autograd_off_for_the_backward():
    for request in requests_for(["lesson02.conv2d_backward"], 0)["lesson02.conv2d_backward"]["calls"]:
        for target in ["torch.autograd:grad", "torch.autograd:backward", "torch.nn.functional:conv_transpose2d"]:
            assert target in request["forbid"]


def backward_taken_grad(image, kernel, grad_out):  # autograd taken before the check
    image, kernel = image.clone().requires_grad_(), kernel.clone().requires_grad_()
    return taken_autograd((loops_sum(image, kernel) * grad_out).sum(), (image, kernel))


@pytest.mark.parametrize(
    ("exercise", "answer", "used"),
    [
        (check.conv2d_backward, backward_taken_grad, "grad"),
        (
            check.conv2d_backward,
            lambda image, kernel, grad_out: (
                torch.nn.grad.conv2d_input((1, 1, *image.shape), kernel[None, None], grad_out[None, None])[0, 0],
                torch.nn.grad.conv2d_weight(image[None, None], (1, 1, *kernel.shape), grad_out[None, None])[0, 0],
            ),
            "conv2d_input",
        ),
        (check.conv2d_backward, lambda i, k, g: reference_conv2d_backward(i, k, g), "reference_conv2d_backward"),
        (
            check.conv2d_strided,
            lambda i, k, padding=0, stride=1: taken_conv2d(i[None, None], k[None, None], None, stride, padding)[0, 0],
            "conv2d",
        ),
        (
            check.conv2d_strided,
            lambda i, k, padding=0, stride=1: reference_conv2d_strided(i, k, padding, stride),
            "reference_conv2d_strided",
        ),
    ],
)
def test_new_library_counterparts_are_refused(exercise, answer, used):
    fails(exercise, answer, used, "write it yourself", hidden=True)


@pytest.mark.parametrize(
    ("question", "right", "wrong"),
    [
        (check.strided_size_question, 14, {13: "rounds down", 15: "stick out", 28: "stride 1", 13.5: "whole number"}),
        (check.same_padding_question, 2, {4: "EACH side", 1: "3 x 3 kernel", 0: "without padding"}),
        (check.backward_shape_question, "c", {"a": "kernel is 3 x 3", "b": "OUTPUT's shape", "d": "batch"}),
    ],
)
def test_each_question_says_why_a_typical_wrong_answer_is_wrong(question, right, wrong):
    question.check(right)
    for answer, fragment in wrong.items():
        fails(question.check, answer, fragment)
