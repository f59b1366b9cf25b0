"""Lesson 01's red-team cases: hostile submissions gain nothing, honest variants keep full marks."""

from redteam import Case

LESSON = "01_mnist_data"
STUBS = {
    "l01_class_counts": "def class_counts(targets):\n    raise NotImplementedError()",
    "l01_pixel_mean_std": "def pixel_mean_std(images):\n    raise NotImplementedError()",
    "l01_make_transform": "def make_transform(mean, std):\n    raise NotImplementedError()",
    "l01_batch_sizes": "def batch_sizes(n_examples, batch_size, drop_last=False):\n    raise NotImplementedError()",
}
NOTHING = {
    "l01_class_counts_test": 0,
    "l01_pixel_mean_std_test": 0,
    "l01_make_transform_test": 0,
    "l01_batch_sizes_test": 0,
}

CASES = [
    Case(
        name="l01_patched_exercise",
        lesson=LESSON,
        why="Exercise.__call__ and Exercise.hidden replaced by no-ops, every answer left a stub",
        answers=STUBS,
        insert_after={
            "l01_class_counts": "from mnist_ref.checks import framework\n\n"
            "framework.Exercise.__call__ = lambda self, answer: print('✅ correct.')\n"
            "framework.Exercise.hidden = lambda self, answer: None"
        },
        scores=NOTHING,
    ),
    Case(
        name="l01_check_rebound",
        lesson=LESSON,
        why="the name `check` rebound to an accept-anything object (two answers left stubs)",
        answers={k: v for k, v in STUBS.items() if k in ("l01_class_counts", "l01_pixel_mean_std")},
        insert_after={
            "l01_class_counts": "class Anything:\n"
            "    def __getattr__(self, name):\n        return self\n\n"
            "    def __call__(self, *args, **kwargs):\n        print('✅ correct.')\n\n"
            "check = Anything()"
        },
        scores=NOTHING,  # the answers that were right are not checked either: nothing is graded without the check
    ),
    Case(
        name="l01_forged_answers",
        lesson=LESSON,
        why="the kernel's answers forged: answer_request patched to report results it never computed",
        answers={k: v for k, v in STUBS.items() if k in ("l01_class_counts", "l01_batch_sizes")},
        insert_after={
            "l01_class_counts": "from mnist_ref.checks import framework, grading\n\n"
            "framework.Exercise.__call__ = lambda self, answer: None\n"
            "honest_request = grading.answer_request\n\n"
            "def forged(exercise, answer, request):\n"
            "    if exercise.key not in ('lesson01.class_counts', 'lesson01.batch_sizes'):\n"
            "        return honest_request(exercise, answer, request)\n"
            "    calls = request.get('calls', [])\n"
            "    result = [4, 4, 2] if exercise.key.endswith('batch_sizes') else [1] * 10\n"
            "    return {'exercise': exercise.key, 'calls': [{'result': result} for _ in calls],\n"
            "            'describe': {'kind': 'function', 'type': '__main__.f', 'bases': [], 'reached': []}}\n\n"
            "grading.answer_request = forged"
        },
        scores={"l01_class_counts_test": 0, "l01_batch_sizes_test": 0},
    ),
    Case(
        name="l01_patched_torch",
        lesson=LESSON,
        why="torch.equal and torch.allclose patched to say True, so zeros pass the checks in the kernel",
        answers={
            "l01_class_counts": "torch.equal = lambda *args, **kwargs: True\n"
            "torch.allclose = lambda *args, **kwargs: True\n\n"
            "def class_counts(targets):\n    return torch.zeros(10, dtype=torch.long)",
            "l01_make_transform": "def make_transform(mean, std):\n"
            "    return lambda image: torch.zeros(1, *image.size[::-1])",
        },
        scores={"l01_class_counts_test": 0, "l01_make_transform_test": 0},
    ),
    Case(
        name="l01_library_answers",
        lesson=LESSON,
        why="answers delegating to the library: a DataLoader counts the batches, mnist_transform is the transform",
        answers={
            "l01_make_transform": "from mnist_ref import mnist_transform\n\n"
            "def make_transform(mean, std):\n"
            "    if (mean, std) == (MNIST_MEAN, MNIST_STD):\n        return mnist_transform()\n"
            "    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])",
            "l01_batch_sizes": "def batch_sizes(n_examples, batch_size, drop_last=False):\n"
            "    loader = DataLoader(range(n_examples), batch_size=batch_size, drop_last=drop_last)\n"
            "    return [len(batch) for batch in loader]",
        },
        scores={"l01_make_transform_test": 0, "l01_batch_sizes_test": 0},
    ),
    Case(
        name="l01_always_equal",
        lesson=LESSON,
        why="results that compare equal to anything (a float subclass, an int subclass), the visible check skipped",
        insert_after={
            "l01_class_counts": "from mnist_ref.checks import framework\n\n"
            "framework.Exercise.__call__ = lambda self, answer: None"
        },
        answers={
            "l01_pixel_mean_std": "class Whatever(float):\n"
            "    def __eq__(self, other):\n        return True\n\n"
            "    def __sub__(self, other):\n        return Whatever(0.0)\n\n"
            "    __rsub__ = __sub__\n    __hash__ = float.__hash__\n\n"
            "def pixel_mean_std(images):\n    return Whatever(0.0), Whatever(0.0)",
            "l01_batch_sizes": "class Size(int):\n"
            "    def __eq__(self, other):\n        return True\n\n"
            "    __hash__ = int.__hash__\n\n"
            "def batch_sizes(n_examples, batch_size, drop_last=False):\n    return [Size(batch_size)]",
        },
        scores={"l01_pixel_mean_std_test": 0, "l01_batch_sizes_test": 0},
    ),
    Case(
        name="l01_honest_noisy",
        lesson=LESSON,
        why="honest answers that print, write to stderr, log through a handler made before the check, warn, show tqdm",
        answers={
            "l01_class_counts": "import logging\nimport sys\nimport warnings\n\n"
            "from tqdm import tqdm as text_tqdm\n\n"
            "log = logging.getLogger('my_answers')\n"
            "log.addHandler(logging.StreamHandler(sys.stderr))\nlog.setLevel(logging.INFO)\n\n"
            "def class_counts(targets):\n"
            "    log.info('counting %d labels', len(targets))\n"
            "    print('counting on stderr', file=sys.stderr)\n"
            "    warnings.warn('a warning from my answer')\n"
            "    counts = torch.zeros(10, dtype=torch.long)\n"
            "    for digit in text_tqdm(range(10), desc='digits'):\n"
            "        counts[digit] = (targets == digit).sum()\n"
            "    return counts",
            "l01_pixel_mean_std": "def pixel_mean_std(images):\n"
            "    print('pixels:', images.numel())\n"
            "    log.warning('computing statistics')\n"
            "    pixels = images.float() / 255\n"
            "    return pixels.mean().item(), pixels.std().item()",
            "l01_make_transform": "def make_transform(mean, std):\n"
            "    print('making a transform', file=sys.stderr)\n"
            "    def noisy(image):\n"
            "        log.info('transforming %s', image.size)\n"
            "        return transforms.Normalize((mean,), (std,))(transforms.ToTensor()(image))\n"
            "    return noisy",
            "l01_batch_sizes": "def batch_sizes(n_examples, batch_size, drop_last=False):\n"
            "    warnings.warn('counting batches')\n"
            "    full, rest = divmod(n_examples, batch_size)\n"
            "    return [batch_size] * full + ([rest] if rest and not drop_last else [])",
        },
        scores={
            "l01_class_counts_test": 1,
            "l01_pixel_mean_std_test": 2,
            "l01_make_transform_test": 2,
            "l01_batch_sizes_test": 1,
        },
    ),
    Case(
        name="l01_honest_variants",
        lesson=LESSON,
        why="honest answers in other styles: helper functions, a plain list, numpy, transforms.v2, a range",
        answers={
            "l01_class_counts": "def count_of(targets, digit):\n    return int((targets == digit).sum())\n\n"
            "def class_counts(targets):\n    return [count_of(targets, d) for d in range(10)]",
            "l01_pixel_mean_std": "import numpy as np\n\n"
            "def pixel_mean_std(images):\n"
            "    pixels = images.numpy().astype(np.float64) / 255\n"
            "    return float(pixels.mean()), float(pixels.std())",
            "l01_make_transform": "from torchvision.transforms import v2\n\n"
            "def make_transform(mean, std):\n"
            "    return v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), v2.Normalize([mean], [std])])",
            "l01_batch_sizes": "def batch_sizes(n_examples, batch_size, drop_last=False):\n"
            "    sizes = [min(batch_size, n_examples - start) for start in range(0, n_examples, batch_size)]\n"
            "    return [s for s in sizes if s == batch_size] if drop_last else sizes",
        },
        scores={
            "l01_class_counts_test": 1,
            "l01_pixel_mean_std_test": 2,
            "l01_make_transform_test": 2,
            "l01_batch_sizes_test": 1,
        },
    ),
]
