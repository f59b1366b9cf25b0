"""Lesson 02's red-team cases: hostile submissions gain nothing, honest variants keep full marks."""

from redteam import Case

LESSON = "02_convolution"
STUBS = {
    "l02_conv2d_loops": "def conv2d_loops(image, kernel):\n    raise NotImplementedError()",
    "l02_conv2d_unfold": "def conv2d_unfold(x, weight, bias):\n    raise NotImplementedError()",
    "l02_conv_output_size": "def conv_output_size(n, k, padding=0, stride=1):\n    raise NotImplementedError()",
    "l02_conv_parameters": "def conv_parameters(c_in, c_out, k):\n    raise NotImplementedError()",
}
NOTHING = {
    "l02_conv2d_loops_test": 0,
    "l02_conv2d_unfold_test": 0,
    "l02_conv_output_size_test": 0,
    "l02_conv_parameters_test": 0,
}
CLEAN = "{'kind': 'function', 'type': '__main__.f', 'bases': [], 'reached': []}"  # what a forger claims

CASES = [
    Case(
        name="l02_patched_allclose",
        lesson=LESSON,
        why="torch.allclose and torch.equal patched to say True, so convolutions returning zeros pass in the kernel",
        answers={
            "l02_conv2d_loops": "torch.allclose = lambda *args, **kwargs: True\n"
            "torch.equal = lambda *args, **kwargs: True\n\n"
            "def conv2d_loops(image, kernel):\n"
            "    return torch.zeros(image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1)",
            "l02_conv2d_unfold": "def conv2d_unfold(x, weight, bias):\n"
            "    n, _, h, w = x.shape\n    c_out, _, kh, kw = weight.shape\n"
            "    return torch.zeros(n, c_out, h - kh + 1, w - kw + 1)",
        },
        scores={"l02_conv2d_loops_test": 0, "l02_conv2d_unfold_test": 0},
    ),
    Case(
        name="l02_library_answers",
        lesson=LESSON,
        why="the library's answers: conv2d taken before the check, torch.ops.aten.conv2d, count_parameters, "
        "the grader's own reference",
        answers={
            "l02_conv2d_loops": "from torch.nn.functional import conv2d\n\n"
            "def conv2d_loops(image, kernel):\n    return conv2d(image[None, None], kernel[None, None])[0, 0]",
            "l02_conv2d_unfold": "def conv2d_unfold(x, weight, bias):\n"
            "    return torch.ops.aten.conv2d(x, weight, bias)",
            "l02_conv_output_size": "try:\n"
            "    from mnist_course.checks.lesson02 import reference_output_size as conv_output_size\n"
            "except ImportError:  # the sandbox hides the grader's package\n"
            "    def conv_output_size(n, k, padding=0, stride=1):\n        raise NotImplementedError()",
            "l02_conv_parameters": "from mnist_ref.model import count_parameters\n\n"
            "def conv_parameters(c_in, c_out, k):\n    return count_parameters(nn.Conv2d(c_in, c_out, k))",
        },
        scores=NOTHING,
    ),
    Case(
        name="l02_forbid_switched_off",
        lesson=LESSON,
        why="forbid() made a no-op in the kernel, so F.conv2d and nn.Conv2d run inside the learner's answers",
        answers={
            "l02_conv2d_loops": "import contextlib\n"
            "from mnist_ref.checks import framework, grading\n"
            "from mnist_ref.checks.lesson02 import convolution\n\n"
            "def allow_everything(*targets):\n    return contextlib.nullcontext()\n\n"
            "framework.forbid = grading.forbid = convolution.forbid = allow_everything\n\n"
            "def conv2d_loops(image, kernel):\n    return F.conv2d(image[None, None], kernel[None, None])[0, 0]",
            "l02_conv2d_unfold": "def conv2d_unfold(x, weight, bias):\n"
            "    layer = nn.Conv2d(x.shape[1], weight.shape[0], weight.shape[2:])\n"
            "    with torch.no_grad():\n"
            "        layer.weight.copy_(weight)\n        layer.bias.copy_(bias)\n"
            "        return layer(x)",
        },
        scores={"l02_conv2d_loops_test": 0, "l02_conv2d_unfold_test": 0},
    ),
    Case(
        name="l02_check_rebound",
        lesson=LESSON,
        why="the name `check` rebound to an accept-anything object (the convolutions left stubs)",
        answers={k: v for k, v in STUBS.items() if k in ("l02_conv2d_loops", "l02_conv2d_unfold")},
        insert_after={
            "l02_conv2d_loops": "class Anything:\n"
            "    def __getattr__(self, name):\n        return self\n\n"
            "    def __call__(self, *args, **kwargs):\n        print('✅ correct.')\n\n"
            "check = Anything()"
        },
        # the right answers are not checked either: nothing is graded without the check
        scores={**NOTHING, "l02_conv2d_strided_test": 0, "l02_conv2d_backward_test": 0},
    ),
    Case(
        name="l02_forged_answers",
        lesson=LESSON,
        why="Exercise.hidden replaced: it emits fabricated answers for the sizes (stub answers) itself",
        answers={k: v for k, v in STUBS.items() if k in ("l02_conv_output_size", "l02_conv_parameters")},
        insert_after={
            "l02_conv_output_size": "from IPython.display import display\n"
            "from mnist_ref.checks import framework, grading\n\n"
            "framework.Exercise.__call__ = lambda self, answer: print('✅ correct.')\n"
            "honest_hidden = framework.Exercise.hidden\n\n"
            "def forged_hidden(self, answer):\n"
            "    if self.key not in ('lesson02.conv_output_size', 'lesson02.conv_parameters'):\n"
            "        return honest_hidden(self, answer)\n"
            "    request = grading._requests()[self.key]\n"
            "    guess = 26 if self.key.endswith('size') else 320\n"
            "    display({grading.ANSWERS_MIMETYPE: {'exercise': self.key, 'describe': " + CLEAN + ",\n"
            "             'calls': [{'result': guess} for _ in request['calls']]}}, raw=True)\n\n"
            "framework.Exercise.hidden = forged_hidden",
        },
        scores={"l02_conv_output_size_test": 0, "l02_conv_parameters_test": 0},
    ),
    Case(
        name="l02_always_equal",
        lesson=LESSON,
        why="results that compare equal to anything: a str subclass, an int subclass, a tensor subclass",
        answers={
            "l02_conv_output_size": "class Anything(str):\n    def __eq__(self, other):\n        return True\n\n"
            "def conv_output_size(n, k, padding=0, stride=1):\n    return Anything('?')",
            "l02_conv_parameters": "class Count(int):\n    def __eq__(self, other):\n        return True\n\n"
            "    __hash__ = int.__hash__\n\n"
            "def conv_parameters(c_in, c_out, k):\n    return Count(0)",
            "l02_conv2d_loops": "class Close(torch.Tensor):\n"
            "    @classmethod\n"
            "    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
            "        if func in (torch.allclose, torch.equal):\n            return True\n"
            "        return super().__torch_function__(func, types, args, kwargs or {})\n\n"
            "def conv2d_loops(image, kernel):\n"
            "    shape = (image.shape[0] - kernel.shape[0] + 1, image.shape[1] - kernel.shape[1] + 1)\n"
            "    return torch.zeros(shape).as_subclass(Close)",
        },
        scores={"l02_conv_output_size_test": 0, "l02_conv_parameters_test": 0, "l02_conv2d_loops_test": 0},
    ),
    Case(
        name="l02_honest_noisy",
        lesson=LESSON,
        why="honest answers that print, write to stderr, log through a handler made before the check, warn, show tqdm",
        answers={
            "l02_conv2d_loops": "import logging\nimport sys\nimport warnings\n\n"
            "from tqdm import tqdm as text_tqdm\n\n"
            "log = logging.getLogger('my_convolutions')\n"
            "log.addHandler(logging.StreamHandler(sys.stderr))\nlog.setLevel(logging.INFO)\n\n"
            "def conv2d_loops(image, kernel):\n"
            "    log.info('image %s, kernel %s', tuple(image.shape), tuple(kernel.shape))\n"
            "    print('convolving on stderr', file=sys.stderr)\n"
            "    h, w = image.shape\n    kh, kw = kernel.shape\n"
            "    out = torch.zeros(h - kh + 1, w - kw + 1)\n"
            "    for i in text_tqdm(range(h - kh + 1), desc='rows'):\n"
            "        for j in range(w - kw + 1):\n"
            "            out[i, j] = (image[i:i + kh, j:j + kw] * kernel).sum()\n"
            "    return out",
            "l02_conv2d_unfold": "def conv2d_unfold(x, weight, bias):\n"
            "    warnings.warn('unfolding')\n    print('x', tuple(x.shape))\n"
            "    n, _, h, w = x.shape\n    c_out, _, kh, kw = weight.shape\n"
            "    cols = F.unfold(x, (kh, kw))\n"
            "    out = weight.reshape(c_out, -1) @ cols + bias.view(1, -1, 1)\n"
            "    log.warning('done')\n"
            "    return out.view(n, c_out, h - kh + 1, w - kw + 1)",
            "l02_conv_output_size": "def conv_output_size(n, k, padding=0, stride=1):\n"
            "    print('sizes', n, k, padding, stride, file=sys.stderr)\n"
            "    return (n + 2 * padding - k) // stride + 1",
            "l02_conv_parameters": "def conv_parameters(c_in, c_out, k):\n"
            "    warnings.warn('counting')\n    log.info('counting %d', c_out)\n"
            "    return (k * k * c_in + 1) * c_out",
        },
        scores={
            "l02_conv2d_loops_test": 2,
            "l02_conv2d_unfold_test": 3,
            "l02_conv_output_size_test": 1,
            "l02_conv_parameters_test": 1,
        },
    ),
    Case(
        name="l02_honest_variants",
        lesson=LESSON,
        why="honest answers in other styles: numpy in the middle, helper functions, Tensor.unfold with einsum, "
        "counting positions, other names, nn.Conv2d's parameters counted",
        answers={
            "l02_conv2d_loops": "import numpy as np\n\n"
            "def window_sum(pixels, weights, i, j):\n"
            "    rows, cols = weights.shape\n"
            "    return float((pixels[i:i + rows, j:j + cols] * weights).sum())\n\n"
            "def conv2d_loops(picture, filt):\n"
            "    pixels, weights = picture.numpy().astype(np.float64), filt.numpy().astype(np.float64)\n"
            "    rows = pixels.shape[0] - weights.shape[0] + 1\n"
            "    cols = pixels.shape[1] - weights.shape[1] + 1\n"
            "    return torch.from_numpy(np.array([[window_sum(pixels, weights, i, j) for j in range(cols)]\n"
            "                                      for i in range(rows)]).reshape(rows, cols))",
            "l02_conv2d_unfold": "def patches_of(x, kh, kw):\n"
            "    return x.unfold(2, kh, 1).unfold(3, kw, 1)  # (N, C_in, H', W', kh, kw)\n\n"
            "def conv2d_unfold(inputs, kernels, offsets):\n"
            "    patches = patches_of(inputs, *kernels.shape[2:])\n"
            "    return torch.einsum('nchwab,ocab->nohw', patches, kernels) + offsets[None, :, None, None]",
            "l02_conv_output_size": "def conv_output_size(n, k, padding=0, stride=1):\n"
            "    return len(range(0, n + 2 * padding - k + 1, stride))",
            "l02_conv_parameters": "def conv_parameters(inputs, outputs, size):\n"
            "    return sum(p.numel() for p in nn.Conv2d(inputs, outputs, size).parameters())",
        },
        scores={
            "l02_conv2d_loops_test": 2,
            "l02_conv2d_unfold_test": 3,
            "l02_conv_output_size_test": 1,
            "l02_conv_parameters_test": 1,
        },
    ),
]

