"""Ternary weights: TWN and TTQ. Weights take three values, stored in 2 bits.

**TWN** (Li, Zhang & Liu, "Ternary Weight Networks", arXiv:1605.04711, 2016), per layer:

    Delta = 0.7 * mean |W|                              (eq. 9, the approximate threshold)
    I = { i : |W_i| > Delta },   alpha = mean_{i in I} |W_i|     (eq. 6)
    W_t = alpha * sign(W) * 1[|W| > Delta]
    backward: dL/dW = dL/dW_t   (straight-through; Delta and alpha are constants)

**TTQ** (Zhu, Han, Mao & Dally, "Trained Ternary Quantization", ICLR 2017), per layer, with
two learned scales W^p and W^n:

    Delta = t * max |W|,  t = 0.05                      (eq. 7)
    W_t = W^p if W > Delta;  0 if |W| <= Delta;  -W^n if W < -Delta
    dL/dW^p = sum_{W_i > Delta} dL/dW_t,i,   dL/dW^n = -sum_{W_i < -Delta} dL/dW_t,i
    dL/dW = W^p * dL/dW_t (W > Delta);  dL/dW_t (|W| <= Delta);  W^n * dL/dW_t (W < -Delta)

The scale gradients come from autograd on W_t = W^p * 1[W > Delta] - W^n * 1[W < -Delta]
(the paper's eq. 8 prints dL/dW^n without its minus sign; autograd gives the right one).
The latent-weight gradient is the paper's scaled straight-through estimator. W^p and W^n
start at the mean magnitude of the weights above / below the threshold (TWN's alpha split
by sign), so fine-tuning starts near the fp32 model. The paper also rescales latent weights
to [-1, 1]; that changes only the effective learning rate, so it is left out.

The deck's table marks both with an asterisk: first and last layers stay fp32.
"""

from __future__ import annotations

import torch
from torch import nn

from hwnn.formats import Ternary
from hwnn.quant.base import QuantizedWeight, WeightQuantizer
from hwnn.quant.ste import straight_through

TWN_RATIO = 0.7
TTQ_THRESHOLD = 0.05


def twn_threshold(w: torch.Tensor) -> torch.Tensor:
    return TWN_RATIO * w.abs().mean()


def twn_scale(w: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    above = w.abs() > delta
    return w.abs()[above].mean() if bool(above.any()) else w.abs().new_tensor(0.0)


def twn(w: torch.Tensor) -> torch.Tensor:
    """TWN's ternary weights alpha * sign(W) * 1[|W| > 0.7 mean|W|], straight-through."""
    wd = w.detach()
    delta = twn_threshold(wd)
    alpha = twn_scale(wd, delta)
    return straight_through(w, _ternary_codes(wd, delta) * alpha)


def _ternary_codes(w: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    return (w > delta).to(w.dtype) - (w < -delta).to(w.dtype)


def ttq(w: torch.Tensor, wp: torch.Tensor, wn: torch.Tensor, t: float = TTQ_THRESHOLD):
    """TTQ's ternary weights with the gradients above (wp, wn: learned positive scales)."""
    wd = w.detach()
    delta = t * wd.abs().max()
    pos = (wd > delta).to(w.dtype)
    neg = (wd < -delta).to(w.dtype)
    value = wp * pos - wn * neg  # autograd: dL/dwp, dL/dwn
    grad_scale = (wp.detach() * pos + wn.detach() * neg + (1 - pos - neg)).detach()
    # value in the forward pass (s - s.detach() is exactly 0); grad_scale * dL/dW_t to W
    s = grad_scale * w
    return value + (s - s.detach())


class TWNWeight(WeightQuantizer):
    @property
    def format(self) -> Ternary:
        return Ternary()

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return twn(w)

    @torch.no_grad()
    def export(self, w: torch.Tensor) -> QuantizedWeight:
        delta = twn_threshold(w)
        alpha = twn_scale(w, delta)
        codes = _ternary_codes(w, delta)
        return QuantizedWeight(
            values=codes * alpha, format=self.format, codes=codes.to(torch.int8),
            scale=alpha.clone(),
        )


class TTQWeight(WeightQuantizer):
    """Holds the learned scales ``wp`` and ``wn`` of one layer."""

    def __init__(self, w: torch.Tensor, t: float = TTQ_THRESHOLD) -> None:
        super().__init__()
        self.t = t
        wd = w.detach()
        delta = t * wd.abs().max()
        self.wp = nn.Parameter(_mean_or(wd[wd > delta], wd.abs().mean()))
        self.wn = nn.Parameter(_mean_or(-wd[wd < -delta], wd.abs().mean()))

    @property
    def format(self) -> Ternary:
        return Ternary()

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return ttq(w, self.wp, self.wn, self.t)

    @torch.no_grad()
    def export(self, w: torch.Tensor) -> QuantizedWeight:
        codes = _ternary_codes(w, self.t * w.abs().max())
        values = self.wp * (codes > 0) - self.wn * (codes < 0)
        return QuantizedWeight(
            values=values.to(w.dtype), format=self.format, codes=codes.to(torch.int8),
            scale=self.wp.detach().clone(), scale_neg=self.wn.detach().clone(),
        )


def _mean_or(x: torch.Tensor, default: torch.Tensor) -> torch.Tensor:
    return x.mean().clone() if x.numel() else default.clone()
