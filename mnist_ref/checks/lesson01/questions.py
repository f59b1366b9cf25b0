"""Lesson 01's "Check your understanding" questions that check themselves (practice, not graded)."""

from ..questions import choice, number

validation_question = choice(
    "Why choose on the validation set",
    right="b",
    wrong={
        "a": "10,000 images is plenty to measure an accuracy (±0.2 %); size is not the problem, WHO uses them is.",
        "c": "the test images come from the same writers' population and the same files' format; they are no harder, "
        "and they go through exactly the same transform.",
        "d": "any set of images can be evaluated at any time; nothing breaks, the number just stops meaning what we "
        "want it to mean.",
    },
    why="every choice made by looking at a set fits the model a little to that set: a test accuracy used for "
    "choosing is optimistic, and we would have no untouched set left to say how well the model does on new digits.",
    hint="What should the final test accuracy be an estimate of, and what happens to it if we pick the best of "
    "several runs by that same number?",
)

held_out_question = number(
    "Validation images of one digit",
    right=500,
    wrong={
        5_000: "that is the whole validation set; it is shared among the 10 digits.",
        5_500: "that is 55,000 / 10, the TRAINING images that remain per digit; the question asks what is held out.",
        6_000: "that is how many training images each digit has on average, before anything is held out.",
        1_000: "that is the test set per digit; the test set is not split, it is set apart whole.",
        50: "the validation set has 5,000 images, not 500.",
    },
    why="5,000 validation images, as many of each of the 10 digits: 500 of each, drawn with a fixed seed.",
    hint="VALIDATION_SIZE images are held out, class-balanced: the same number for every digit.",
)

batches_question = number(
    "Batches in one epoch",
    right=860,
    wrong={
        859: "55,000 = 859 x 64 + 24: the 24 left over make one more, smaller batch (unless drop_last=True).",
        938: "that is for all 60,000 training images; the 5,000 validation images are no longer in the training set.",
        79: "that is the 5,000 validation images in batches of 64; the question is about the training part.",
        157: "that is the test set in batches of 64; the question is about the training part.",
    },
    why="55,000 = 859 x 64 + 24: 859 full batches and a last one of 24 images, 860 in all.",
    hint="Start from how many images are left for training after the validation set is held out, then use "
    "what you wrote for batch_sizes.",
)
