"""The Brevitas twin of bench_brevitas.py: built from the same fp32 weights, with the
quantizers the mapping names, and trainable with hwnn's schedule (skipped without brevitas)."""

import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("brevitas", reason="brevitas not installed: pip install 'brevitas==0.13.4'")

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import brevitas_twin as bt  # noqa: E402
from hwnn import data as datasets  # noqa: E402
from hwnn import models  # noqa: E402
from hwnn.config import TrainConfig  # noqa: E402
from hwnn.errors import ConfigError  # noqa: E402
from hwnn.quant import quantize  # noqa: E402
from hwnn.train import evaluate, fit  # noqa: E402


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


@pytest.fixture(scope="module")
def fp32(digits):
    torch.set_num_threads(1)
    model = models.build("lenet5", digits.input_shape, digits.classes, seed=0)
    fit(model, digits, TrainConfig(model="lenet5", epochs=2, seed=0))
    return model


def _weights(model):
    return [x.weight.detach() for x in model.modules() if isinstance(x, (torch.nn.Conv2d,
                                                                         torch.nn.Linear))]


def test_binaryconnect_twin_is_plus_minus_one_from_the_same_weights(fp32, digits):
    twin = bt.build_twin(fp32, "binaryconnect", digits)
    qw = bt.quant_weights(twin)
    assert len(qw) == len(_weights(fp32)) == 5  # every layer binarized (no asterisk)
    for (_, q), w in zip(qw, _weights(fp32), strict=True):
        assert set(torch.unique(q).tolist()) == {-1.0, 1.0}
        assert torch.equal(q, torch.where(w >= 0, 1.0, -1.0))  # sign of the fp32 weights
    # hwnn's BinaryConnect model computes with the same +-1 weights
    hwnn_q = quantize(fp32, "binaryconnect", digits, epochs=0)
    hw = [x.quantized_weight().values for x in hwnn_q.modules() if hasattr(x, "act_quantizer")]
    assert all(torch.equal(a, b) for (_, a), b in zip(qw, hw, strict=True))


def test_bwn_twin_keeps_first_last_fp32_and_scales_per_channel(fp32, digits):
    twin = bt.build_twin(fp32, "bwn", digits)
    w = _weights(fp32)
    assert torch.equal(twin.features[0].weight, w[0])  # fp32 first layer, same weights
    assert torch.equal(twin.classifier[4].weight, w[-1])
    qw = bt.quant_weights(twin)
    assert len(qw) == 3
    for (_, q), src in zip(qw, w[1:-1], strict=True):
        alpha = src.abs().mean(dim=tuple(range(1, src.dim())), keepdim=True)
        torch.testing.assert_close(q, alpha * torch.where(src >= 0, 1.0, -1.0))


def test_twn_twin_is_ternary_with_twns_threshold(fp32, digits):
    twin = bt.build_twin(fp32, "twn", digits)
    (_, q), src = bt.quant_weights(twin)[0], _weights(fp32)[1]
    assert torch.equal(twin.features[3].weight, src)  # the shadow weights are the fp32 ones
    assert torch.unique(q).numel() == 3
    kept = src.abs() > 0.7 * src.abs().mean()
    assert torch.equal(q != 0, kept)


def test_one_epoch_runs_for_both_tools(fp32, digits):
    for method in ("bnn", "fixed_ft"):
        twin = bt.finetune_twin(bt.build_twin(fp32, method, digits), method, digits, epochs=1)
        ours = quantize(fp32, method, digits, epochs=1)
        for model in (twin, ours):
            acc = evaluate(model, digits.x_test, digits.y_test)
            assert 0.0 <= acc <= 1.0
    # BNN's hidden inputs are +-1 in the twin too: ReLU became hardtanh before them
    assert sum(isinstance(m, torch.nn.Hardtanh) for m in twin.modules()) == 0  # fixed_ft
    bnn = bt.build_twin(fp32, "bnn", digits)
    assert sum(isinstance(m, torch.nn.Hardtanh) for m in bnn.modules()) == 4


def test_methods_brevitas_lacks_are_refused_clearly(fp32, digits):
    for name in ("ttq", "lognet", "weight_sharing", "binaryconnect_stoch"):
        assert bt.twin_spec(name) is None
        with pytest.raises(ConfigError, match="not in Brevitas"):
            bt.build_twin(fp32, name, digits)
    with pytest.raises(ConfigError, match="unknown quantization method"):
        bt.twin_spec("nope")
