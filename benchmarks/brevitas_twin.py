"""Brevitas twins of hwnn's quantized models: the rival side of ``bench_brevitas.py``.

For one hwnn method, ``build_twin(fp32_model, method, data)`` returns the same network
quantized with Brevitas (``brevitas.nn.QuantConv2d`` / ``QuantLinear`` with the closest
Brevitas quantizers, read from brevitas 0.13.4's own source), started from the same fp32
weights, and ``finetune_twin`` trains it with exactly hwnn's schedule for that method
(``hwnn.quant.transform._finetune``: Adam, batch 64, the method's epochs and learning rate,
the last third at lr/10, one seed per phase).

What the twin shares with hwnn's model, because the *papers* prescribe it rather than the
tool: batch norm inserted after each compute layer, initialised from the fp32 outputs
(BinaryConnect, BNN: every layer; XNOR-Net: all but the last); ReLU before a binary-input
layer replaced by hardtanh (BNN, XNOR-Net); BinaryConnect/BNN shadow weights rescaled to
span [-1, 1]; the deck's asterisk (first and last layers stay fp32: TWN, BWN, XNOR-Net);
activation quantizers on each quantized layer's *input* (Brevitas ``input_quant``); the
same 1,024 training images for activation calibration. Biases stay fp32 on both sides.

Mapping, hwnn method -> Brevitas weight quantizer / input quantizer ("composed": built from
Brevitas's own injector pieces because no stock class has that rule), and where they differ:

- ``fixed`` (8-bit weights, 10-bit inputs, post-training) -> ``Int8WeightPerTensorFixedPoint``
  / ``Int8ActPerTensorFixedPoint`` with bit_width 10. Both are power-of-two (fixed-point)
  per-tensor scales. Brevitas: narrow grid [-127, 127], step 2^ceil(log2(max/127)), input
  range from the 99.999th percentile of abs x; hwnn (Ristretto): [-128, 127], step
  2^(ceil(log2 max) + 1 - B), input range from the max.
- ``fixed_ft`` (8/8, fine-tuned) -> the same at 8 bits. Brevitas *learns* the power-of-two
  input scale (a parameter) while fine-tuning; hwnn freezes fl after calibration.
- ``twn`` -> composed: ``TernaryQuant`` (``QuantType.TERNARY``) with scale alpha = mean abs W
  (``StatsOp.AVE``) and threshold 0.7 alpha; first/last fp32. Threshold identical to TWN's
  0.7 mean abs W; the level is mean abs W, not TWN's mean over the kept weights, and
  Brevitas backpropagates through alpha (TWN: constant). Stock
  ``SignedTernaryWeightPerTensorConst`` (constant scale 0.1, in-place clamp to +-0.1) is
  not TWN and would start far from the fp32 model.
- ``binaryconnect`` -> ``SignedBinaryWeightPerTensorConst`` with scaling_const 1.0 (the value
  Brevitas's BNN-PYNQ example uses; the stock 0.1 would clamp weights to +-0.1). Same +-1
  forward and straight-through gradient; Brevitas clamps shadow weights to [-1, 1] in
  place *before* each forward (``InplaceTensorClampSte``), hwnn *after* each step.
- ``bwn`` -> composed: ``BinaryQuant`` with alpha_c = mean abs W per output channel
  (``StatsOp.AVE``, ``ScalingPerOutputType.CHANNEL``); first/last fp32. Same forward;
  sign gradient plain STE (hwnn: 1[abs W <= 1], equal while abs W <= 1).
- ``bnn`` -> binary weights as ``binaryconnect`` / ``SignedBinaryActPerTensorConst`` (+-1,
  hardtanh STE), the first layer's input ``Int8ActPerTensorFixedPoint`` (Brevitas learns
  its power-of-two scale; hwnn freezes its fl).
- ``xnor`` -> weights as ``bwn`` / ``SignedBinaryActPerTensorConst``. **Brevitas has no
  input scaling factor K** (mean abs I per output pixel): the twin is BWN weights with
  binary inputs and batch norm, not XNOR-Net proper.
- ``int8`` (post-training) -> ``Int8WeightPerChannelFloat`` / ``Uint8ActPerTensorFloat``
  (``Int8ActPerTensorFloat`` where calibration sees a negative input, as hwnn switches).
  Brevitas: narrow weight grid, 99.999th percentile input range; hwnn: max.

Not in Brevitas 0.13.4 (checked in its source: ``brevitas/quant``, ``brevitas/core/quant``):
TTQ (one learned scale per ternary tensor at most, never TTQ's separate W^p and W^n),
stochastic BinaryConnect (``BinaryQuant`` is a deterministic sign; stochastic rounding
exists only for integer grids), LogNet (power-of-two *scales* only, no log-quantized
values), weight sharing (no k-means / codebook quantizer anywhere in the package).
"""

