"""The registry: every method of the deck's "Summary of Reduced Precision" table (Sze, Chen,
Yang & Emer, "Efficient processing of deep neural networks: a tutorial and survey",
arXiv:1703.09039, 2017, table III), plus fp16, bf16 and per-channel int8 baselines.

Each method is a class (its weight quantizer), a function (its forward rule with its
surrogate gradient) and a string name, with its precision and its recipe:

| name | deck row | weights | activations | first/last fp32 | recipe |
|---|---|---|---|---|---|
| ``fixed`` | dynamic fixed point w/o fine-tuning | 8 | 10 | no | post-training |
| ``fixed_ft`` | dynamic fixed point w/ fine-tuning | 8 | 8 | no | QAT, STE |
| ``twn`` | TWN | 2* | 32 | yes | fine-tune, STE |
| ``ttq`` | TTQ | 2* | 32 | yes | fine-tune, learned scales |
| ``binaryconnect`` | BinaryConnect (deterministic) | 1 | 32 | no | fine-tune, clip, BN |
| ``binaryconnect_stoch`` | BinaryConnect (stochastic) | 1 | 32 | no | fine-tune, clip, BN |
| ``bwn`` | BWN | 1* | 32 | yes | fine-tune |
| ``bnn`` | BNN | 1 | 1 | no | fine-tune, clip, BN, htanh |
| ``xnor`` | XNOR-Net | 1* | 1 | yes | fine-tune, BN, htanh |
| ``lognet`` | LogNet | 5 conv, 4 fc | 4 | no | fine-tune, STE |
| ``weight_sharing`` | weight sharing | 8 conv, 4 fc | 16 | no | k-means, centroid fine-tune |
| ``fp16``, ``bf16`` | baselines | 16 | 16 | no | post-training |
| ``int8`` | baseline | 8 | 8 | no | post-training, calibrated |

``*``: the deck keeps the first and last layers in fp32 for these (``first_last_fp32``).
BinaryConnect inserts batch norm as its paper's networks have it; so do BNN and XNOR-Net.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from torch import nn

from hwnn.errors import ConfigError
from hwnn.quant import baselines, binary, fixed_point, lognet, ternary, weight_sharing
from hwnn.quant.base import ActQuantizer, FloatAct, WeightQuantizer

# make_weight(shadow_weight, bits) and make_act(is_first_layer) build one layer's quantizers
WeightFactory = Callable[..., WeightQuantizer]
ActFactory = Callable[[bool], ActQuantizer]


@dataclass(frozen=True)
class Method:
    name: str
    title: str
    category: str
    weight_bits: int  # fully connected layers
    conv_weight_bits: int
    activation_bits: int
    first_last_fp32: bool  # the deck's asterisk
    quantizer: type[WeightQuantizer]
    function: Callable
    paper: str
    make_weight: WeightFactory
    make_act: ActFactory
    finetune_epochs: int = 0  # 0: post-training only
    lr: float = 1e-3
    clip: float | None = None  # shadow weights clipped to [-clip, clip] after each step
    batch_norm: str = "none"  # "none", "hidden" (all but the last layer) or "all"
    binary_act: bool = False  # ReLU before a binary-input layer becomes hardtanh
    deck_loss_pct: float | None = None  # the seed table's ImageNet number
    rule: str = ""  # the forward rule, one line (the math is in the quantizer's module)
    gradient: str = ""  # the surrogate gradient, one line

    @property
    def weight_label(self) -> str:
        star = "*" if self.first_last_fp32 else ""
        if self.conv_weight_bits != self.weight_bits:
            return f"{self.conv_weight_bits}(conv), {self.weight_bits}(fc){star}"
        return f"{self.weight_bits}{star}"

    @property
    def precision(self) -> tuple[str, int]:
        """(weight bits as the deck prints them, activation bits)."""
        return self.weight_label, self.activation_bits

    def bits_for(self, layer: nn.Module) -> int:
        return self.conv_weight_bits if isinstance(layer, nn.Conv2d) else self.weight_bits


def _fp32_act(first: bool) -> ActQuantizer:
    return FloatAct()


def _bits_only(cls: type) -> WeightFactory:
    return lambda w, bits: cls(bits)


def _plain(cls: type, *args) -> WeightFactory:
    return lambda w, bits: cls(*args)


_METHODS = [
    Method(
        "fixed", "Dynamic fixed point w/o fine-tuning", "Dynamic Fixed Point", 8, 8, 10, False,
        fixed_point.FixedPointWeight, fixed_point.fixed_point,
        "Gysel et al., Ristretto, ICLR-W 2016",
        _bits_only(fixed_point.FixedPointWeight),
        lambda first: fixed_point.FixedPointAct(10),
        deck_loss_pct=0.4,
    ),
    Method(
        "fixed_ft", "Dynamic fixed point w/ fine-tuning", "Dynamic Fixed Point", 8, 8, 8, False,
        fixed_point.FixedPointWeight, fixed_point.fixed_point,
        "Gysel et al., Ristretto, ICLR-W 2016",
        _bits_only(fixed_point.FixedPointWeight),
        lambda first: fixed_point.FixedPointAct(8),
        finetune_epochs=5, lr=1e-4, deck_loss_pct=0.6,
    ),
    Method(
        "twn", "Ternary Weight Networks (TWN)", "Reduce Weight", 2, 2, 32, True,
        ternary.TWNWeight, ternary.twn, "Li, Zhang & Liu, arXiv:1605.04711, 2016",
        _plain(ternary.TWNWeight), _fp32_act, finetune_epochs=10, lr=1e-3, deck_loss_pct=3.7,
    ),
    Method(
        "ttq", "Trained Ternary Quantization (TTQ)", "Reduce Weight", 2, 2, 32, True,
        ternary.TTQWeight, ternary.ttq, "Zhu, Han, Mao & Dally, ICLR 2017",
        lambda w, bits: ternary.TTQWeight(w), _fp32_act,
        finetune_epochs=10, lr=1e-3, deck_loss_pct=0.6,
    ),
    Method(
        "binaryconnect", "BinaryConnect (BC), deterministic", "Reduce Weight", 1, 1, 32, False,
        binary.BinaryConnectWeight, binary.binary_connect,
        "Courbariaux, Bengio & David, NeurIPS 2015",
        _plain(binary.BinaryConnectWeight, False), _fp32_act,
        finetune_epochs=15, lr=1e-3, clip=1.0, batch_norm="all", deck_loss_pct=19.2,
    ),
    Method(
        "binaryconnect_stoch", "BinaryConnect (BC), stochastic", "Reduce Weight", 1, 1, 32,
        False, binary.BinaryConnectWeight, binary.binary_connect,
        "Courbariaux, Bengio & David, NeurIPS 2015",
        _plain(binary.BinaryConnectWeight, True), _fp32_act,
        finetune_epochs=15, lr=3e-2, clip=1.0, batch_norm="all", deck_loss_pct=19.2,
    ),
    Method(
        "bwn", "Binary Weight Net (BWN)", "Reduce Weight", 1, 1, 32, True,
        binary.BWNWeight, binary.bwn, "Rastegari et al., XNOR-Net, ECCV 2016",
        _plain(binary.BWNWeight), _fp32_act, finetune_epochs=10, lr=1e-3, deck_loss_pct=0.8,
    ),
    Method(
        "bnn", "Binarized Neural Net (BNN)", "Reduce Weight and Activation", 1, 1, 1, False,
        binary.BNNWeight, binary.bnn_sign, "Hubara, Courbariaux et al., NeurIPS 2016",
        _plain(binary.BNNWeight),
        lambda first: fixed_point.FixedPointAct(8) if first else binary.SignAct(),
        finetune_epochs=20, lr=1e-2, clip=1.0, batch_norm="all", binary_act=True,
        deck_loss_pct=29.8,
    ),
    Method(
        "xnor", "XNOR-Net", "Reduce Weight and Activation", 1, 1, 1, True,
        binary.BWNWeight, binary.xnor_input_scale, "Rastegari et al., XNOR-Net, ECCV 2016",
        _plain(binary.BWNWeight),
        lambda first: fixed_point.FixedPointAct(8) if first else binary.XNORAct(),
        # lr 1e-2 (as BNN): on LeNet-5/MNIST, fine-tuning seeds 0-2 reach 97.30% +- 0.25
        # points; at 3e-3, 96.18% with a 1.55-point spread (K's per-pixel scale makes the
        # slower schedule stall in some seeds); 1e-3: 95.25%; 3e-2: 96.90%.
        finetune_epochs=15, lr=1e-2, batch_norm="hidden", binary_act=True, deck_loss_pct=11.0,
    ),
    Method(
        "lognet", "LogNet", "Non-Linear", 4, 5, 4, False,
        lognet.LogWeight, lognet.log_quantize, "Lee, Miyashita et al., ICASSP 2017",
        _bits_only(lognet.LogWeight), lambda first: lognet.LogAct(4),
        finetune_epochs=5, lr=1e-3, deck_loss_pct=3.2,
    ),
    Method(
        "weight_sharing", "Weight Sharing", "Non-Linear", 4, 8, 16, False,
        weight_sharing.CodebookWeight, weight_sharing.share_weights,
        "Han, Mao & Dally, Deep Compression, ICLR 2016",
        lambda w, bits: weight_sharing.CodebookWeight(w, bits),
        lambda first: fixed_point.FixedPointAct(16),
        finetune_epochs=3, lr=1e-4, deck_loss_pct=0.0,
    ),
    Method(
        "fp16", "fp16 (IEEE half)", "Baseline", 16, 16, 16, False,
        baselines.FloatCastWeight, baselines.float_cast, "IEEE 754-2008 binary16",
        _plain(baselines.FloatCastWeight, 16), lambda first: baselines.FloatCastAct(16),
    ),
    Method(
        "bf16", "bfloat16", "Baseline", 16, 16, 16, False,
        baselines.FloatCastWeight, baselines.float_cast, "Kalamkar et al., arXiv:1905.12322",
        _plain(baselines.FloatCastWeight, "bf16"), lambda first: baselines.FloatCastAct("bf16"),
    ),
    Method(
        "int8", "int8, per-channel weights", "Baseline", 8, 8, 8, False,
        baselines.Int8Weight, baselines.int8_per_channel, "Jacob et al., CVPR 2018",
        _plain(baselines.Int8Weight), lambda first: baselines.Int8Act(),
    ),
]

_RULES = {
    "fixed": ("clip(round(x 2^fl), -2^(B-1), 2^(B-1)-1) 2^-fl, fl = B - ceil(log2 max|x|) - 1",
              "none (post-training)"),
    "fixed_ft": ("as fixed, per layer and data type", "straight-through: dL/dx = dL/dq"),
    "twn": ("alpha sign(W) 1[|W| > 0.7 mean|W|], alpha = mean|W| above it",
            "straight-through"),
    "ttq": ("W^p if W > 0.05 max|W|, -W^n if W < -0.05 max|W|, else 0",
            "dL/dW scaled by W^p, 1, W^n; dL/dW^p, dL/dW^n by autograd"),
    "binaryconnect": ("sign(w)", "straight-through; w clipped to [-1, 1]"),
    "binaryconnect_stoch": ("+1 with p = clip((w+1)/2, 0, 1) else -1; sign(w) at inference",
                            "straight-through; w clipped to [-1, 1]"),
    "bwn": ("alpha sign(W), alpha = mean|W| per output channel",
            "autograd through alpha; sign: dL/dq 1[|W| <= 1]"),
    "bnn": ("sign(w), sign(a)", "dL/dq 1[|x| <= 1]; w clipped to [-1, 1]"),
    "xnor": ("(sign(I) * sign(W)) K alpha, K = mean_c|I| * box filter",
             "dL/dq 1[|x| <= 1]; K constant; autograd through alpha"),
    "lognet": ("sign(x) 2^round(log2|x|), clipped to the FSR, 0 below", "straight-through"),
    "weight_sharing": ("C[I], k-means with 2^B centroids (linear init)",
                       "dL/dC_k = sum of member gradients"),
    "fp16": ("round to nearest even binary16", "none (post-training)"),
    "bf16": ("round to nearest even bfloat16", "none (post-training)"),
    "int8": ("clip(round(W/s_c)) s_c, s_c = max|W_c|/127; activations per tensor",
             "none (post-training)"),
}
_METHODS = [replace(m, rule=_RULES[m.name][0], gradient=_RULES[m.name][1]) for m in _METHODS]
_BY_NAME = {m.name: m for m in _METHODS}
ALIASES = {
    "dfp": "fixed", "dfp_ft": "fixed_ft", "bc": "binaryconnect",
    "bc_stoch": "binaryconnect_stoch", "xnor_net": "xnor", "ws": "weight_sharing",
}
# the deck's ten rows (BinaryConnect's stochastic variant is an extra row of the same method)
DECK = tuple(
    m.name for m in _METHODS if m.category != "Baseline" and m.name != "binaryconnect_stoch"
)


def methods() -> list[Method]:
    """Every method, in the deck's order, then the baselines."""
    return list(_METHODS)


def names() -> list[str]:
    return [m.name for m in _METHODS]


def get(name: str | Method) -> Method:
    if isinstance(name, Method):
        return name
    key = ALIASES.get(name.strip().lower(), name.strip().lower())
    if key not in _BY_NAME:
        raise ConfigError(
            f"unknown quantization method {name!r}: choose one of {', '.join(names())}"
        )
    return _BY_NAME[key]
