"""The test set is looked at once: at the end of lesson 07 (issue #14).

Every choice a lesson makes (epochs, learning rates, which model) is made on the validation set
that lesson 01 splits off the training images; the test set answers one question, at the end of
the course: how well does the chosen model do on digits it never influenced. This test reads the
code cells of ``solutions/*/*.ipynb`` (their Python syntax tree, so comments and strings do not
count) and reports each use of the test set as ``lesson, cell N, line L: what``.

What counts as a use of the test set:

* a variable named ``test_loader``, ``test_data``, ``test_set`` or ``test_dataset`` that is read
  (a function's own parameter of that name is not: ``def test(model, device, test_loader)``
  evaluates whatever loader it is given);
* ``loaders.test`` (or ``[2]``) of a ``split_loaders`` result, or unpacking its third loader;
* ``data_loader(...)`` / ``make_data(...)`` whose test half is kept (unpack it into ``_`` to
  take the training half only);
* ``fit(...)`` given a test loader: a fourth positional argument or ``test_loader=``
  (lessons pass ``validation_loader=``);
* a dataset made with ``train=False``.

The marker. A provided cell that must touch the test set says so, and why, in a comment line of
its own::

    # test set: only its size, to show the three parts of the split

(``# test set:`` then at least three words of reason). Such a cell may use the test set; a marker
in a cell that does not use it is reported too, so markers stay true. In the final lesson
(``07_evaluation``) the first marked cell is the final evaluation: the cells after it study its
results and may use the test set freely, and the lesson must have that cell.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from mnist_course.course import lesson_names

ROOT = Path(__file__).resolve().parents[1]
FINAL_LESSON = "07_evaluation"
MARKER = re.compile(r"^\s*#\s*test set:\s*(?P<why>.*)$", re.MULTILINE)
TEST_NAMES = {"test_loader", "test_data", "test_set", "test_dataset"}
PAIR_MAKERS = {"data_loader", "make_data"}  # return (train, test)


def _called(node: ast.AST) -> str | None:
    """The name a call calls: ``f`` of ``f(...)`` and of ``anything.f(...)``."""
    if isinstance(node, ast.Call):
        func = node.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return None


def _is_loaders(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id.endswith("loaders")) or _called(node) == "split_loaders"


class _TestSetUses(ast.NodeVisitor):
    def __init__(self):
        self.uses: list[tuple[int, str]] = []
        self.parameters: list[set[str]] = []

    def _use(self, node: ast.AST, what: str) -> None:
        self.uses.append((node.lineno, what))

    def visit_FunctionDef(self, node):
        args = node.args
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        self.parameters.append({a.arg for a in every if a is not None})
        self.generic_visit(node)
        self.parameters.pop()

    visit_AsyncFunctionDef = visit_Lambda = visit_FunctionDef

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load) and node.id in TEST_NAMES and not any(node.id in p for p in self.parameters):
            self._use(node, f"reads {node.id}")

    def visit_Attribute(self, node):
        if node.attr == "test" and _is_loaders(node.value):
            self._use(node, f"{ast.unparse(node)}")
        self.generic_visit(node)

    def visit_Subscript(self, node):
        index = node.slice
        if _is_loaders(node.value) and isinstance(index, ast.Constant) and index.value in (2, -1):
            self._use(node, f"{ast.unparse(node)}")
        self.generic_visit(node)

    def visit_Assign(self, node):
        target, called = node.targets[0], _called(node.value)
        if isinstance(target, ast.Tuple | ast.List) and called in PAIR_MAKERS | {"split_loaders"}:
            kept = target.elts[-1]
            if not (isinstance(kept, ast.Name) and kept.id == "_"):
                self._use(node, f"keeps the test half of {called}(...) as {ast.unparse(kept)}")
            self.visit(node.value.func)  # its arguments are looked at, its own pair-maker check is done
            for argument in [*node.value.args, *node.value.keywords]:
                self.visit(argument)
            return
        self.generic_visit(node)

    def visit_Call(self, node):
        called = _called(node)
        if called in PAIR_MAKERS:
            self._use(node, f"{called}(...) without unpacking its test half into _")
        if called == "fit":
            given = node.args[3] if len(node.args) > 3 else None
            given = next((k.value for k in node.keywords if k.arg == "test_loader"), given)
            if given is not None and not (isinstance(given, ast.Constant) and given.value is None):
                self._use(node, f"fit(...) evaluates on {ast.unparse(given)} as its test loader")
        for keyword in node.keywords:
            if keyword.arg == "train" and isinstance(keyword.value, ast.Constant) and keyword.value.value is False:
                self._use(node, "a dataset with train=False")
        self.generic_visit(node)


def find_test_set_uses(source: str) -> list[tuple[int, str]]:
    """``(line, what)`` for each use of the test set in one code cell's ``source``."""
    # IPython's line magics and shell escapes are not Python: blank them, keeping the line numbers.
    python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    visitor = _TestSetUses()
    visitor.visit(ast.parse(python))
    return sorted(set(visitor.uses))


