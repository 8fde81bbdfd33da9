"""``deploy(model)``: a quantized torch model compiled into a torch-free inference plan.

The model's modules are read in forward order (sequential models such as hwnn.models.MLP
and LeNet5) and each compute layer becomes the step its quantizers call for:

| layer (weights / inputs) | methods | step |
|---|---|---|
| fp32 or weight-only / fp32 | fp32, BWN, TWN, TTQ, BC | BLAS GEMM, effective weights |
| int8 per channel / int8 per tensor | int8 | int8 or uint8 codes, exact int32 GEMM |
| binary / 8-bit fixed point | BNN first layer | fixed-point codes, int8 GEMM |
| binary / sign | BNN hidden and last layers | XNOR-popcount GEMM or conv |
| alpha * binary / sign, times K | XNOR-Net hidden layers | XNOR-popcount, then K and alpha |

An integer GEMM whose output only passes through batch norm, hardtanh, max pooling or
flattening before the next binary layer never becomes float: the per-channel affine map is
folded into an integer threshold that writes the next layer's sign bits directly (FINN,
Umuroglu et al. 2017). Everything else runs as float, exactly as torch orders it.

Weight-only methods keep float activations, so their layers run on BLAS: their gain is
memory (1 or 2 bits per weight), not arithmetic.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from hwnn.deploy import steps as S
from hwnn.deploy.fuse import fuse as fuse_native
from hwnn.deploy.plan import SUPPORTED, Plan
from hwnn.errors import ConfigError
from hwnn.kernels.binary_conv2d import pack_channels
from hwnn.kernels.bitpack import pack_signs
from hwnn.kernels.output_transform import fold_threshold
from hwnn.quant import baselines, binary, fixed_point
from hwnn.quant.base import FloatAct
from hwnn.quant.layers import QuantConv2d, QuantLinear

_COMPUTE = (nn.Linear, nn.Conv2d)
_ATOMS = _COMPUTE + (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, nn.Hardtanh, nn.MaxPool2d, nn.Flatten,
    nn.Dropout, nn.Identity,
)  # fmt: skip


def deploy(model: nn.Module, fuse: bool = True) -> Plan:
    """Compiles a (quantized) model into a ``Plan`` that runs on hwnn's native kernels.

    ``fuse`` runs integer fully connected stretches as one native call (``fuse.py``)."""
    method = getattr(model, "quant_method", "fp32")
    ops = [m for m in _atoms(model) if not isinstance(m, (nn.Dropout, nn.Identity))]
    if not any(isinstance(m, _COMPUTE) for m in ops):
        raise ConfigError("the model has no Linear or Conv2d layer: nothing to deploy")
    plan_steps: list = []
    kinds: list[str] = []
    i = 0
    state = "float"
    while i < len(ops):
        op = ops[i]
        if isinstance(op, _COMPUTE):
            kind = _kind(op, method)
            kinds.append(kind)
            if kind == "sign" and state == "float":
                plan_steps.append(S.SignPack(nhwc=isinstance(op, nn.Conv2d)))
            plan_steps += _compute_steps(op, kind)
            if kind in ("float", "xnor"):
                state = "float"
                i += 1
                continue
            i, state = _after_integer_gemm(ops, i, op, kind, method, plan_steps)
            continue
        plan_steps.append(_float_step(op))
        i += 1
    engine = "binary" if {"sign", "xnor"} & set(kinds) else "int8" if "int8" in kinds else "float"
    weight_bytes = _weight_bytes(plan_steps)
    if fuse:
        plan_steps = fuse_native(plan_steps)
    return Plan(plan_steps, method, engine, weight_bytes, kinds)


def _atoms(module: nn.Module):
    if isinstance(module, _ATOMS):
        yield module
        return
    children = list(module.children())
    if not children:
        raise ConfigError(
            f"cannot deploy a {type(module).__name__} layer: the engine runs Linear, Conv2d, "
            "BatchNorm, ReLU, Hardtanh, MaxPool2d, Flatten and Dropout in sequence"
        )
    for child in children:
        yield from _atoms(child)


def _kind(layer: nn.Module, method: str) -> str:
    if not isinstance(layer, (QuantLinear, QuantConv2d)):
        return "float"
    wq, aq = layer.weight_quantizer, layer.act_quantizer
    if isinstance(aq, binary.XNORAct):
        return "xnor"
    if isinstance(aq, binary.SignAct):
        return "sign"
    if isinstance(aq, FloatAct):
        return "float"
    if isinstance(aq, baselines.Int8Act) and isinstance(wq, baselines.Int8Weight):
        return "int8"
    if isinstance(aq, fixed_point.FixedPointAct) and isinstance(wq, binary._SignWeight):
        return "fixed"
    raise ConfigError(
        f"the deployment engine cannot run method {method!r} (weights {layer.weight_format}, "
        f"inputs {layer.act_format}): it supports {', '.join(SUPPORTED)}"
    )


def _np(t: torch.Tensor | None) -> np.ndarray | None:
    return None if t is None else t.detach().cpu().numpy().astype(np.float32)


def _conv_args(layer: nn.Conv2d) -> dict:
    kh, kw = layer.kernel_size
    if layer.stride[0] != layer.stride[1] or layer.padding[0] != layer.padding[1]:
        raise ConfigError("the engine needs equal strides and paddings in both directions")
    if layer.groups != 1 or layer.dilation != (1, 1) or layer.padding_mode != "zeros":
        raise ConfigError("the engine runs dense, undilated, zero-padded convolutions only")
    return {"kh": kh, "kw": kw, "stride": layer.stride[0], "pad": layer.padding[0]}


def _compute_steps(layer: nn.Module, kind: str) -> list:
    conv = isinstance(layer, nn.Conv2d)
    if kind == "float":
        w = layer.quantized_weight().values if hasattr(layer, "quantized_weight") else layer.weight
        w, b = _np(w), _np(layer.bias)
        if conv:
            a = _conv_args(layer)
            return [
                S.FloatConv(w.reshape(w.shape[0], -1), b, a["kh"], a["kw"], a["stride"], a["pad"])
            ]
        return [S.FloatLinear(np.ascontiguousarray(w.T), b)]
    qw = layer.quantized_weight()
    codes = qw.codes.detach().cpu().numpy().astype(np.int8)
    if kind == "int8":
        aq = layer.act_quantizer
        pre = S.QuantizeInt8(np.float32(aq.scale.item()), bool(aq.signed))
        return [pre, _int_gemm(layer, codes, conv)]
    if kind == "fixed":
        aq = layer.act_quantizer
        return [S.QuantizeFixed(aq.bits, int(aq.frac)), _int_gemm(layer, codes, conv)]
    signs = codes.astype(np.float32)  # +-1
    if conv:
        a = _conv_args(layer)
        packed = pack_channels(np.ascontiguousarray(signs))
        if kind == "xnor":
            alpha = _np(qw.scale).reshape(-1)
            return [
                S.XnorConv(packed, alpha, _np(layer.bias), a["kh"], a["kw"], a["stride"], a["pad"])
            ]
        return [S.SignConv(packed, a["stride"], a["pad"])]
    if kind == "xnor":
        packed = pack_signs(np.ascontiguousarray(signs))
        return [S.XnorLinear(packed.words, packed.k, _np(qw.scale).reshape(-1), _np(layer.bias))]
    return [S.SignLinear(signs)]


def _int_gemm(layer: nn.Module, codes: np.ndarray, conv: bool):
    w = np.ascontiguousarray(codes.reshape(codes.shape[0], -1))
    if conv:
        a = _conv_args(layer)
        return S.IntConv(w, a["kh"], a["kw"], a["stride"], a["pad"])
    return S.IntLinear(w)


def _output_scale(layer: nn.Module, kind: str) -> np.ndarray:
    """Per-channel factor turning the integer GEMM output into the layer's float output."""
    qw = layer.quantized_weight()
    out = layer.out_features if isinstance(layer, nn.Linear) else layer.out_channels
    w_scale = np.broadcast_to(_np(qw.scale).reshape(-1), (out,)).astype(np.float64)
    if kind == "int8":
        return w_scale * float(layer.act_quantizer.scale.item())
    if kind == "fixed":
        return w_scale * 2.0 ** -int(layer.act_quantizer.frac)
    return w_scale


