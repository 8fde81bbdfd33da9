"""``quantize(model, method, data)``: the model transform that applies one method.

Steps, on a deep copy (the input model is never changed):

1. Find the compute layers (``nn.Linear``, ``nn.Conv2d``) in registration order, which is
   forward order for sequential models such as ``hwnn.models.MLP`` and ``LeNet5``.
2. Batch norm, where the method's paper has it (BinaryConnect, BNN, XNOR-Net) and the model
   lacks it: a BatchNorm after each compute layer, initialised to the identity on
   calibration data (running mean/var = the layer's output statistics, gamma = sqrt(var +
   eps), beta = mean), so fine-tuning starts from the fp32 function.
3. Binary activations: a ReLU whose next compute layer binarizes its input becomes a
   hardtanh (sign(ReLU(x)) would be +1 everywhere); BNN's and XNOR-Net's activation.
4. Each compute layer becomes a ``QuantLinear`` / ``QuantConv2d`` with the method's
   quantizers; with ``first_last_fp32`` (the deck's asterisk, default per method) the first
   and last stay fp32 (wrapped with fp32 quantizers so every layer reports its formats).
   A 2-layer model keeps none fp32 by default (every layer is first or last there).
5. Calibration: range-based activation quantizers observe up to ``calibration`` training
   samples, then freeze their ranges.
6. Fine-tuning (``hwnn.train.fit``, Adam, the last third of the epochs at a tenth of the
   learning rate) for the method's epochs, with shadow weights clipped
   after each step where the paper does (BinaryConnect, BNN). Stochastic BinaryConnect
   then re-estimates batch-norm statistics with its deterministic inference weights.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from hwnn.config import TrainConfig
from hwnn.data import Dataset
from hwnn.errors import ConfigError
from hwnn.quant.base import FloatAct, FloatWeight, RangeObserver
from hwnn.quant.binary import SignAct
from hwnn.quant.layers import quant_layers, wrap
from hwnn.quant.registry import Method, get
from hwnn.train import Progress, fit

CALIBRATION_SAMPLES = 1024


def quantize(
    model: nn.Module,
    method: str | Method,
    data: Dataset | None = None,
    *,
    first_last_fp32: bool | None = None,
    epochs: int | None = None,
    lr: float | None = None,
    batch_size: int = 64,
    seed: int = 0,
    calibration: int = CALIBRATION_SAMPLES,
    progress: Progress | None = None,
) -> nn.Module:
    """A new model: ``model`` with ``method`` applied (and fine-tuned as its paper does).

    ``epochs``/``lr`` override the method's fine-tuning schedule (``epochs=0``: post-training
    only). ``data`` is needed for calibration, batch norm and fine-tuning; methods that need
    none of those (fp16, bf16, or ``epochs=0`` weight-only methods) accept ``data=None``.
    The returned model is in eval mode and has ``quant_method`` set to the method's name.
    """
    m = get(method)
    epochs = m.finetune_epochs if epochs is None else epochs
    if epochs < 0:
        raise ConfigError(f"epochs must be >= 0, got {epochs}")
    torch.manual_seed(seed)
    q = copy.deepcopy(model).cpu().eval()
    layers = compute_layers(q)
    if not layers:
        raise ConfigError("the model has no Linear or Conv2d layer to quantize")
    if quant_layers(q):
        raise ConfigError(
            f"the model is already quantized ({getattr(q, 'quant_method', 'unknown method')}):"
            " quantize its fp32 original instead"
        )
    _check_fits(q, data)
    keep_fp32 = default_first_last_fp32(m, len(layers), first_last_fp32)
    calib = _calibration_batch(data, calibration)
    if m.batch_norm != "none":
        _need(data, m, "batch norm statistics")
        _insert_batch_norm(q, layers, calib, include_last=m.batch_norm == "all")
    _replace_layers(q, m, layers, keep_fp32)
    if m.binary_act:
        _hardtanh_before_binary(q)
    _calibrate(q, m, calib)
    if epochs > 0:
        _need(data, m, "fine-tuning")
        _finetune(q, m, data, epochs, lr or m.lr, batch_size, seed, progress)
        if _stochastic(q):
            _reestimate_batch_norm(q, data, batch_size=256)
    q.eval()
    q.quant_method = m.name
    return q


def default_first_last_fp32(m: Method, n_layers: int, option: bool | None = None) -> bool:
    """The deck's asterisk, unless it would leave no layer quantized (a 2-layer MLP)."""
    if option is not None:
        return option
    return m.first_last_fp32 and n_layers > 2


def compute_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(n, x) for n, x in model.named_modules() if isinstance(x, (nn.Linear, nn.Conv2d))]


def _need(data: Dataset | None, m: Method, what: str) -> None:
    if data is None:
        raise ConfigError(
            f"method {m.name!r} needs training data for {what}: pass data=hwnn.data.load(...)"
            " (or epochs=0 for a post-training weight-only method)"
        )


@torch.no_grad()
def _check_fits(model: nn.Module, data: Dataset | None) -> None:
    if data is None or len(data.x_train) == 0:
        return
    try:
        model(torch.from_numpy(np.ascontiguousarray(data.x_train[:2])))
    except RuntimeError as err:
        raise ConfigError(
            f"the model does not accept {data.name} inputs of shape {data.input_shape} "
            f"({str(err)[:120]}): quantize a model built for this data set"
        ) from None


def _calibration_batch(data: Dataset | None, n: int) -> torch.Tensor | None:
    if data is None:
        return None
    return torch.from_numpy(np.ascontiguousarray(data.x_train[:n]))


def _set(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, child, module)


