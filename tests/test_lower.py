"""Lowering torch models to Workloads: shapes, batch, depthwise, formats, and refusals."""

from __future__ import annotations

import pytest
from torch import nn

from hwnn import models
from hwnn.errors import ConfigError
from hwnn.formats import FP32, INT8, Binary
from hwnn.lower import lower


def test_lenet5_layers_and_macs():
    net = models.build("lenet5", (1, 28, 28), 10)
    wl = lower(net, (1, 28, 28), batch=3)
    kinds = [x.kind for x in wl.layers]
    assert kinds == ["conv2d", "conv2d", "gemm", "gemm", "gemm"]
    c1 = wl.layers[0]
    assert (c1.in_h, c1.pad_h, c1.out_h, c1.batch) == (28, 2, 28, 3)
    assert c1.gemm_dims() == (28 * 28 * 3, 25, 6)
    fc = wl.layers[2]
    assert (fc.m, fc.k, fc.n) == (3, 16 * 5 * 5, 120)
    one = lower(net, (1, 28, 28), batch=1)
    assert wl.macs == 3 * one.macs
    assert all(x.weight_format == FP32 for x in wl.layers)


def test_depthwise_strided_conv_and_formats():
    dw = nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4)
    dw.weight_format = INT8
    dw.act_format = INT8
    pw = nn.Conv2d(4, 8, 1)
    pw.weight_format = Binary()
    net = nn.Sequential(dw, pw, nn.Flatten(), nn.Linear(8 * 5 * 5, 3))
    wl = lower(net, (4, 9, 9))
    a, b, c = wl.layers
    assert a.kind == "depthwise" and a.groups == 4 and a.out_h == 5
    assert a.weight_format == INT8 and a.act_format == INT8
    assert b.kind == "conv2d" and b.weight_format == Binary() and b.act_format == FP32
    assert c.k == 200


def test_quantized_layers_carry_their_formats():
    from hwnn.formats import Ternary
    from hwnn.quant.transform import quantize

    net = models.build("mlp", (1, 8, 8), 10, hidden=(16,))
    q = quantize(net, "twn", epochs=0, first_last_fp32=False)
    wl = lower(q, (1, 8, 8))
    assert [x.weight_format for x in wl.layers] == [Ternary(), Ternary()]


@pytest.mark.parametrize(
    "mod,match",
    [
        (nn.Conv2d(2, 2, 3, dilation=2), "dilated"),
        (nn.Conv2d(4, 8, 3, groups=2), "groups=2"),
        (nn.Conv2d(2, 2, 2, padding="same"), "asymmetric"),
    ],
)
def test_unloweable_layers_are_named(mod, match):
    with pytest.raises(ConfigError, match=match):
        lower(nn.Sequential(mod), (2, 8, 8) if mod.in_channels == 2 else (4, 8, 8))


def test_wrong_input_shape_and_empty_model():
    net = models.build("lenet5", (1, 28, 28), 10)
    with pytest.raises(ConfigError, match="does not accept inputs"):
        lower(net, (3, 28, 28))
    with pytest.raises(ConfigError, match="no Linear or Conv2d"):
        lower(nn.Sequential(nn.ReLU()), (4,))