def _after_integer_gemm(ops, i, layer, kind, method, plan_steps) -> tuple[int, str]:
    """Threshold straight into the next binary layer's signs when only per-channel monotone
    steps lie between; otherwise dequantize to float. Returns (next op index, state)."""
    scale = _output_scale(layer, kind)
    bias = np.zeros_like(scale) if layer.bias is None else _np(layer.bias).astype(np.float64)
    j = i + 1
    chain = []
    while j < len(ops) and isinstance(
        ops[j], (nn.BatchNorm1d, nn.BatchNorm2d, nn.Hardtanh, nn.ReLU, nn.MaxPool2d, nn.Flatten)
    ):
        chain.append(ops[j])
        j += 1
    feeds_sign = j < len(ops) and isinstance(ops[j], _COMPUTE) and _kind(ops[j], method) == "sign"
    if not feeds_sign or not all(_sign_preserving(op) for op in chain):
        plan_steps.append(S.Dequantize(scale.astype(np.float32), _np(layer.bias)))
        return i + 1, "float"
    slope, offset = scale, bias
    for op in chain:
        if isinstance(op, (nn.BatchNorm1d, nn.BatchNorm2d)):
            a, b = _bn_affine(op)
            slope, offset = slope * a, offset * a + b
        elif isinstance(op, nn.ReLU):  # relu(y) >= 0: every sign is +1
            slope, offset = np.zeros_like(slope), np.zeros_like(offset)
    t, flip = fold_threshold(slope, offset)
    plan_steps.append(S.Threshold(t, flip))
    for op in chain:  # sign commutes with max pooling (it is monotone); flatten is layout
        if isinstance(op, nn.MaxPool2d):
            plan_steps.append(S.MaxPool(_pool_k(op)))
        elif isinstance(op, nn.Flatten):
            plan_steps.append(S.Flatten())
    return j, "signs"


