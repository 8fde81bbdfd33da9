"""Binary weights (and activations): BinaryConnect, BWN, BNN, XNOR-Net. One bit per value.

``sign`` maps 0 to +1, so binarized tensors hold exactly two values (see ``ste.py``).

**BinaryConnect** (Courbariaux, Bengio & David, NeurIPS 2015), weights only:

    deterministic: w_b = sign(w)
    stochastic:    w_b = +1 with probability p = hard_sigmoid(w) = clip((w + 1) / 2, 0, 1),
                   else -1 (training only; inference uses the deterministic sign)
                   The paper evaluates its stochastic networks with the real-valued weights
                   (its sec. 2.6, method 2); hwnn deploys binary weights, so inference here
                   is sign(w), with batch-norm statistics re-estimated for it.
    backward:      dL/dw = dL/dw_b (straight-through), then w <- clip(w, -1, 1) after each step

**BWN**, binary-weight networks (Rastegari et al., "XNOR-Net", ECCV 2016, sec. 3.1):

    W_b = alpha * sign(W),  alpha = mean |W| per output channel (the L1 norm over n)
    backward (autograd through alpha): dL/dW = dL/dW_b * (1/n + alpha * 1[|W| <= 1]) per term

**BNN**, binarized neural networks (Hubara/Courbariaux et al., NeurIPS 2016):

    w_b = sign(w), a_b = sign(a)
    backward: dL/dx = dL/dq * 1[|x| <= 1] for weights and activations (htanh STE, eq. 4),
              weights clipped to [-1, 1]; batch norm after every layer, hardtanh in place of
              ReLU; the first layer reads its real-valued input as 8-bit fixed point.

**XNOR-Net** (Rastegari et al., ECCV 2016, sec. 3.2): BWN weights and binary inputs with
the input scaling factor K:

    I * W  ~=  (sign(I) (*) sign(W)) . K . alpha
    A = mean_c |I| (over input channels),  K = A (*) k,  k = 1/(kh kw) box filter
    (for a fully connected layer K = mean |x| per sample)
    backward: sign uses the STE with cancellation; K is treated as a constant.

Asterisks in the deck's table: BWN and XNOR-Net keep the first and last layers fp32;
BinaryConnect and BNN binarize every layer.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from hwnn.formats import Binary
from hwnn.quant.base import ActQuantizer, QuantizedWeight, WeightQuantizer
from hwnn.quant.ste import hard_sign, sign_ste, straight_through


def binary_connect(w: torch.Tensor, stochastic: bool = False) -> torch.Tensor:
    """BinaryConnect's w_b with the straight-through gradient (no cancellation)."""
    if not stochastic:
        return sign_ste(w, cancel=False)
    p = torch.clamp((w.detach() + 1) / 2, 0, 1)
    wb = torch.where(torch.rand_like(p) < p, torch.ones_like(p), -torch.ones_like(p))
    return straight_through(w, wb)


def channel_scale(w: torch.Tensor) -> torch.Tensor:
    """alpha = mean |W| per output channel, shaped to broadcast against W."""
    return w.abs().mean(dim=tuple(range(1, w.dim())), keepdim=True)


def bwn(w: torch.Tensor) -> torch.Tensor:
    """BWN's alpha * sign(W) per output channel; gradient through alpha and the sign STE."""
    return channel_scale(w) * sign_ste(w, cancel=True)


def bnn_sign(x: torch.Tensor) -> torch.Tensor:
    """BNN's sign with the hardtanh straight-through gradient 1[|x| <= 1]."""
    return sign_ste(x, cancel=True)


def xnor_input_scale(x: torch.Tensor, layer: nn.Module) -> torch.Tensor:
    """XNOR-Net's K: mean |x| per sample (Linear) or A (*) k per output pixel (Conv2d)."""
    a = x.detach().abs()
    if x.dim() == 2:
        return a.mean(dim=1, keepdim=True)
    a = a.mean(dim=1, keepdim=True)
    kh, kw = layer.kernel_size
    box = a.new_full((1, 1, kh, kw), 1.0 / (kh * kw))
    return F.conv2d(a, box, stride=layer.stride, padding=layer.padding, dilation=layer.dilation)


class _SignWeight(WeightQuantizer):
    @property
    def format(self) -> Binary:
        return Binary()

    def _scale(self, w: torch.Tensor) -> torch.Tensor:
        return w.new_tensor(1.0)

    @torch.no_grad()
    def export(self, w: torch.Tensor) -> QuantizedWeight:
        codes = hard_sign(w)
        scale = self._scale(w)
        return QuantizedWeight(
            values=codes * scale, format=self.format, codes=codes.to(torch.int8),
            scale=scale.clone(),
        )


class BinaryConnectWeight(_SignWeight):
    def __init__(self, stochastic: bool = False) -> None:
        super().__init__()
        self.stochastic = stochastic

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return binary_connect(w, self.stochastic and self.training)


class BWNWeight(_SignWeight):
    def _scale(self, w: torch.Tensor) -> torch.Tensor:
        return channel_scale(w)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return bwn(w)


class BNNWeight(_SignWeight):
    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return bnn_sign(w)


class SignAct(ActQuantizer):
    """BNN's binary activations sign(x), htanh straight-through gradient."""

    @property
    def format(self) -> Binary:
        return Binary()

    def quantize(self, x: torch.Tensor) -> torch.Tensor:
        return bnn_sign(x)


class XNORAct(SignAct):
    """XNOR-Net's binary input; the layer's output is multiplied by K."""

    def output_scale(self, x: torch.Tensor, layer: nn.Module) -> torch.Tensor | None:
        if self.calibrating:
            return None
        return xnor_input_scale(x, layer)
