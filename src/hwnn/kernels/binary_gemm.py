"""Binary matrix multiply on sign-packed rows: the deck's XNOR-popcount kernel (Fig. 5).

For a [M, K] and b [N, K] with entries in {-1, +1}, packed by ``pack_signs``,

    C[i, j] = sum_k a[i, k] b[j, k] = K - 2 popcount(a_i XOR b_j)        (int32 [M, N])

(Courbariaux et al. 2016, "Binarized Neural Networks"; Rastegari et al. 2016, "XNOR-Net").
The native kernel tiles registers (4 x 4 pairs with AVX-512 VPOPCNTDQ, 2 x 4 with AVX2 mixing
vector lookup and scalar POPCNT, 2 x 2 scalar POPCNT), blocks columns for L2 and splits
tiles over OpenMP threads (``set_threads``).
"""

from __future__ import annotations

import numpy as np

from hwnn.kernels import backend, checks
from hwnn.kernels.bitpack import Packed


def _operands(a: Packed, b: Packed) -> tuple[np.ndarray, np.ndarray, int]:
    fast = checks.packed_pair(a, b)
    if fast is not None:
        return fast
    aw = checks.packed_words(a, "a")
    bw = checks.packed_words(b, "b")
    checks.same_k(a.k, b.k)
    return aw, bw, int(a.k)


def binary_matmul_reference(a: Packed, b: Packed) -> np.ndarray:
    """NumPy twin of ``binary_matmul``: broadcast XOR and ``np.bitwise_count``."""
    aw, bw, k = _operands(a, b)
    out = np.empty((aw.shape[0], bw.shape[0]), dtype=np.int32)
    step = max(1, (1 << 22) // max(1, bw.size))  # bound the [rows, N, words] temporary
    for i in range(0, aw.shape[0], step):
        x = np.bitwise_xor(aw[i : i + step, None, :], bw[None, :, :])
        out[i : i + step] = k - 2 * np.bitwise_count(x).sum(axis=2, dtype=np.int64)
    return out


def binary_matmul(a: Packed, b: Packed, *, path: str = "auto") -> np.ndarray:
    """sign(a) @ sign(b).T as int32 [M, N] from two Packed operands of equal K.

    ``path`` forces an instruction-set path ("scalar", "popcnt", "avx2", "avx512"); the
    default picks the fastest this CPU has.
    """
    if not backend.use_native():
        return binary_matmul_reference(a, b)
    aw, bw, k = _operands(a, b)
    return backend.native_module().binary_gemm(aw, bw, k, path)
