"""The lesson explorers: a changed control redraws the figure and caption, as a mouse move does."""

import math

import pytest
import torch

from mnist_ref import Net
from mnist_ref.explorers import (
    HAND_MADE_KERNELS,
    digit_explorer,
    digit_figure,
    feature_map_explorer,
    kernel_explorer,
    misclassified_browser,
    misclassified_figure,
    precision_explorer,
    prediction_explorer,
    schedule_explorer,
    step_position,
    stored_value,
)
from mnist_ref.recipes import step_lr_schedule


@pytest.fixture
def digits():
    torch.manual_seed(0)
    return torch.randn(6, 1, 28, 28), torch.tensor([3, 1, 4, 1, 5, 9])


def redraws(box, control: str, value) -> tuple[str, str]:
    """Set one control; assert the image and caption changed; return (caption before, after)."""
    image, caption = box.image.value, box.caption.value
    box.controls[control].value = value
    assert box.shown[control] == value
    assert box.image.value != image, "the figure was not redrawn"
    assert box.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    return caption, box.caption.value


def test_digit_explorer_pages_through_one_digit():
    targets = torch.tensor([3, 1, 3, 3, 7, 1])
    images = (torch.arange(6).view(6, 1, 1) * 40).expand(6, 28, 28).to(torch.uint8)  # image i is all 40 * i
    box = digit_explorer(images, targets)
    assert "mnist-explorer" in box._dom_classes
    assert list(box.controls["digit"].options) == [1, 3, 7]  # only the digits there are
    assert box.shown == {"digit": 1, "example": 0} and box.controls["example"].max == 1
    assert box.caption.value == "digit 1: example 1 of 2"
    _, after = redraws(box, "digit", 3)
    assert after == "digit 3: example 1 of 3" and box.controls["example"].max == 2
    _, after = redraws(box, "example", 2)
    assert after == "digit 3: example 3 of 3"
    box.controls["digit"].value = 7  # one example: the slider clamps, and the figure shows the clamped one
    assert box.shown == {"digit": 7, "example": 0} and box.caption.value == "digit 7: example 1 of 1"


def test_digit_figure_shows_the_raw_example():
    targets = torch.tensor([3, 1, 3])
    images = (torch.arange(3).view(3, 1, 1) * 100).expand(3, 28, 28).to(torch.uint8)
    ax = digit_figure(images, targets, 3, 1).axes[0]
    assert ax.get_title() == "label 3 · #2 of 2\n(dataset index 2)"
    assert float(ax.images[0].get_array().max()) == 200 and ax.images[0].get_clim() == (0, 255)


def test_digit_explorer_rejects_normalized_batches(digits):
    images, labels = digits
    with pytest.raises(ValueError, match=r"raw images \(N, 28, 28\)"):
        digit_explorer(images, labels)


def test_kernel_explorer_follows_kernel_and_image(digits):
    images, labels = digits
    box = kernel_explorer(images, labels)
    assert "mnist-explorer" in box._dom_classes
    assert box.shown == {"kernel": "vertical edges", "image": 0}
    assert "26×26 map" in box.caption.value
    before, after = redraws(box, "image", 5)
    assert "label 3" in before and "label 9" in after
    _, after = redraws(box, "kernel", "blur")
    assert "'blur'" in after


def test_kernel_explorer_identity_kernel_crops_the_image(digits):
    images, labels = digits
    box = kernel_explorer(images, labels, {"identity": HAND_MADE_KERNELS["identity"]})
    inner = images[0, 0, 1:-1, 1:-1]
    assert f"values {float(inner.min()):.2f} to {float(inner.max()):.2f}" in box.caption.value


def test_kernel_explorer_rejects_bad_input(digits):
    images, labels = digits
    with pytest.raises(ValueError, match=r"x.unsqueeze\(1\)"):
        kernel_explorer(images[:, 0], labels)
    with pytest.raises(ValueError, match="one label per image"):
        kernel_explorer(images, labels[:2])
    with pytest.raises(ValueError, match="3x3"):
        kernel_explorer(images, labels, {"big": torch.ones(5, 5)})


