"""Sign bit packing and the binary dot product, with a pure-NumPy twin of the C++ core.

Bit order (DESIGN.md): element i of a row goes to bit (i mod 64) of 64-bit word
(i div 64); a set bit means -1, i.e. x < 0 (so sign(0) = +1); padding bits are 0. For two
packed rows of true length K, with a_i, b_i in {-1, +1},

    sum_i a_i b_i = K - 2 * popcount(a XOR b),

because each differing position contributes -1 instead of +1 (Courbariaux et al. 2016,
"Binarized Neural Networks"; Rastegari et al. 2016, "XNOR-Net").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hwnn.kernels import backend


@dataclass(frozen=True)
class Packed:
    """Sign-packed rows: ``words`` is uint64 [rows, ceil(k / 64)], ``k`` the true length."""

    words: np.ndarray
    k: int

    @property
    def rows(self) -> int:
        return int(self.words.shape[0])


def _as_matrix(x: object, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a [rows, K] matrix, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has K = 0 columns: there is nothing to pack")
    return np.ascontiguousarray(arr, dtype=np.float32)


def pack_signs_reference(x: np.ndarray) -> Packed:
    """NumPy twin of the native packer (see module docstring for the bit order)."""
    arr = _as_matrix(x, "x")
    rows, k = arr.shape
    words = (k + 63) // 64
    bits = np.zeros((rows, words * 64), dtype=np.uint8)
    bits[:, :k] = arr < 0
    # little bit order puts element i at bit (i mod 8) of byte (i div 8); on a
    # little-endian view eight such bytes are exactly the contract's 64-bit word.
    packed = np.packbits(bits, axis=1, bitorder="little")
    return Packed(packed.view("<u8").astype(np.uint64).reshape(rows, words), k)


def pack_signs(x: np.ndarray) -> Packed:
    """Packs the signs of x ([rows, K] or [K]) into 64-bit words."""
    if not backend.use_native():
        return pack_signs_reference(x)
    arr = _as_matrix(x, "x")
    return Packed(backend.native_module().pack_signs(arr), arr.shape[1])


def _check_pair(a: Packed, b: Packed) -> None:
    for name, p in (("a", a), ("b", b)):
        if not isinstance(p, Packed):
            raise ValueError(f"{name} must be a Packed (from pack_signs), got {type(p).__name__}")
    if a.k != b.k:
        raise ValueError(f"operands have different K ({a.k} and {b.k}): pack rows of equal length")
    if a.rows != b.rows:
        raise ValueError(
            f"operands have {a.rows} and {b.rows} rows: binary_dot pairs rows one to one"
        )


def binary_dot_reference(a: Packed, b: Packed) -> np.ndarray:
    """NumPy twin: int64 [rows], dot of row i of a with row i of b."""
    _check_pair(a, b)
    differing = np.bitwise_count(np.bitwise_xor(a.words, b.words)).sum(axis=1, dtype=np.int64)
    return a.k - 2 * differing


def binary_dot(a: Packed, b: Packed) -> np.ndarray:
    """Row-wise binary dot products, int64 [rows], as K - 2 popcount(a XOR b)."""
    if not backend.use_native():
        return binary_dot_reference(a, b)
    _check_pair(a, b)
    core = backend.native_module()
    return core.binary_dot(
        np.ascontiguousarray(a.words, np.uint64), np.ascontiguousarray(b.words, np.uint64), a.k
    )
