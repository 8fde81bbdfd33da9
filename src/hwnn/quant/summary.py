"""What a quantized model costs and keeps: storage bytes, formats and distinct weights.

Storage (``model_bytes``), per quantized layer: weights at their format's bits, plus the
side values the format needs (per-channel or per-layer scales, TTQ's two scales, a
codebook's centroids: 32 bits each), plus fp32 biases. Every other parameter (batch norm's
gamma and beta, into which its running statistics fold at inference) counts 32 bits.
``fp32_bytes`` is 4 bytes per parameter of the unquantized model. Compression ratio =
fp32 bytes / quantized bytes.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from hwnn.data import Dataset
from hwnn.formats import FP32
from hwnn.quant.layers import quant_layers
from hwnn.quant.registry import Method, get
from hwnn.train import Progress, evaluate


@dataclass(frozen=True)
class LayerPrecision:
    name: str
    kind: str  # "linear" or "conv2d"
    weight_format: str
    act_format: str
    weight_bits: int
    activation_bits: int
    weights: int
    distinct_weights: int
    bytes: int


@dataclass(frozen=True)
class PrecisionResult:
    """One row of the precision table: the deck's columns plus size, measured."""

    method: str
    title: str
    category: str
    weight_bits: int  # widest quantized weight format among the model's layers
    activation_bits: int  # the method's activation bits (BNN's first input is 8-bit)
    precision: str  # the deck's notation for this model, e.g. "2*" or "5(conv), 4(fc)"
    first_last_fp32: bool
    fp32_accuracy: float
    accuracy: float
    accuracy_loss_pct: float  # percentage points, fp32 minus quantized
    model_bytes: int
    fp32_model_bytes: int
    compression_ratio: float
    deck_accuracy_loss_pct: float | None
    quantize_time_s: float
    layers: list[LayerPrecision] = field(default_factory=list)


def fp32_bytes(model: nn.Module) -> int:
    return 4 * sum(p.numel() for p in model.parameters())


def layer_precision(model: nn.Module) -> list[LayerPrecision]:
    rows = []
    for name, layer in quant_layers(model):
        qw = layer.quantized_weight()
        rows.append(
            LayerPrecision(
                name=name,
                kind="conv2d" if isinstance(layer, nn.Conv2d) else "linear",
                weight_format=layer.weight_format.name,
                act_format=layer.act_format.name,
                weight_bits=layer.weight_format.bits,
                activation_bits=layer.act_format.bits,
                weights=layer.weight.numel(),
                distinct_weights=qw.distinct_values(),
                bytes=_layer_bytes(layer, qw),
            )
        )
    return rows


def _layer_bytes(layer: nn.Module, qw) -> int:
    bits = layer.weight.numel() * layer.weight_format.bits
    for side in (qw.scale, qw.scale_neg, qw.codebook):
        if side is not None and layer.weight_format != FP32:
            bits += 32 * side.numel()
    if layer.bias is not None:
        bits += 32 * layer.bias.numel()
    return math.ceil(bits / 8)


def model_bytes(model: nn.Module) -> int:
    """Storage of a quantized model (see the module docstring); fp32 bytes if unquantized."""
    layers = quant_layers(model)
    inside = {id(p) for _, x in layers for p in x.parameters()}
    rest = sum(p.numel() for p in model.parameters() if id(p) not in inside)
    return sum(r.bytes for r in layer_precision(model)) + 4 * rest


def measure(
    fp32_model: nn.Module,
    method: str | Method,
    data: Dataset,
    fp32_accuracy: float | None = None,
    progress: Progress | None = None,
    **options,
) -> tuple[PrecisionResult, nn.Module]:
    """Quantizes ``fp32_model`` with ``method`` and measures it on ``data``'s test split."""
    from hwnn.quant.transform import default_first_last_fp32, quantize

    m = get(method)
    if fp32_accuracy is None:
        fp32_accuracy = evaluate(fp32_model, data.x_test, data.y_test)
    start = time.perf_counter()
    q = quantize(fp32_model, m, data, progress=progress, **options)
    elapsed = time.perf_counter() - start
    acc = evaluate(q, data.x_test, data.y_test)
    layers = layer_precision(q)
    quantized = [r.weight_bits for r in layers if r.weight_format != FP32.name]
    size, ref = model_bytes(q), fp32_bytes(fp32_model)
    keep = default_first_last_fp32(m, len(layers), options.get("first_last_fp32"))
    result = PrecisionResult(
        method=m.name,
        title=m.title,
        category=m.category,
        weight_bits=max(quantized) if quantized else 32,
        activation_bits=m.activation_bits,
        precision=precision_label(layers, keep),
        first_last_fp32=keep,
        fp32_accuracy=fp32_accuracy,
        accuracy=acc,
        accuracy_loss_pct=100.0 * (fp32_accuracy - acc),
        model_bytes=size,
        fp32_model_bytes=ref,
        compression_ratio=ref / size,
        deck_accuracy_loss_pct=m.deck_loss_pct,
        quantize_time_s=elapsed,
        layers=layers,
    )
    return result, q


def precision_label(layers: list[LayerPrecision], first_last_fp32: bool) -> str:
    """The deck's weight-bits notation for this model: "2*", "5(conv), 4(fc)", "8"."""
    conv = {r.weight_bits for r in layers if r.kind == "conv2d" and r.weight_format != "fp32"}
    fc = {r.weight_bits for r in layers if r.kind == "linear" and r.weight_format != "fp32"}
    star = "*" if first_last_fp32 else ""
    if conv and fc and conv != fc:
        return f"{max(conv)}(conv), {max(fc)}(fc){star}"
    bits = conv | fc
    return f"{max(bits)}{star}" if bits else "32"


@torch.no_grad()
def distinct_weights(model: nn.Module) -> dict[str, int]:
    """Layer name -> number of distinct effective weight values."""
    return {n: x.quantized_weight().distinct_values() for n, x in quant_layers(model)}
