"""Everyday baselines: fp16, bf16 and per-channel int8, all post-training.

- ``fp16`` / ``bf16``: weights and layer inputs rounded to IEEE binary16 (10-bit mantissa,
  5-bit exponent) or bfloat16 (7-bit mantissa, fp32's 8-bit exponent; Kalamkar et al.,
  "A study of BFLOAT16 for deep learning training", 2019), round to nearest even, computed
  back in fp32 (what a mixed-precision accumulator does).
- ``int8``: symmetric per-output-channel weights and per-tensor activations (Jacob et al.,
  "Quantization and training of neural networks for efficient integer-arithmetic-only
  inference", CVPR 2018; Krishnamoorthi, arXiv:1806.08342, 2018):

      s_c = max |W_c| / 127,   q(W_c) = clip(round(W_c / s_c), -127, 127) * s_c
      activations: s = max |x| / 127 (signed) or max x / 255 (unsigned, when calibration
      saw no negative input, e.g. after ReLU); q(x) = clip(round(x / s)) * s

  The straight-through gradient is used if one fine-tunes, but the recipe does not.
"""

from __future__ import annotations

import torch

from hwnn.formats import BF16, FP16, Float, Int
from hwnn.quant.base import ActQuantizer, QuantizedWeight, RangeObserver, WeightQuantizer
from hwnn.quant.ste import straight_through

_DTYPES = {16: torch.float16, "bf16": torch.bfloat16}


def float_cast(x: torch.Tensor, width: int | str = 16) -> torch.Tensor:
    """x rounded to fp16 (``16``) or bfloat16 (``"bf16"``), back in x's dtype; STE."""
    return straight_through(x, x.detach().to(_DTYPES[width]).to(x.dtype))


def int8_per_channel(w: torch.Tensor) -> torch.Tensor:
    """Symmetric per-output-channel int8 weights; straight-through gradient."""
    values, _, _ = _int8_codes(w.detach())
    return straight_through(w, values)


def _int8_codes(w: torch.Tensor):
    dims = tuple(range(1, w.dim()))
    scale = w.abs().amax(dim=dims, keepdim=True) / 127
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    codes = torch.clamp(torch.round(w / scale), -127, 127)
    return codes * scale, codes, scale


class _FloatCastFormat:
    """The ``width`` (``16`` for fp16, ``"bf16"``) and ``format`` of a float-cast quantizer.

    Listed before the quantizer role so its ``format`` overrides the role's abstract one.
    """

    def __init__(self, width: int | str = 16) -> None:
        super().__init__()
        self.width = width

    @property
    def format(self) -> Float:
        return FP16 if self.width == 16 else BF16


class FloatCastWeight(_FloatCastFormat, WeightQuantizer):
    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return float_cast(w, self.width)


class FloatCastAct(_FloatCastFormat, ActQuantizer):
    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        return float_cast(x, self.width)


class Int8Weight(WeightQuantizer):
    @property
    def format(self) -> Int:
        return Int(8)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return int8_per_channel(w)

    @torch.no_grad()
    def export(self, w: torch.Tensor) -> QuantizedWeight:
        values, codes, scale = _int8_codes(w)
        return QuantizedWeight(
            values=values, format=self.format, codes=codes.to(torch.int8), scale=scale
        )


class Int8Act(RangeObserver):
    """Per-tensor int8 inputs; unsigned when calibration saw no negative value."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("min_value", torch.tensor(0.0))
        self.register_buffer("scale", torch.tensor(1.0))
        self.signed = True

    @property
    def format(self) -> Int:
        return Int(8, signed=self.signed)

    def observe(self, x: torch.Tensor) -> None:
        super().observe(x)
        if x.numel():
            self.min_value = torch.minimum(self.min_value, x.min())

    def finish_calibration(self) -> None:
        self.signed = bool(self.min_value < 0)
        top = 127 if self.signed else 255
        self.scale = torch.clamp(self.max_abs / top, min=1e-12)

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        lo, hi = (-128, 127) if self.signed else (0, 255)
        return straight_through(x, torch.clamp(torch.round(x / self.scale), lo, hi) * self.scale)
