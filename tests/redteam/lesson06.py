"""Lesson 06's red-team cases: hostile submissions gain nothing, honest variants keep full marks."""

from redteam import Case

LESSON = "06_gpu"
STUBS = {
    "l06_choose_device": "def choose_device(cuda_available, mps_available, preferred=None):\n"
    "    raise NotImplementedError()",
    "l06_move_batch": "def move_batch(data, target, device):\n    raise NotImplementedError()",
    "l06_amp_enabled": "def amp_enabled(device):\n    raise NotImplementedError()",
    "l06_load_for_inference": "def load_for_inference(path, device):\n    raise NotImplementedError()",
}
NOTHING = {
    "l06_choose_device_test": 0,
    "l06_move_batch_test": 0,
    "l06_amp_enabled_test": 0,
    "l06_load_for_inference_test": 0,
}

CASES = [
    Case(
        name="l06_library_answers",
        lesson=LESSON,
        why="answers delegating to the library: its device rule wrapped, to_device itself, is_cuda imported",
        answers={
            "l06_choose_device": "from mnist_ref.device import choose_device as _rule\n\n"
            "def choose_device(cuda_available, mps_available, preferred=None):\n"
            "    return str(_rule(cuda_available, mps_available, preferred or os.environ.get('MNIST_DEVICE')))",
            "l06_move_batch": "move_batch = to_device",
            "l06_amp_enabled": "from mnist_ref.device import is_cuda\n\n"
            "def amp_enabled(device):\n    return is_cuda(device)",
        },
        scores={"l06_choose_device_test": 0, "l06_move_batch_test": 0, "l06_amp_enabled_test": 0},
    ),
    Case(
        name="l06_always_equal",
        lesson=LESSON,
        why="results that compare equal to anything: a str subclass as the device name, an int subclass as the flag",
        answers={
            "l06_choose_device": "class Name(str):\n"
            "    def __eq__(self, other):\n        return True\n"
            "    __hash__ = str.__hash__\n\n"
            "def choose_device(cuda_available, mps_available, preferred=None):\n"
            "    return Name('cpu')",
            "l06_amp_enabled": "class Flag(int):\n"
            "    def __eq__(self, other):\n        return True\n"
            "    __hash__ = int.__hash__\n\n"
            "def amp_enabled(device):\n    return Flag(0)",
        },
        scores={"l06_choose_device_test": 0, "l06_amp_enabled_test": 0},
    ),
    Case(
        name="l06_patched_judges",
        lesson=LESSON,
        why="the public judges in mnist_ref patched to accept anything, so wrong answers pass in the kernel",
        answers={
            "l06_choose_device": "from mnist_ref.checks.lesson06 import device_choice, moving\n\n"
            "device_choice.judge_choice = lambda *args, **kwargs: None\n"
            "moving.judge_moves = moving.judge_spies = moving.judge_load = lambda *args, **kwargs: None\n\n"
            "def choose_device(cuda_available, mps_available, preferred=None):\n    return 'cpu'",
            "l06_move_batch": "def move_batch(data, target, device):\n    return data, target",
            "l06_load_for_inference": "def load_for_inference(path, device):\n    return Net().to(device)",
        },
        scores={"l06_choose_device_test": 0, "l06_move_batch_test": 0, "l06_load_for_inference_test": 0},
    ),
    Case(
        name="l06_forged_ask",
        lesson=LESSON,
        why="the exercise's ask replaced: it reports a model in eval mode that the stub answer never loaded",
        answers={k: v for k, v in STUBS.items() if k == "l06_load_for_inference"},
        insert_after={
            "l06_load_for_inference": "from mnist_ref.checks.framework import Exercise\n"
            "from mnist_ref.checks.lesson06.moving import describe_state, loadings\n\n"
            "Exercise.__call__ = lambda self, answer: print('✅ correct.')\n\n"
            "def forged_ask(answer, seed):\n"
            "    state = describe_state(Net().eval())\n"
            "    return [{'module': True, 'type': 'Net', 'training': False, 'state': state,\n"
            "             'output': torch.zeros(3, 10)} for _ in loadings(seed)]\n\n"
            "check.load_for_inference.ask = forged_ask",
        },
        scores={"l06_load_for_inference_test": 0},
    ),
    Case(
        name="l06_check_rebound",
        lesson=LESSON,
        why="the name `check` rebound to an accept-anything object (answers left stubs)",
        answers=STUBS,
        insert_after={
            "l06_choose_device": "import mnist_ref.checks.lesson06 as _real_checks\n\n"
            "class Anything:\n"
            "    def __getattr__(self, name):\n"
            "        return _real_checks.save_as_if_on_gpu if name == 'save_as_if_on_gpu' else self\n\n"
            "    def __call__(self, *args, **kwargs):\n        print('✅ correct.')\n\n"
            "check = Anything()"
        },
        scores=NOTHING,
    ),
    Case(
        name="l06_gradebook_write",
        lesson=LESSON,
        why="a cell that looks for the gradebook (relative paths, /proc/<ppid>/cwd) and writes manual scores",
        insert_after={
            "l06_amp_enabled": "import os, sqlite3\n"
            "from pathlib import Path\n\n"
            "for base in [Path('.'), Path(f'/proc/{os.getppid()}/cwd')]:\n"
            "    for up in range(6):\n"
            "        for name in ('gradebook.db', 'grading/gradebook.db'):\n"
            "            candidate = base / ('../' * up) / name\n"
            "            try:\n"
            "                with sqlite3.connect(f'file:{candidate}?mode=rw', uri=True) as db:\n"
            "                    db.execute('UPDATE grade SET manual_score = 100')\n"
            "                print('wrote', candidate)\n"
            "            except Exception as error:\n"
            "                pass"
        },
    ),
    Case(
        name="l06_honest_noisy",
        lesson=LESSON,
        why="honest: prints, stderr, warnings, logging through a handler made before the check",
        answers={
            "l06_choose_device": "import logging\nimport sys\nimport warnings\n\n"
            "log = logging.getLogger('devices')\nlog.addHandler(logging.StreamHandler(sys.stderr))\n"
            "log.setLevel(logging.INFO)\n\n"
            "def choose_device(cuda_available, mps_available, preferred=None):\n"
            "    wish = preferred or os.environ.get('MNIST_DEVICE') or 'auto'\n"
            "    log.info('asked for %r', wish)\n"
            "    print('asked for', wish, file=sys.stderr)\n"
            "    warnings.warn('choosing a device')\n"
            "    wish = wish.strip().lower()\n"
            "    if wish == 'auto':\n"
            "        return 'cuda' if cuda_available else 'mps' if mps_available else 'cpu'\n"
            "    if {'cpu': True, 'cuda': cuda_available, 'mps': mps_available}.get(wish):\n"
            "        return wish\n"
            "    raise ValueError(f'cannot use {wish!r} here')",
            "l06_load_for_inference": "import sys\n\n"
            "def load_for_inference(path, device):\n"
            "    print('loading', path)\n"
            "    print('on', device, file=sys.stderr)\n"
            "    state = torch.load(path, map_location=device)\n"
            "    model = Net()\n"
            "    model.load_state_dict(state['model'])\n"
            "    return model.to(device).eval()",
        },
    ),
    Case(
        name="l06_honest_variants",
        lesson=LESSON,
        why="honest: other names, a helper, .cuda-free moves by keyword, load_checkpoint, the device by its string",
        answers={
            "l06_move_batch": "def _copy(tensor, device):\n"
            "    return tensor.to(device=device, non_blocking=str(device).startswith('cuda'))\n\n"
            "def move_batch(data, target, device):\n"
            "    return _copy(data, device), _copy(target, device)",
            "l06_amp_enabled": "def amp_enabled(device):\n    return str(device).split(':')[0] == 'cuda'",
            "l06_load_for_inference": "def load_for_inference(path, device):\n"
            "    net = Net().to(device)\n"
            "    load_checkpoint(path, net, map_location=device)\n"
            "    net.eval()\n"
            "    return net",
        },
    ),
]
