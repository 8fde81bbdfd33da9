"""The two quantizer roles and the exported form of a quantized weight tensor.

Brevitas-style layering: a pure function (the forward rule, in each method's file), a
quantizer module (this file's roles: it holds per-layer state such as a fractional length
or learned scales), a layer wrapper (``layers.py``), and a model transform
(``transform.py``).

- ``WeightQuantizer``: ``forward(w)`` maps the float shadow weight to its effective
  (quantized) value with the method's surrogate gradient; ``export(w)`` returns a
  ``QuantizedWeight`` (codes, scales, format) for the deployment engine; ``format`` is the
  ``hwnn.formats`` format of the stored weights.
- ``ActQuantizer``: ``forward(x)`` quantizes a layer's input; ``calibrate(x)`` observes
  inputs before the range is frozen (dynamic fixed point, int8, LogNet); ``output_scale``
  lets XNOR-Net multiply the layer's output by its input scaling factor K.

``QuantizedWeight`` fields by format (``values`` is always the effective float tensor, of
the weight's shape, that the forward pass uses):

| format | codes | scale | other |
|---|---|---|---|
| ``Binary`` | int8 in {-1, +1} | alpha, broadcastable (per out channel or scalar) | |
| ``Ternary`` | int8 in {-1, 0, +1} | positive level | ``scale_neg``: TTQ's (TWN: None) |
| ``Fixed(b, f)`` | int32 in [-2^(b-1), 2^(b-1)-1] | 2^-f (scalar) | |
| ``Int(8)`` | int8 | per out channel, broadcastable | |
| ``Log2(b, fsr)`` | int8 sign in {-1, 0, +1} | | ``exponents``: int8, value = sign * 2^e |
| ``Codebook(k)`` | int64 index into ``codebook`` | | ``codebook``: the k centroids |
| ``Float`` | None | None | values already rounded to the float format |
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from hwnn.formats import FP32, Format


@dataclass
class QuantizedWeight:
    values: torch.Tensor
    format: Format
    codes: torch.Tensor | None = None
    scale: torch.Tensor | None = None
    scale_neg: torch.Tensor | None = None
    exponents: torch.Tensor | None = None
    codebook: torch.Tensor | None = None

    def distinct_values(self) -> int:
        return int(torch.unique(self.values).numel())


class WeightQuantizer(nn.Module):
    """Maps a float shadow weight to its quantized value; subclasses set the rule."""

    @property
    def format(self) -> Format:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def forward(self, w: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    @torch.no_grad()
    def export(self, w: torch.Tensor) -> QuantizedWeight:
        return QuantizedWeight(values=self(w).detach().clone(), format=self.format)


class ActQuantizer(nn.Module):
    """Quantizes a layer's input. Ranges, where needed, come from ``calibrate``."""

    def __init__(self) -> None:
        super().__init__()
        self.calibrating = False

    @property
    def format(self) -> Format:  # pragma: no cover
        raise NotImplementedError

    def observe(self, x: torch.Tensor) -> None:
        """Records what calibration needs (e.g. the largest magnitude); default nothing."""

    def finish_calibration(self) -> None:
        """Freezes the range from what ``observe`` saw."""

    def quantize(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.calibrating:
            self.observe(x.detach())
            return x
        return self.quantize(x)

    def output_scale(self, x: torch.Tensor, layer: nn.Module) -> torch.Tensor | None:
        """A factor for the layer's output (before bias); None for all but XNOR-Net."""
        return None


class FloatWeight(WeightQuantizer):
    """fp32 weights, unchanged: the first and last layers of the asterisked methods."""

    @property
    def format(self) -> Format:
        return FP32

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return w


class FloatAct(ActQuantizer):
    """fp32 activations, unchanged (weight-only methods)."""

    @property
    def format(self) -> Format:
        return FP32

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        return x


class RangeObserver(ActQuantizer):
    """An activation quantizer whose range is the largest |x| seen in calibration."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("max_abs", torch.tensor(0.0))

    def observe(self, x: torch.Tensor) -> None:
        if x.numel():
            self.max_abs = torch.maximum(self.max_abs, x.abs().max())
