"""The trusted-grading machinery: plain data across, replay, verdicts replacing a cell's outputs."""

from __future__ import annotations

import json

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mnist_course.checks import GRADED, grade_in_process, requests_for
from mnist_course.checks.graded import refuse_library
from mnist_course.checks.replay import Recorder, Replayer
from mnist_course.preprocessors.grading_requests import graded_keys, lesson_prefix
from mnist_course.preprocessors.trusted_verdicts import judge_cell
from mnist_ref.checks.fixtures import CountingSGD, make_model
from mnist_ref.checks.framework import CheckFailed, Exercise, forbid
from mnist_ref.checks.grading import ANSWERS_MIMETYPE, answer_call, answer_request
from mnist_ref.checks.transcript import (
    UNCHANGED,
    NotPlainData,
    describe,
    from_data,
    qualified,
    restore_into,
    to_data,
)


def through_json(value):
    return json.loads(json.dumps(value))


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        -2.5,
        float("nan"),
        "text",
        [1, (2, 3.0), {"a": [None]}],
        {1: "one", (0, 1): 2},
        torch.arange(6, dtype=torch.float32).reshape(2, 3),
        torch.tensor(True),
        torch.empty(0, 4, dtype=torch.int64),
        torch.randn(3).to(torch.bfloat16),
        np.arange(4, dtype=np.int16),
        np.float64(1.5),
        torch.device("cpu"),
        torch.float16,
    ],
    ids=repr,
)
def test_plain_values_cross_unchanged(value):
    back = from_data(through_json(to_data(value)))
    assert type(back) is type(value)
    if isinstance(value, torch.Tensor):
        assert back.dtype == value.dtype and torch.equal(back, value)
    elif isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    elif isinstance(value, float) and value != value:
        assert back != back
    else:
        assert back == value


class AlwaysEqual(str):
    def __eq__(self, other):
        return True

    __hash__ = str.__hash__


@pytest.mark.parametrize(
    "value", [AlwaysEqual("x"), type("MyInt", (int,), {})(3), object(), [lambda: 0], nn.Linear(1, 1)]
)
def test_what_is_not_plain_data_does_not_cross(value):
    with pytest.raises(NotPlainData):
        to_data(value)


@pytest.mark.parametrize(
    "data",
    [
        {"$": "pickle", "v": "gASV"},
        {"$": "tensor", "id": 0, "dtype": "float32", "shape": [2], "data": "AAAA"},  # 3 bytes for 8
        {"$": "tensor", "id": 0, "dtype": "object", "shape": [1], "data": ""},
        {"$": "numpy", "dtype": "|O", "shape": [1], "data": ""},
        {"$": "ref", "id": 7},
        {"$": "dict", "v": [[[1], 2]]},  # a list cannot be a key
    ],
)
def test_malformed_data_is_refused(data):
    with pytest.raises(NotPlainData):
        from_data(data)


def test_shared_tensors_stay_shared_and_state_comes_back():
    model = make_model("linear", 0)
    optimizer = CountingSGD(model.parameters(), lr=0.1, momentum=0.9)
    (copy, copy_optimizer), _ = from_data(through_json(to_data(((model, optimizer), {}))))
    assert all(a is b for a, b in zip(copy_optimizer.param_groups[0]["params"], copy.parameters(), strict=True))
    F.nll_loss(copy(torch.randn(2, 1, 28, 28)), torch.tensor([1, 2])).backward()
    copy_optimizer.step()
    restore_into([model, optimizer], through_json(to_data([copy, copy_optimizer])))
    assert optimizer.steps == 1 and len(model.calls) == 1
    assert torch.equal(model.fc.weight, copy.fc.weight) and model.fc.weight.grad is not None


def one_step(model, device, loader, optimizer):
    """An answer that changes its model and optimizer in place and leaves the loader as it came."""
    for data, target in loader:
        optimizer.zero_grad()
        F.nll_loss(model(data), target).backward()
        optimizer.step()
    return [0.5]


