"""Lesson 03's red-team cases: hostile submissions gain nothing, honest variants keep full marks."""

from redteam import Case

LESSON = "03_pooling_and_head"
STUBS = {
    "l03_max_pool_2x2": "def max_pool_2x2(x):\n    raise NotImplementedError()",
    "l03_flatten_size": "def flatten_size(size=28):\n    raise NotImplementedError()",
    "l03_classifier_head": "class ClassifierHead(nn.Module):\n"
    "    def __init__(self):\n        super().__init__()\n        raise NotImplementedError()",
    "l03_net": "class Net(nn.Module):\n"
    "    def __init__(self):\n        super().__init__()\n        raise NotImplementedError()",
}
NOTHING = {
    "l03_max_pool_2x2_test": 0,
    "l03_flatten_size_test": 0,
    "l03_classifier_head_test": 0,
    "l03_net_test": 0,
}
# The solution's Net, which uses the learner's max_pool_2x2 and ClassifierHead (both stubs in some cases below).
OWN_NET = (
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "        self.conv1 = nn.Conv2d(1, 32, 3)\n        self.conv2 = nn.Conv2d(32, 64, 3)\n"
    "        self.conv3 = nn.Conv2d(64, 128, 3)\n        self.conv4 = nn.Conv2d(128, 256, 3)\n"
    "        self.fc1 = nn.Linear(4096, 50)\n        self.fc2 = nn.Linear(50, 10)\n\n"
    "    def forward(self, x):\n"
    "        x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)\n"
    "        x = F.max_pool2d(F.relu(self.conv4(F.relu(self.conv3(x)))), 2)\n"
    "        return F.log_softmax(self.fc2(F.relu(self.fc1(torch.flatten(x, 1)))), dim=1)"
)

