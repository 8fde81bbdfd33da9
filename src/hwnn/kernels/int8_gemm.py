"""int8 matrix multiply with exact int32 accumulation (integer-only inference).

For a int8 or uint8 [M, K] (signed activations, or unsigned ones such as post-ReLU inputs
quantized to [0, 255]) and b int8 [N, K], ``int8_matmul(a, b)[i, j] = sum_k a[i, k] b[j, k]``
exactly in int32 (Jacob et al. 2018, "Quantization and Training of Neural Networks for
Efficient Integer-Arithmetic-Only Inference"). The native kernel uses AVX-512 VNNI
(VPDPBUSD, 64 multiply-adds per instruction) or AVX2 VPMADDUBSW/VPMADDWD; both are exact for
every int8 value and fastest when a >= 0 (post-ReLU activations need no offset).
"""

from __future__ import annotations

import numpy as np

from hwnn.kernels import backend, checks


def _operands(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    unsigned = isinstance(a, np.ndarray) and a.dtype == np.uint8
    a = checks.matrix(a, "a", np.uint8 if unsigned else np.int8)
    b = checks.matrix(b, "b", np.int8)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"a is {a.shape} and b is {b.shape}: both must be [rows, K] with the same K"
        )
    if a.shape[1] == 0:
        raise ValueError("K = 0: there is nothing to multiply")
    return a, b


def int8_matmul_reference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """NumPy twin: widen to int32 and multiply."""
    a, b = _operands(a, b)
    return (a.astype(np.int32) @ b.astype(np.int32).T).astype(np.int32)


def int8_matmul(a: np.ndarray, b: np.ndarray, *, path: str = "auto") -> np.ndarray:
    """a @ b.T for int8 or uint8 a [M, K] and int8 b [N, K], as exact int32 [M, N]."""
    if not backend.use_native():
        return int8_matmul_reference(a, b)
    a, b = _operands(a, b)
    core = backend.native_module()
    return core.u8s8_gemm(a, b, path) if a.dtype == np.uint8 else core.int8_gemm(a, b, path)
