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