def test_only_the_arguments_a_call_changed_cross_back():
    model = make_model("linear", 0)
    loader = [(torch.randn(2, 1, 28, 28), torch.tensor([1, 2]))]
    optimizer = CountingSGD(model.parameters(), lr=0.1, momentum=0.9)
    request = {"args": through_json(to_data(((model, torch.device("cpu"), loader, optimizer), {})))}
    after = answer_call(one_step, request)["after"]
    # the loader and the device come back as UNCHANGED, the model because the optimizer refers to its weights
    assert [item == UNCHANGED for item in after[0]] == [False, True, True, False]
    # replayed on the grader's own objects: the changed state arrives, the rest stays
    restore_into([[model, torch.device("cpu"), loader, optimizer], {}], through_json(after))
    assert optimizer.steps == 1 and model.fc.weight.grad is not None and len(model.calls) == 1
    # a pure function's inputs never cross back; an input it changes in place does
    tensor = torch.arange(4.0)
    request = {"args": through_json(to_data(((tensor,), {"scale": tensor.clone()})))}
    assert answer_call(lambda t, scale: t * scale, request)["after"] == [
        [UNCHANGED],
        {"$": "dict", "v": [["scale", UNCHANGED]]},
    ]
    changed = answer_call(lambda t, scale: t.mul_(scale), request)["after"]
    assert changed[0][0] != UNCHANGED and changed[1]["v"][0][1] == UNCHANGED
    restore_into([[tensor], {"scale": tensor.clone()}], through_json(changed))
    assert torch.equal(tensor, torch.arange(4.0) ** 2)


def test_describe_reports_library_objects_reached_through_own_helpers():
    from mnist_ref import evaluation

    def helper(t, p):
        return evaluation.confusion_matrix(t, p)

    def answer(t, p):
        return helper(t, p)

    reached = describe(answer)["reached"]
    assert qualified(evaluation.confusion_matrix) in reached
    with pytest.raises(CheckFailed, match="library's own version"):
        refuse_library(describe(answer), (evaluation.confusion_matrix,), "confusion_matrix")
    refuse_library(describe(lambda t, p: torch.bincount(t * 10 + p)), (evaluation.confusion_matrix,), "cm")


def test_describe_sees_an_object_a_subclass_and_a_builtin_taken_early():
    from torch.nn.functional import conv2d

    assert describe(nn.NLLLoss())["type"] == qualified(nn.NLLLoss)
    assert qualified(nn.Linear) in describe(type("Mine", (nn.Linear,), {}))["bases"]
    assert qualified(F.conv2d) in describe(lambda x, w: conv2d(x, w))["reached"]


def square(x):
    return x * x


def check_square(answer, seed: int) -> None:
    for x in (torch.tensor([1.0, -2.0]), torch.randn(3, generator=torch.Generator().manual_seed(seed))):
        result = answer(x)
        if not isinstance(result, torch.Tensor) or not torch.equal(result, x * x):
            raise CheckFailed("square is wrong")


def test_replay_returns_recorded_results_and_refuses_unasked_calls():
    recorder = Recorder(square, "square")
    check_square(recorder, seed=4)
    outcomes = [{"result": to_data(from_data(c["args"])[0][0] ** 2)} for c in recorder.calls]
    check_square(Replayer(recorder.calls, through_json(outcomes), "square"), seed=4)
    with pytest.raises(CheckFailed, match="wrong results on the grader's inputs"):
        check_square(Replayer(recorder.calls, outcomes, "square"), seed=5)  # other inputs than those asked
    with pytest.raises(CheckFailed, match="not run"):
        check_square(Replayer(recorder.calls, outcomes[:1], "square"), seed=4)


def test_recorder_notes_the_functions_switched_off():
    recorder = Recorder(square, "square")
    with forbid((F, "conv2d")):
        recorder(torch.ones(1))
    assert recorder.calls[0]["forbid"] == ["torch.nn.functional:conv2d"]


