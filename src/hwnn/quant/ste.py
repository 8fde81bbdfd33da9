"""Surrogate gradients: the backward rules that let quantized networks train.

Every quantizer's forward rule is piecewise constant, so its true gradient is zero almost
everywhere. Each paper replaces it with a surrogate; these are the three in the table:

- straight-through estimator (STE, Bengio et al. 2013; Hinton's lectures 2012):
  forward q(x), backward dL/dx = dL/dq. Used by BinaryConnect, TWN, Ristretto fine-tuning,
  LogNet and every rounding step here.
- STE with cancellation (Courbariaux/Hubara et al., "Binarized Neural Networks", 2016, eq. 4;
  XNOR-Net, Rastegari et al. 2016): dL/dx = dL/dq * 1[|x| <= 1], the gradient of hardtanh.
- scaled STE of TTQ (Zhu et al. 2017, eq. 8), built in ``ternary.py`` from these parts.

``sign`` here maps 0 to +1 (as Courbariaux et al. do), so a binarized tensor has exactly
two values; that matches the bit-packing contract in DESIGN.md (a set bit means -1).
"""

from __future__ import annotations

import torch


def hard_sign(x: torch.Tensor) -> torch.Tensor:
    """sign(x) with sign(0) = +1; no gradient (a plain forward rule)."""
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, cancel: bool) -> torch.Tensor:  # noqa: D401
        ctx.save_for_backward(x)
        ctx.cancel = cancel
        return hard_sign(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (x,) = ctx.saved_tensors
        if ctx.cancel:
            grad = grad * (x.abs() <= 1).to(grad.dtype)
        return grad, None


def sign_ste(x: torch.Tensor, cancel: bool = True) -> torch.Tensor:
    """Forward sign(x); backward dL/dx = dL/dq * 1[|x| <= 1] (``cancel``) or dL/dq."""
    return _SignSTE.apply(x, cancel)


class _StraightThrough(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        return q.detach().clone()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return grad, None


def straight_through(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Exactly ``q`` in the forward pass, the identity's gradient to ``x`` in the backward.

    (The common ``x + (q - x).detach()`` is off by rounding, which breaks "exactly k
    values" invariants and bit-exact deployment.)
    """
    return _StraightThrough.apply(x, q)


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """Round to nearest (half to even, as torch.round) with a straight-through gradient."""
    return straight_through(x, torch.round(x))
