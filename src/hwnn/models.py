"""The deck's networks: a multilayer perceptron and a LeNet-5-style CNN.

- ``MLP``: input layer -> hidden layers (Linear + ReLU) -> output layer, as in the deck's
  "input, hidden, output layers" picture. ``batch_norm=True`` inserts BatchNorm1d after each
  hidden Linear, which binarized networks (BNN, XNOR-Net) need between layers.
- ``LeNet5``: conv(6, 5x5, pad 2) -> pool -> conv(16, 5x5) -> pool -> fc 120 -> fc 84 -> fc
  classes (LeCun et al. 1998). On inputs smaller than 16 pixels (the 8x8 digits) the second
  conv is padded too, so the network still fits.
"""

from __future__ import annotations

import torch
from torch import nn

from hwnn.errors import ConfigError


class MLP(nn.Module):
    def __init__(
        self,
        in_features: int,
        hidden: tuple[int, ...] = (128,),
        classes: int = 10,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers.append(nn.Linear(width, h))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU())
            width = h
        layers.append(nn.Linear(width, classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class LeNet5(nn.Module):
    def __init__(self, input_shape: tuple[int, int, int] = (1, 28, 28), classes: int = 10) -> None:
        super().__init__()
        c, h, w = input_shape
        if min(h, w) < 4:
            raise ConfigError(f"LeNet-5 needs images of at least 4x4 pixels, got {h}x{w}")
        pad2 = 0 if min(h, w) >= 16 else 2
        self.features = nn.Sequential(
            nn.Conv2d(c, 6, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, padding=pad2),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.features(torch.zeros(1, c, h, w)).shape[1]
        self.classifier = nn.Sequential(
            nn.Linear(flat, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def build(
    name: str,
    input_shape: tuple[int, ...],
    classes: int,
    seed: int = 0,
    hidden: tuple[int, ...] = (128,),
    batch_norm: bool = False,
) -> nn.Module:
    """A freshly initialised model; initialisation follows ``seed``."""
    torch.manual_seed(seed)
    if name == "mlp":
        in_features = 1
        for s in input_shape:
            in_features *= s
        return MLP(in_features, hidden, classes, batch_norm)
    if name == "lenet5":
        if len(input_shape) != 3:
            raise ConfigError(f"LeNet-5 needs (C, H, W) images, got input shape {input_shape}")
        return LeNet5(tuple(input_shape), classes)
    raise ConfigError(f"unknown model {name!r}: choose mlp or lenet5")


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def layer_names(model: nn.Module) -> list[str]:
    """Short descriptions of the compute layers, e.g. ``Linear(64->128)``."""
    out = []
    for m in model.modules():
        if isinstance(m, nn.Linear):
            out.append(f"Linear({m.in_features}->{m.out_features})")
        elif isinstance(m, nn.Conv2d):
            kh, kw = m.kernel_size
            out.append(f"Conv2d({m.in_channels}->{m.out_channels}, {kh}x{kw})")
    return out
