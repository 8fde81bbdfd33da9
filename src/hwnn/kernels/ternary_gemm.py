"""Ternary matrix multiply on two bit-planes per operand.

A ternary row (values in {-1, 0, +1}; TWN, Li et al. 2016; TTQ, Zhu et al. 2017) packs into
two planes with the DESIGN.md bit order: ``nonzero`` (bit set: value is not 0) and
``negative`` (bit set: value is -1). For two rows,

    dot(a, b) = popcount(m) - 2 popcount(m AND (neg_a XOR neg_b)),   m = nz_a AND nz_b,

because positions where both are nonzero contribute +1 when the signs agree and -1 when
they differ, and every other position contributes 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwnn.kernels import backend, checks
from hwnn.kernels.bitpack import pack_signs_reference


@dataclass(frozen=True)
class PackedTernary:
    """Two uint64 [rows, ceil(k / 64)] planes and the true row length k."""

    nonzero: np.ndarray
    negative: np.ndarray
    k: int

    @property
    def rows(self) -> int:
        return int(self.nonzero.shape[0])


def pack_ternary(x: np.ndarray) -> PackedTernary:
    """Packs a [rows, K] array of values in {-1, 0, +1} (any real dtype) into two planes."""
    arr = np.asarray(x)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"x must be a [rows, K] matrix with K >= 1, got shape {arr.shape}")
    if not np.isin(arr, (-1, 0, 1)).all():
        raise ValueError("x must hold only -1, 0 and +1: quantize it to ternary first")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    # The sign packer sets a bit for x < 0; feed it -|x| for "nonzero" and x for "negative".
    nonzero = pack_signs_reference(-np.abs(arr)).words
    negative = pack_signs_reference(arr).words
    return PackedTernary(nonzero, negative, int(arr.shape[1]))


def _planes(p: object, name: str) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(p, PackedTernary):
        raise ValueError(
            f"{name} must be a PackedTernary (from pack_ternary), got {type(p).__name__}"
        )
    if not isinstance(p.k, (int, np.integer)) or p.k < 1:
        raise ValueError(f"{name}.k must be a positive integer, got {p.k!r}")
    words = checks.words_for(int(p.k))
    nz = checks.matrix(p.nonzero, f"{name}.nonzero", np.uint64, cols=words)
    ng = checks.matrix(p.negative, f"{name}.negative", np.uint64, cols=words)
    if nz.shape != ng.shape:
        raise ValueError(f"{name}'s planes differ in shape: {nz.shape} and {ng.shape}")
    return nz, ng


def ternary_matmul_reference(a: PackedTernary, b: PackedTernary) -> np.ndarray:
    """NumPy twin of ``ternary_matmul``."""
    anz, ang = _planes(a, "a")
    bnz, bng = _planes(b, "b")
    checks.same_k(a.k, b.k)
    m = np.bitwise_and(anz[:, None, :], bnz[None, :, :])
    d = np.bitwise_and(m, np.bitwise_xor(ang[:, None, :], bng[None, :, :]))
    pos = np.bitwise_count(m).sum(axis=2, dtype=np.int64)
    neg = np.bitwise_count(d).sum(axis=2, dtype=np.int64)
    return (pos - 2 * neg).astype(np.int32)


def ternary_matmul(a: PackedTernary, b: PackedTernary, *, path: str = "auto") -> np.ndarray:
    """a @ b.T for ternary operands, as int32 [M, N]."""
    if not backend.use_native():
        return ternary_matmul_reference(a, b)
    anz, ang = _planes(a, "a")
    bnz, bng = _planes(b, "b")
    checks.same_k(a.k, b.k)
    return backend.native_module().ternary_gemm(anz, ang, bnz, bng, int(a.k), path)
