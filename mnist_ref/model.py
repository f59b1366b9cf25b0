"""The course model: four 3x3 convolutions, two max-pools, two fully connected layers.

Shapes for one 28x28 digit: 28 -conv1-> 26 -conv2-> 24 -pool-> 12 -conv3-> 10
-conv4-> 8 -pool-> 4, so 256 * 4 * 4 = 4096 features go into fc1. 593,200 parameters.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

INPUT_SHAPE = (1, 28, 28)
NUM_CLASSES = 10
NUM_PARAMETERS = 593_200


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3)  # 28 -> 26
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3)  # 26 -> 24
        self.conv3 = nn.Conv2d(64, 128, kernel_size=3)  # 12 -> 10
        self.conv4 = nn.Conv2d(128, 256, kernel_size=3)  # 10 -> 8
        self.pool = nn.MaxPool2d(2)  # halves height and width; no parameters
        self.fc1 = nn.Linear(4096, 50)
        self.fc2 = nn.Linear(50, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x)
        x = F.relu(self.conv1(x))
        x = self.pool(F.relu(self.conv2(x)))
        x = F.relu(self.conv3(x))
        x = self.pool(F.relu(self.conv4(x)))
        x = torch.flatten(x, 1)  # (N, 256, 4, 4) -> (N, 4096)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def check_input(x) -> None:
    """Raise a ValueError that names the expected shape when ``x`` is not a batch of digits."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"the model takes a torch.Tensor of shape (N, 1, 28, 28), got {type(x).__name__}")
    if x.dim() == 4 and tuple(x.shape[1:]) == INPUT_SHAPE:
        return
    shape = tuple(x.shape)
    hint = ""
    if shape == INPUT_SHAPE:
        hint = " A single image needs a batch dimension: x.unsqueeze(0)."
    elif x.dim() == 3 and tuple(x.shape[1:]) == INPUT_SHAPE[1:]:
        hint = " The channel dimension is missing: x.unsqueeze(1)."
    elif x.dim() == 2 and x.shape[1] == 784:
        hint = " The images were flattened: x.view(-1, 1, 28, 28)."
    elif x.dim() == 4 and x.shape[-1] == 1:
        hint = " Channels come second in PyTorch: x.permute(0, 3, 1, 2)."
    raise ValueError(f"Net expects a batch of shape (N, 1, 28, 28), got {shape}.{hint}")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def layer_outputs(model: nn.Module, x: torch.Tensor) -> list[tuple[str, nn.Module, torch.Tensor]]:
    """(name, module, output) for every leaf module call of one forward pass of ``x``, in order.

    Names are torchsummary's: ``Conv2d-1``, ``Conv2d-2``, ``MaxPool2d-3``, ... (a module called twice,
    like ``pool``, appears twice). Runs in eval mode without gradients; the ReLUs are functions
    in ``forward``, so a Conv2d output is the value *before* its ReLU.
    """
    calls: list[tuple[str, nn.Module, torch.Tensor]] = []

    def record(module, _inputs, output):
        calls.append((f"{type(module).__name__}-{len(calls) + 1}", module, output.detach()))

    leaves = [m for m in model.modules() if not list(m.children())]
    handles = [m.register_forward_hook(record) for m in leaves]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return calls


def layer_table(model: nn.Module, input_size=INPUT_SHAPE, batch_size: int = 2) -> list[tuple[str, tuple, int]]:
    """(layer, output shape with N for the batch, parameter count) for every leaf module call, in order."""
    device = next(model.parameters()).device
    calls = layer_outputs(model, torch.zeros(batch_size, *input_size, device=device))
    return [
        (name, ("N",) + tuple(output.shape[1:]), sum(p.numel() for p in module.parameters(recurse=False)))
        for name, module, output in calls
    ]


def summary(model: nn.Module, input_size=INPUT_SHAPE) -> None:
    """Print layer, output shape and parameters per layer, like torchsummary."""
    rows = layer_table(model, input_size)
    line = "-" * 64
    print(line)
    print(f"{'Layer (type)':>25}  {'Output Shape':>25}  {'Param #':>10}")
    print("=" * 64)
    for name, shape, params in rows:
        print(f"{name:>25}  {str(list(shape)).replace(chr(39), ''):>25}  {params:>10,}")
    print("=" * 64)
    total = sum(p.numel() for p in model.parameters())
    print(f"Total params: {total:,}")
    print(f"Trainable params: {count_parameters(model):,}")
    print(f"Non-trainable params: {total - count_parameters(model):,}")
    print(line)
