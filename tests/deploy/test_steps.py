"""Single plan steps against torch and against plain NumPy formulations."""

import numpy as np
import pytest
import torch

from hwnn.deploy import steps as S
from hwnn.kernels.binary_conv2d import pack_channels


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("shape", [(2, 3, 8, 8), (1, 2, 7, 9), (3, 1, 5, 4)])
def test_max_pool_matches_torch_floor_mode(k, shape):
    x = np.random.default_rng(k).normal(size=shape).astype(np.float32)
    x[0, 0, 0, 0] = np.nan  # propagated, as torch does
    got = S.MaxPool(k).run(x)
    want = torch.nn.functional.max_pool2d(torch.from_numpy(x), k).numpy()
    np.testing.assert_array_equal(got, want)
    assert got.flags.c_contiguous


@pytest.mark.parametrize("k", [2, 3])
def test_max_pool_on_signs_is_the_max_of_plus_minus_one(k):
    rng = np.random.default_rng(0)
    x = rng.choice([-1.0, 1.0], size=(2, 70, 7, 8)).astype(np.float32)  # 70 channels: 2 words
    signs = S.Signs(pack_channels(x).words, 70, nhwc=True)  # NCHW in, NHWC words out
    got = S.MaxPool(k).run(signs)
    pooled = torch.nn.functional.max_pool2d(torch.from_numpy(x), k).numpy()
    want = pack_channels(pooled).words
    np.testing.assert_array_equal(got.words, want)


@pytest.mark.parametrize("dtype", [np.float32, np.int8, np.uint8])
@pytest.mark.parametrize(
    "shape, k, stride, pad",
    [((2, 3, 7, 6), (3, 3), 1, 1), ((1, 1, 28, 28), (5, 5), 1, 2), ((3, 2, 9, 8), (2, 3), 2, 0),
     ((1, 4, 5, 5), (5, 5), 1, 0), ((1, 2, 4, 3), (3, 2), 3, 2)],
)  # fmt: skip
def test_native_im2col_matches_the_numpy_twin(dtype, shape, k, stride, pad):
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, size=shape).astype(dtype)
    want = S.im2col_reference(x, *k, stride, pad)
    np.testing.assert_array_equal(S.im2col(x, *k, stride, pad), want)
    cols = -(-want.shape[1] // 4) * 4 + 4  # zero-extended rows
    wide = S.im2col(x, *k, stride, pad, cols)
    np.testing.assert_array_equal(wide[:, : want.shape[1]], want)
    assert not wide[:, want.shape[1] :].any()
    np.testing.assert_array_equal(wide, S.im2col_reference(x, *k, stride, pad, cols))


def test_im2col_matches_torch_unfold():
    x = np.random.default_rng(1).normal(size=(2, 3, 8, 7)).astype(np.float32)
    want = torch.nn.functional.unfold(torch.from_numpy(x), (3, 2), padding=1, stride=2)
    want = want.transpose(1, 2).reshape(-1, 3 * 3 * 2).numpy()  # [N * L, C * kh * kw]
    np.testing.assert_array_equal(S.im2col(x, 3, 2, 2, 1), want)


def test_native_im2col_rejects_impossible_shapes():
    from hwnn.kernels import backend

    core = backend.native_module()
    if core is None:
        pytest.skip("hwnn._core is not built")
    x = np.zeros((1, 1, 3, 3), np.float32)
    with pytest.raises(ValueError, match="larger than the padded input"):
        core.im2col_f32(x, 5, 5, 1, 0, 25)
    with pytest.raises(ValueError, match="cols must be at least"):
        core.im2col_f32(x, 2, 2, 1, 0, 3)
    with pytest.raises(ValueError, match="at least 1"):
        core.im2col_f32(x, 2, 2, 0, 0, 4)