def test_feature_map_explorer_walks_the_shapes(digits):
    images, _ = digits
    box = feature_map_explorer(Net(), images[0])
    layer, channel = box.controls["layer"], box.controls["channel"]
    assert list(layer.options) == [
        "input",
        "Conv2d-1",
        "Conv2d-2",
        "MaxPool2d-3",
        "Conv2d-4",
        "Conv2d-5",
        "MaxPool2d-6",
    ]
    assert box.shown == {"layer": "Conv2d-1", "channel": 0} and channel.max == 31
    redraws(box, "layer", "Conv2d-5")
    assert channel.max == 255
    _, after = redraws(box, "channel", 200)
    assert after.startswith("Conv2d-5: 256 channels of 8×8; showing channel 200, values ")
    layer.value = "Conv2d-1"  # 32 channels: the slider clamps, and the figure shows the clamped channel
    assert box.shown == {"layer": "Conv2d-1", "channel": 31}
    assert box.caption.value.startswith("Conv2d-1: 32 channels of 26×26; showing channel 31, values ")
    layer.value = "MaxPool2d-6"
    assert box.caption.value.startswith("MaxPool2d-6: 256 channels of 4×4")
    layer.value = "input"  # one channel: the slider's range shrinks to 0
    assert channel.max == 0
    low, high = float(images[0].min()), float(images[0].max())
    assert box.caption.value == f"input: 1 channel of 28×28; showing channel 0, values {low:.2f} to {high:.2f}"


def test_feature_map_explorer_wants_one_digit(digits):
    images, _ = digits
    with pytest.raises(ValueError, match=r"images\[0\]"):
        feature_map_explorer(Net(), images)


def test_prediction_explorer_shows_the_model_output(digits):
    images, labels = digits
    model = Net()
    box = prediction_explorer(model, images, labels)
    assert model.training, "the explorer must leave the model's mode as it found it"
    with torch.no_grad():
        model.eval()
        probabilities = model(images).exp()
    predicted = int(probabilities[2].argmax())
    _, after = redraws(box, "image", 2)
    assert after.startswith(
        f"image 2: label 4, predicted {predicted} with probability {float(probabilities[2, predicted]):.2f}"
    )


def test_step_lr_schedule_is_the_course_schedule():
    rates = step_lr_schedule(0.01, 15, 0.1, 20)
    assert rates[:15] == [0.01] * 15
    assert all(math.isclose(r, 0.001) for r in rates[15:])
    assert len(step_lr_schedule(0.01, 5, 0.5, 20)) == 20


def test_schedule_explorer_counts_the_decays():
    box = schedule_explorer()
    assert box.caption.value.startswith(
        "step_size=15, gamma=0.1: 1 decay in 20 epochs; the last epoch trains at lr 0.001"
    )
    _, after = redraws(box, "step_size", 5)
    assert after.startswith("step_size=5, gamma=0.1: 3 decays")
    _, after = redraws(box, "gamma", 0.5)
    assert after.endswith("lr 0.00125")


def test_stored_value_shows_range_and_rounding():
    assert stored_value(1e-9, torch.float16) == 0.0
    assert stored_value(1e5, torch.float16) == math.inf
    assert stored_value(1e-9, torch.bfloat16) != 0.0
    assert stored_value(1.0009765625, torch.float16) == 1.0009765625  # 1 + 2**-10 is a float16
    assert stored_value(1.001, torch.bfloat16) == 1.0  # 8 bits of mantissa


def test_precision_explorer_explains_underflow():
    box = precision_explorer()
    assert box.shown["dtype"] == "float16"
    _, after = redraws(box, "value", 1e-9)
    assert after.endswith("underflows to 0: the value is lost")
    _, after = redraws(box, "dtype", "bfloat16")
    assert "is stored as" in after


def mistakes():
    torch.manual_seed(0)
    images = torch.randn(6, 1, 28, 28)
    targets, predictions = torch.tensor([1, 2, 3, 4, 5, 6]), torch.tensor([1, 7, 3, 9, 5, 0])
    return images, targets, predictions  # wrong at 1, 3 and 5


def test_misclassified_figure_names_image_truth_and_prediction():
    images, targets, predictions = mistakes()
    ax = misclassified_figure(images, targets, predictions, 3).axes[0]
    assert ax.get_title() == "#3: true 4, predicted 9"
    black = torch.full((1, 1, 28, 28), -0.1307 / 0.3081)  # drawn as pixels: the normalization undone
    assert float(abs(misclassified_figure(black, targets, predictions, 0).axes[0].images[0].get_array()).max()) < 1e-6


def test_step_position_wraps_around():
    assert step_position(0, +1, 3) == 1 and step_position(2, +1, 3) == 0 and step_position(0, -1, 3) == 2
    assert step_position(0, +1, 0) == 0


