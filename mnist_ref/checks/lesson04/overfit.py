"""The practitioner's sanity check "overfit one small batch": the losses of many steps on the SAME batch must
start near ln 10 (an untrained network guesses) and fall near 0 (it can memorise a few images). If they do not,
the model, the loss or the loop has a bug, and a long training run would only hide it. Practice, not graded."""

from __future__ import annotations

import math
import numbers

from ..framework import CheckFailed, Exercise, expect

NEAR_ZERO = 0.05  # a loss of 0.05 is a probability of 0.95 for the true class, on average
GUESSING = math.log(10)


def overfit_visible(losses) -> str:
    __tracebackhide__ = True
    expect(
        isinstance(losses, (list, tuple)) and len(losses) >= 2,
        f"pass the list of the losses of every step (Python floats), got {type(losses).__name__}",
    )
    expect(
        all(isinstance(loss, numbers.Real) for loss in losses),
        "the losses should be Python floats: append loss.item() at every step",
    )
    first, last = float(losses[0]), float(losses[-1])
    expect(
        all(math.isfinite(loss) for loss in losses),
        "the loss became inf or nan: the steps are too large (learning rate) and the weights blew up.",
    )
    expect(
        abs(first - GUESSING) < 0.5,
        f"the first loss is {first:.3f}, but an untrained network guesses, which costs about ln 10 = 2.303: "
        "is the loss computed from log-probabilities and the right targets?",
    )
    expect(
        max(losses) - min(losses) > 1e-6,
        f"the loss never changed ({first:.4f}): the weights do not move. Is optimizer.step() called, over the "
        "model's parameters, with a learning rate above 0?",
    )
    if last >= NEAR_ZERO:
        trend = "rose" if last > first else "fell only"
        raise CheckFailed(
            f"the loss {trend} from {first:.3f} to {last:.3f} in {len(losses)} steps; on one repeated batch it "
            f"should go below {NEAR_ZERO}. Look for a missing optimizer.zero_grad(), targets that do not belong to "
            "the images, or a learning rate far too small or too large."
        )
    steps = next(i for i, loss in enumerate(losses, start=1) if loss < NEAR_ZERO)
    return (
        f"the loss fell from {first:.3f} to {last:.4f}; below {NEAR_ZERO} after {steps} steps. The model, the loss "
        "and the loop can learn: now a real training run is worth its time."
    )


overfit_one_batch = Exercise(
    title="overfit one batch",
    visible=overfit_visible,
    hint_text="Run the provided cell as it is first; if it fails after you changed it, compare your loop with "
    "the five lines of section 4.",
)