def _followed_by_bn(model: nn.Module, name: str) -> bool:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    if not isinstance(parent, nn.Sequential):
        return False
    keys = list(parent._modules)
    i = keys.index(child)
    return i + 1 < len(keys) and isinstance(
        parent._modules[keys[i + 1]], (nn.BatchNorm1d, nn.BatchNorm2d)
    )


@torch.no_grad()
def _insert_batch_norm(model, layers, calib: torch.Tensor, include_last: bool) -> None:
    targets = layers if include_last else layers[:-1]
    targets = [(n, x) for n, x in targets if not _followed_by_bn(model, n)]
    outputs: dict[str, torch.Tensor] = {}
    hooks = [
        x.register_forward_hook(lambda mod, i, o, n=n: outputs.__setitem__(n, o))
        for n, x in targets
    ]
    model(calib)
    for h in hooks:
        h.remove()
    for name, layer in targets:
        out = outputs[name]
        dims = [0] if out.dim() == 2 else [0, 2, 3]
        bn_cls = nn.BatchNorm1d if out.dim() == 2 else nn.BatchNorm2d
        bn = bn_cls(out.shape[1])
        mean, var = out.mean(dim=dims), out.var(dim=dims, unbiased=False)
        bn.running_mean.copy_(mean)
        bn.running_var.copy_(var)
        bn.weight.copy_(torch.sqrt(var + bn.eps))
        bn.bias.copy_(mean)
        _set(model, name, nn.Sequential(layer, bn))


def _replace_layers(model: nn.Module, m: Method, layers, keep_fp32: bool) -> None:
    # names may have moved under an inserted Sequential; find the layers again by identity
    where = {id(x): n for n, x in compute_layers(model)}
    last = len(layers) - 1
    for i, (_, layer) in enumerate(layers):
        if keep_fp32 and i in (0, last):
            wq, aq = FloatWeight(), FloatAct()
        else:
            wq = m.make_weight(layer.weight, m.bits_for(layer))
            aq = m.make_act(i == 0)
            if m.name == "weight_sharing":
                # weight sharing trains centroids; indices from the shadow weights stay fixed
                layer.weight.requires_grad_(False)
            if m.clip is not None and m.batch_norm == "all":
                _rescale_to_clip(layer, m.clip)
        _set(model, where[id(layer)], wrap(layer, wq, aq))


@torch.no_grad()
def _rescale_to_clip(layer: nn.Module, bound: float) -> None:
    """Shadow weights scaled to span [-bound, bound]: BinaryConnect and BNN train them in
    that range from scratch, and stochastic binarization's hard-sigmoid probability needs
    it. A positive scale leaves sign(W) unchanged and batch norm follows, so the quantized
    network's function is unchanged."""
    top = float(layer.weight.abs().max())
    if top > 0:
        layer.weight.mul_(bound / top)


def _hardtanh_before_binary(model: nn.Module) -> None:
    order = list(model.named_modules())
    for i, (name, mod) in enumerate(order):
        if not isinstance(mod, nn.ReLU):
            continue
        nxt = next((x for _, x in order[i + 1 :] if hasattr(x, "act_quantizer")), None)
        if nxt is not None and isinstance(nxt.act_quantizer, SignAct):
            _set(model, name, nn.Hardtanh())


@torch.no_grad()
def _calibrate(model: nn.Module, m: Method, calib: torch.Tensor | None) -> None:
    observers = [x.act_quantizer for _, x in quant_layers(model)]
    observers = [a for a in observers if isinstance(a, RangeObserver)]
    if not observers:
        return
    if calib is None:
        raise ConfigError(
            f"method {m.name!r} calibrates activation ranges: pass data=hwnn.data.load(...)"
        )
    for a in observers:
        a.calibrating = True
    model.eval()
    model(calib)
    for a in observers:
        a.calibrating = False
        a.finish_calibration()


def _finetune(q, m: Method, data, epochs, lr, batch_size, seed, progress) -> None:
    """Adam at ``lr``, then the last third of the epochs at lr/10 (a step decay, as the
    binary papers anneal their learning rates); each phase reshuffles with its own seed."""
    late = epochs // 3
    phases = [(epochs - late, lr), (late, lr / 10)]
    done = 0
    for i, (n, rate) in enumerate(p for p in phases if p[0] > 0):
        config = TrainConfig(epochs=n, lr=rate, batch_size=batch_size, seed=seed + i)
        report = None
        if progress is not None:
            report = lambda e, _n, loss, d=done: progress(d + e, epochs, loss)  # noqa: E731
        fit(q, data, config, progress=report, step_hook=_clipper(m))
        done += n


def _stochastic(model: nn.Module) -> bool:
    return any(getattr(x.weight_quantizer, "stochastic", False) for _, x in quant_layers(model))


@torch.no_grad()
def _reestimate_batch_norm(model: nn.Module, data: Dataset, batch_size: int) -> None:
    """Batch norm statistics recomputed for the deterministic inference weights.

    Stochastic BinaryConnect trains with sampled weights, so the running statistics
    describe noisier pre-activations than the deterministic sign(W) used at inference; one
    pass over the training data with inference weights (cumulative average) fixes them.
    """
    bns = [x for x in model.modules() if isinstance(x, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    model.train()
    for _, layer in quant_layers(model):
        layer.weight_quantizer.eval()
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    x = torch.from_numpy(data.x_train)
    for start in range(0, len(x), batch_size):
        model(x[start : start + batch_size])
    for bn in bns:
        bn.momentum = 0.1
    model.eval()


def _clipper(m: Method) -> Callable[[nn.Module], None] | None:
    if m.clip is None:
        return None
    bound = m.clip

    def clip(model: nn.Module) -> None:
        with torch.no_grad():
            for _, layer in quant_layers(model):
                if not isinstance(layer.weight_quantizer, FloatWeight):
                    layer.weight.clamp_(-bound, bound)

    return clip
