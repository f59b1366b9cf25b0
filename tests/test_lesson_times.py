"""benchmarks/lesson_times.py: which cells count as training, and the table it prints (no kernel here)."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "lesson_times.py"
spec = importlib.util.spec_from_file_location("lesson_times", SCRIPT)
lesson_times = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lesson_times)


@pytest.mark.parametrize(
    "source",
    [
        "history = fit(model, device, loaders.train, validation_loader=loaders.validation, epochs=budget.epochs)",
        "train_acc, losses = engine.train(model, device, loaders.train, optimizer, progress=True)",
        "for lr in (0.1, 0.01):\n    histories[lr] = run_training(model, device, train, val, opt, sched, 3)",
        "nearest_mean = NearestClassMean.fit(loaders.train).to(device)",
        "%matplotlib inline\nhistory = fit(model, device, loader, epochs=2)",
    ],
)
def test_cells_that_train(source):
    assert lesson_times.trains(source)


@pytest.mark.parametrize(
    "source",
    [
        "model.train()  # only switches the mode",
        "check.train(train)\n### BEGIN HIDDEN TESTS\ncheck.train.hidden(train)\n### END HIDDEN TESTS",
        "def run_training(model, device, loader, optimizer, epochs):\n    for _ in range(epochs):\n"
        "        train(model, device, loader, optimizer)",
        "trainer = lambda: fit(model, device, loader)",
        "val_acc, _ = engine.test(model, device, loaders.validation)",
        "loaders = settings.split_loaders(batch_size=64)\nprint(len(loaders.train))",
        "print('this is not python'",
    ],
)
def test_cells_that_do_not_train(source):
    assert not lesson_times.trains(source)


def cell(index, trains, wall_s, cpu_s, kernel_cpu_s, error=None):
    return dict(
        index=index,
        trains=trains,
        first_line="x = 1",
        wall_s=wall_s,
        cpu_s=cpu_s,
        kernel_cpu_s=kernel_cpu_s,
        error=error,
    )


def test_summary_separates_the_training_cells():
    cells = [
        cell(2, False, 3.0, 2.5, 4.0),
        cell(5, True, 20.0, 38.0, 42.0),
        cell(9, True, 5.0, 9.5, 52.0, "ValueError"),
    ]
    row = lesson_times.summarise("07_evaluation", cells, whole_s=31.04, kernel_start_s=1.2)
    assert (row["training_s"], row["rest_s"], row["training_cpu_s"], row["kernel_cpu_s"]) == (25.0, 6.0, 47.5, 52.0)
    assert row["training_cells"] == [5, 9] and row["errors"] == ["cell 9: ValueError"]


def test_table_has_a_row_per_lesson_and_the_cpu_estimate():
    row = lesson_times.summarise("04_training_loop", [cell(3, True, 10.0, 18.0, 25.0)], whole_s=20.0, kernel_start_s=1)
    quiet = lesson_times.summarise("01_mnist_data", [cell(1, False, 2.0, 1.0, 3.0)], whole_s=4.0, kernel_start_s=1)
    report = {"machine": {"torch_threads": 2}, "lessons": [row, quiet]}
    lines = lesson_times.table(report).splitlines()
    assert "training CPU / 2 threads (s)" in lines[0] and len(lines) == 4
    assert lines[2] == "| 04_training_loop | 20.0 | 10.0 | 10.0 | 25.0 | 18.0 | 9.0 | 3 | none |"
    assert lines[3].startswith("| 01_mnist_data | 4.0 | 0.0 | 4.0 |") and "| none | none |" in lines[3]


def test_the_kernel_runs_as_a_learner_would(monkeypatch):
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    environ = lesson_times.kernel_environment("cpu", "some/data")
    assert "NBGRADER_EXECUTION" not in environ and environ["MNIST_BUDGET"] == "cpu"
    assert Path(environ["MNIST_DATA"]).is_absolute()
    assert lesson_times.notebook_path("07").name == "07_evaluation.ipynb"
    assert lesson_times.notebook_path("07", solutions=True).parent.parent.name == "solutions"
