"""Quantized layers, the registry and the quantize transform, on small random models."""

import numpy as np
import pytest
import torch
from torch import nn

from hwnn import models
from hwnn.data import Dataset
from hwnn.errors import ConfigError
from hwnn.formats import FP32, Binary, Codebook, Fixed, Float, Int, Log2, Ternary
from hwnn.quant import (
    QuantConv2d,
    QuantLinear,
    get,
    methods,
    model_bytes,
    names,
    quant_layers,
    quantize,
)
from hwnn.quant.binary import BWNWeight, XNORAct
from hwnn.quant.fixed_point import FixedPointAct, FixedPointWeight

EXPECTED_FORMATS = {
    "fixed": Fixed, "fixed_ft": Fixed, "twn": Ternary, "ttq": Ternary,
    "binaryconnect": Binary, "binaryconnect_stoch": Binary, "bwn": Binary, "bnn": Binary,
    "xnor": Binary, "lognet": Log2, "weight_sharing": Codebook, "fp16": Float, "bf16": Float,
    "int8": Int,
}


def tiny_data(shape=(1, 8, 8), n=96, seed=0) -> Dataset:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4
    x = rng.random((n, *shape), dtype=np.float32) * 0.5
    x[:, 0, 0, :] += y[:, None] * 0.3  # learnable: the first row encodes the class
    return Dataset("tiny", x, y.astype(np.int64), x[:32], y[:32].astype(np.int64), 4, "test")


@pytest.fixture(scope="module")
def data():
    return tiny_data()


def test_registry_lists_every_deck_row_with_its_precision():
    table = {m.name: m.precision for m in methods()}
    assert table["fixed"] == ("8", 10) and table["fixed_ft"] == ("8", 8)
    assert table["twn"] == ("2*", 32) and table["ttq"] == ("2*", 32)
    assert table["binaryconnect"] == ("1", 32) and table["bwn"] == ("1*", 32)
    assert table["bnn"] == ("1", 1) and table["xnor"] == ("1*", 1)
    assert table["lognet"] == ("5(conv), 4(fc)", 4)
    assert table["weight_sharing"] == ("8(conv), 4(fc)", 16)
    assert set(EXPECTED_FORMATS) == set(names())
    for m in methods():
        assert m.quantizer.__doc__ or m.quantizer.__module__  # documented class
        assert callable(m.function) and m.paper and m.rule and m.gradient


def test_registry_aliases_and_unknown_names():
    assert get("BC").name == "binaryconnect" and get("xnor_net").name == "xnor"
    with pytest.raises(ConfigError, match="choose one of"):
        get("int3")


@pytest.mark.parametrize("name", sorted(EXPECTED_FORMATS))
def test_every_method_quantizes_mlp_and_lenet(name, data):
    for arch, kw in (("mlp", {"hidden": (16, 12)}), ("lenet5", {})):
        model = models.build(arch, data.input_shape, 4, seed=1, **kw)
        before = {k: v.clone() for k, v in model.state_dict().items()}
        q = quantize(model, name, data, epochs=1, batch_size=32)
        # the input model is untouched; the result is a new model in eval mode
        assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
        assert not q.training and q.quant_method == name
        layers = quant_layers(q)
        assert len(layers) == (3 if arch == "mlp" else 5)
        first_last = get(name).first_last_fp32
        for i, (_, layer) in enumerate(layers):
            edge = i in (0, len(layers) - 1)
            if first_last and edge:
                assert layer.weight_format == FP32 and layer.act_format == FP32
            else:
                assert isinstance(layer.weight_format, EXPECTED_FORMATS[name])
            qw = layer.quantized_weight()
            assert qw.values.shape == layer.weight.shape
            # what the deployment engine reads is what the forward pass uses
            assert torch.equal(qw.values, layer.weight_quantizer(layer.weight).detach())
        out = q(torch.from_numpy(data.x_test))
        assert out.shape == (32, 4) and torch.isfinite(out).all()


