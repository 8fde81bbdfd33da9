"""Output transform: scales and bias, and batch norm folded into integer sign thresholds."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.kernels.conftest import core, native

from hwnn.kernels import fold_threshold, pack_signs_reference, scale_bias, sign_threshold
from hwnn.kernels.output_transform import sign_threshold_reference


@native
@pytest.mark.parametrize("rows", [7, 250, 301])  # many short rows take the narrow path
@pytest.mark.parametrize("n", [1, 3, 6, 7, 8, 9, 15, 16, 17, 63, 64, 65, 130])
def test_sign_threshold_native_equals_reference(n, rows):
    rng = np.random.default_rng(n)
    c = rng.integers(-50, 50, size=(rows, n), dtype=np.int32)
    t = rng.integers(-10, 10, size=n, dtype=np.int32)
    f = rng.integers(0, 2, size=n, dtype=np.uint8)
    got = sign_threshold(c, t, f)
    np.testing.assert_array_equal(got, sign_threshold_reference(c, t, f))
    np.testing.assert_array_equal(core.sign_threshold_reference(c, t, f), got)


@settings(max_examples=60, deadline=None)
@given(
    slope=st.floats(-3, 3, allow_nan=False, width=32),
    offset=st.floats(-40, 40, allow_nan=False, width=32),
)
def test_folded_threshold_gives_the_sign_of_the_affine_layer(slope, offset):
    """sign(slope c + offset) for every integer c in range, computed in float64."""
    c = np.arange(-60, 61, dtype=np.int32)[:, None]
    t, f = fold_threshold(np.array([slope]), np.array([offset]))
    got = sign_threshold(c, t, f)
    y = np.float64(slope) * c.astype(np.float64) + np.float64(offset)
    expected = pack_signs_reference(np.where(y < 0, -1.0, 1.0).astype(np.float32)).words
    np.testing.assert_array_equal(got, expected)


@native
def test_scale_bias_native_is_bit_identical_to_reference():
    rng = np.random.default_rng(0)
    c = rng.integers(-500, 500, size=(9, 37), dtype=np.int32)
    rs = rng.random(9).astype(np.float32)
    cs = rng.random(37).astype(np.float32)
    b = rng.standard_normal(37).astype(np.float32)
    for args in [(rs, cs, b), (None, cs, b), (rs, None, None), (None, None, b)]:
        got = scale_bias(c, *args)
        np.testing.assert_array_equal(got, core.scale_bias_reference(c, *args))
    expected = (c.astype(np.float32) * rs[:, None]) * cs[None, :] + b[None, :]
    np.testing.assert_array_equal(scale_bias(c, rs, cs, b), expected)


def test_bad_arguments_raise_value_error():
    c = np.zeros((2, 3), np.int32)
    with pytest.raises(ValueError, match="expected 3"):
        scale_bias(c, col_scale=np.ones(4))
    with pytest.raises(ValueError, match="one entry per column"):
        sign_threshold(c, np.zeros(2), np.zeros(3))
    with pytest.raises(ValueError, match="dtype int32"):
        sign_threshold(c.astype(np.int64), np.zeros(3), np.zeros(3))
