"""Logarithmic quantization: LogNet (Lee, Miyashita, Chai, Murmann & Wong, "LogNet:
Energy-efficient neural networks using logarithmic computation", ICASSP 2017; the rule is
Miyashita, Lee & Murmann, "Convolutional neural networks using logarithmic data
representation", arXiv:1603.01025, 2016, eq. 3).

A B-bit log value is a sign bit and a (B-1)-bit code for one of 2^(B-1) - 1 exponents
below the full-scale range FSR, or zero (``hwnn.formats.Log2``):

    e = round(log2 |x|)
    q(x) = sign(x) * 2^min(e, FSR)    if e >= FSR - 2^(B-1) + 2
         = 0                          otherwise (below the range)
    backward: dL/dx = dL/dq (straight-through)

so multiplications become shifts. Per layer, FSR = round(log2 max |x|), the exponent the
largest magnitude rounds to: weights follow the current shadow weights at every forward
pass, layer inputs freeze theirs after calibration. The deck's row: 5-bit conv weights,
4-bit fc weights, 4-bit activations, every layer (no asterisk); fine-tuned with the
straight-through gradient as Miyashita et al. train their log networks.
"""

from __future__ import annotations

import math

import torch

from hwnn.formats import Log2
from hwnn.quant.base import QuantizedWeight, RangeObserver, WeightQuantizer
from hwnn.quant.ste import straight_through


def full_scale_range(max_abs: float) -> int:
    """FSR = round(log2 max |x|); 0 for an all-zero tensor."""
    return round(math.log2(max_abs)) if max_abs > 0 else 0


def _log_codes(x: torch.Tensor, bits: int, fsr: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(sign in {-1, 0, 1}, exponent) of the log2 quantization of x."""
    fmt = Log2(bits, fsr)
    lo, hi = fmt.exponents.start, fmt.exponents.stop - 1
    mag = x.abs()
    e = torch.round(torch.log2(torch.where(mag > 0, mag, torch.ones_like(mag))))
    keep = (mag > 0) & (e >= lo)
    sign = torch.sign(x) * keep.to(x.dtype)
    return sign, torch.where(keep, torch.clamp(e, max=hi), torch.zeros_like(e))


def log_quantize(x: torch.Tensor, bits: int = 4, fsr: int | None = None) -> torch.Tensor:
    """sign(x) 2^round(log2|x|) clipped to the FSR, zero below it; straight-through."""
    xd = x.detach()
    if fsr is None:
        fsr = full_scale_range(float(xd.abs().max()) if x.numel() else 0.0)
    sign, e = _log_codes(xd, bits, fsr)
    return straight_through(x, sign * torch.exp2(e))


class _LogFormat:
    """The ``bits``, the ``fsr`` buffer and the ``Log2`` ``format`` of a LogNet quantizer.

    Listed before the quantizer role so its ``format`` overrides the role's abstract one;
    ``super().__init__()`` runs first, so the role's own buffers (``max_abs``) stay ahead
    of ``fsr`` in the state dict.
    """

    def __init__(self, bits: int = 4) -> None:
        super().__init__()
        self.bits = bits
        self.register_buffer("fsr", torch.tensor(0, dtype=torch.int64))

    @property
    def format(self) -> Log2:
        return Log2(self.bits, int(self.fsr))


class LogWeight(_LogFormat, WeightQuantizer):
    def forward(self, w: torch.Tensor) -> torch.Tensor:
        self.fsr.fill_(full_scale_range(float(w.detach().abs().max())))
        return log_quantize(w, self.bits, int(self.fsr))

    @torch.no_grad()
    def export(self, w: torch.Tensor) -> QuantizedWeight:
        values = self(w).detach()
        sign, e = _log_codes(w, self.bits, int(self.fsr))
        return QuantizedWeight(
            values=values, format=self.format, codes=sign.to(torch.int8),
            exponents=e.to(torch.int8),
        )


class LogAct(_LogFormat, RangeObserver):
    def finish_calibration(self) -> None:
        self.fsr.fill_(full_scale_range(float(self.max_abs)))

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        return log_quantize(x, self.bits, int(self.fsr))
