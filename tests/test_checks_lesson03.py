"""The checks of lesson 03 against right answers (several styles) and typical wrong ones."""

from __future__ import annotations

import importlib

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from check_helpers import fails, passes, question_explains
from mnist_course.checks import grade_in_process, requests_for
from mnist_course.checks import lesson03 as graded
from mnist_ref.checks import CheckFailed, NotAttempted, architecture
from mnist_ref.checks import lesson03 as check
from mnist_ref.checks.lesson03 import pooling
from mnist_ref.checks.lesson03.networks import ask_net, head_cases, net_cases
from mnist_ref.model import Net as ReferenceNet


@pytest.fixture(autouse=True)
def one_thread():
    """The answers below run tiny convolutions: one thread keeps them fast on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- max_pool_2x2 -------------------------------------------------------------------------------


def pool_reshape(x):
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).amax(dim=(3, 5))


def pool_unfold(x):
    return x.unfold(2, 2, 2).unfold(3, 2, 2).amax(dim=(-1, -2))


def pool_loops(x):
    n, c, h, w = x.shape
    out = torch.empty(n, c, h // 2, w // 2, dtype=x.dtype)
    for i in range(h // 2):
        for j in range(w // 2):
            out[:, :, i, j] = x[:, :, 2 * i : 2 * i + 2, 2 * j : 2 * j + 2].amax(dim=(2, 3))
    return out


def pool_stack(x):
    return torch.stack([x[..., 0::2, 0::2], x[..., 0::2, 1::2], x[..., 1::2, 0::2], x[..., 1::2, 1::2]]).amax(dim=0)


@pytest.mark.parametrize("answer", [pool_reshape, pool_unfold, pool_loops, pool_stack])
def test_max_pool_accepts_correct_answers(answer, capsys):
    passes(check.max_pool_2x2, answer)
    assert "max_pool_2x2: correct" in capsys.readouterr().out


def test_max_pool_not_attempted():
    def max_pool_2x2(x):
        raise NotImplementedError()

    with pytest.raises(NotAttempted, match="not attempted yet"):
        check.max_pool_2x2(max_pool_2x2)


def test_max_pool_average_is_named():
    fails(check.max_pool_2x2, lambda x: F.avg_pool2d(x, 2), "average pooling")
    n_fail = lambda x: x.reshape(*x.shape[:2], x.shape[2] // 2, 2, x.shape[3] // 2, 2).mean(dim=(3, 5))  # noqa: E731
    fails(check.max_pool_2x2, n_fail, "average pooling")


def test_max_pool_stride_one_is_named():
    def stride_one(x):
        return torch.maximum(
            torch.maximum(x[..., :-1, :-1], x[..., 1:, :-1]), torch.maximum(x[..., :-1, 1:], x[..., 1:, 1:])
        )

    fails(check.max_pool_2x2, stride_one, "stride 1", "Use stride 2")


def test_max_pool_library_call_is_refused():
    fails(check.max_pool_2x2, lambda x: F.max_pool2d(x, 2), "write the pooling yourself")
    fails(check.max_pool_2x2, nn.MaxPool2d(2), "write the pooling yourself")
    assert F.max_pool2d(torch.ones(1, 1, 2, 2), 2).item() == 1.0  # restored afterwards


def test_max_pool_wrong_reshape_and_zero_start():
    def wrong_reshape(x):
        n, c, h, w = x.shape
        return x.reshape(n, c, h // 2, w // 2, 2, 2).amax(dim=(4, 5))

    fails(check.max_pool_2x2, wrong_reshape, "(N, C, H//2, 2, W//2, 2)")

    def zero_start(x):
        return pool_reshape(x).clamp(min=0)

    fails(check.max_pool_2x2, zero_start, "starts at 0", hidden=True)


def test_max_pool_transposed_hw_fails_on_non_square():
    def swapped(x):
        return pool_reshape(x).transpose(2, 3)

    fails(check.max_pool_2x2, swapped, "swapped")


def test_max_pool_in_place_is_refused():
    def in_place(x):
        out = pool_reshape(x)
        x.zero_()
        return out

    fails(check.max_pool_2x2, in_place, "in place")


# --- flatten_size -------------------------------------------------------------------------------


def flatten_right(size=28):
    for _ in range(2):
        size = (size - 2 - 2) // 2
    return 256 * size * size


def flatten_by_running(size=28):
    convs = nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.Conv2d(32, 64, 3),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3),
        nn.Conv2d(128, 256, 3),
        nn.MaxPool2d(2),
    )
    with torch.no_grad():
        return convs(torch.zeros(1, 1, size, size)).numel()


def test_flatten_reference_matches_the_real_layers():
    for size in (28, 29, 30, 32, 33, 36, 40):
        assert graded.reference_flatten_size(size) == flatten_by_running(size)
    assert graded.side_lengths(28) == [26, 24, 12, 10, 8, 4]


@pytest.mark.parametrize("answer", [flatten_right, flatten_by_running])
def test_flatten_accepts_correct_answers(answer):
    passes(check.flatten_size, answer)


@pytest.mark.parametrize(
    "value, fragment",
    [
        (16384, "second max-pool"),
        (25600, "first max-pool"),
        (102400, "both max-pools"),
        (9216, "pytorch/examples"),
        (12544, "padding"),
        (16, "256 channels"),
        (2048, "256 output channels"),
    ],
)
def test_flatten_wrong_values_are_explained(value, fragment):
    fails(check.flatten_size, lambda size=28: value, fragment, "28 -> 26 -> 24 -> 12 -> 10 -> 8 -> 4")


def test_flatten_float_and_ceil_and_hardcoded():
    fails(check.flatten_size, lambda size=28: 4096.0, "float")

    def ceil_pools(size=28):
        for _ in range(2):
            size = -(-(size - 4) // 2)
        return 256 * size * size

    check.flatten_size(ceil_pools)  # 28 is even all along
    fails(check.flatten_size, ceil_pools, "rounds DOWN", hidden=True)
    fails(check.flatten_size, lambda size=28: 4096, "flatten_size(32) returned 4,096; expected 6,400", hidden=True)


def test_flatten_not_attempted():
    def flatten_size(size=28):
        raise NotImplementedError()

    with pytest.raises(NotAttempted):
        check.flatten_size(flatten_size)


# --- ClassifierHead -----------------------------------------------------------------------------


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4096, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(torch.flatten(x, 1)))), dim=1)


class SequentialHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(), nn.Linear(4096, 50), nn.ReLU(), nn.Linear(50, 10), nn.LogSoftmax(dim=1)
        )

    def forward(self, x):
        return self.layers(x)


def head_variant(final=lambda z: F.log_softmax(z, dim=1), relu=True, flatten=lambda x: torch.flatten(x, 1), n_in=4096):
    class Variant(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(n_in, 50)
            self.b = nn.Linear(50, 10)

        def forward(self, x):
            h = self.a(flatten(x))
            return final(self.b(F.relu(h) if relu else h))

    return Variant


@pytest.mark.parametrize("answer", [Head, SequentialHead])
def test_head_accepts_correct_answers(answer):
    passes(check.ClassifierHead, answer)


def test_head_not_attempted():
    class ClassifierHead(nn.Module):
        def __init__(self):
            super().__init__()
            raise NotImplementedError()

    with pytest.raises(NotAttempted):
        check.ClassifierHead(ClassifierHead)


def test_head_wrong_answers():
    fails(check.ClassifierHead, head_variant(final=lambda z: F.softmax(z, dim=1)), "softmax", "log_softmax")
    fails(check.ClassifierHead, head_variant(final=lambda z: F.log_softmax(z, dim=0)), "dim 0")
    fails(check.ClassifierHead, head_variant(final=lambda z: z), "not log-probabilities")
    fails(check.ClassifierHead, head_variant(relu=False), "ReLU after fc1 is missing")
    fails(check.ClassifierHead, head_variant(final=lambda z: F.log_softmax(F.relu(z), dim=1)), "ReLU is applied to fc2")
    fails(check.ClassifierHead, head_variant(flatten=lambda x: x), "flatten")
    fails(check.ClassifierHead, head_variant(flatten=torch.flatten), "batch dimension")
    fails(
        check.ClassifierHead,
        head_variant(n_in=9216, flatten=lambda x: x.view(-1, 9216)),
        "fc1 takes 9216 inputs",
        "4096",
    )


def test_head_log_softmax_dim0_with_one_image_hidden():
    # visible (N=3) catches it too; the hidden check with N=1 must say something sensible as well
    message = fails(check.ClassifierHead, head_variant(final=lambda z: F.log_softmax(z, dim=0)), hidden=True)
    assert "dim 0" in message


# --- Net ----------------------------------------------------------------------------------------


class AttrNet(nn.Module):
    """ReLU after the pool (equivalent), attributes with other names, defined in another order."""

    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(1, 32, 3)
        self.second = nn.Conv2d(32, 64, 3)
        self.third = nn.Conv2d(64, 128, 3)
        self.fourth = nn.Conv2d(128, 256, 3)
        self.head = Head()

    def forward(self, x):
        x = F.relu(self.first(x))
        x = F.relu(F.max_pool2d(self.second(x), 2))
        x = F.relu(self.third(x))
        x = F.relu(pool_reshape(self.fourth(x)))
        return self.head(x)


class SeqNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Conv2d(128, 256, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(4096, 50), nn.ReLU(), nn.Linear(50, 10), nn.LogSoftmax(dim=1),
        )  # one line per block of the course model  # fmt: skip

    def forward(self, x):
        return self.net(x)


class ReversedDefinitionNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc2 = nn.Linear(50, 10)
        self.fc1 = nn.Linear(4096, 50)
        self.convs = nn.ModuleList(
            [nn.Conv2d(1, 32, 3), nn.Conv2d(32, 64, 3), nn.Conv2d(64, 128, 3), nn.Conv2d(128, 256, 3)]
        )

    def forward(self, x):
        for i, conv in enumerate(self.convs):
            x = F.relu(conv(x))
            if i in (1, 3):
                x = F.max_pool2d(x, 2)
        return F.log_softmax(self.fc2(F.relu(self.fc1(x.view(x.size(0), -1)))), dim=1)


def make_net(
    padding=0,
    pools=(True, True),
    pool=lambda x: F.max_pool2d(x, 2),
    relus=(True,) * 5,
    fc1_in=4096,
    final=lambda z: F.log_softmax(z, dim=1),
    flatten=lambda x: torch.flatten(x, 1),
    channels=(32, 64, 128, 256),
    stop_after=4,
    extra=False,
):
    class Variant(nn.Module):
        def __init__(self):
            super().__init__()
            c = (1,) + channels
            self.convs = nn.ModuleList([nn.Conv2d(c[i], c[i + 1], 3, padding=padding) for i in range(stop_after)])
            self.fc1 = nn.Linear(fc1_in, 50)
            self.fc2 = nn.Linear(50, 10)
            if extra:
                self.spare = nn.Linear(10, 10)

        def forward(self, x):
            for i, conv in enumerate(self.convs):
                x = conv(x)
                x = F.relu(x) if relus[i] else x
                if i in (1, 3) and pools[i // 2]:
                    x = pool(x)
            h = self.fc1(flatten(x))
            return final(self.fc2(F.relu(h) if relus[4] else h))

    return Variant


@pytest.mark.parametrize("answer", [AttrNet, SeqNet, ReversedDefinitionNet, make_net()])
def test_net_accepts_correct_answers(answer, capsys):
    passes(check.Net, answer)
    assert "Net: correct" in capsys.readouterr().out


def test_net_not_attempted():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            raise NotImplementedError()

    with pytest.raises(NotAttempted):
        check.Net(Net)

    class ForwardOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = SeqNet().net

        def forward(self, x):
            raise NotImplementedError()

    with pytest.raises(NotAttempted):
        check.Net(ForwardOnly)


def test_net_reference_is_refused():
    fails(check.Net, ReferenceNet, "reference Net")


def test_net_missing_pools_are_named():
    fails(
        check.Net,
        make_net(pools=(False, True)),
        "conv2 output is (N, 64, 24, 24)",
        "expected (N, 64, 12, 12)",
        "max-pool after conv2",
    )
    fails(check.Net, make_net(pools=(True, False)), "fc1 expects 4096 inputs but got 16384", "max-pool after conv4")
    fails(check.Net, make_net(pools=(True, False), fc1_in=16384), "fc1 takes 16384 inputs", "max-pool after conv4")
    fails(check.Net, make_net(fc1_in=9216), "fc1 takes 9216 inputs", "pytorch/examples")
    fails(
        check.Net,
        make_net(stop_after=2, fc1_in=9216),
        "2 Conv2d layer(s)",
        "Missing: conv3 = Conv2d(64, 128, kernel_size=3), conv4",
    )


def test_net_pool_with_stride_one_is_named():
    fails(
        check.Net, make_net(pool=lambda x: F.max_pool2d(x, 2, stride=1)), "stride 1", "conv3 receives (N, 64, 23, 23)"
    )


def test_net_average_pooling_caught_by_reference_weights():
    fails(check.Net, make_net(pool=lambda x: F.avg_pool2d(x, 2)), "average of each window", "max-pooling")


def test_net_padding_is_named():
    fails(check.Net, make_net(padding=1, fc1_in=12544), "conv1 uses padding=1", "padding=0")


def test_net_wrong_channels_and_missing_layers():
    fails(check.Net, make_net(channels=(32, 64, 64, 256)), "conv3 maps 64 -> 64 channels; expected 64 -> 128")
    fails(check.Net, make_net(stop_after=3, fc1_in=128 * 16), "Missing: conv4")
    fails(check.Net, make_net(extra=True), "never uses", "spare")

    class WithBatchNorm(SeqNet):
        def __init__(self):
            super().__init__()
            self.net.insert(1, nn.BatchNorm2d(32))

    fails(check.Net, WithBatchNorm, "BatchNorm2d", "only Conv2d and Linear")

    class Unused(SeqNet):
        def __init__(self):
            super().__init__()
            self.net[-2] = nn.Identity()
            self.fc2 = nn.Linear(50, 10)

    fails(check.Net, Unused, "never uses", "fc2")


def test_net_flatten_mistakes():
    fails(check.Net, make_net(flatten=lambda x: x), "fc1 receives (N, 256, 4, 4)", "torch.flatten(x, 1)")
    fails(check.Net, make_net(flatten=torch.flatten), "batch dimension")
    fails(check.Net, make_net(pools=(True, False), flatten=lambda x: x.view(-1, 4096)), "16384", "max-pool after conv4")
    fails(check.Net, make_net(flatten=lambda x: x.view(2, -1)), "batch", hidden=True)  # batch size hard-coded


def test_net_output_mistakes():
    fails(check.Net, make_net(final=lambda z: F.softmax(z, dim=1)), "softmax", "log_softmax")
    fails(check.Net, make_net(final=lambda z: F.log_softmax(z, dim=0)), "dim 0")
    fails(check.Net, make_net(final=lambda z: z), "not log-probabilities")
    fails(check.Net, make_net(final=lambda z: F.log_softmax(F.relu(z), dim=1)), "ReLU is applied to fc2")


@pytest.mark.parametrize("missing", range(5))
def test_net_missing_relu_is_named(missing):
    relus = tuple(i != missing for i in range(5))
    name = ("conv1", "conv2", "conv3", "conv4", "fc1")[missing]
    fails(check.Net, make_net(relus=relus), f"the ReLU after {name} is missing")
    fails(check.Net, make_net(relus=(False,) * 5), "no ReLU at all")


def test_net_detach_is_caught_by_the_gradient_check():
    class Detached(SeqNet):
        def forward(self, x):
            return self.net(x).detach()

    fails(check.Net, Detached, "grad")
    fails(check.Net, Detached, "grad", hidden=True)


def test_net_dropout_is_caught():
    class WithDropout(SeqNet):
        def forward(self, x):
            return F.log_softmax(F.dropout(self.net[:-1](x), 0.5, training=self.training), dim=1)

    fails(check.Net, WithDropout, "dropout")


def test_checks_do_not_touch_the_global_rng():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check.Net(SeqNet)
    assert torch.equal(torch.rand(3), expected)


def test_checks_restore_the_thread_count():
    torch.set_num_threads(2)
    threads = torch.get_num_threads()
    check.Net(SeqNet)
    with pytest.raises(CheckFailed):
        check.Net(make_net(relus=(False,) * 5))
    assert torch.get_num_threads() == threads


# --- the architecture the checks read off mnist_ref.model.Net ------------------------------------


def test_architecture_is_read_off_the_reference_model():
    assert architecture.ROLES == ("conv1", "conv2", "conv3", "conv4", "fc1", "fc2")
    assert [tuple(p.shape) for p in ReferenceNet().parameters()] == architecture.PARAM_SHAPES
    assert architecture.IN_SHAPE["conv3"] == (64, 12, 12) and architecture.OUT_SHAPE["fc1"] == (50,)
    assert architecture.POOLED_AFTER == ("conv2", "conv4")
    assert architecture.RELU_AFTER == ("conv1", "conv2", "conv3", "conv4", "fc1")
    assert architecture.HEAD_ROLES == ("fc1", "fc2") and architecture.FEATURE_SHAPE == (256, 4, 4)
    assert architecture.HEAD_PARAMETERS == 205_360
    assert architecture.HEAD_PARAMETERS_SUM == "(4096 x 50 + 50) + (50 x 10 + 10)"
    assert architecture.WALK == "28 -conv1-> 26 -conv2-> 24 -pool-> 12 -conv3-> 10 -conv4-> 8 -pool-> 4"
    assert architecture.ORDER == (
        "conv1 → ReLU → conv2 → ReLU → max-pool → conv3 → ReLU → conv4 → ReLU → max-pool → "
        "flatten → fc1 → ReLU → fc2 → log_softmax"
    )
    assert architecture.HEAD_ORDER == "flatten → fc1 → ReLU → fc2 → log_softmax"
    assert graded.side_lengths(29, pools_round_up=True) == [27, 25, 13, 11, 9, 5]


def test_reference_forward_replays_the_reference_model():
    params = architecture.reference_params(seed=4)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(4)
        net = ReferenceNet().eval()
    x = torch.randn(3, 1, 28, 28)
    pooled = []
    handle = net.pool.register_forward_hook(lambda module, args, output: pooled.append(output))
    with torch.no_grad():
        out = net(x)
        handle.remove()
        assert torch.equal(architecture.reference_forward(params, x), out)
        assert torch.equal(architecture.reference_forward(params[-4:], pooled[-1], head_only=True), out)
        assert not torch.allclose(architecture.reference_forward(params, x, without_relu_after={"conv3"}), out)
        assert not torch.allclose(architecture.reference_forward(params, x, pool=F.avg_pool2d), out)


def test_reading_the_architecture_leaves_the_random_state_alone():
    torch.manual_seed(5)
    state = torch.get_rng_state()
    importlib.reload(architecture)  # what importing the checks of lesson 03 does
    assert torch.equal(torch.get_rng_state(), state)
    assert architecture.ROLES == ("conv1", "conv2", "conv3", "conv4", "fc1", "fc2")


# --- the grader's side: seeds, exact types, the library's own answers ------------------------------


CORRECT = [
    *[(check.max_pool_2x2, a) for a in (pool_reshape, pool_unfold, pool_loops, pool_stack)],
    *[(check.flatten_size, a) for a in (flatten_right, flatten_by_running)],
    *[(check.ClassifierHead, a) for a in (Head, SequentialHead)],
    *[(check.Net, a) for a in (AttrNet, SeqNet, ReversedDefinitionNet, make_net())],
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize(("exercise", "answer"), CORRECT, ids=lambda v: getattr(v, "__name__", None) or v.title)
def test_correct_answers_pass_for_every_seed(exercise, answer, seed):
    grade_in_process(exercise, answer, seed=seed)


def test_visible_expected_values_are_the_references():
    for size, (side, walk) in pooling.VISIBLE_SIZES.items():
        assert graded.reference_flatten_size(size) == 256 * side * side and graded.walk_text(size) == walk


@pytest.mark.parametrize("key", ["lesson03.max_pool_2x2", "lesson03.flatten_size"])
def test_grader_inputs_vary_with_the_seed(key):
    assert requests_for([key], 1)[key]["calls"] != requests_for([key], 2)[key]["calls"]


def test_grader_models_vary_with_the_seed():
    assert net_cases(1)[1:] != net_cases(2)[1:] and head_cases(1)[1:] != head_cases(2)[1:]
    assert net_cases(5)[0] == net_cases(0)[0]  # the visible case is always judged too


def test_the_kernel_is_asked_to_switch_the_library_pooling_off():
    for request in requests_for(["lesson03.max_pool_2x2"], 0)["lesson03.max_pool_2x2"]["calls"]:
        assert {"torch.nn.functional:max_pool2d", "torch:max_pool2d"} <= set(request["forbid"])


class Size(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class PoolTensor(torch.Tensor):
    pass


class AnyScores:
    """An always-equal 'output'."""

    def __eq__(self, other):
        return True

    shape = (2, 10)


def test_exact_types_only_cross_to_the_grader():
    fails(check.flatten_size, lambda size=28: Size(4096), "Size", hidden=True)
    fails(check.flatten_size, lambda size=28: str(flatten_right(size)), "str", hidden=True)
    fails(check.max_pool_2x2, lambda x: pool_reshape(x).as_subclass(PoolTensor), "plain", hidden=True)

    class Scores(SeqNet):
        def forward(self, x):
            self.net(x)
            return AnyScores()

    fails(check.Net, Scores, "should be a torch.Tensor, got AnyScores", hidden=True)


def library_pool_alias(x):
    return max_pool2d_taken_before(x, 2)


max_pool2d_taken_before = F.max_pool2d  # `from torch.nn.functional import max_pool2d` before the check


class WrappedReference(nn.Module):
    def __init__(self):
        super().__init__()
        self.inner = ReferenceNet()

    def forward(self, x):
        return self.inner(x)


class HiddenReference(nn.Module):
    """Reaches the reference Net through a string, which describe() cannot follow: its submodule type shows it."""

    def __init__(self):
        super().__init__()
        self.inner = getattr(importlib.import_module("mnist_ref.model"), "N" + "et")()

    def forward(self, x):
        return self.inner(x)


class HeadFromReference(nn.Module):
    def __init__(self):
        super().__init__()
        net = ReferenceNet()
        self.fc1, self.fc2 = net.fc1, net.fc2

    def forward(self, x):
        return F.log_softmax(self.fc2(F.relu(self.fc1(torch.flatten(x, 1)))), dim=1)


class ReplayNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.params = nn.ParameterList([nn.Parameter(p) for p in architecture.reference_params(0)])

    def forward(self, x):
        return architecture.reference_forward(list(self.params), x)


@pytest.mark.parametrize(
    ("exercise", "answer", "used"),
    [
        (check.max_pool_2x2, lambda x: F.max_pool2d(x, 2), "torch.nn.functional.max_pool2d"),
        (check.max_pool_2x2, lambda x: torch.max_pool2d(x, 2), "max_pool2d"),
        (check.max_pool_2x2, lambda x: F.max_pool2d_with_indices(x, 2)[0], "max_pool2d_with_indices"),
        (check.max_pool_2x2, nn.MaxPool2d(2), "torch.nn.modules.pooling.MaxPool2d"),
        (check.max_pool_2x2, library_pool_alias, "torch.nn.functional.max_pool2d"),
        (check.flatten_size, graded.reference_flatten_size, "reference_flatten_size"),
        (check.Net, ReferenceNet, "mnist_ref.model.Net"),
        (check.Net, WrappedReference, "mnist_ref.model.Net"),
        (check.Net, ReplayNet, "reference_forward"),
        (check.ClassifierHead, HeadFromReference, "mnist_ref.model.Net"),
    ],
)
def test_library_counterparts_are_refused(exercise, answer, used):
    fails(exercise, answer, used, "write it yourself", hidden=True)


def test_a_reference_net_out_of_describes_reach_is_refused_by_its_submodule_type():
    fails(check.Net, HiddenReference, "reference Net", hidden=True)
    fails(check.Net, HiddenReference, "reference Net")


def test_honest_pooling_with_max_and_unfold_is_not_library():
    def pool_max(x):
        return x.unfold(2, 2, 2).unfold(3, 2, 2).flatten(-2).max(dim=-1).values

    def pool_torch_max(x):
        windows = F.unfold(x.flatten(0, 1).unsqueeze(1), 2, stride=2)
        n, c, h, w = x.shape
        return torch.max(windows, dim=1).values.reshape(n, c, h // 2, w // 2)

    for answer in (pool_max, pool_torch_max):
        passes(check.max_pool_2x2, answer)


def test_malformed_reports_are_refused():
    data = ask_net(SeqNet, 0)
    data["cases"][1]["trace"]["layers"][0]["in_channels"] = -1
    with pytest.raises(CheckFailed, match="malformed"):
        graded.judge_net(data, 0)
    with pytest.raises(CheckFailed, match="not run on the grader's inputs"):
        graded.judge_net({"cases": data["cases"][:1]}, 0)


def test_a_model_with_other_gradients_is_caught():
    class HalfGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, grad):
            return grad / 2

    class Scaled(SeqNet):
        def forward(self, x):
            return HalfGradient.apply(self.net(x))

    fails(check.Net, Scaled, "gradient that reaches")


# --- issue #13: no visible "correct" for the wrong answers the grader rejects ----------------------


def ceil_pools(size=28):
    for _ in range(2):
        size = -(-(size - 4) // 2)
    return 256 * size * size


class DetachedNet(SeqNet):
    def forward(self, x):
        return self.net(x).detach()


VISIBLY_WRONG = [
    *[
        (check.max_pool_2x2, a)
        for a in (
            lambda x: F.avg_pool2d(x, 2),
            lambda x: pool_reshape(x).clamp(min=0),
            lambda x: pool_reshape(x).transpose(2, 3),
            lambda x: F.max_pool2d(x, 2),
            lambda x: x.reshape(*x.shape[:2], x.shape[2] // 2, x.shape[3] // 2, 2, 2).amax(dim=(4, 5)),
            lambda x: torch.maximum(
                torch.maximum(x[..., :-1, :-1], x[..., 1:, :-1]), torch.maximum(x[..., :-1, 1:], x[..., 1:, 1:])
            ),
        )
    ],
    *[(check.flatten_size, lambda size=28, v=v: v) for v in (4096, 4096.0, 16384, 25600, 102400, 9216, 6400, 16)],
    *[
        (check.ClassifierHead, a)
        for a in (
            head_variant(final=lambda z: F.softmax(z, dim=1)),
            head_variant(final=lambda z: F.log_softmax(z, dim=0)),
            head_variant(relu=False),
            head_variant(flatten=torch.flatten),
            head_variant(final=lambda z: F.log_softmax(F.relu(z), dim=1)),
        )
    ],
    *[
        (check.Net, a)
        for a in (
            ReferenceNet,
            DetachedNet,
            make_net(pool=lambda x: F.avg_pool2d(x, 2)),
            make_net(pools=(True, False), fc1_in=16384),
            make_net(padding=1, fc1_in=12544),
            make_net(relus=(True, True, False, True, True)),
            make_net(final=lambda z: F.log_softmax(z, dim=0)),
            make_net(extra=True),
        )
    ],
]


@pytest.mark.parametrize(("exercise", "answer"), VISIBLY_WRONG, ids=lambda v: getattr(v, "title", None) or "")
def test_visible_checks_call_no_typical_wrong_answer_correct(exercise, answer, capsys):
    with pytest.raises(CheckFailed):
        exercise(answer)
    assert "correct." not in capsys.readouterr().out


def test_a_constant_flatten_size_fails_visibly_on_the_size_the_text_names():
    fails(check.flatten_size, lambda size=28: 4096, "flatten_size(32) returned 4,096; expected 6,400")


def test_what_the_visible_flatten_check_cannot_see_it_says_it_did_not_check(capsys):
    check.flatten_size(ceil_pools)  # 28 and 32 stay even all along: the pools never round
    assert "odd ones too, are checked when graded" in capsys.readouterr().out


# --- end-of-lesson questions that check themselves (practice, not graded) --------------------------


@pytest.mark.parametrize(
    ("question", "right", "wrong_answers"),
    [
        ("conv_parameters_question", 36_928, {36_864: "biases", 577: "ONE output channel", 102_464: "not 5 x 5"}),
        ("missing_pool_question", 16_384, {4_096: "WITH the second pool", 8_192: "AND the width", 36_864: "SECOND"}),
        ("shift_question", "b", {"a": "EQUIVARIANT", "c": "one weight per feature", "d": "normalizes"}),
    ],
)
def test_each_question_explains_each_typical_wrong_answer(question, right, wrong_answers, capsys):
    question_explains(getattr(check, question), right, wrong_answers, capsys)


def test_questions_refuse_answers_of_the_wrong_kind():
    fails(check.shift_question.check, "e", "one of 'a', 'b', 'c', 'd'")
    fails(check.shift_question.check, 2, "one of")
    fails(check.missing_pool_question.check, "16384", "answer with a number")
    fails(check.missing_pool_question.check, True, "answer with a number")
    fails(check.missing_pool_question.check, 1234, "not 1,234.", "Walk the side lengths")
    check.shift_question.check(" B ")  # spaces and capitals are fine
