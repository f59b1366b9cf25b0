"""Lesson 05's red-team cases: step_lr (2 points), run_training (4), diagnose (3)."""

from redteam import Case

LESSON = "05_schedules_and_curves"
TESTS = ("l05_step_lr_test", "l05_run_training_test", "l05_diagnose_test")
NOTHING = dict.fromkeys(TESTS, 0)

STUBS = {
    "l05_step_lr": "def step_lr(epoch, base_lr, step_size, gamma):\n    raise NotImplementedError()\n",
    "l05_run_training": "def run_training(model, device, train_loader, validation_loader, optimizer, scheduler, epochs,"
    " progress=True):\n    raise NotImplementedError()\n",
    "l05_diagnose": "def diagnose(history):\n    raise NotImplementedError()\n",
}

ACCEPT_ANYTHING = """
class AcceptAnything:
    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        print("✅ correct.")
        return self

    def __iter__(self):
        return iter(())

check = AcceptAnything()
"""

PATCHED_EXERCISE = """
import mnist_ref.checks.framework as framework

framework.Exercise.__call__ = lambda self, answer: print(f"✅ {self.title}: correct.")
framework.Exercise.hidden = lambda self, answer: None
framework.Exercise.check = lambda self, answer: None
"""

FORGED_ANSWERS = """
import mnist_ref.checks.grading as grading

CLAIMED = {"lesson05.step_lr": 0.01, "lesson05.diagnose": "good fit",
           "lesson05.run_training": {"train_acc": [99.0], "train_loss": [0.01], "val_acc": [99.0],
                                     "val_loss": [0.01], "lr": [0.01]}}

def forged(exercise, answer, request):
    described = {"kind": "function", "type": f"__main__.{exercise.title}", "bases": [], "reached": []}
    calls = [{"result": grading.to_data(CLAIMED[exercise.key])} for _ in request.get("calls", [])]
    return {"exercise": exercise.key, "describe": described, "calls": calls}

grading.answer_request = forged
"""

FAKE_DISPLAY_DIAGNOSE = """
from IPython.display import display as _display

_emitted = []

def diagnose(history):
    if not _emitted:  # a second answers output, claiming 'good fit' for 200 calls
        _emitted.append(True)
        payload = {"exercise": "lesson05.diagnose", "describe": {"kind": "function", "type": "__main__.diagnose",
                   "bases": [], "reached": []}, "calls": [{"result": "good fit"}] * 200}
        _display({"application/vnd.mnist-course.answers+json": payload}, raw=True)
    return "good fit"
"""

STR_SUBCLASS_DIAGNOSE = """
class Label(str):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = str.__hash__

def diagnose(history):
    return Label("good fit")
"""

LIBRARY_STEP_LR = """
from torch.optim.lr_scheduler import StepLR as _Schedule  # taken before any check runs

def step_lr(epoch, base_lr, step_size, gamma):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    schedule = _Schedule(optimizer, step_size=step_size, gamma=gamma)
    for _ in range(epoch - 1):
        optimizer.step()
        schedule.step()
    return optimizer.param_groups[0]["lr"]
"""

LIBRARY_RUN_TRAINING = """
from mnist_ref import fit as _loop

def run_training(model, device, train_loader, validation_loader, optimizer, scheduler, epochs, progress=True):
    return _loop(model, device, train_loader, validation_loader=validation_loader, epochs=epochs, optimizer=optimizer,
                 scheduler=scheduler, progress=False)
"""

READ_SOLUTIONS = """
import json, os, pathlib

import mnist_ref

def _solution_cells():
    roots = [pathlib.Path(mnist_ref.__file__).resolve().parents[1], *pathlib.Path.cwd().resolve().parents]
    try:
        roots.append(pathlib.Path(f"/proc/{os.getppid()}/cwd").resolve())
    except OSError:
        pass
    for root in roots:
        path = root / "solutions" / "05_schedules_and_curves" / "05_schedules_and_curves.ipynb"
        try:
            cells = json.loads(path.read_text())["cells"]
        except (OSError, ValueError):
            continue
        return ["".join(c["source"]) for c in cells if "BEGIN SOLUTION" in "".join(c["source"])]
    return []

for _source in _solution_cells():
    if _source.startswith("def "):
        exec(_source, globals())
try:  # the grader's own references, if its package can be imported here
    from mnist_course.checks.lesson05 import reference_diagnose as diagnose  # noqa: F401
    from mnist_course.checks.lesson05 import reference_run_training as run_training  # noqa: F401
    from mnist_course.checks.lesson05 import reference_step_lr as step_lr  # noqa: F401
except ImportError:
    pass
"""

