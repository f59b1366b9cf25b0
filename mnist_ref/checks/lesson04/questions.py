"""Lesson 04's "Check your understanding" questions that check themselves (practice, not graded)."""

from ..questions import choice, number

first_loss_question = number(
    "The first loss of a guessing network",
    right=2.30,
    abs_tol=0.01,
    wrong={
        0.1: "that is the probability of the true class; the loss is MINUS THE LOGARITHM of it.",
        1.0: "that is log base 10 of 10; PyTorch's log (and the loss) uses the natural logarithm.",
        -2.30: "the log-probability is -2.30, but the loss is its negative, so that smaller is better.",
    },
    why="-ln(1/10) = ln 10 = 2.30: a first loss far from it means the outputs are not log-probabilities or "
    "the network is not starting from guessing.",
    hint="Uniform guessing gives p = 1/10 to the true class; the loss of one image is -log p (natural log).",
)

overfit_question = choice(
    "A batch that cannot be memorised",
    right="b",
    wrong={
        "a": "32 images are too few to GENERALISE from, but the point is to MEMORISE them: 593,200 weights can "
        "always fit 32 labels.",
        "c": "the validation set measures generalisation; this batch is about whether the model can learn at all.",
        "d": "a bigger model memorises a small batch even faster; size is not why the loss stays high.",
    },
    why="a network that cannot memorise 32 images has a bug: a missing zero_grad or step, targets that do not "
    "match the images, a loss on the wrong outputs, a learning rate far off. Fix that before a long run.",
    hint="With 593,200 weights and 32 images, is learning them by heart hard or easy?",
)

validation_question = choice(
    "Which set chooses the learning rate",
    right="b",
    wrong={
        "a": "training accuracy rewards memorising: the learning rate that fits the training images best is not the "
        "one that reads new digits best.",
        "c": "then the test accuracy is no longer an honest estimate on unseen digits: you picked the learning rate "
        "that happened to suit those 10,000 images.",
    },
    why="choices are made on the validation set; the test set is used once, at the very end (lesson 07).",
    hint="Which set is held out of training but may be looked at as often as needed?",
)
