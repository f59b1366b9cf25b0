"""Lesson 02's "Check your understanding" questions that check themselves (practice, not graded)."""

from ..questions import choice, number

strided_size_question = number(
    "The output of a strided convolution",
    right=14,
    wrong={
        13: "the formula rounds down (28 + 2 - 3) / 2 = 13.5 to 13, and then adds 1 for the window's first position.",
        15: "a window that would stick out of the padded image does not count: (28 + 2 - 3) // 2 + 1 = 14.",
        28: "padding 1 keeps 28 x 28 only with stride 1; stride 2 halves it.",
        13.5: "a size is a whole number of windows: round down with //, then add 1.",
    },
    why="(28 + 2 x 1 - 3) // 2 + 1 = 27 // 2 + 1 = 14: a 28 x 28 input becomes 14 x 14, like a 2 x 2 pool would.",
    hint="Use the output-size formula of section 3 with n = 28, k = 3, p = 1, s = 2.",
)

same_padding_question = number(
    "The padding that keeps the size",
    right=2,
    wrong={
        4: "padding p is added on EACH side: a 5 x 5 kernel loses k - 1 = 4 pixels, so 2 on each side make them up.",
        1: "that keeps the size for a 3 x 3 kernel; a 5 x 5 kernel takes off 4 pixels in all.",
        5: "the padding makes up for the k - 1 pixels the window cannot reach, not for the whole kernel.",
        0: "without padding the output shrinks by k - 1 = 4 pixels on each axis.",
    },
    why="n + 2p - 5 + 1 = n needs 2p = 4: p = (k - 1) / 2 = 2 (this is padding='same' for stride 1).",
    hint="Solve n + 2p - k + 1 = n for p, with k = 5.",
)

backward_shape_question = choice(
    "The shapes of the gradients",
    right="c",
    wrong={
        "a": "a gradient has the shape of what it is taken with respect to: the kernel is 3 x 3, so is its gradient.",
        "b": "grad_out has the OUTPUT's shape (26 x 26); the gradient with respect to the image has the image's.",
        "d": "the batch does not enter here: one image, one kernel; and the kernel's gradient sums over positions.",
    },
    why="dL/dimage has the image's shape (28 x 28) and dL/dkernel the kernel's (3 x 3): every number that "
    "can change has exactly one gradient entry.",
    hint="A gradient answers 'how does L change if THIS number changes?' for every number of the tensor.",
)
