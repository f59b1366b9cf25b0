"""Interactive explorers for the lessons: a few ipywidgets controls, a caption and a figure
that is redrawn whenever a control changes.

Every explorer is an ``ipywidgets.VBox`` with handles for checks and tests: ``.controls``
(name -> widget), ``.caption`` (HTML widget), ``.image`` (PNG Image widget) and ``.shown`` (the
control values now on screen). Setting a control's ``value`` from code redraws exactly as
moving it with the mouse does. The figure is sent as a PNG Image widget, so it shows the same
in JupyterLab, in VS Code and under nbclient, whatever the matplotlib backend.
"""

from __future__ import annotations

import html
import io
from collections import Counter

import ipywidgets as widgets
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from .evaluation import misclassified_indices, mistakes_by_loss
from .model import check_input, layer_outputs
from .plots import as_pixels
from .recipes import step_lr_schedule

# Hand-made 3x3 kernels for lesson 02: what a single convolution filter can detect.
HAND_MADE_KERNELS = {
    "vertical edges": torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]),
    "horizontal edges": torch.tensor([[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]),
    "blur": torch.full((3, 3), 1 / 9),
    "sharpen": torch.tensor([[0.0, -1.0, 0.0], [-1.0, 5.0, -1.0], [0.0, -1.0, 0.0]]),
    "identity": torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]),
}

PRECISIONS = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def explorer(draw, **controls: widgets.ValueWidget) -> widgets.VBox:
    """A VBox of ``controls``, a caption and a figure; ``draw(**values)`` returns (Figure, caption)."""
    caption = widgets.HTML()
    image = widgets.Image(format="png")
    box = widgets.VBox([widgets.HBox(list(controls.values())), caption, image])
    box.add_class("mnist-explorer")  # lets a browser test find it
    box.layout.align_items = "flex-start"  # the figure at its own size, not stretched to the page width
    box.controls, box.caption, box.image = controls, caption, image

    def update(change=None):
        values = {name: control.value for name, control in controls.items()}
        fig, text = draw(**values)
        image.value = _png(fig)
        caption.value = html.escape(text, quote=False)
        box.shown = values

    for control in controls.values():
        control.observe(update, names="value")
    update()
    return box


def _png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def _check_images(images, labels, what: str) -> None:
    check_input(images)
    if len(images) == 0 or len(labels) != len(images):
        raise ValueError(
            f"{what} needs at least one image and one label per image, "
            f"got {len(images)} images and {len(labels)} labels"
        )


def digit_figure(images: torch.Tensor, targets: torch.Tensor, digit: int, position: int) -> Figure:
    """The ``position``-th example of class ``digit``; ``images``: raw uint8 (N, 28, 28), ``targets``: (N,)."""
    indices = (targets == digit).nonzero().flatten()
    index = int(indices[position])
    fig = Figure(figsize=(2.8, 3.0), layout="constrained")
    ax = fig.add_subplot()
    ax.imshow(images[index].numpy(), cmap="gray", vmin=0, vmax=255)
    title = f"label {int(targets[index])} · #{position + 1} of {len(indices):,}\n(dataset index {index})"
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def digit_explorer(images: torch.Tensor, targets: torch.Tensor) -> widgets.VBox:
    """Lesson 01: pick a digit, slide through all its examples (raw uint8 images (N, 28, 28), labels (N,))."""
    if images.dim() != 3 or len(images) == 0 or len(targets) != len(images):
        raise ValueError(f"digit_explorer takes raw images (N, 28, 28) and N labels, got {tuple(images.shape)}")
    counts = torch.bincount(targets.long(), minlength=10)
    present = [d for d in range(len(counts)) if counts[d] > 0]
    digit = widgets.Dropdown(options=present, value=present[0], description="digit")
    example = widgets.IntSlider(value=0, min=0, max=0, description="example")

    def fit_example_range(change=None):
        example.max = int(counts[digit.value]) - 1  # clamps example.value; registered before the redraw

    digit.observe(fit_example_range, names="value")
    fit_example_range()

    def draw(digit, example):
        caption = f"digit {digit}: example {example + 1:,} of {int(counts[digit]):,}"
        return digit_figure(images, targets, digit, example), caption

    return explorer(draw, digit=digit, example=example)


