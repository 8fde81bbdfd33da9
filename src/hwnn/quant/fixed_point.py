"""Dynamic fixed point (Gysel, Motamedi & Ghiasi, "Hardware-oriented approximation of
convolutional neural networks" (Ristretto), ICLR workshop 2016; Courbariaux et al. 2014).

A B-bit dynamic fixed-point number is a signed integer k in [-2^(B-1), 2^(B-1) - 1] times
2^-fl. "Dynamic": the fractional length fl is chosen per layer and per data type (weights,
layer inputs) from the observed range, as Ristretto does:

    il = ceil(log2(max |x|)) + 1        (integer length, sign bit included)
    fl = B - il
    q(x) = clip(round(x * 2^fl), -2^(B-1), 2^(B-1) - 1) * 2^-fl     (round to nearest, saturate)

Two rows of the deck's table:

- ``fixed8_10`` (w/o fine-tuning): 8-bit weights, 10-bit activations, post-training only;
  activation ranges come from calibration on training data.
- ``fixed8`` (w/ fine-tuning): 8-bit weights and activations, then quantization-aware
  fine-tuning of the float shadow weights with the straight-through gradient
  dL/dx = dL/dq (Ristretto's fine-tuning keeps full-precision shadow weights).

Weights recompute fl from the current shadow weights at every forward pass; activation
fl is frozen after calibration.
"""

from __future__ import annotations

import math

import torch

from hwnn.formats import Fixed
from hwnn.quant.base import QuantizedWeight, RangeObserver, WeightQuantizer
from hwnn.quant.ste import straight_through


def integer_length(max_abs: float) -> int:
    """Ristretto's il = ceil(log2(max |x|)) + 1; 1 for an all-zero tensor."""
    if not max_abs > 0:
        return 1
    return math.ceil(math.log2(max_abs)) + 1


# The finest grid is float32's smallest normal number, 2^-126: a finer step underflows in
# float32 arithmetic (x / 2^-150 divides by zero), and tensors this small quantize to 0.
MAX_FRAC = 126


def dynamic_format(max_abs: float, bits: int) -> Fixed:
    """The ``Fixed(bits, fl)`` that covers ``max_abs`` with the most fractional bits
    (at most ``MAX_FRAC``)."""
    return Fixed(bits, min(bits - integer_length(max_abs), MAX_FRAC))


def fixed_point(x: torch.Tensor, bits: int = 8, frac: int | None = None) -> torch.Tensor:
    """q(x) on the grid 2^-frac, saturated to ``bits``; straight-through gradient.

    ``frac=None`` picks it from max |x| (the dynamic rule above).
    """
    if frac is None:
        frac = dynamic_format(float(x.detach().abs().max()) if x.numel() else 0.0, bits).frac
    return straight_through(x, _grid(x.detach(), bits, frac)[0])


def _grid(x: torch.Tensor, bits: int, frac: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, integer codes) of x on the ``Fixed(bits, frac)`` grid."""
    step = 2.0**-frac
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    codes = torch.clamp(torch.round(x / step), lo, hi)
    return codes * step, codes


class FixedPointWeight(WeightQuantizer):
    """Per-layer dynamic fixed-point weights; fl follows the current shadow weights."""

    def __init__(self, bits: int = 8) -> None:
        super().__init__()
        self.bits = bits
        self.register_buffer("frac", torch.tensor(0, dtype=torch.int64))

    @property
    def format(self) -> Fixed:
        return Fixed(self.bits, int(self.frac))

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        fmt = dynamic_format(float(w.detach().abs().max()), self.bits)
        self.frac.fill_(fmt.frac)
        return fixed_point(w, self.bits, fmt.frac)

    @torch.no_grad()
    def export(self, w: torch.Tensor) -> QuantizedWeight:
        values = self(w).detach()
        _, codes = _grid(w, self.bits, int(self.frac))
        return QuantizedWeight(
            values=values,
            format=self.format,
            codes=codes.to(torch.int32),
            scale=torch.tensor(2.0 ** -int(self.frac)),
        )


class FixedPointAct(RangeObserver):
    """Dynamic fixed-point layer inputs; fl is frozen from the calibration range."""

    def __init__(self, bits: int = 8) -> None:
        super().__init__()
        self.bits = bits
        self.register_buffer("frac", torch.tensor(bits - 1, dtype=torch.int64))

    @property
    def format(self) -> Fixed:
        return Fixed(self.bits, int(self.frac))

    def finish_calibration(self) -> None:
        self.frac.fill_(dynamic_format(float(self.max_abs), self.bits).frac)

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        return fixed_point(x, self.bits, int(self.frac))
