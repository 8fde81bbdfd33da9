"""Binary GEMM: every path equals the definition sum_k sign(a) sign(b) on awkward sizes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.kernels.conftest import AWKWARD_K, SIZES, core, native, paths

from hwnn.kernels import Packed, binary_matmul, binary_matmul_reference, pack_signs


def _signs(x):
    return np.where(x < 0, -1, 1).astype(np.int64)


def _expected(a, b):
    return (_signs(a) @ _signs(b).T).astype(np.int32)


@native
@pytest.mark.parametrize("k", AWKWARD_K)
@pytest.mark.parametrize("path", paths("binary") or ["auto"])
def test_every_path_equals_definition_on_awkward_grid(k, path):
    rng = np.random.default_rng(k)
    for m in SIZES:
        for n in SIZES:
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = rng.standard_normal((n, k)).astype(np.float32)
            a[:, ::5] = 0.0  # sign(0) = +1
            pa, pb = pack_signs(a), pack_signs(b)
            got = binary_matmul(pa, pb, path=path)
            assert got.dtype == np.int32 and got.shape == (m, n)
            np.testing.assert_array_equal(got, _expected(a, b), err_msg=f"{path} {m}x{n}x{k}")
            if path == "scalar":  # the C++ reference and NumPy twin, once per shape
                np.testing.assert_array_equal(
                    core.binary_gemm_reference(pa.words, pb.words, k), got
                )
                np.testing.assert_array_equal(binary_matmul_reference(pa, pb), got)


@native
@settings(max_examples=40, deadline=None)
@given(
    m=st.integers(1, 70),
    n=st.integers(1, 70),
    k=st.integers(1, 1100),
    seed=st.integers(0, 2**31),
)
def test_random_shapes_match_reference(m, n, k, seed):
    rng = np.random.default_rng(seed)
    a = rng.choice([-1.0, 1.0], size=(m, k)).astype(np.float32)
    b = rng.choice([-1.0, 1.0], size=(n, k)).astype(np.float32)
    np.testing.assert_array_equal(binary_matmul(pack_signs(a), pack_signs(b)), _expected(a, b))


@native
@pytest.mark.parametrize("m", [1, 2, 201])  # the three tile shapes of the AVX-512 path
def test_large_problems_and_two_threads_agree(m):
    from hwnn.kernels import get_threads, set_threads

    rng = np.random.default_rng(3)
    a = rng.standard_normal((m, 4000)).astype(np.float32)
    b = rng.standard_normal((1100, 4000)).astype(np.float32)  # big enough to use threads
    pa, pb = pack_signs(a), pack_signs(b)
    one = binary_matmul(pa, pb)
    before = get_threads()
    try:
        set_threads(2)
        np.testing.assert_array_equal(binary_matmul(pa, pb), one)
    finally:
        set_threads(before)
    sa, sb = np.where(a < 0, -1.0, 1.0), np.where(b < 0, -1.0, 1.0)  # exact in float64
    np.testing.assert_array_equal(one, (sa @ sb.T).astype(np.int32))


def test_reference_twin_alone_matches_definition(monkeypatch):
    monkeypatch.setenv("HWNN_KERNELS", "reference")
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((5, 130)), rng.standard_normal((4, 130))
    np.testing.assert_array_equal(binary_matmul(pack_signs(a), pack_signs(b)), _expected(a, b))


def _packed(rows=2, k=70):
    return pack_signs(np.ones((rows, k), dtype=np.float32))


@pytest.mark.parametrize(
    "a, b, match",
    [
        (_packed(k=70), _packed(k=71), "different K"),
        (np.ones((2, 2), dtype=np.uint64), _packed(), "must be a Packed"),
        (Packed(np.ones((2, 2), dtype=np.int64), 70), _packed(), "dtype uint64"),
        (Packed(np.ones((2, 3), dtype=np.uint64), 70), _packed(), "2 columns"),
        (Packed(np.ones((2, 4), dtype=np.uint64)[:, ::2], 70), _packed(), "C-contiguous"),
        (Packed(np.ones((2, 2, 1), dtype=np.uint64), 70), _packed(), "2 dimensions"),
        (Packed(np.ones((2, 1), dtype=np.uint64), 0), _packed(k=1), "positive integer"),
    ],
)
def test_bad_arguments_raise_value_error(a, b, match):
    with pytest.raises(ValueError, match=match):
        binary_matmul(a, b)


def test_numpy_integer_k_takes_the_checked_path():
    # The one-pass check accepts only exact types; anything else falls to the full checks,
    # which accept NumPy integers: same result either way.
    a, b = _packed(rows=3, k=70), _packed(rows=2, k=70)
    slow = binary_matmul(Packed(a.words, np.int64(70)), Packed(b.words, np.int64(70)))
    np.testing.assert_array_equal(slow, binary_matmul(a, b))


@native
def test_unknown_or_unavailable_path_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown kernel path"):
        binary_matmul(_packed(), _packed(), path="sse9")


@native
def test_results_of_several_mib_use_the_huge_page_allocation():
    """A 1100 x 1000 int32 result (4.2 MiB) comes from the huge-page allocator
    (array_util.hpp): same values, a writable array that NumPy owns and frees."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((1100, 70)).astype(np.float32)
    b = rng.standard_normal((1000, 70)).astype(np.float32)
    for _ in range(3):  # allocate and free several times
        got = binary_matmul(pack_signs(a), pack_signs(b))
        np.testing.assert_array_equal(got, _expected(a, b))
        got[0, 0] = 7  # the buffer is ours to write
        del got
