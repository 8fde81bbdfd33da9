"""Lowering a torch model to a Workload: one Layer per Linear / Conv2d, in execution order.

Shapes come from one forward pass on zeros of ``(batch, *input_shape)`` with hooks on every
``nn.Linear`` and ``nn.Conv2d`` (quantized twins subclass them, so they are found too).

* ``nn.Linear`` on an input of shape (..., K): GEMM with M = batch x leading dims, K, N.
* ``nn.Conv2d`` with ``groups == 1``: ``conv2d`` (im2col: M = out pixels x batch,
  K = kernel_h x kernel_w x in_channels, N = out_channels), padding and stride kept.
* ``nn.Conv2d`` with ``groups == in_channels == out_channels``: ``depthwise``.

Operand formats come from the module's ``weight_format`` / ``act_format`` attributes when
it has them (hwnn.quant layers do), else ``hwnn.formats.FP32``. Anything else that cannot
be expressed (dilation, other group counts, asymmetric 'same' padding) raises ConfigError
naming the module.
"""

from __future__ import annotations

import torch
from torch import nn

from hwnn.errors import ConfigError
from hwnn.formats import FP32, Format
from hwnn.hw.workload import Layer, Workload


def _formats(mod: nn.Module) -> dict[str, Format]:
    out = {}
    for attr in ("weight_format", "act_format"):
        f = getattr(mod, attr, None)
        out[attr] = f if isinstance(f, Format) else FP32
    return out


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _conv_padding(name: str, mod: nn.Conv2d) -> tuple[int, int]:
    if isinstance(mod.padding, str):
        if mod.padding == "valid":
            return 0, 0
        kh, kw = _pair(mod.kernel_size)
        if (kh - 1) % 2 or (kw - 1) % 2:
            raise ConfigError(f"{name}: padding='same' with an even kernel pads asymmetrically; "
                              "give explicit padding")
        return (kh - 1) // 2, (kw - 1) // 2
    return _pair(mod.padding)


def _conv_layer(name: str, mod: nn.Conv2d, x: torch.Tensor) -> Layer:
    if _pair(mod.dilation) != (1, 1):
        raise ConfigError(f"{name}: dilated convolution (dilation={mod.dilation}) cannot be "
                          "lowered; use dilation 1")
    if mod.padding_mode != "zeros":
        raise ConfigError(f"{name}: padding_mode={mod.padding_mode!r} unsupported; use 'zeros'")
    cin, cout, g = mod.in_channels, mod.out_channels, mod.groups
    if g == 1:
        kind = "conv2d"
    elif g == cin == cout:
        kind = "depthwise"
    else:
        raise ConfigError(f"{name}: groups={g} with {cin}->{cout} channels; only groups=1 and "
                          "depthwise (groups = in = out channels) lower to the array")
    kh, kw = _pair(mod.kernel_size)
    sh, sw = _pair(mod.stride)
    ph, pw = _conv_padding(name, mod)
    b, _, h, w = x.shape
    return Layer(name, kind, in_h=h, in_w=w, in_c=cin, out_c=cout, kernel_h=kh, kernel_w=kw,
                 stride_h=sh, stride_w=sw, pad_h=ph, pad_w=pw, batch=b, **_formats(mod))


def _linear_layer(name: str, mod: nn.Linear, x: torch.Tensor) -> Layer:
    m = x.numel() // x.shape[-1]
    return Layer(name, "gemm", m=m, k=mod.in_features, n=mod.out_features, **_formats(mod))


def lower(model: nn.Module, input_shape: tuple[int, ...], batch: int = 1,
          name: str | None = None) -> Workload:
    """The Workload of ``model`` for inputs of ``input_shape`` (no batch dim) and ``batch``."""
    if batch <= 0:
        raise ConfigError(f"batch must be positive, got {batch}")
    layers: list[Layer] = []
    hooks = []

    def hook(mod_name: str):
        def fn(mod: nn.Module, args: tuple, _out) -> None:
            x = args[0]
            if isinstance(mod, nn.Conv2d):
                if x.dim() != 4:
                    raise ConfigError(
                        f"{mod_name}: Conv2d input must be NCHW, got {tuple(x.shape)}")
                layers.append(_conv_layer(mod_name, mod, x))
            else:
                layers.append(_linear_layer(mod_name, mod, x))
        return fn

    for mod_name, mod in model.named_modules():
        if isinstance(mod, (nn.Linear, nn.Conv2d)):
            hooks.append(mod.register_forward_hook(hook(mod_name or type(mod).__name__)))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros((batch, *input_shape)))
    except RuntimeError as e:
        raise ConfigError(f"the model does not accept inputs of shape {tuple(input_shape)}: "
                          f"{str(e).splitlines()[0]}") from None
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    if not layers:
        raise ConfigError("the model has no Linear or Conv2d layer to put on hardware")
    return Workload(name or type(model).__name__, tuple(layers))
