"""Lesson 07's self-checked questions (practice, not graded): which set to choose on, counting mistakes,
and which mistake the browser shows first."""

from __future__ import annotations

from ..questions import choice, number

q_choose_on = choice(
    "Choosing between three trained models",
    right="b",
    why=(
        "You choose on validation; then the winner is evaluated ONCE on the test set, and that number is an "
        "honest estimate for new digits, because nothing was chosen with it."
    ),
    wrong={
        "a": (
            "the winner would be the model that was luckiest on those 10,000 images, so its test accuracy is "
            "biased upward, and nothing unseen is left to report. Keep the test set for the one final number."
        ),
        "c": "training accuracy rewards memorizing: the model that overfits most would win.",
    },
    hint="Which set was held out of training AND is not the one you report at the end?",
)

q_validation_mistakes = number(
    "Mistakes at 99.30 % on the validation set",
    right=35,
    why="0.70 % of the 5,000 validation images is 35 mistakes: few enough to look at every one in the browser.",
    wrong={
        70: "70 is 0.70 % of the 10,000 TEST images; the validation set holds 5,000.",
        4965: "that is how many it gets right; the question asks for the mistakes.",
        420: "420 is 0.70 % of the 60,000 images; the validation set holds 5,000.",
    },
    hint="The error rate is 100 - 99.30 percent; apply it to the number of validation images.",
)

q_first_mistake = choice(
    "The mistake the browser shows first",
    right="a",
    why=(
        "The loss is -log p(true). In (a) p(true) is at most 0.01, a loss of at least 4.6; in (b) p(true) = "
        "0.45, a loss of 0.8. A confident mistake is the worst: the model was sure and wrong."
    ),
    wrong={
        "b": (
            "a hesitant mistake (p(true) = 0.45) costs only -log 0.45 = 0.8; the confident one, p(true) at most "
            "0.01, costs at least 4.6, and the browser sorts by loss, largest first."
        ),
    },
    hint="Compute -log p(true) for both: what is p(true) when the model gives 0.99 to the wrong digit?",
)