from __future__ import annotations

import copy
import functools
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from hwnn.data import Dataset
from hwnn.errors import ConfigError
from hwnn.quant import get
from hwnn.quant.registry import Method
from hwnn.quant.transform import (
    CALIBRATION_SAMPLES,
    _calibration_batch,
    _finetune,
    _insert_batch_norm,
    _rescale_to_clip,
    compute_layers,
    default_first_last_fp32,
)

INSTALL_HINT = "pip install 'brevitas==0.13.4'"

NOT_IN_BREVITAS = {
    "ttq": "no quantizer with TTQ's two learned ternary scales W^p, W^n",
    "binaryconnect_stoch": "no stochastic binarization (BinaryQuant is a deterministic sign)",
    "lognet": "power-of-two scales only, no log-quantized weights or activations",
    "weight_sharing": "no k-means / codebook quantizer",
}


def brevitas():
    """The ``brevitas`` module, or hwnn's ConfigError with the install line."""
    try:
        with warnings.catch_warnings():  # "fast_hadamard_transform package not found", ...
            warnings.simplefilter("ignore", UserWarning)
            warnings.simplefilter("ignore", DeprecationWarning)  # "brevitas.fx is deprecated"
            import brevitas as brevitas_module
            import brevitas.graph.calibrate  # noqa: F401
            import brevitas.nn  # noqa: F401
    except ImportError as err:
        raise ConfigError(
            f"the Brevitas comparison needs brevitas ({err}): {INSTALL_HINT}"
        ) from None
    return brevitas_module


@dataclass(frozen=True)
class Twin:
    """One method's Brevitas quantizers: ``weight()`` and ``act(first_layer)`` return
    Brevitas injector classes (or None for fp32); ``binary_act`` marks +-1 inputs."""

    method: str
    weight: Callable[[], type | None]
    act: Callable[[bool], type | None]
    weight_label: str
    act_label: str
    note: str
    binary_act: bool = False


@functools.cache
def _quantizers() -> dict[str, type]:
    """The Brevitas quantizer classes the mapping uses (imported lazily, composed here)."""
    brevitas()
    from brevitas.core.quant import BinaryQuant
    from brevitas.inject.enum import QuantType, ScalingImplType, ScalingPerOutputType, StatsOp
    from brevitas.quant import (
        Int8ActPerTensorFixedPoint,
        Int8ActPerTensorFloat,
        Int8WeightPerChannelFloat,
        Int8WeightPerTensorFixedPoint,
        SignedBinaryActPerTensorConst,
        SignedBinaryWeightPerTensorConst,
        SignedTernaryWeightPerTensorConst,
        Uint8ActPerTensorFloat,
    )

    class BinaryConnectWeight(SignedBinaryWeightPerTensorConst):
        """+-1 weights, shadow weights clamped in place to [-1, 1] (stock class: 0.1)."""

        scaling_const = 1.0

    class BWNWeight(SignedBinaryWeightPerTensorConst):
        """alpha_c sign(W), alpha_c = mean abs W over output channel c, no clamp."""

        tensor_quant = BinaryQuant
        scaling_impl_type = ScalingImplType.STATS
        scaling_stats_op = StatsOp.AVE
        scaling_per_output_type = ScalingPerOutputType.CHANNEL

    class TWNWeight(SignedTernaryWeightPerTensorConst):
        """alpha sign(W) 1[abs W > 0.7 alpha], alpha = mean abs W (per tensor)."""

        quant_type = QuantType.TERNARY
        threshold = 0.7
        scaling_impl_type = ScalingImplType.STATS
        scaling_stats_op = StatsOp.AVE

    class Fixed10Act(Int8ActPerTensorFixedPoint):
        bit_width = 10

    return {
        "Int8WeightPerTensorFixedPoint": Int8WeightPerTensorFixedPoint,
        "Int8ActPerTensorFixedPoint": Int8ActPerTensorFixedPoint,
        "Int8ActPerTensorFixedPoint(bit_width=10)": Fixed10Act,
        "TernaryQuant(AVE, threshold=0.7)": TWNWeight,
        "SignedBinaryWeightPerTensorConst(scaling_const=1.0)": BinaryConnectWeight,
        "BinaryQuant(AVE per channel)": BWNWeight,
        "SignedBinaryActPerTensorConst": SignedBinaryActPerTensorConst,
        "Int8WeightPerChannelFloat": Int8WeightPerChannelFloat,
        "Uint8ActPerTensorFloat": Uint8ActPerTensorFloat,
        "Int8ActPerTensorFloat": Int8ActPerTensorFloat,
    }


