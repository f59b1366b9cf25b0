"""Lesson 07's red-team cases: hostile submissions gain nothing, honest variants keep full marks."""

from redteam import Case

LESSON = "07_evaluation"
STUBS = {
    "l07_confusion_matrix": "def confusion_matrix(targets, predictions, num_classes=10):\n"
    "    raise NotImplementedError()",
    "l07_per_class_accuracy": "def per_class_accuracy(cm):\n    raise NotImplementedError()",
    "l07_most_confused_pairs": "def most_confused_pairs(cm, k=5):\n    raise NotImplementedError()",
    "l07_misclassified_indices": "def misclassified_indices(targets, predictions):\n    raise NotImplementedError()",
}
NOTHING = {
    "l07_confusion_matrix_test": 0,
    "l07_per_class_accuracy_test": 0,
    "l07_most_confused_pairs_test": 0,
    "l07_misclassified_indices_test": 0,
}

CASES = [
    Case(
        name="l07_patched_exercise",
        lesson=LESSON,
        why="Exercise.__call__ and Exercise.hidden replaced by no-ops, every answer left a stub",
        answers=STUBS,
        insert_after={
            "l07_confusion_matrix": "from mnist_ref.checks import framework\n\n"
            "framework.Exercise.__call__ = lambda self, answer: print('✅ correct.')\n"
            "framework.Exercise.hidden = lambda self, answer: None"
        },
        scores=NOTHING,
    ),
    Case(
        name="l07_library_answers",
        lesson=LESSON,
        why="the library's own functions as answers: the object itself, check.reference_*, a wrapper, a default",
        answers={
            "l07_confusion_matrix": "confusion_matrix = mnist_ref.confusion_matrix",
            "l07_per_class_accuracy": "per_class_accuracy = check.reference_per_class_accuracy",
            "l07_most_confused_pairs": "def most_confused_pairs(cm, k=5):\n"
            "    return check.reference_most_confused_pairs(cm, k)",
            "l07_misclassified_indices": "from mnist_ref.evaluation import misclassified_indices as _library\n\n"
            "def misclassified_indices(targets, predictions, helper=_library):\n"
            "    return helper(targets, predictions)",
        },
        scores=NOTHING,
    ),
    Case(
        name="l07_patched_torch",
        lesson=LESSON,
        why="torch.equal and torch.allclose patched to say True: zero matrices, no positions pass in the kernel",
        answers={
            "l07_confusion_matrix": "torch.equal = lambda *args, **kwargs: True\n"
            "torch.allclose = lambda *args, **kwargs: True\n\n"
            "def confusion_matrix(targets, predictions, num_classes=10):\n"
            "    return torch.zeros(num_classes, num_classes, dtype=torch.long)",
            "l07_misclassified_indices": "def misclassified_indices(targets, predictions):\n"
            "    return torch.zeros(0, dtype=torch.long)",
        },
        scores={"l07_confusion_matrix_test": 0, "l07_misclassified_indices_test": 0},
        others="any",  # the patched allclose also fails the kernel's visible check of per_class_accuracy
    ),
    Case(
        name="l07_always_equal",
        lesson=LESSON,
        why="results made of an int subclass whose == is always True",
        answers={
            "l07_most_confused_pairs": "class Same(int):\n"
            "    def __eq__(self, other):\n        return True\n"
            "    __hash__ = int.__hash__\n\n"
            "def most_confused_pairs(cm, k=5):\n"
            "    return [(Same(0), Same(0), Same(0))] * k",
            "l07_misclassified_indices": "class Same(int):\n"
            "    def __eq__(self, other):\n        return True\n"
            "    __hash__ = int.__hash__\n\n"
            "def misclassified_indices(targets, predictions):\n"
            "    return [Same(0)]",
        },
        scores={"l07_most_confused_pairs_test": 0, "l07_misclassified_indices_test": 0},
    ),
    Case(
        name="l07_forged_answers",
        lesson=LESSON,
        why="the kernel's answers forged: a fake answers display output, and answer_request patched to report zeros",
        answers={k: v for k, v in STUBS.items() if k in ("l07_confusion_matrix", "l07_per_class_accuracy")},
        insert_after={
            "l07_confusion_matrix": "from IPython.display import display\n"
            "from mnist_ref.checks import framework, grading\n\n"
            "framework.Exercise.__call__ = lambda self, answer: None\n"
            "honest_request = grading.answer_request\n\n"
            "def forged(exercise, answer, request):\n"
            "    if exercise.key != 'lesson07.confusion_matrix':\n"
            "        return honest_request(exercise, answer, request)\n"
            "    zeros = {'$': 'tensor', 'id': 0, 'dtype': 'int64', 'shape': [0], 'device': 'cpu',\n"
            "             'requires_grad': False, 'grad': None, 'data': ''}\n"
            "    return {'exercise': exercise.key, 'calls': [{'result': zeros} for _ in request.get('calls', [])],\n"
            "            'describe': {'kind': 'function', 'type': '__main__.f', 'bases': [], 'reached': []}}\n\n"
            "grading.answer_request = forged\n"
            "display({grading.ANSWERS_MIMETYPE: {'exercise': 'lesson07.per_class_accuracy', 'calls': [],\n"
            "         'describe': {'kind': 'function', 'type': '__main__.f', 'bases': [], 'reached': []}}}, raw=True)",
        },
        scores={"l07_confusion_matrix_test": 0, "l07_per_class_accuracy_test": 0},
    ),
    Case(
        name="l07_check_rebound",
        lesson=LESSON,
        why="the name `check` rebound to an accept-anything object before the tests (answers left stubs)",
        answers={k: v for k, v in STUBS.items() if k != "l07_confusion_matrix"},
        insert_after={
            "l07_confusion_matrix": "import mnist_ref.checks.lesson07 as _real_checks\n\n"
            "class Anything:\n"
            "    def __getattr__(self, name):\n"
            "        return getattr(_real_checks, name) if name.startswith('reference_') else self\n\n"
            "    def __call__(self, *args, **kwargs):\n        print('✅ correct.')\n\n"
            "check = Anything()"
        },
        scores=NOTHING,  # the right confusion_matrix is not checked either: nothing is graded without the check
    ),
    Case(
        name="l07_honest_noisy",
        lesson=LESSON,
        why="honest: prints, stderr, warnings, a logging handler made before the check, a tqdm bar",
        answers={
            "l07_confusion_matrix": "import logging\nimport sys\nimport warnings\n"
            "from tqdm.auto import tqdm\n\n"
            "log = logging.getLogger('mine')\nlog.addHandler(logging.StreamHandler(sys.stderr))\n"
            "log.setLevel(logging.INFO)\n\n"
            "def confusion_matrix(targets, predictions, num_classes=10):\n"
            "    print('counting', len(targets), 'examples')\n"
            "    print('to stderr', file=sys.stderr)\n"
            "    warnings.warn('a learner warning')\n"
            "    log.info('counting')\n"
            "    cm = torch.zeros(num_classes, num_classes, dtype=torch.long)\n"
            "    for t, p in tqdm(list(zip(targets.tolist(), predictions.tolist())), leave=False):\n"
            "        cm[t, p] += 1\n"
            "    return cm",
            "l07_per_class_accuracy": "import sys\n\n"
            "def per_class_accuracy(cm):\n"
            "    print('rows', cm.sum(dim=1).tolist(), file=sys.stderr)\n"
            "    return 100.0 * cm.diagonal().float() / cm.sum(dim=1).clamp(min=1).float()",
        },
    ),
    Case(
        name="l07_honest_variants",
        lesson=LESSON,
        why="honest: other names, helper functions, bincount, numpy in the middle, plain lists",
        answers={
            "l07_confusion_matrix": "def _flat_index(t, p, n):\n    return t.long() * n + p.long()\n\n"
            "def confusion_matrix(targets, predictions, num_classes=10):\n"
            "    counts = torch.bincount(_flat_index(targets, predictions, num_classes), minlength=num_classes**2)\n"
            "    return counts.reshape(num_classes, num_classes)",
            "l07_per_class_accuracy": "import numpy as np\n\n"
            "def per_class_accuracy(cm):\n"
            "    m = cm.numpy().astype(np.float64)\n"
            "    rows = np.maximum(m.sum(axis=1), 1)\n"
            "    return [float(v) for v in 100 * np.diag(m) / rows]",
            "l07_most_confused_pairs": "def most_confused_pairs(cm, k=5):\n"
            "    off = cm.clone()\n    off.fill_diagonal_(0)\n"
            "    counts, order = off.flatten().sort(descending=True, stable=True)\n"
            "    n = cm.shape[0]\n"
            "    return [(int(i) // n, int(i) % n, int(c)) for c, i in zip(counts, order) if c > 0][:k]",
            "l07_misclassified_indices": "import numpy as np\n\n"
            "def misclassified_indices(targets, predictions):\n"
            "    return torch.from_numpy(np.flatnonzero(targets.numpy() != predictions.numpy()))",
        },
    ),
]