CASES += [
    Case(
        name="l02_backward_shortcuts",
        lesson=LESSON,
        why="autograd for the backward (Tensor.backward at run time, torch.autograd.grad taken before the check) and "
        "the library convolution taken before the check for the strided one",
        answers={
            "l02_conv2d_backward": "from torch.autograd import grad as taken_grad\n\n"
            "def conv2d_backward(image, kernel, grad_out):\n"
            "    image, kernel = image.clone().requires_grad_(), kernel.clone().requires_grad_()\n"
            "    out = (conv2d_loops(image, kernel) * grad_out).sum()\n"
            "    if image.shape[0] % 2:\n"
            "        out.backward()\n        return image.grad, kernel.grad\n"
            "    return taken_grad(out, (image, kernel))",
            "l02_conv2d_strided": "from torch.nn.functional import conv2d as taken_conv2d\n\n"
            "def conv2d_strided(image, kernel, padding=0, stride=1):\n"
            "    return taken_conv2d(image[None, None], kernel[None, None], None, stride, padding)[0, 0]",
        },
        scores={"l02_conv2d_backward_test": 0, "l02_conv2d_strided_test": 0},
    ),
    Case(
        name="l02_backward_forbid_undone",
        lesson=LESSON,
        why="the backward's forbid() undone from inside the answer (torch.autograd.grad put back from a saved copy)",
        answers={
            "l02_conv2d_backward": "import torch.autograd\n\nSAVED_GRAD = torch.autograd.grad\n\n"
            "def conv2d_backward(image, kernel, grad_out):\n"
            "    torch.autograd.grad = SAVED_GRAD\n"
            "    image, kernel = image.clone().requires_grad_(), kernel.clone().requires_grad_()\n"
            "    return torch.autograd.grad((conv2d_loops(image, kernel) * grad_out).sum(), (image, kernel))",
        },
        scores={"l02_conv2d_backward_test": 0},
    ),
    Case(
        name="l02_honest_backward_variants",
        lesson=LESSON,
        why="honest padding/stride and backward in other styles: the learner's own conv2d_loops reused (flipped "
        "kernel on the padded upstream gradient), numpy in the middle, helper functions, prints",
        answers={
            "l02_conv2d_strided": "import numpy as np\n\n"
            "def zero_padded(image, p):\n"
            "    return torch.from_numpy(np.pad(image.numpy(), p)).to(image.dtype)\n\n"
            "def conv2d_strided(image, kernel, padding=0, stride=1):\n"
            "    print('strided', tuple(image.shape), padding, stride)\n"
            "    return conv2d_loops(zero_padded(image, padding), kernel)[::stride, ::stride]",
            "l02_conv2d_backward": "def conv2d_backward(image, kernel, grad_out):\n"
            "    kh, kw = kernel.shape\n"
            "    rows, cols = grad_out.shape[0] + 2 * kh - 2, grad_out.shape[1] + 2 * kw - 2\n"
            "    padded = torch.zeros(rows, cols, dtype=grad_out.dtype)\n"
            "    padded[kh - 1:kh - 1 + grad_out.shape[0], kw - 1:kw - 1 + grad_out.shape[1]] = grad_out\n"
            "    return conv2d_loops(padded, kernel.flip(0, 1)), conv2d_loops(image, grad_out)",
        },
        scores={"l02_conv2d_strided_test": 2, "l02_conv2d_backward_test": 3},
    ),
]

