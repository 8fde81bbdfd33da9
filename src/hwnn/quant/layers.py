"""Quantized layers: ``nn.Linear`` / ``nn.Conv2d`` that keep their float shadow weights.

``QuantLinear`` and ``QuantConv2d`` subclass the torch layers, so every tool that walks a
model for ``nn.Linear`` / ``nn.Conv2d`` (layer lists, the hardware lowering) still finds
them with their shapes. They add:

- ``weight``: the float **shadow** weight that the optimizer updates (BinaryConnect's
  "real-valued weights"); never overwritten by its quantized value.
- ``weight_quantizer`` / ``act_quantizer``: the method's quantizers (``base.py``).
- ``weight_format`` / ``act_format``: ``hwnn.formats`` objects of the stored weights and of
  the layer's input activations, read by the deployment engine and ``hwnn.lower``.
- ``quantized_weight() -> QuantizedWeight``: the effective weight tensor (``.values``)
  plus its integer codes and scales (see the table in ``base.py``). This is the way to get
  what a deployed layer must compute with; ``.values`` equals what ``forward`` uses.

Forward rule: y = (W_q * act_q(x)) * s + b, where ``*`` is the layer's product, W_q the
quantized weight, and s the optional output scale (XNOR-Net's K; 1 otherwise). Biases stay
fp32 in every method (they are a small fraction of the weights and the deck counts weights).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from hwnn.formats import Format
from hwnn.quant.base import ActQuantizer, QuantizedWeight, WeightQuantizer


class _QuantMixin:
    weight_quantizer: WeightQuantizer
    act_quantizer: ActQuantizer

    @property
    def weight_format(self) -> Format:
        return self.weight_quantizer.format

    @property
    def act_format(self) -> Format:
        return self.act_quantizer.format

    def quantized_weight(self) -> QuantizedWeight:
        return self.weight_quantizer.export(self.weight)

    def _scaled(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        scale = self.act_quantizer.output_scale(x, self)
        if scale is not None:
            out = out * scale
        if self.bias is not None:
            shape = (1, -1) + (1,) * (out.dim() - 2)
            out = out + self.bias.view(shape)
        return out


class QuantLinear(_QuantMixin, nn.Linear):
    def __init__(
        self, layer: nn.Linear, weight_quantizer: WeightQuantizer, act_quantizer: ActQuantizer
    ) -> None:
        nn.Linear.__init__(
            self, layer.in_features, layer.out_features, bias=layer.bias is not None
        )
        self.weight = layer.weight
        self.bias = layer.bias
        self.weight_quantizer = weight_quantizer
        self.act_quantizer = act_quantizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.linear(self.act_quantizer(x), self.weight_quantizer(self.weight))
        return self._scaled(x, out)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, weight={self.weight_format}, act={self.act_format}"


class QuantConv2d(_QuantMixin, nn.Conv2d):
    def __init__(
        self, layer: nn.Conv2d, weight_quantizer: WeightQuantizer, act_quantizer: ActQuantizer
    ) -> None:
        nn.Conv2d.__init__(
            self,
            layer.in_channels,
            layer.out_channels,
            layer.kernel_size,
            stride=layer.stride,
            padding=layer.padding,
            dilation=layer.dilation,
            groups=layer.groups,
            bias=layer.bias is not None,
            padding_mode=layer.padding_mode,
        )
        self.weight = layer.weight
        self.bias = layer.bias
        self.weight_quantizer = weight_quantizer
        self.act_quantizer = act_quantizer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight_quantizer(self.weight)
        out = self._conv_forward(self.act_quantizer(x), w, None)
        return self._scaled(x, out)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, weight={self.weight_format}, act={self.act_format}"


def wrap(layer: nn.Module, weight_q: WeightQuantizer, act_q: ActQuantizer) -> nn.Module:
    """The quantized twin of a Linear or Conv2d, sharing its parameters."""
    if isinstance(layer, nn.Linear):
        return QuantLinear(layer, weight_q, act_q)
    if isinstance(layer, nn.Conv2d):
        return QuantConv2d(layer, weight_q, act_q)
    raise TypeError(f"cannot quantize {type(layer).__name__}")


def quant_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, layer) of every quantized layer, in registration (= forward) order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, _QuantMixin)]
