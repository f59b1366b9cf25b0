"""Lesson 05's self-checked questions (practice, not graded): choosing the best epoch, and momentum."""

from __future__ import annotations

from ..questions import choice, number

q_best_epoch = choice(
    "Which curve chooses the best epoch",
    right="c",
    why=(
        "The validation set is held out of training, so its loss estimates how the model does on new digits, and "
        "choosing on it leaves the test set untouched for one honest final number."
    ),
    wrong={
        "a": (
            "the training loss keeps falling as long as the model memorizes its own images, so its lowest point is "
            "almost always the last epoch, overfitting included."
        ),
        "b": (
            "choosing on the test set makes the test score the best of many tries, so it no longer estimates "
            "the accuracy on new digits. The test set is for one final report, not for choosing."
        ),
        "d": (
            "the last epoch is past the best one as soon as the validation loss turns back up (overfitting); "
            "that is exactly what keeping the best epoch guards against."
        ),
    },
    hint="Which of these sets did the training never see, and is not kept for the final report?",
)

q_momentum_step = number(
    "The step of SGD with momentum",
    right=0.1,
    why=(
        "v = 0.9 v + g settles where v = 0.9 v + 1, i.e. v = 1 / (1 - 0.9) = 10, so each step moves lr * v = 0.1: "
        "ten times plain SGD's step. Momentum speeds up along directions where the gradient keeps its sign, and "
        "averages out the directions where it flips (the zig-zag across the ravine in the figure)."
    ),
    wrong={
        0.01: (
            "that is plain SGD's step, lr * g. With momentum the velocity v = 0.9 v + g keeps adding the same "
            "gradient: where does it settle?"
        ),
        0.001: (
            "that would be a velocity that averages the gradient, v = 0.9 v + 0.1 g. PyTorch's SGD adds the whole "
            "gradient, v = 0.9 v + g (dampening=0), so v grows beyond g."
        ),
        0.019: "that is the step after two steps, lr * (1 + 0.9). Let it run: where does v = 0.9 v + 1 settle?",
    },
    hint="Write v = 0.9 v + 1 and solve for the v that no longer changes; the step is lr * v.",
)
