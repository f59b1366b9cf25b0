"""Lesson 03's "Check your understanding" questions that check themselves (practice, not graded)."""

from ..questions import choice, number

conv_parameters_question = number(
    "The parameters of a 64-to-64 convolution",
    right=36_928,
    wrong={
        36_864: "that is the 64 kernels of 64 x 3 x 3 weights without their biases: every output channel has one.",
        577: "that is ONE output channel (64 x 3 x 3 weights + 1 bias); the layer has 64 of them.",
        640: "that counts one 3x3 kernel per output channel; each output channel has a kernel for EVERY input channel.",
        102_464: "padding adds zeros around the input, not weights: the kernels stay 3 x 3, not 5 x 5.",
    },
    why="64 x (64 x 3 x 3 + 1) = 36,928; padding changes the output size, never the number of weights.",
    hint="Use parameters = C_out x (C_in x k x k + 1) from section 2, and ask yourself whether padding adds weights.",
)

missing_pool_question = number(
    "Features without the second pool",
    right=16_384,
    wrong={
        4_096: "that is what fc1 receives WITH the second pool; without it the 8 x 8 maps of conv4 are flattened.",
        8_192: "a pool halves the height AND the width, so it divides the number of features by 4, not by 2.",
        36_864: "only the SECOND pool is missing: conv3 and conv4 still run after the first one (12 -> 10 -> 8).",
    },
    why="256 x 8 x 8 = 16,384, so fc1 = nn.Linear(4096, 50) fails with 'mat1 and mat2 shapes cannot be "
    "multiplied (N x 16384 and 4096 x 50)'.",
    hint="Walk the side lengths 28 -> 26 -> 24 -> 12 -> 10 -> 8 and stop before the last pool.",
)

shift_question = choice(
    "What ignores a small shift",
    right="b",
    wrong={
        "a": "a convolution is shift-EQUIVARIANT: when the digit moves by one pixel its feature map moves by one "
        "pixel too; it keeps the position, it does not forget it.",
        "c": "fc1 has one weight per feature AND position: a pattern that moves meets other weights, so fc1 is what "
        "is most sensitive to a shift.",
        "d": "log_softmax only normalizes the 10 class scores; it never sees a position.",
    },
    why="only the maximum of each 2x2 window survives, wherever in the window it was: a shift that keeps a "
    "strong response inside its window changes nothing after the pool.",
    hint="Which operation forgets WHERE inside a small region a value came from?",
)