CASES = [
    Case(
        name="l03_patched_exercise",
        lesson=LESSON,
        why="Exercise.__call__ and Exercise.hidden replaced by no-ops, every answer left a stub",
        answers=STUBS,
        insert_after={
            "l03_max_pool_2x2": "from mnist_ref.checks import framework\n\n"
            "framework.Exercise.__call__ = lambda self, answer: print('✅ correct.')\n"
            "framework.Exercise.hidden = lambda self, answer: None"
        },
        scores=NOTHING,
    ),
    Case(
        name="l03_check_rebound",
        lesson=LESSON,
        why="the name `check` rebound to an accept-anything object, the model exercises left stubs",
        answers={k: v for k, v in STUBS.items() if k in ("l03_classifier_head", "l03_net")},
        insert_after={
            "l03_max_pool_2x2": "class Anything:\n"
            "    def __getattr__(self, name):\n        return self\n\n"
            "    def __call__(self, *args, **kwargs):\n        print('✅ correct.')\n\n"
            "check = Anything()"
        },
        scores=NOTHING,  # the right answers are not checked either: nothing is graded without the check
    ),
    Case(
        name="l03_forged_model_reports",
        lesson=LESSON,
        why="answer_request patched to report made-up models (plausible layers, zero log-probabilities) for stubs",
        answers={k: v for k, v in STUBS.items() if k in ("l03_classifier_head", "l03_net")},
        insert_after={
            "l03_max_pool_2x2": "from mnist_ref.checks import framework, grading\n\n"
            "framework.Exercise.__call__ = lambda self, answer: None\n"
            "honest_request = grading.answer_request\n\n"
            "def forged(exercise, answer, request):\n"
            "    if exercise.key not in ('lesson03.ClassifierHead', 'lesson03.Net'):\n"
            "        return honest_request(exercise, answer, request)\n"
            "    scores = torch.full((2, 10), -2.302585)\n"
            "    case = {'type': '__main__.Net', 'bases': ['torch.nn.modules.module.Module'], 'modules': [],\n"
            "            'parameters': [], 'trace': {'layers': [], 'called': [], 'records': [], 'error': None,\n"
            "            'output': scores, 'output_type': 'Tensor'}, 'loaded': {'out': scores, 'again': scores}}\n"
            "    data = grading.to_data({'cases': [case, case, case]})\n"
            "    return {'exercise': exercise.key, 'data': data,\n"
            "            'describe': {'kind': 'class', 'type': '__main__.Net', 'bases': [], 'reached': []}}\n\n"
            "grading.answer_request = forged"
        },
        scores={"l03_classifier_head_test": 0, "l03_net_test": 0},
    ),
    Case(
        name="l03_patched_torch",
        lesson=LESSON,
        why="torch.allclose/torch.equal say True and F.max_pool2d returns zeros, so zero pooling passes in the kernel",
        answers={
            "l03_max_pool_2x2": "torch.equal = lambda *args, **kwargs: True\n"
            "torch.allclose = lambda *args, **kwargs: True\n"
            "F.max_pool2d = lambda x, *args, **kwargs: torch.zeros(*x.shape[:2], x.shape[2] // 2, x.shape[3] // 2)\n\n"
            "def max_pool_2x2(x):\n"
            "    return torch.zeros(*x.shape[:2], x.shape[2] // 2, x.shape[3] // 2)",
            "l03_net": OWN_NET.replace("F.max_pool2d(", "torch.nn.functional.avg_pool2d("),
        },
        scores={"l03_max_pool_2x2_test": 0, "l03_net_test": 0},
    ),
    Case(
        name="l03_library_answers",
        lesson=LESSON,
        why="answers delegating to the library: max_pool2d taken before the check, a Net wrapping mnist_ref's Net, "
        "a head made of mnist_ref's Net's layers",
        answers={
            "l03_max_pool_2x2": "from torch.nn.functional import max_pool2d as library_pool\n\n"
            "def max_pool_2x2(x):\n    return library_pool(x, 2)",
            "l03_classifier_head": "class ClassifierHead(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n"
            "        net = ReferenceNet()\n        self.fc1, self.fc2 = net.fc1, net.fc2\n\n"
            "    def forward(self, x):\n"
            "        return F.log_softmax(self.fc2(F.relu(self.fc1(torch.flatten(x, 1)))), dim=1)",
            "l03_net": "import importlib\n\n"
            "class Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n"
            "        self.inner = getattr(importlib.import_module('mnist_ref.model'), 'N' + 'et')()\n\n"
            "    def forward(self, x):\n        return self.inner(x)",
        },
        scores={"l03_max_pool_2x2_test": 0, "l03_classifier_head_test": 0, "l03_net_test": 0},
    ),
    Case(
        name="l03_always_equal",
        lesson=LESSON,
        why="flatten_size returns an int subclass equal to anything, the visible check skipped",
        insert_after={
            "l03_max_pool_2x2": "from mnist_ref.checks import framework\n\n"
            "framework.Exercise.__call__ = lambda self, answer: None"
        },
        answers={
            "l03_flatten_size": "class Size(int):\n"
            "    def __eq__(self, other):\n        return True\n\n"
            "    __hash__ = int.__hash__\n\n"
            "def flatten_size(size=28):\n    return Size(4096)",
        },
        scores={"l03_flatten_size_test": 0},
    ),
    Case(
        name="l03_constant_flatten",
        lesson=LESSON,
        why="flatten_size hard-codes 4096 (issue #13's false 'correct'), the visible check skipped",
        insert_after={
            "l03_max_pool_2x2": "from mnist_ref.checks import framework\n\n"
            "framework.Exercise.__call__ = lambda self, answer: None"
        },
        answers={"l03_flatten_size": "def flatten_size(size=28):\n    return 4096"},
        scores={"l03_flatten_size_test": 0},
    ),
    Case(
        name="l03_honest_noisy",
        lesson=LESSON,
        why="honest answers that print, write to stderr, log, warn, show tqdm and go through numpy",
        answers={
            "l03_max_pool_2x2": "import logging\nimport sys\nimport warnings\n\nimport numpy as np\n"
            "from tqdm import tqdm as text_tqdm\n\n"
            "log = logging.getLogger('my_answers')\n"
            "log.addHandler(logging.StreamHandler(sys.stderr))\nlog.setLevel(logging.INFO)\n\n"
            "def max_pool_2x2(x):\n"
            "    log.info('pooling %s', tuple(x.shape))\n"
            "    print('pooling on stderr', file=sys.stderr)\n"
            "    warnings.warn('a warning from my answer')\n"
            "    n, c, h, w = x.shape\n"
            "    array = x.detach().numpy().reshape(n, c, h // 2, 2, w // 2, 2)\n"
            "    for _ in text_tqdm(range(2), desc='windows'):\n"
            "        pass\n"
            "    return torch.from_numpy(np.ascontiguousarray(array.max(axis=(3, 5))))",
            "l03_flatten_size": "def flatten_size(size=28):\n"
            "    print('size', size)\n"
            "    log.warning('walking %d', size)\n"
            "    for _ in range(2):\n"
            "        size = pool_output_size(conv_output_size(conv_output_size(size)))\n"
            "    return 256 * size * size",
            "l03_net": OWN_NET.replace(
                "    def forward(self, x):\n",
                "    def forward(self, x):\n        print('forward', tuple(x.shape), file=sys.stderr)\n"
                "        warnings.warn('forward')\n",
            ),
        },
        scores={
            "l03_max_pool_2x2_test": 2,
            "l03_flatten_size_test": 2,
            "l03_classifier_head_test": 2,
            "l03_net_test": 4,
        },
    ),
    Case(
        name="l03_honest_variants",
        lesson=LESSON,
        why="other correct styles: unfold pooling, flatten by running layers, nn.Sequential head and Net",
        answers={
            "l03_max_pool_2x2": "def windows_of(x):\n    return x.unfold(2, 2, 2).unfold(3, 2, 2)\n\n"
            "def max_pool_2x2(x):\n    return windows_of(x).flatten(-2).max(dim=-1).values",
            "l03_flatten_size": "def flatten_size(size=28):\n"
            "    layers = nn.Sequential(nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3), nn.MaxPool2d(2),\n"
            "                           nn.Conv2d(1, 1, 3), nn.Conv2d(1, 1, 3), nn.MaxPool2d(2))\n"
            "    with torch.no_grad():\n"
            "        return 256 * layers(torch.zeros(1, 1, size, size)).numel()",
            "l03_classifier_head": "class ClassifierHead(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n"
            "        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(4096, 50), nn.ReLU(), nn.Linear(50, 10),\n"
            "                                    nn.LogSoftmax(dim=1))\n\n"
            "    def forward(self, x):\n        return self.layers(x)",
            "l03_net": "class Net(nn.Module):\n"
            "    def __init__(self):\n        super().__init__()\n"
            "        self.features = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),\n"
            "            nn.MaxPool2d(2), nn.Conv2d(64, 128, 3), nn.ReLU(), nn.Conv2d(128, 256, 3), nn.ReLU(),\n"
            "            nn.MaxPool2d(2))\n"
            "        self.classifier = ClassifierHead()\n\n"
            "    def forward(self, x):\n        return self.classifier(self.features(x))",
        },
        scores={
            "l03_max_pool_2x2_test": 2,
            "l03_flatten_size_test": 2,
            "l03_classifier_head_test": 2,
            "l03_net_test": 4,
        },
    ),
]
