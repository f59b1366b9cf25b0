"""Lesson 06's self-checked questions (practice, not graded): the bytes of a batch, a small gradient in float16."""

from __future__ import annotations

from ..questions import choice, number

q_batch_bytes = number(
    "The bytes of one batch",
    right=200_704,
    why=(
        "64 images x 1 x 28 x 28 values x 4 bytes (float32) = 200,704 bytes (the 64 int64 targets add 512). "
        "860 such copies make an epoch of 55,000 images: about 173 MB every epoch, while the model's 2.4 MB go "
        "only once."
    ),
    wrong={
        50_176: "that is the number of VALUES, 64 x 784; each float32 value takes 4 bytes.",
        100_352: (
            "that is 2 bytes per value, float16. The loader's batch is float32; autocast converts inside the "
            "layers, after the copy."
        ),
        401_408: "that is 8 bytes per value, float64. ToTensor and Normalize make float32: 4 bytes.",
        784: "that is one image's values; the batch has 64 images of 784 values, 4 bytes each.",
    },
    hint="Multiply: images in the batch x channels x height x width x bytes per float32 value.",
)

q_float16_gradient = choice(
    "A gradient of 1e-9 in float16",
    right="b",
    why=(
        "float16's smallest positive number is 2**-24, about 6e-8; 1e-9 is far nearer to 0 than to it, so it "
        "rounds to 0 and the weight behind it stops learning. Multiplying the loss by 2**16 first (the "
        "GradScaler) lifts it to about 6.6e-5, which float16 keeps."
    ),
    wrong={
        "a": (
            "float16 has only 5 exponent bits: nothing below about 6e-8 can be stored (look at the float16 row "
            "of the range figure)."
        ),
        "c": (
            "rounding goes to the NEAREST number float16 can store, and 1e-9 is much nearer to 0 than to "
            "6e-8: there is no 'round up to the smallest'."
        ),
        "d": "inf is what happens above the largest number, 65504 (overflow), not below the smallest.",
    },
    hint="Find 1e-9 on the float16 row of the range figure; what is the nearest number float16 can store?",
)