def kernel_explorer(images: torch.Tensor, labels: torch.Tensor, kernels: dict | None = None) -> widgets.VBox:
    """Lesson 02: pick a 3x3 kernel and an image, see the feature map the convolution makes.

    ``images``: a normalized batch (N, 1, 28, 28); ``labels``: (N,); ``kernels``: name -> 3x3 tensor.
    """
    _check_images(images, labels, "kernel_explorer")
    kernels = kernels or HAND_MADE_KERNELS
    bad = {name: tuple(k.shape) for name, k in kernels.items() if tuple(k.shape) != (3, 3)}
    if bad:
        raise ValueError(f"kernels must be 3x3 tensors, got {bad}")

    def draw(kernel, image):
        weight = kernels[kernel].float().view(1, 1, 3, 3)
        feature_map = F.conv2d(images[image : image + 1].float().cpu(), weight)[0, 0]
        fig = Figure(figsize=(7.5, 2.7), layout="constrained")
        axes = fig.subplots(1, 3)
        axes[0].imshow(as_pixels(images[image]), cmap="gray")
        axes[0].set_title(f"image {image} (label {int(labels[image])})")
        axes[1].imshow(weight[0, 0].numpy(), cmap="coolwarm", vmin=-2, vmax=2)
        for (row, col), value in zip(torch.cartesian_prod(torch.arange(3), torch.arange(3)).tolist(), weight.flatten()):
            axes[1].text(col, row, f"{float(value):.2g}", ha="center", va="center", fontsize=8)
        axes[1].set_title(f"kernel: {kernel}")
        axes[2].imshow(feature_map.numpy(), cmap="coolwarm")
        axes[2].set_title(f"feature map {tuple(feature_map.shape)}")
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        text = (
            f"image {image}, label {int(labels[image])}; kernel '{kernel}': a 28×28 image gives a "
            f"{feature_map.shape[0]}×{feature_map.shape[1]} map, values {float(feature_map.min()):.2f} "
            f"to {float(feature_map.max()):.2f}"
        )
        return fig, text

    return explorer(
        draw,
        kernel=widgets.Dropdown(options=list(kernels), description="kernel"),
        image=widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="image"),
    )


