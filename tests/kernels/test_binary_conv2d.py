"""Binary conv2d equals torch's float conv2d of the same +-1 tensors with zero padding."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.kernels.conftest import core, native, paths

from hwnn.kernels import PackedConv, binary_conv2d, binary_conv2d_packed, pack_channels
from hwnn.kernels.binary_conv2d import pack_channels_reference


def _expected(x, w, stride, padding):
    sx = torch.from_numpy(np.where(x < 0, -1.0, 1.0).astype(np.float64))
    sw = torch.from_numpy(np.where(w < 0, -1.0, 1.0).astype(np.float64))
    return F.conv2d(sx, sw, stride=stride, padding=padding).numpy().astype(np.int32)


CASES = [  # n, c, h, w, o, k, stride, padding: channel counts around word boundaries
    (1, 1, 5, 5, 1, 3, 1, 1),
    (2, 3, 7, 6, 4, 3, 1, 1),
    (1, 63, 6, 6, 5, 3, 2, 1),
    (1, 64, 5, 7, 3, 3, 1, 2),
    (2, 65, 4, 4, 7, 2, 1, 0),
    (1, 130, 5, 5, 9, 5, 1, 2),
    (1, 6, 9, 9, 16, 5, 1, 0),
    (1, 4, 2, 2, 3, 3, 1, 1),  # the kernel wider than the image: every pixel has padding
    (2, 8, 9, 11, 5, 4, 2, 0),  # 4 x 8 = 32-bit runs of kernel rows, stride 2
]


@native
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("path", paths("binary") or ["auto"])
def test_equals_float_conv_with_zero_padding(case, path):
    n, c, h, w, o, k, stride, padding = case
    rng = np.random.default_rng(sum(case))
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((o, c, k, k)).astype(np.float32)
    got = binary_conv2d(x, wt, stride, padding, path=path)
    np.testing.assert_array_equal(got, _expected(x, wt, stride, padding))
    if path == "scalar":
        px, pw = pack_channels(x), pack_channels(wt)
        np.testing.assert_array_equal(px.words, pack_channels_reference(x).words)
        ref = core.binary_conv2d_reference(px.words, pw.words, c, stride, padding)
        np.testing.assert_array_equal(ref.transpose(0, 3, 1, 2), got)


@native
@pytest.mark.parametrize(
    "c, kh, kw, padding",
    [(16, 2, 2, 0), (32, 2, 2, 1), (16, 2, 2, 1), (6, 3, 5, 1), (7, 5, 3, 2), (21, 3, 3, 0)],
)  # fmt: skip
def test_dense_tap_rows_below_64_channels(c, kh, kw, padding):
    """Tap bits packed back to back: rows that end exactly on a word (16 x 2 x 2 = 64 bits,
    32 x 2 x 2 = 128), taps that straddle words (21 channels), non-square kernels."""
    rng = np.random.default_rng(c + kh)
    x = rng.standard_normal((3, c, 7, 8)).astype(np.float32)
    wt = rng.standard_normal((5, c, kh, kw)).astype(np.float32)
    sx = torch.from_numpy(np.where(x < 0, -1.0, 1.0))
    sw = torch.from_numpy(np.where(wt < 0, -1.0, 1.0))
    want = F.conv2d(sx, sw, padding=padding).numpy().astype(np.int32)
    np.testing.assert_array_equal(binary_conv2d(x, wt, 1, padding), want)


def test_reference_twin_matches_float_conv(monkeypatch):
    monkeypatch.setenv("HWNN_KERNELS", "reference")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 6, 6)).astype(np.float32)
    wt = rng.standard_normal((3, 5, 3, 3)).astype(np.float32)
    np.testing.assert_array_equal(binary_conv2d(x, wt, 1, 1), _expected(x, wt, 1, 1))


@native
@settings(max_examples=25, deadline=None)
@given(
    c=st.integers(1, 80),
    hw=st.integers(3, 9),
    o=st.integers(1, 9),
    k=st.sampled_from([1, 2, 3]),
    stride=st.integers(1, 2),
    padding=st.integers(0, 2),
    seed=st.integers(0, 2**31),
)
def test_random_shapes(c, hw, o, k, stride, padding, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, c, hw, hw)).astype(np.float32)
    wt = rng.standard_normal((o, c, k, k)).astype(np.float32)
    np.testing.assert_array_equal(
        binary_conv2d(x, wt, stride, padding), _expected(x, wt, stride, padding)
    )


def test_bad_arguments_raise_value_error():
    x = np.ones((1, 3, 5, 5), np.float32)
    with pytest.raises(ValueError, match="4-D"):
        binary_conv2d(x[0], np.ones((2, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match="channels"):
        binary_conv2d(x, np.ones((2, 4, 3, 3), np.float32))
    with pytest.raises(ValueError, match="larger than the padded input"):
        binary_conv2d(x, np.ones((2, 3, 7, 7), np.float32))
    with pytest.raises(ValueError, match="stride"):
        binary_conv2d(x, np.ones((2, 3, 3, 3), np.float32), stride=0)
    with pytest.raises(ValueError, match="C-contiguous"):
        binary_conv2d(
            np.ones((1, 5, 5, 3), np.float32).transpose(0, 3, 1, 2),
            np.ones((2, 3, 3, 3), np.float32),
        )
    with pytest.raises(ValueError, match="PackedConv"):
        binary_conv2d_packed(x, PackedConv(np.zeros((1, 3, 3, 1), np.uint64), 3))