def test_misclassified_browser_follows_slider_and_buttons():
    images, targets, predictions = mistakes()
    box = misclassified_browser(images, targets, predictions)
    slider, pair = box.controls["mistake"], box.controls["pair"]
    assert "mnist-explorer" in box._dom_classes
    assert list(box.children[0].children) == [pair, box.previous, slider, box.next]
    assert (slider.min, slider.max, box.shown) == (0, 2, {"mistake": 0, "pair": None})
    assert box.caption.value == "mistake 1 of 3: image #1, true 2, predicted 7"
    image = box.image.value
    box.next.click()
    assert box.shown["mistake"] == 1 and box.image.value != image
    assert box.caption.value == "mistake 2 of 3: image #3, true 4, predicted 9"
    box.previous.click()
    box.previous.click()  # from the first mistake back to the last
    assert box.caption.value == "mistake 3 of 3: image #5, true 6, predicted 0"
    _, after = redraws(box, "mistake", 0)
    assert after.startswith("mistake 1 of 3")


def test_misclassified_browser_without_mistakes():
    images, targets, _ = mistakes()
    box = misclassified_browser(images, targets, targets)
    assert box.caption.value == "No misclassified digits" and box.image.value[:4] == b"\x89PNG"
    assert box.controls["pair"].options == (("all mistakes (0)", None),)
    box.next.click()
    assert box.shown == {"mistake": 0, "pair": None}


def confident_mistakes():
    """Six images; wrong at 1 (4 -> 9, p(true) 0.3), 2 (4 -> 9, p(true) 0.01), 4 (7 -> 1, p(true) 0.1)."""
    images, _, _ = mistakes()
    targets = torch.tensor([0, 4, 4, 3, 7, 5])
    probabilities = torch.full((6, 10), 0.0)
    for i, (true_p, wrong, wrong_p) in enumerate(
        [(0.9, 1, 0.1), (0.3, 9, 0.7), (0.01, 9, 0.99), (1.0, 0, 0.0), (0.1, 1, 0.9), (0.6, 3, 0.4)]
    ):
        probabilities[i, wrong] = wrong_p
        probabilities[i, targets[i]] += true_p
    return images, targets, probabilities


def test_mistakes_come_worst_first_with_their_probabilities():
    images, targets, probabilities = confident_mistakes()
    predictions = probabilities.argmax(dim=1)
    box = misclassified_browser(images, targets, predictions, probabilities)
    assert box.caption.value == "mistake 1 of 3: image #2, true 4, predicted 9 with probability 0.99 (loss 4.61)"
    box.next.click()
    assert box.caption.value.startswith("mistake 2 of 3: image #4, true 7, predicted 1 with probability 0.90")
    box.next.click()
    assert box.caption.value.endswith("image #1, true 4, predicted 9 with probability 0.70 (loss 1.20)")


def test_misclassified_browser_filters_by_pair():
    images, targets, probabilities = confident_mistakes()
    predictions = probabilities.argmax(dim=1)
    box = misclassified_browser(images, targets, predictions, probabilities)
    pair, slider = box.controls["pair"], box.controls["mistake"]
    assert [label for label, _ in pair.options] == ["all mistakes (3)", "true 4 → 9 (2)", "true 7 → 1 (1)"]
    box.next.click()
    pair.value = (7, 1)  # a new filter starts at its first mistake, and the slider shrinks to it
    assert (slider.value, slider.max) == (0, 0)
    assert box.caption.value.startswith("mistake 1 of 1: image #4, true 7, predicted 1")
    pair.value = (4, 9)
    assert slider.max == 1 and box.caption.value.startswith("mistake 1 of 2: image #2")
    box.next.click()
    box.next.click()  # wraps within the filter
    assert box.caption.value.startswith("mistake 1 of 2: image #2")


def test_misclassified_figure_draws_the_ten_probabilities():
    images, targets, probabilities = confident_mistakes()
    fig = misclassified_figure(images, targets, probabilities.argmax(dim=1), 1, probabilities)
    picture, bars = fig.axes
    assert picture.get_title() == "#1: true 4, predicted 9"
    assert [round(bar.get_height(), 4) for bar in bars.patches] == [round(v, 4) for v in probabilities[1].tolist()]
    assert bars.get_title() == "p(predicted 9) = 0.70, p(true 4) = 0.30"


def test_misclassified_browser_rejects_mismatched_predictions():
    images, targets, predictions = mistakes()
    with pytest.raises(ValueError, match="one prediction per image"):
        misclassified_browser(images, targets, predictions[:3])


def test_misclassified_browser_rejects_probabilities_of_another_shape():
    images, targets, probabilities = confident_mistakes()
    with pytest.raises(ValueError, match=r"probabilities should be \(N, classes\)"):
        misclassified_browser(images, targets, probabilities.argmax(dim=1), probabilities[:3])