def test_every_hidden_check_of_the_course_is_graded_by_the_trusted_side(lessons_source_cells):
    """A `check.X.hidden(X)` without a trusted check would pass anything while grading."""
    missing = [
        (lesson, name)
        for lesson, cell in lessons_source_cells
        for name in __import__("re").findall(r"check\.(\w+)\.hidden\(", cell.source)
        if f"{lesson_prefix(lesson)}.{name}" not in GRADED
    ]
    assert missing == []


@pytest.fixture
def lessons_source_cells():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "solutions"
    return [
        (path.parent.name, cell)
        for path in sorted(root.glob("*/*.ipynb"))
        for cell in nbformat.read(path, as_version=4).cells
        if cell.metadata.get("nbgrader", {}).get("grade") and cell.cell_type == "code"
    ]


# --- the verdict of one cell ------------------------------------------------------------------------

KEY = "lesson02.conv_output_size"


def conv_output_size(n, k, padding=0, stride=1):
    return (n + 2 * padding - k) // stride + 1


def display(payload) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={ANSWERS_MIMETYPE: payload})


def payload_for(answer):
    exercise = Exercise("conv_output_size", visible=lambda a: None, hint_text="", key=KEY)
    request = through_json(requests_for([KEY], 3)[KEY])
    return through_json(answer_request(exercise, answer, request))


def test_a_cell_passes_on_the_answers_of_a_correct_answer_whatever_else_it_printed():
    requests = {KEY: requests_for([KEY], 3)[KEY]}
    outputs = [
        nbformat.v4.new_output("error", ename="X", evalue="noise", traceback=[]),
        display(payload_for(conv_output_size)),
    ]
    passed, failed = judge_cell([KEY], requests, outputs)
    assert failed == [] and passed


@pytest.mark.parametrize(
    "outputs, message",
    [
        ([], "did not run"),
        ([nbformat.v4.new_output("error", ename="NameError", evalue="x", traceback=[])], "stopped before"),
        ([nbformat.v4.new_output("stream", name="stdout", text="✅ conv_output_size: correct.")], "did not run"),
    ],
)
def test_a_cell_without_answers_fails(outputs, message):
    requests = {KEY: requests_for([KEY], 3)[KEY]}
    passed, failed = judge_cell([KEY], requests, outputs)
    assert passed == [] and message in failed[0]


def test_forged_or_doubled_answers_fail():
    requests = {KEY: requests_for([KEY], 3)[KEY]}
    good = payload_for(conv_output_size)
    forged = dict(good, calls=[{"result": 26} for _ in good["calls"]])
    assert judge_cell([KEY], requests, [display(forged)])[1]
    assert "more than once" in judge_cell([KEY], requests, [display(good), display(good)])[1][0]
    other_seed = through_json(
        answer_request(
            Exercise("c", visible=lambda a: None, hint_text="", key=KEY),
            conv_output_size,
            through_json(requests_for([KEY], 4)[KEY]),
        )
    )
    assert judge_cell([KEY], requests, [display(other_seed)])[1]  # answers to other inputs than asked


def test_graded_keys_read_the_test_cell_source():
    cell = nbformat.v4.new_code_cell(
        "check.conv_output_size(conv_output_size)\ncheck.conv_output_size.hidden(conv_output_size)"
    )
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "t", "points": 1}
    assert graded_keys(cell, lesson_prefix("02_convolution")) == [KEY]
    cell.metadata["nbgrader"]["grade"] = False
    assert graded_keys(cell, "lesson02") == []


def test_grade_in_process_raises_the_message_of_a_wrong_answer():
    from mnist_ref.checks import lesson02

    with pytest.raises(CheckFailed, match="BOTH sides"):
        grade_in_process(lesson02.conv_output_size, lambda n, k, padding=0, stride=1: (n + padding - k) // stride + 1)