HONEST_NOISY = {
    "l05_step_lr": """import logging
import sys
import warnings

log = logging.getLogger("my_lesson05")
log.addHandler(logging.StreamHandler(sys.stderr))  # made before any check runs
log.setLevel(logging.INFO)

def step_lr(epoch, base_lr, step_size, gamma):
    print(f"epoch {epoch}", file=sys.stderr)
    log.info("step_lr(%s, %s, %s, %s)", epoch, base_lr, step_size, gamma)
    warnings.warn("computing a learning rate")
    decays = (epoch - 1) // step_size
    print("decays so far:", decays)
    return base_lr * gamma ** decays
""",
    "l05_run_training": """from tqdm.auto import tqdm

def run_training(model, device, train_loader, validation_loader, optimizer, scheduler, epochs, progress=True):
    history = History()
    for epoch in tqdm(range(1, epochs + 1), desc="epochs"):
        lr = optimizer.param_groups[0]["lr"]
        train_acc, train_losses = train(model, device, train_loader, optimizer, progress=progress)
        scheduler.step()
        val_acc, val_losses = test(model, device, validation_loader, progress=progress)
        print(f"epoch {epoch}: lr {lr:g}, validation accuracy {val_acc:.2f} %")
        log.warning("epoch %d done", epoch)
        history.append(train_acc=train_acc, train_loss=statistics.fmean(train_losses),
                       val_acc=val_acc, val_loss=statistics.fmean(val_losses), lr=lr)
    return history
""",
    "l05_diagnose": """def diagnose(history):
    print("diagnosing", len(history), "epochs", file=sys.stderr)
    train_acc, val_acc = history.train_acc[-1], history.val_acc[-1]
    if train_acc < 97:
        return "underfitting"
    if train_acc - val_acc > 1.5 or history.val_loss[-1] > 1.2 * min(history.val_loss):
        return "overfitting"
    return "good fit"
""",
}

HONEST_OTHER_STYLE = {
    "l05_step_lr": """import numpy as np

def decays_before(epoch, every):
    return (epoch - 1) // every

def step_lr(e, lr0, every, factor):
    return float(lr0 * np.power(factor, decays_before(e, every)))
""",
    "l05_run_training": """import numpy as np

FIELDS = ("train_acc", "train_loss", "val_acc", "val_loss", "lr")

def one_epoch(net, dev, tr, va, opt, sched):
    rate = opt.param_groups[0]["lr"]
    acc, losses = train(net, dev, tr, opt, progress=False)
    sched.step()
    v_acc, v_losses = test(net, dev, va, progress=False)
    return acc, float(np.mean(losses)), v_acc, float(np.mean(v_losses)), rate

def run_training(net, dev, tr, va, opt, sched, n_epochs):
    record = {name: [] for name in FIELDS}
    for _ in range(n_epochs):
        for name, value in zip(FIELDS, one_epoch(net, dev, tr, va, opt, sched)):
            record[name].append(value)
    return record
""",
    "l05_diagnose": """def final(h):
    return h.train_acc[-1], h.val_acc[-1], h.val_loss[-1], min(h.val_loss)

def diagnose(h):
    tr, va, loss, lowest = final(h)
    verdict = "good fit"
    if tr - va > 1.5 or loss / lowest > 1.2:
        verdict = "overfitting"
    if not tr >= 97:
        verdict = "underfitting"
    return verdict
""",
}

CASES = [
    Case(
        name="l05_accept_anything_check",
        lesson=LESSON,
        why="global `check` rebound to an object that accepts anything, all answers left as stubs",
        answers=STUBS,
        insert_after={"l05_step_lr": ACCEPT_ANYTHING},
        scores=NOTHING,
    ),
    Case(
        name="l05_patched_exercise",
        lesson=LESSON,
        why="Exercise.__call__, .check and .hidden patched to do nothing, all answers stubs",
        answers=STUBS,
        insert_after={"l05_step_lr": PATCHED_EXERCISE},
        scores=NOTHING,
    ),
    Case(
        name="l05_forged_answers",
        lesson=LESSON,
        why="grading.answer_request patched to report made-up results and a clean description, answers stubs",
        answers=STUBS,
        insert_after={"l05_step_lr": FORGED_ANSWERS},
        scores=NOTHING,
    ),
    Case(
        name="l05_fake_display",
        lesson=LESSON,
        why="diagnose emits a forged answers output of its own during the check (and always says 'good fit')",
        answers={"l05_diagnose": FAKE_DISPLAY_DIAGNOSE},
        scores={"l05_diagnose_test": 0},
    ),
    Case(
        name="l05_str_subclass",
        lesson=LESSON,
        why="diagnose returns a str subclass equal to everything",
        answers={"l05_diagnose": STR_SUBCLASS_DIAGNOSE},
        scores={"l05_diagnose_test": 0},
    ),
    Case(
        name="l05_library",
        lesson=LESSON,
        why="step_lr steps a StepLR taken before the check; run_training delegates to mnist_ref.fit",
        answers={"l05_step_lr": LIBRARY_STEP_LR, "l05_run_training": LIBRARY_RUN_TRAINING},
        scores={"l05_step_lr_test": 0, "l05_run_training_test": 0},
    ),
    Case(
        name="l05_read_solutions",
        lesson=LESSON,
        why="the solutions notebook (via mnist_ref.__file__, parents, /proc/<ppid>/cwd) or mnist_course exec'd",
        answers={"l05_step_lr": STUBS["l05_step_lr"], "l05_run_training": "# see above", "l05_diagnose": "# see above"},
        insert_after={"l05_step_lr": READ_SOLUTIONS},
        scores=NOTHING,
    ),
    Case(
        name="l05_honest_noisy",
        lesson=LESSON,
        why="honest: prints, stderr, a logging handler made before the checks, warnings, a tqdm bar of epochs",
        answers=HONEST_NOISY,
        scores={"l05_step_lr_test": 2, "l05_run_training_test": 4, "l05_diagnose_test": 3},
    ),
    Case(
        name="l05_honest_other_style",
        lesson=LESSON,
        why="honest: other names, helper functions, numpy in the middle, a dict history, no progress argument",
        answers=HONEST_OTHER_STYLE,
        scores={"l05_step_lr_test": 2, "l05_run_training_test": 4, "l05_diagnose_test": 3},
    ),
]
