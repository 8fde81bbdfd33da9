"""Native sign packing and binary dot product against their NumPy twins, exactly."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hwnn.errors import ConfigError, NativeUnavailableError
from hwnn.kernels import backend, binary_dot, binary_dot_reference, pack_signs, pack_signs_reference

AWKWARD_K = [1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000]
native = pytest.mark.skipif(backend.native_module() is None, reason="hwnn._core is not built")


def _signs(x):
    return np.where(x < 0, -1, 1).astype(np.int64)


@native
@pytest.mark.parametrize("k", AWKWARD_K)
@pytest.mark.parametrize("rows", [1, 3, 7])
def test_native_pack_and_dot_equal_reference(k, rows, monkeypatch):
    rng = np.random.default_rng(k * 10 + rows)
    a = rng.standard_normal((rows, k)).astype(np.float32)
    b = rng.standard_normal((rows, k)).astype(np.float32)
    a[:, ::7] = 0.0  # sign(0) = +1
    monkeypatch.setenv("HWNN_KERNELS", "native")
    pa, pb = pack_signs(a), pack_signs(b)
    ra, rb = pack_signs_reference(a), pack_signs_reference(b)
    np.testing.assert_array_equal(pa.words, ra.words)
    np.testing.assert_array_equal(pb.words, rb.words)
    expected = (_signs(a) * _signs(b)).sum(axis=1)
    np.testing.assert_array_equal(binary_dot(pa, pb), expected)
    np.testing.assert_array_equal(binary_dot_reference(ra, rb), expected)
    core = backend.native_module()
    np.testing.assert_array_equal(core.pack_signs_reference(a), ra.words)
    np.testing.assert_array_equal(core.binary_dot_reference(pa.words, pb.words, k), expected)


@pytest.mark.parametrize("k", AWKWARD_K)
def test_bit_order_contract(k):
    """Element i goes to bit i mod 64 of word i div 64; set means -1; padding is 0."""
    x = np.ones((1, k), np.float32)
    x[0, k - 1] = -2.0
    words = pack_signs_reference(x).words
    assert words.shape == (1, (k + 63) // 64)
    expected = np.zeros_like(words)
    expected[0, (k - 1) // 64] = np.uint64(1) << np.uint64((k - 1) % 64)
    np.testing.assert_array_equal(words, expected)


def test_negative_zero_packs_as_plus_one():
    x = np.array([[-0.0, 0.0, -1e-30, np.float32(1e-30)]], np.float32)
    assert int(pack_signs_reference(x).words[0, 0]) == 0b0100
    assert int(pack_signs(x).words[0, 0]) == 0b0100


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        st.tuples(st.integers(1, 4), st.integers(1, 200)),
        elements=st.floats(-4, 4, width=32),
    )
)
def test_dot_matches_plus_minus_one_arithmetic(x):
    y = -x[:, ::-1].copy()
    expected = (_signs(x) * _signs(y)).sum(axis=1)
    np.testing.assert_array_equal(binary_dot(pack_signs(x), pack_signs(y)), expected)


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"\[rows, K\] matrix"):
        pack_signs(np.zeros((2, 3, 4), np.float32))
    with pytest.raises(ValueError, match="K = 0"):
        pack_signs(np.zeros((2, 0), np.float32))
    with pytest.raises(ValueError, match="real numbers"):
        pack_signs(np.array([["a", "b"]]))
    a, b = pack_signs(np.ones((2, 10))), pack_signs(np.ones((2, 11)))
    with pytest.raises(ValueError, match="different K"):
        binary_dot(a, b)
    with pytest.raises(ValueError, match="2 and 1 rows"):
        binary_dot(a, pack_signs(np.ones((1, 10))))
    with pytest.raises(ValueError, match="must be a Packed"):
        binary_dot(a, np.ones((2, 1), np.uint64))


def test_kernel_choice(monkeypatch):
    monkeypatch.setenv("HWNN_KERNELS", "reference")
    assert backend.use_native() is False
    monkeypatch.delenv("HWNN_KERNELS")
    assert backend.requested() == "auto"
    os.environ["HWNN_KERNELS"] = " Reference "  # a plain write is seen too (monkeypatch undoes it)
    assert backend.requested() == "reference"
    monkeypatch.setenv("HWNN_KERNELS", "fastest")
    with pytest.raises(ConfigError, match="HWNN_KERNELS='fastest'"):
        backend.use_native()
    monkeypatch.setenv("HWNN_KERNELS", "native")
    monkeypatch.setattr(backend, "native_module", lambda: None)
    with pytest.raises(NativeUnavailableError, match="not built: build it with `make test`"):
        backend.use_native()
