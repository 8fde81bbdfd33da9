"""Ternary GEMM on two bit-planes equals the integer product of {-1, 0, +1} matrices."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.kernels.conftest import AWKWARD_K, SIZES, core, native, paths

from hwnn.kernels import PackedTernary, pack_ternary, ternary_matmul, ternary_matmul_reference


def _expected(a, b):
    return (a.astype(np.int64) @ b.astype(np.int64).T).astype(np.int32)


@native
@pytest.mark.parametrize("k", AWKWARD_K)
@pytest.mark.parametrize("path", paths("ternary") or ["auto"])
def test_every_path_equals_definition_on_awkward_grid(k, path):
    rng = np.random.default_rng(k)
    for m in SIZES:
        for n in SIZES:
            a = rng.integers(-1, 2, size=(m, k)).astype(np.float32)
            b = rng.integers(-1, 2, size=(n, k)).astype(np.float32)
            pa, pb = pack_ternary(a), pack_ternary(b)
            got = ternary_matmul(pa, pb, path=path)
            np.testing.assert_array_equal(got, _expected(a, b), err_msg=f"{path} {m}x{n}x{k}")
            if path == "scalar":
                ref = core.ternary_gemm_reference(
                    pa.nonzero, pa.negative, pb.nonzero, pb.negative, k
                )
                np.testing.assert_array_equal(ref, got)
                np.testing.assert_array_equal(ternary_matmul_reference(pa, pb), got)


@native
@settings(max_examples=30, deadline=None)
@given(
    m=st.integers(1, 30), n=st.integers(1, 30), k=st.integers(1, 700), seed=st.integers(0, 2**31)
)
def test_random_shapes_match_reference(m, n, k, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-1, 2, size=(m, k))
    b = rng.integers(-1, 2, size=(n, k))
    np.testing.assert_array_equal(ternary_matmul(pack_ternary(a), pack_ternary(b)), _expected(a, b))


def test_non_ternary_values_and_bad_planes_are_rejected():
    with pytest.raises(ValueError, match="only -1, 0 and \\+1"):
        pack_ternary(np.array([[0.5, 1.0]]))
    good = pack_ternary(np.ones((2, 10)))
    bad = PackedTernary(good.nonzero, good.negative[:1], 10)
    with pytest.raises(ValueError, match="planes differ"):
        ternary_matmul(bad, good)
    with pytest.raises(ValueError, match="different K"):
        ternary_matmul(good, pack_ternary(np.ones((2, 11))))
    with pytest.raises(ValueError, match="PackedTernary"):
        ternary_matmul(good.nonzero, good)