def test_forward_equals_float_layer_on_quantized_operands():
    torch.manual_seed(0)
    lin = nn.Linear(6, 3)
    q = QuantLinear(lin, FixedPointWeight(6), FixedPointAct(6))
    q.act_quantizer.frac.fill_(3)
    x = torch.randn(4, 6)
    w = q.quantized_weight().values
    expected = nn.functional.linear(q.act_quantizer(x), w, lin.bias)
    assert torch.allclose(q(x), expected)
    assert q.weight is lin.weight  # the float shadow weight is kept, not replaced


def test_xnor_conv_multiplies_output_by_k_and_alpha():
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1, bias=False)
    q = QuantConv2d(conv, BWNWeight(), XNORAct())
    x = torch.randn(1, 2, 5, 5)
    alpha = conv.weight.abs().mean(dim=(1, 2, 3)).view(1, -1, 1, 1)
    k = nn.functional.avg_pool2d(
        x.abs().mean(1, keepdim=True), 3, stride=1, padding=1, count_include_pad=True
    )
    binary = nn.functional.conv2d(torch.sign(x), torch.sign(conv.weight), padding=1)
    assert torch.allclose(q(x), binary * alpha * k, atol=1e-5)


def test_first_last_fp32_option_overrides_the_asterisk(data):
    model = models.build("mlp", data.input_shape, 4, hidden=(16, 12))
    q = quantize(model, "twn", data, epochs=0, first_last_fp32=False)
    assert all(x.weight_format == Ternary() for _, x in quant_layers(q))
    q = quantize(model, "fixed", data, first_last_fp32=True)
    formats = [x.weight_format for _, x in quant_layers(q)]
    assert formats[0] == FP32 and formats[-1] == FP32 and isinstance(formats[1], Fixed)


def test_two_layer_model_quantizes_both_layers_by_default(data):
    model = models.build("mlp", data.input_shape, 4, hidden=(16,))
    q = quantize(model, "bwn", data, epochs=0)
    assert all(x.weight_format == Binary() for _, x in quant_layers(q))