def _sign_preserving(op: nn.Module) -> bool:
    if isinstance(op, nn.Hardtanh):
        return op.min_val < 0 < op.max_val
    if isinstance(op, nn.MaxPool2d):
        return _pool_ok(op)
    return True


def _pool_k(op: nn.MaxPool2d) -> int:
    k = op.kernel_size if isinstance(op.kernel_size, int) else op.kernel_size[0]
    return int(k)


def _pool_ok(op: nn.MaxPool2d) -> bool:
    k, s = op.kernel_size, op.stride
    k = k if isinstance(k, int) else k[0]
    s = s if isinstance(s, int) else s[0]
    return k == s and op.padding in (0, (0, 0)) and not op.ceil_mode


def _bn_affine(bn: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        b = bn.bias - bn.running_mean * a
    return a.numpy().astype(np.float64), b.numpy().astype(np.float64)


def _float_step(op: nn.Module):
    if isinstance(op, (nn.BatchNorm1d, nn.BatchNorm2d)):
        with torch.no_grad():
            a = (op.weight / torch.sqrt(op.running_var + op.eps)).numpy().astype(np.float32)
            b = (op.bias - op.running_mean * torch.from_numpy(a)).numpy().astype(np.float32)
        return S.BatchNorm(a, b)
    if isinstance(op, nn.ReLU):
        return S.ReLU()
    if isinstance(op, nn.Hardtanh):
        return S.Hardtanh(float(op.min_val), float(op.max_val))
    if isinstance(op, nn.MaxPool2d):
        if not _pool_ok(op):
            raise ConfigError("the engine runs k x k max pooling with stride k and no padding")
        return S.MaxPool(_pool_k(op))
    if isinstance(op, nn.Flatten):
        return S.Flatten()
    raise ConfigError(f"cannot deploy {type(op).__name__}")  # pragma: no cover - _atoms filters


def _weight_bytes(plan_steps: list) -> int:
    total = 0
    for s in plan_steps:
        for name in ("weight", "weight_t", "bias", "alpha"):
            v = getattr(s, name, None)
            if isinstance(v, np.ndarray):
                total += v.nbytes
            elif isinstance(v, S.PackedConv):
                total += v.words.nbytes
    return total