def problems(lesson: str, cells: list[str], final: bool) -> list[str]:
    """What the lesson does wrong, one line each: uses outside marked cells, empty or stale markers."""
    found, evaluated = [], False
    for number, source in enumerate(cells):
        uses, marker = find_test_set_uses(source), MARKER.search(source)
        where = f"{lesson}, cell {number}"
        if marker and len(marker["why"].split()) < 3:
            found.append(f"{where}: the marker says no reason (`# test set: <why, in a few words>`)")
        if marker and not uses:
            found.append(f"{where}: marked `# test set:` but does not use the test set")
        if uses and not marker and not evaluated:
            found += [f"{where}, line {line}: {what}" for line, what in uses]
        evaluated = evaluated or (final and marker is not None)
    if final and not evaluated:
        found.append(f"{lesson}: no marked final evaluation (`# test set: ...`) in the final lesson")
    return found


def _code_cells(lesson: str) -> list[str]:
    notebook = json.loads((ROOT / "solutions" / lesson / f"{lesson}.ipynb").read_text())
    return ["".join(c["source"]) if c["cell_type"] == "code" else "" for c in notebook["cells"]]


@pytest.mark.parametrize("lesson", lesson_names(ROOT))
def test_no_lesson_looks_at_the_test_set_before_the_final_evaluation(lesson):
    found = problems(lesson, _code_cells(lesson), final=lesson == FINAL_LESSON)
    assert not found, "the test set is used outside a marked cell:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "accuracy, _ = test(model, device, test_loader)",
        "predict(model, device, loaders.test)",
        "final = settings.split_loaders(64).test",
        "x = loaders[2]",
        "train_loader, validation_loader, last = settings.split_loaders(64)",
        "train_loader, test_loader = settings.data_loader(batch_size=64)",
        "pair = data_loader()",
        "train_data, test_data = make_data()",
        "fit(model, device, loaders.train, loaders.validation, 2)",
        "fit(model, device, train_loader, epochs=2, test_loader=something)",
        "digits = datasets.MNIST(root, train=False)",
        "%matplotlib inline\nprint(test_data[0])",
    ],
)
def test_each_kind_of_use_is_found(source):
    assert find_test_set_uses(source), source


@pytest.mark.parametrize(
    "source",
    [
        "def test(model, device, test_loader):\n    for batch in test_loader:\n        pass",
        "accuracy, _ = engine.test(model, device, loaders.validation)",
        "train_loader, _ = settings.data_loader(batch_size=64)",
        "train_data, _ = make_data()",
        "train_loader, validation_loader, _ = settings.split_loaders(64)",
        "fit(model, device, loaders.train, validation_loader=loaders.validation, epochs=2)",
        "fit(model, device, loaders.train, None, 2, validation_loader=loaders.validation)",
        "# test_loader is for the very end\nprint('test set: later')",
    ],
)
def test_what_is_not_a_use(source):
    assert find_test_set_uses(source) == []


def test_markers_exempt_a_cell_and_must_say_why_and_be_true():
    use = "print(len(test_data))"
    assert problems("01", [use], final=False) == ["01, cell 0, line 1: reads test_data"]
    assert problems("01", ["# test set: only its size, for the split figure\n" + use], final=False) == []
    assert problems("01", ["# test set:\n" + use], final=False) == [
        "01, cell 0: the marker says no reason (`# test set: <why, in a few words>`)"
    ]
    assert problems("01", ["# test set: a reason of many words\nx = 1"], final=False) == [
        "01, cell 0: marked `# test set:` but does not use the test set"
    ]


def test_the_final_lesson_may_study_its_evaluation_after_the_marked_cell():
    final = (
        "# test set: the one final evaluation of the chosen model\n" + "accuracy, _ = test(model, device, loaders.test)"
    )
    after = "images, targets, predictions = predict(model, device, loaders.test)"
    assert problems("07", [after, final, after], final=True) == ["07, cell 0, line 1: loaders.test"]
    assert (
        problems("07", [after], final=True)[-1]
        == "07: no marked final evaluation (`# test set: ...`) in the final lesson"
    )