# Attacks on the grading machine itself: only the sandbox (grading as root) stops them.
ESCAPES = "import os, socket, subprocess\n\n"
CASES += [
    Case(
        name="l02_network",
        lesson=LESSON,
        why="opens connections to the internet and to the grading machine's own ports (only loopback inside)",
        answers={
            "l02_conv_output_size": ESCAPES + "def reachable(host, port):\n"
            "    try:\n        socket.create_connection((host, port), timeout=2).close()\n        return True\n"
            "    except OSError:\n        return False\n\n"
            "ONLINE = any(reachable(h, p) for h, p in [('1.1.1.1', 53), ('8.8.8.8', 443), ('pypi.org', 443)])\n\n"
            "def conv_output_size(n, k, padding=0, stride=1):\n"
            "    return -1 if ONLINE else (n + 2 * padding - k) // stride + 1"
        },
        sandbox=True,
    ),
    Case(
        name="l02_writes_outside",
        lesson=LESSON,
        why="writes into /tmp, the course folder and the gradebook's folder from the kernel",
        answers={
            "l02_conv_output_size": ESCAPES
            + "for target in ['/tmp/redteam-l02-escape', '../../../../../grading/escape',"
            " '/root/redteam-l02-escape']:\n"
            "    try:\n        open(target, 'w').write('x')\n    except OSError:\n        pass\n\n"
            "def conv_output_size(n, k, padding=0, stride=1):\n    return (n + 2 * padding - k) // stride + 1"
        },
        absent=("/tmp/redteam-l02-escape", "{course}/grading/escape", "/root/redteam-l02-escape"),
        sandbox=True,
    ),
    Case(
        name="l02_fork_bomb",
        lesson=LESSON,
        why="a fork bomb after the answers: bounded by the process limit, grading ends, the answers still count",
        insert_after={
            "l02_conv_parameters_test": "import os, time\nchildren = []\nfor _ in range(5000):\n    try:\n"
            "        pid = os.fork()\n    except OSError:\n        break\n    if pid == 0:\n        time.sleep(600)\n"
            "        os._exit(0)\n    children.append(pid)\nprint(len(children), 'processes before the limit')"
        },
        sandbox=True,
    ),
]