def test_bnn_inserts_identity_batch_norm_and_hardtanh(data):
    model = models.build("lenet5", data.input_shape, 4)
    q = quantize(model, "bnn", data, epochs=0)
    bns = [m for m in q.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    assert len(bns) == 5  # after every compute layer
    assert not any(isinstance(m, nn.ReLU) for m in q.modules())
    assert sum(isinstance(m, nn.Hardtanh) for m in q.modules()) == 4
    # identity initialisation: in eval mode each BN returns its input on calibration data
    inputs = {}
    hook = bns[0].register_forward_hook(lambda m, i, o: inputs.update(i=i[0], o=o))
    q(torch.from_numpy(data.x_train[:8]))
    hook.remove()
    assert torch.allclose(inputs["i"], inputs["o"], atol=1e-3)


def test_mlp_with_batch_norm_gets_no_second_one(data):
    model = models.build("mlp", data.input_shape, 4, hidden=(16, 12), batch_norm=True)
    q = quantize(model, "xnor", data, epochs=0)
    bns = [m for m in q.modules() if isinstance(m, nn.BatchNorm1d)]
    assert len(bns) == 2  # the model's own; XNOR-Net adds none after the fp32 last layer


def test_binary_connect_clips_shadow_weights(data):
    model = models.build("mlp", data.input_shape, 4, hidden=(16,))
    q = quantize(model, "binaryconnect", data, epochs=2, lr=0.5)
    for _, layer in quant_layers(q):
        assert float(layer.weight.detach().abs().max()) <= 1.0


def test_weight_sharing_trains_centroids_not_indices(data):
    model = models.build("mlp", data.input_shape, 4, hidden=(16,))
    q0 = quantize(model, "weight_sharing", data, epochs=0)
    q1 = quantize(model, "weight_sharing", data, epochs=2, lr=1e-2)
    for (_, a), (_, b) in zip(quant_layers(q0), quant_layers(q1), strict=True):
        assert torch.equal(a.weight_quantizer.index, b.weight_quantizer.index)
        assert torch.equal(a.weight, b.weight)
        assert not torch.equal(a.weight_quantizer.centroids, b.weight_quantizer.centroids)
        assert a.quantized_weight().distinct_values() <= 16


def test_methods_needing_data_say_so():
    model = models.build("mlp", (1, 8, 8), 4)
    with pytest.raises(ConfigError, match="needs training data"):
        quantize(model, "twn")
    with pytest.raises(ConfigError, match="calibrates"):
        quantize(model, "int8")
    q = quantize(model, "fp16")
    assert all(x.weight_format == Float(16) for _, x in quant_layers(q))
    q = quantize(model, "twn", epochs=0)  # post-training weight-only works without data
    assert q(torch.zeros(2, 1, 8, 8)).shape == (2, 4)
    with pytest.raises(ConfigError):
        quantize(model, "twn", epochs=-1)
    with pytest.raises(ConfigError, match="no Linear or Conv2d"):
        quantize(nn.Sequential(nn.ReLU()), "twn", epochs=0)


def test_requantizing_and_mismatched_data_are_clear_errors(data):
    model = models.build("mlp", data.input_shape, 4, hidden=(8,))
    q = quantize(model, "fp16")
    with pytest.raises(ConfigError, match="already quantized"):
        quantize(q, "twn", data)
    other = models.build("mlp", (1, 4, 4), 4, hidden=(8,))
    with pytest.raises(ConfigError, match="does not accept"):
        quantize(other, "int8", data)


def test_model_bytes_counts_formats_scales_and_biases():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    assert model_bytes(model) == 4 * (64 * 10 + 10)
    q = quantize(model, "bwn", epochs=0)
    # 640 one-bit weights + 10 fp32 alphas + 10 fp32 biases
    assert model_bytes(q) == 640 // 8 + 4 * 10 + 4 * 10
    q = quantize(model, "twn", epochs=0, first_last_fp32=False)
    assert model_bytes(q) == 640 * 2 // 8 + 4 + 4 * 10  # one alpha for both signs


def test_every_method_is_documented():
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "precision.md").read_text()
    for name in names():
        assert f"`{name}`" in doc, f"{name} missing from docs/precision.md"


def reconstruct(qw) -> torch.Tensor:
    """Effective weights from codes and scales alone, as a deployment engine would."""
    fmt = qw.format
    if isinstance(fmt, (Binary, Fixed, Int)):
        return qw.codes.float() * qw.scale
    if isinstance(fmt, Ternary):
        neg = qw.scale if qw.scale_neg is None else qw.scale_neg
        codes = qw.codes.float()
        return (codes > 0) * qw.scale - (codes < 0) * neg
    if isinstance(fmt, Log2):
        return qw.codes.float() * torch.exp2(qw.exponents.float())
    if isinstance(fmt, Codebook):
        return qw.codebook[qw.codes]
    return qw.values


@pytest.mark.parametrize("name", sorted(EXPECTED_FORMATS))
def test_codes_and_scales_reconstruct_the_weights(name, data):
    model = models.build("lenet5", data.input_shape, 4, seed=2)
    q = quantize(model, name, data, epochs=1, batch_size=32, first_last_fp32=False)
    for _, layer in quant_layers(q):
        qw = layer.quantized_weight()
        assert qw.format == layer.weight_format
        assert torch.equal(reconstruct(qw).to(qw.values.dtype), qw.values), (name, qw.format)


def test_xnor_keeps_relu_before_its_fp32_last_layer(data):
    model = models.build("lenet5", data.input_shape, 4)
    q = quantize(model, "xnor", data, epochs=0)
    order = [m for m in q.modules() if isinstance(m, (nn.ReLU, nn.Hardtanh, QuantLinear,
                                                      QuantConv2d))]
    kinds = [type(m).__name__ for m in order]
    # conv1 (fp32) -> hardtanh -> conv2 (binary input) ... fc2 -> ReLU -> fc3 (fp32 input)
    assert kinds[-2:] == ["ReLU", "QuantLinear"]
    assert kinds.count("Hardtanh") == 3
