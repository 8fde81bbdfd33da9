"""int8 GEMM: every path is exact in int32 for the full int8 range, signed or not."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.kernels.conftest import AWKWARD_K, SIZES, core, native, paths

from hwnn.kernels import int8_matmul, int8_matmul_reference


def _expected(a, b):
    return (a.astype(np.int64) @ b.astype(np.int64).T).astype(np.int32)


@native
@pytest.mark.parametrize("k", AWKWARD_K)
@pytest.mark.parametrize("path", paths("int8") or ["auto"])
@pytest.mark.parametrize(
    "low, high, dtype",  # signed, the post-ReLU fast path, and unsigned [0, 255] activations
    [(-128, 128, np.int8), (0, 128, np.int8), (0, 256, np.uint8)],
)
def test_every_path_is_exact_on_awkward_grid(k, path, low, high, dtype):
    rng = np.random.default_rng(k - low + high)
    for m in SIZES:
        for n in SIZES:
            a = rng.integers(low, high, size=(m, k), dtype=dtype)
            b = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
            got = int8_matmul(a, b, path=path)
            assert got.dtype == np.int32 and got.shape == (m, n)
            np.testing.assert_array_equal(got, _expected(a, b), err_msg=f"{path} {m}x{n}x{k}")
            if path == "scalar":
                ref = core.u8s8_gemm_reference if dtype == np.uint8 else core.int8_gemm_reference
                np.testing.assert_array_equal(ref(a, b), got)
                np.testing.assert_array_equal(int8_matmul_reference(a, b), got)


@native
@pytest.mark.parametrize("path", paths("int8") or ["auto"])
def test_extremes_do_not_saturate(path):
    # -128 * -128 pairs overflow int16 in a naive VPMADDUBSW kernel.
    for av, bv, dt in [
        (-128, -128, np.int8),
        (127, -128, np.int8),
        (-128, 127, np.int8),
        (127, 127, np.int8),
        (255, -128, np.uint8),
        (255, 127, np.uint8),
    ]:
        a = np.full((3, 300), av, dtype=dt)
        b = np.full((5, 300), bv, dtype=np.int8)
        np.testing.assert_array_equal(int8_matmul(a, b, path=path), _expected(a, b))


@native
@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 40), n=st.integers(1, 40), k=st.integers(1, 600), seed=st.integers(0, 2**31)
)
def test_random_shapes_match_reference(m, n, k, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, size=(m, k), dtype=np.int8)
    b = rng.integers(-128, 128, size=(n, k), dtype=np.int8)
    np.testing.assert_array_equal(int8_matmul(a, b), _expected(a, b))


@pytest.mark.parametrize(
    "a, b, match",
    [
        (np.ones((2, 3), np.int16), np.ones((2, 3), np.int8), "dtype int8"),
        (np.ones((2, 3), np.int8), np.ones((2, 4), np.int8), "same K"),
        (np.ones((2, 6), np.int8)[:, ::2], np.ones((2, 3), np.int8), "C-contiguous"),
        (np.ones(3, np.int8), np.ones((2, 3), np.int8), "2 dimensions"),
        ([[1, 2]], np.ones((2, 2), np.int8), "NumPy array"),
        (np.ones((2, 0), np.int8), np.ones((2, 0), np.int8), "K = 0"),
    ],
)
def test_bad_arguments_raise_value_error(a, b, match):
    with pytest.raises(ValueError, match=match):
        int8_matmul(a, b)
