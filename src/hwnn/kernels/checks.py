"""Argument checks shared by the kernel wrappers: a clear ValueError, never a crash.

The native core would reject most of these too, but with a terse nanobind TypeError; the
wrappers check first so the message names the argument, what was wrong and the fix.
"""

from __future__ import annotations

import numpy as np

from hwnn.kernels.bitpack import Packed


def matrix(x: object, name: str, dtype: np.dtype | type, *, cols: int | None = None) -> np.ndarray:
    """x as a C-contiguous 2-D array of exactly ``dtype``; raises ValueError otherwise."""
    if not isinstance(x, np.ndarray):
        raise ValueError(f"{name} must be a NumPy array, got {type(x).__name__}")
    return tensor(x, name, dtype, ndim=2, cols=cols)


def tensor(
    x: np.ndarray, name: str, dtype: np.dtype | type, *, ndim: int, cols: int | None = None
) -> np.ndarray:
    # Fast path first: these wrappers sit on batch-1 latency (microseconds matter there).
    if (
        x.ndim == ndim
        and x.dtype == dtype
        and x.flags.c_contiguous
        and (cols is None or x.shape[-1] == cols)
    ):
        return x
    dtype = np.dtype(dtype)
    if x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {x.shape}")
    if x.dtype != dtype:
        raise ValueError(f"{name} must have dtype {dtype}, got {x.dtype}: convert it with .astype")
    if not x.flags.c_contiguous:
        raise ValueError(
            f"{name} is not C-contiguous (a slice or transpose?): pass np.ascontiguousarray({name})"
        )
    if cols is not None and x.shape[-1] != cols:
        raise ValueError(f"{name} must have {cols} columns, got shape {x.shape}")
    return x


def words_for(k: int) -> int:
    return (k + 63) // 64


def packed_pair(a: object, b: object) -> tuple[np.ndarray, np.ndarray, int] | None:
    """Both operands' words and K when they are well-formed Packed of one K, else None.

    One pass of cheap tests: on a cold batch-1 call (caches evicted by the previous layer)
    the full checks below cost ~10 us, as much as the product itself.
    """
    if type(a) is not Packed or type(b) is not Packed or type(a.k) is not int:
        return None
    if type(b.k) is not int or a.k != b.k:
        return None
    aw, bw = a.words, b.words
    if (
        type(aw) is np.ndarray
        and type(bw) is np.ndarray
        and aw.ndim == 2
        and bw.ndim == 2
        and aw.dtype == _U64
        and bw.dtype == _U64
        and aw.shape[1] == bw.shape[1] == words_for(a.k)
        and a.k > 0
        and aw.flags.c_contiguous
        and bw.flags.c_contiguous
    ):
        return aw, bw, a.k
    return None


_U64 = np.dtype(np.uint64)


def packed_words(p: object, name: str) -> np.ndarray:
    """The words of a Packed operand, checked against its K."""
    if not isinstance(p, Packed):
        raise ValueError(f"{name} must be a Packed (from pack_signs), got {type(p).__name__}")
    if not isinstance(p.k, (int, np.integer)) or p.k < 1:
        raise ValueError(f"{name}.k must be a positive integer, got {p.k!r}")
    return matrix(p.words, f"{name}.words", np.uint64, cols=words_for(int(p.k)))


def same_k(a_k: int, b_k: int) -> None:
    if a_k != b_k:
        raise ValueError(
            f"operands have different K ({a_k} and {b_k}): both must pack rows of the same length"
        )