def _twin(method, weight, act_first, act_rest, note, binary_act=False) -> Twin:
    def w():
        return _quantizers()[weight] if weight else None

    def a(first: bool):
        name = act_first if first else act_rest
        return _quantizers()[name] if name else None

    act_label = act_rest or "fp32"
    if act_first != act_rest:
        act_label = f"{act_rest or 'fp32'} (first: {act_first or 'fp32'})"
    return Twin(method, w, a, weight or "fp32", act_label, note, binary_act)


TWINS: dict[str, Twin] = {
    t.method: t
    for t in (
        _twin("fixed", "Int8WeightPerTensorFixedPoint",
              "Int8ActPerTensorFixedPoint(bit_width=10)",
              "Int8ActPerTensorFixedPoint(bit_width=10)",
              "narrow int8 grid; act range from the 99.999th percentile"),
        _twin("fixed_ft", "Int8WeightPerTensorFixedPoint", "Int8ActPerTensorFixedPoint",
              "Int8ActPerTensorFixedPoint",
              "Brevitas learns the power-of-two act scale"),
        _twin("twn", "TernaryQuant(AVE, threshold=0.7)", None, None,
              "composed; level = mean abs W, not mean of kept weights"),
        _twin("binaryconnect", "SignedBinaryWeightPerTensorConst(scaling_const=1.0)",
              None, None, "same +-1 forward; clamp before forward"),
        _twin("bwn", "BinaryQuant(AVE per channel)", None, None,
              "composed; same alpha_c sign(W)"),
        _twin("bnn", "SignedBinaryWeightPerTensorConst(scaling_const=1.0)",
              "Int8ActPerTensorFixedPoint", "SignedBinaryActPerTensorConst",
              "first-layer input scale learned", binary_act=True),
        _twin("xnor", "BinaryQuant(AVE per channel)", None,
              "SignedBinaryActPerTensorConst",
              "no input scaling factor K in Brevitas", binary_act=True),
        _twin("int8", "Int8WeightPerChannelFloat", "Uint8ActPerTensorFloat",
              "Uint8ActPerTensorFloat", "99.999th percentile act range"),
    )
}


def check_method(name: str) -> str:
    """hwnn's canonical name for ``name`` (aliases allowed); ConfigError if hwnn lacks it."""
    return get(name).name


def twin_spec(method: str | Method) -> Twin | None:
    """The Brevitas mapping of an hwnn method, or None when Brevitas lacks the method."""
    return TWINS.get(get(method).name)


def _brevitas_layer(layer: nn.Module, weight_quant, input_quant) -> nn.Module:
    """A Brevitas QuantConv2d / QuantLinear with ``layer``'s shape and (copied) weights."""
    from brevitas import nn as qnn

    common = dict(bias=layer.bias is not None, weight_quant=weight_quant,
                  input_quant=input_quant, bias_quant=None, return_quant_tensor=False)
    if isinstance(layer, nn.Conv2d):
        q = qnn.QuantConv2d(
            layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,
            padding=layer.padding, dilation=layer.dilation, groups=layer.groups, **common,
        )
    else:
        q = qnn.QuantLinear(layer.in_features, layer.out_features, **common)
    with torch.no_grad():
        q.weight.copy_(layer.weight)
        if layer.bias is not None:
            q.bias.copy_(layer.bias)
    return q


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