def feature_map_explorer(model, image: torch.Tensor) -> widgets.VBox:
    """Lesson 03: pick a layer and a channel, see that channel of the layer's output for one digit.

    ``image``: one normalized digit (1, 28, 28). Conv2d outputs are shown before their ReLU.
    """
    if not isinstance(image, torch.Tensor) or tuple(image.shape) != (1, 28, 28):
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(
            f"feature_map_explorer takes one digit of shape (1, 28, 28), got {shape}; for a batch, pass images[0]"
        )
    device = next(model.parameters()).device
    maps = {"input": image.detach().cpu()}
    for name, _module, output in layer_outputs(model, image.unsqueeze(0).to(device)):
        if output.dim() == 4:  # the spatial layers: convolutions and pools
            maps[name] = output[0].float().cpu()
    # Starts on the first convolution: the input has a single channel, so its slider would not move.
    layer = widgets.Dropdown(options=list(maps), value="Conv2d-1", description="layer")
    channel = widgets.IntSlider(value=0, min=0, max=0, description="channel")

    def fit_channel_range(change=None):
        channel.max = len(maps[layer.value]) - 1  # clamps channel.value; registered before the redraw

    layer.observe(fit_channel_range, names="value")
    fit_channel_range()

    def draw(layer, channel):
        feature_map = maps[layer]
        fig = Figure(figsize=(3.6, 3.8), layout="constrained")
        ax = fig.add_subplot()
        ax.imshow(feature_map[channel].numpy(), cmap="viridis")
        ax.set_title(f"{layer}, channel {channel}\n{tuple(feature_map.shape)}", fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        c, h, w = feature_map.shape
        low, high = float(feature_map[channel].min()), float(feature_map[channel].max())
        return fig, (
            f"{layer}: {c} channel{'s' if c > 1 else ''} of {h}×{w}; "
            f"showing channel {channel}, values {low:.2f} to {high:.2f}"
        )

    return explorer(draw, layer=layer, channel=channel)


def prediction_explorer(model, images: torch.Tensor, labels: torch.Tensor) -> widgets.VBox:
    """Lesson 04: slide through test images, see the model's ten class probabilities for each."""
    _check_images(images, labels, "prediction_explorer")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():  # all predictions once: moving the slider only draws
        probabilities = torch.cat([model(batch.to(device)).exp().cpu() for batch in images.split(500)])
    model.train(was_training)

    def draw(image):
        p = probabilities[image]
        predicted, label = int(p.argmax()), int(labels[image])
        fig = Figure(figsize=(6.5, 2.6), layout="constrained")
        left, right = fig.subplots(1, 2, width_ratios=[1, 2])
        left.imshow(as_pixels(images[image]), cmap="gray")
        left.set_title(f"image {image}: label {label}")
        left.set_xticks([])
        left.set_yticks([])
        colors = ["seagreen" if d == label else ("firebrick" if d == predicted else "lightgray") for d in range(10)]
        right.bar(range(10), p.numpy(), color=colors)
        right.set_xticks(range(10))
        right.set_ylim(0, 1)
        right.set_title("probability of each digit")
        verdict = "right" if predicted == label else "wrong"
        probability = float(p[predicted])
        return (
            fig,
            f"image {image}: label {label}, predicted {predicted} with probability {probability:.2f} ({verdict})",
        )

    return explorer(draw, image=widgets.IntSlider(value=0, min=0, max=len(images) - 1, description="image"))


def schedule_explorer(lr: float = 0.01, epochs: int = 20) -> widgets.VBox:
    """Lesson 05: move step_size and gamma of StepLR, see the learning rate of every epoch."""

    def draw(step_size, gamma):
        rates = step_lr_schedule(lr, step_size, gamma, epochs)
        fig = Figure(figsize=(6.5, 2.6), layout="constrained")
        ax = fig.add_subplot()
        ax.step(range(1, epochs + 1), rates, where="mid", marker="o")
        ax.set_yscale("log")
        ax.set_ylim(lr * 1e-6, lr * 2)
        ax.set_xticks(range(1, epochs + 1))
        ax.set_xlabel("epoch")
        ax.set_ylabel("learning rate")
        ax.grid(alpha=0.3)
        ax.set_title(f"StepLR(step_size={step_size}, gamma={gamma:g}) from lr = {lr:g}")
        decays = (epochs - 1) // step_size
        return fig, (
            f"step_size={step_size}, gamma={gamma:g}: {decays} decay{'s' if decays != 1 else ''} in "
            f"{epochs} epochs; the last epoch trains at lr {rates[-1]:.3g}"
        )

    return explorer(
        draw,
        step_size=widgets.IntSlider(value=15, min=1, max=epochs, description="step_size"),
        gamma=widgets.Dropdown(options=[0.1, 0.2, 0.5, 0.9], value=0.1, description="gamma"),
    )


def stored_value(value: float, dtype: torch.dtype) -> float:
    """``value`` as it is stored in ``dtype`` (rounded, or 0 / inf outside its range)."""
    return float(torch.tensor(value, dtype=torch.float64).to(dtype).double())


def precision_explorer() -> widgets.VBox:
    """Lesson 06: pick a number type and a magnitude, see how the number is stored and its rounding error.

    Shows why float16 autocast needs a gradient scaler (small gradients underflow to 0) and
    bfloat16 does not (float32's range, fewer digits).
    """
    magnitudes = torch.logspace(-12, 6, 1500, dtype=torch.float64) * 1.2345

    def draw(dtype, value):
        stored = stored_value(value, PRECISIONS[dtype])
        kept = magnitudes.to(PRECISIONS[dtype]).double()
        error = ((kept - magnitudes).abs() / magnitudes).clamp(1e-10, 1)  # underflow (0) and inf -> 1
        fig = Figure(figsize=(6.5, 2.8), layout="constrained")
        ax = fig.add_subplot()
        ax.loglog(magnitudes.numpy(), error.numpy(), ".", markersize=2)
        ax.axvline(value, color="firebrick")
        ax.set_ylim(1e-10, 2)
        ax.set_xlabel("number")
        ax.set_ylabel("relative rounding error")
        ax.set_title(f"{dtype}: error 1 = lost (rounded to 0 or inf)")
        ax.grid(alpha=0.3)
        if stored == 0.0:
            verdict = "underflows to 0: the value is lost"
        elif stored in (float("inf"), float("-inf")):
            verdict = "overflows to inf"
        else:
            verdict = f"is stored as {stored:.8g} (relative error {abs(stored - value) / value:.1e})"
        return fig, f"{value:.6g} in {dtype} {verdict}"

    return explorer(
        draw,
        dtype=widgets.Dropdown(options=list(PRECISIONS), value="float16", description="type"),
        value=widgets.FloatLogSlider(value=1.2345e-3, base=10, min=-10, max=6, step=0.5, description="number"),
    )


def misclassified_figure(images, targets, predictions, index: int, probabilities=None) -> Figure:
    """Image ``index`` of a normalized batch (N, 1, 28, 28), titled with its true and predicted label;
    with ``probabilities`` (N, 10), a bar chart of the ten probabilities beside it."""
    true, predicted = int(targets[index]), int(predictions[index])
    fig = Figure(figsize=(3, 3.2) if probabilities is None else (6.5, 2.8), layout="constrained")
    if probabilities is None:
        ax = fig.add_subplot()
    else:
        ax, bars = fig.subplots(1, 2, width_ratios=[1, 2])
        p = probabilities[index].float()
        colours = ["seagreen" if d == true else ("firebrick" if d == predicted else "lightgray") for d in range(len(p))]
        bars.bar(range(len(p)), p.numpy(), color=colours)
        bars.set_xticks(range(len(p)))
        bars.set_ylim(0, 1)
        bars.set_title(f"p(predicted {predicted}) = {float(p[predicted]):.2f}, p(true {true}) = {float(p[true]):.2f}")
    ax.imshow(as_pixels(images[index]), cmap="gray")
    ax.set_title(f"#{index}: true {true}, predicted {predicted}", color="firebrick")
    ax.set_xticks([])
    ax.set_yticks([])
    return fig


def step_position(position: int, delta: int, count: int) -> int:
    """Slider position after a previous (-1) / next (+1) click, wrapping around; 0 if there is nothing."""
    return (position + delta) % count if count else 0


def pair_options(targets: torch.Tensor, predictions: torch.Tensor, wrong: torch.Tensor) -> list[tuple[str, object]]:
    """Dropdown options of the mistake filter: every mistake, then each (true, predicted) pair that occurs,
    the most frequent first (ties by the pair), with its count."""
    pairs = Counter(zip(targets[wrong].tolist(), predictions[wrong].tolist()))
    ranked = sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
    return [(f"all mistakes ({len(wrong)})", None)] + [(f"true {t} → {p} ({n})", (t, p)) for (t, p), n in ranked]


def misclassified_browser(
    images: torch.Tensor, targets: torch.Tensor, predictions: torch.Tensor, probabilities: torch.Tensor | None = None
) -> widgets.VBox:
    """Lesson 07: page through the misclassified images with a slider and previous / next buttons,
    filtered by (true, predicted) pair.

    ``images``: normalized (N, 1, 28, 28); ``targets``, ``predictions``: (N,). With ``probabilities``
    (N, 10) the mistakes come worst first (by loss ``-log p[true]``) and each shows its ten probabilities;
    without, in the order of the images. The buttons wrap around at the ends; ``.previous``, ``.next``
    and ``.controls["pair"]`` are handles for checks.
    """
    _check_images(images, targets, "misclassified_browser")
    if len(predictions) != len(targets):
        raise ValueError(f"misclassified_browser needs one prediction per image: {len(predictions)} for {len(targets)}")
    if probabilities is not None:
        if tuple(probabilities.shape[:1]) != (len(targets),) or probabilities.dim() != 2:
            raise ValueError(f"probabilities should be (N, classes) for N={len(targets)}: {tuple(probabilities.shape)}")
        wrong = mistakes_by_loss(targets, probabilities)
    else:
        wrong = misclassified_indices(targets, predictions)
    pair = widgets.Dropdown(options=pair_options(targets, predictions, wrong), value=None, description="show")
    slider = widgets.IntSlider(value=0, min=0, max=0, description="mistake", continuous_update=False)

    def chosen(pair) -> list[int]:
        return [i for i in wrong.tolist() if pair is None or (int(targets[i]), int(predictions[i])) == pair]

    def fit_mistake_range(change=None):
        slider.value = 0  # a new filter starts at its worst mistake; registered before the redraw
        slider.max = max(len(chosen(pair.value)) - 1, 0)

    pair.observe(fit_mistake_range, names="value")
    fit_mistake_range()

    def draw(mistake, pair):
        shown = chosen(pair)
        if not shown:
            fig = Figure(figsize=(3, 3.2), layout="constrained")
            fig.text(0.5, 0.5, "No misclassified digits", ha="center", va="center")
            return fig, "No misclassified digits"
        index = shown[mistake]
        true, predicted = int(targets[index]), int(predictions[index])
        caption = f"mistake {mistake + 1} of {len(shown)}: image #{index}, true {true}, predicted {predicted}"
        if probabilities is not None:
            p = probabilities[index]
            loss = -torch.log(p[true].double().clamp(min=1e-45))
            caption += f" with probability {float(p[predicted]):.2f} (loss {float(loss):.2f})"
        return misclassified_figure(images, targets, predictions, index, probabilities), caption

    box = explorer(draw, mistake=slider, pair=pair)
    previous, following = widgets.Button(description="◀ previous"), widgets.Button(description="next ▶")

    def move(delta):
        slider.value = step_position(slider.value, delta, len(chosen(pair.value)))  # redraws through the slider

    previous.on_click(lambda _: move(-1))
    following.on_click(lambda _: move(+1))
    box.children[0].children = (pair, previous, slider, following)  # the buttons on either side of the slider
    box.previous, box.next = previous, following
    return box