@torch.no_grad()
def _input_signs(model: nn.Module, layers, calib: torch.Tensor) -> list[bool]:
    """Whether each compute layer saw a negative input on the calibration batch (fp32)."""
    seen = [False] * len(layers)
    hooks = [
        x.register_forward_pre_hook(
            lambda mod, inp, i=i: seen.__setitem__(i, seen[i] or bool((inp[0] < 0).any()))
        )
        for i, (_, x) in enumerate(layers)
    ]
    model.eval()
    model(calib)
    for h in hooks:
        h.remove()
    return seen


def _hardtanh_before(model: nn.Module, binary_layers: set[int]) -> None:
    """ReLU whose next compute layer has +-1 inputs becomes hardtanh (as hwnn's transform)."""
    order = list(model.named_modules())
    for i, (name, mod) in enumerate(order):
        if not isinstance(mod, nn.ReLU):
            continue
        nxt = next((x for _, x in order[i + 1:] if isinstance(x, (nn.Conv2d, nn.Linear))), None)
        if nxt is not None and id(nxt) in binary_layers:
            _set(model, name, nn.Hardtanh())


def build_twin(
    fp32_model: nn.Module,
    method: str | Method,
    data: Dataset,
    calibration: int = CALIBRATION_SAMPLES,
    seed: int = 0,
) -> nn.Module:
    """The Brevitas-quantized copy of ``fp32_model`` for ``method``, calibrated, not trained.

    The network surgery (batch norm, hardtanh, [-1, 1] rescale, fp32 first/last layers) is
    hwnn's, from the method's paper; every quantizer is Brevitas's (see the module table).
    """
    m = get(method)
    spec = TWINS.get(m.name)
    if spec is None:
        raise ConfigError(f"{m.name!r} is not in Brevitas: {NOT_IN_BREVITAS.get(m.name, '?')}")
    brevitas()
    torch.manual_seed(seed)
    q = copy.deepcopy(fp32_model).cpu().eval()
    layers = compute_layers(q)
    keep_fp32 = default_first_last_fp32(m, len(layers))
    calib = _calibration_batch(data, calibration)
    if m.batch_norm != "none":
        _insert_batch_norm(q, layers, calib, include_last=m.batch_norm == "all")
    negative = _input_signs(q, layers, calib)
    where = {id(x): n for n, x in compute_layers(q)}
    last, binary = len(layers) - 1, set()
    for i, (_, layer) in enumerate(layers):
        if keep_fp32 and i in (0, last):
            continue
        if m.clip is not None and m.batch_norm == "all":
            _rescale_to_clip(layer, m.clip)
        act = spec.act(i == 0)
        if act is not None and negative[i] and act.__name__ == "Uint8ActPerTensorFloat":
            act = _quantizers()["Int8ActPerTensorFloat"]
        new = _brevitas_layer(layer, spec.weight(), act)
        if spec.binary_act and i != 0:
            binary.add(id(new))
        _set(q, where[id(layer)], new)
    if binary:
        _hardtanh_before(q, binary)
    _calibrate(q, calib)
    q.eval()
    return q


@torch.no_grad()
def _calibrate(model: nn.Module, calib: torch.Tensor) -> None:
    """Brevitas's own PTQ calibration: collect input statistics, then initialise the scales."""
    from brevitas.graph.calibrate import calibration_mode

    model.eval()
    with calibration_mode(model):
        model(calib)


def finetune_twin(
    twin: nn.Module, method: str | Method, data: Dataset, epochs: int | None = None,
    lr: float | None = None, batch_size: int = 64, seed: int = 0,
) -> nn.Module:
    """Fine-tunes the twin with hwnn's exact schedule for ``method`` (``epochs=0``: none)."""
    m = get(method)
    epochs = m.finetune_epochs if epochs is None else epochs
    if epochs > 0:
        # hwnn's clip hook walks hwnn's layers only; Brevitas clamps in its own forward
        _finetune(twin, m, data, epochs, lr or m.lr, batch_size, seed, None)
    twin.eval()
    return twin


def quant_weights(model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """(name, effective quantized weight) of every Brevitas layer, in forward order."""
    from brevitas.nn.quant_layer import QuantWeightBiasInputOutputLayer

    out = []
    for name, x in model.named_modules():
        if isinstance(x, QuantWeightBiasInputOutputLayer):
            out.append((name, x.quant_weight().value.detach()))
    return out
