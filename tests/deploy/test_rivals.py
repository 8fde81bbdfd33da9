"""The rival engines (ONNX Runtime, torch.ao) compute the same network as torch."""

import numpy as np
import pytest
import torch

from hwnn import models
from hwnn.deploy import rivals
from hwnn.errors import ConfigError


@pytest.fixture(scope="module")
def lenet_and_images():
    net = models.build("lenet5", (1, 12, 12), 10, 0).eval()
    x = np.random.default_rng(0).random((96, 1, 12, 12), dtype=np.float32)
    with torch.no_grad():
        logits = net(torch.from_numpy(x)).numpy()
    return net, x, logits


def test_parse_names_all_none_and_unknown():
    assert rivals.parse("all") == rivals.RIVALS
    assert rivals.parse("none") == rivals.parse(" ") == ()
    assert rivals.parse("ort-int8, torch-ao-int8") == ("ort-int8", "torch-ao-int8")
    with pytest.raises(ConfigError, match="unknown rival engine.*ort-int4.*choose from"):
        rivals.parse("ort-int4")


def test_torch_ao_matches_torch_within_int8_error(lenet_and_images):
    net, x, logits = lenet_and_images
    (r,), skipped = rivals.build(("torch-ao-int8",), net, x)
    assert skipped == {}
    assert (r.engine, r.method) == ("torch-ao-int8", "int8")
    assert np.abs(r.run(x) - logits).max() < 0.05 * np.abs(logits).max()
    assert (r.predict(x, batch_size=40) == logits.argmax(1)).mean() >= 0.9
    # int8 fully connected weights, fp32 convolutions: well under the fp32 size
    fp32_bytes = sum(4 * p.numel() for p in net.parameters())
    assert r.weight_bytes < fp32_bytes


def test_onnx_runtime_engines(lenet_and_images):
    pytest.importorskip("onnxruntime")
    net, x, logits = lenet_and_images
    built, skipped = rivals.build(("ort-fp32", "ort-int8", "ort-int8-dynamic"), net, x)
    assert skipped == {}
    by = {r.engine: r for r in built}
    np.testing.assert_allclose(by["ort-fp32"].run(x), logits, rtol=1e-4, atol=1e-5)
    for name in ("ort-int8", "ort-int8-dynamic"):
        got = by[name].run(x[:7])  # any batch size: the exported graph's batch is dynamic
        assert got.shape == (7, 10)
        assert np.abs(got - logits[:7]).max() < 0.05 * np.abs(logits).max()
        assert by[name].weight_bytes < by["ort-fp32"].weight_bytes / 2


def test_missing_packages_are_skipped_with_the_fix(monkeypatch, lenet_and_images):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda m: None if m == "onnxruntime" else real(m)
    )
    net, x, _ = lenet_and_images
    built, skipped = rivals.build(("ort-int8", "torch-ao-int8"), net, x)
    assert [r.engine for r in built] == ["torch-ao-int8"]
    assert "onnxruntime not installed" in skipped["ort-int8"]
    assert "hwnn[rivals]" in skipped["ort-int8"]


def test_run_bench_times_rivals_beside_the_engines():
    from hwnn.deploy.bench import run_bench

    r = run_bench(
        data="digits", epochs=1, hidden=(16,), batches=(1, 4), min_time_s=0.01,
        finetune_epochs=0, rivals=("torch-ao-int8",),
    )  # fmt: skip
    engines = [e.engine for e in r.engines]
    assert engines[-1] == "torch-ao-int8"
    assert {p.batch for p in r.points if p.engine == "torch-ao-int8"} == {1, 4}
    assert r.engines[-1].agrees_with_torch >= 0.9  # against the fp32 model


def test_a_rival_that_fails_is_reported_not_fatal(monkeypatch, lenet_and_images):
    net, x, _ = lenet_and_images

    def broken(model):
        raise RuntimeError("cannot quantize this layer\nmore detail")

    monkeypatch.setattr(rivals, "_torch_ao", broken)
    built, skipped = rivals.build(("torch-ao-int8",), net, x)
    assert built == []
    assert skipped == {"torch-ao-int8": "RuntimeError: cannot quantize this layer"}


def test_the_gpu_rival_runs_where_a_gpu_is_and_is_skipped_elsewhere(monkeypatch, lenet_and_images):
    net, x, logits = lenet_and_images
    if torch.cuda.is_available():
        (r,), skipped = rivals.build(("torch-cuda-fp32",), net, x)
        assert skipped == {} and (r.engine, r.method) == ("torch-cuda-fp32", "fp32")
        np.testing.assert_allclose(r.run(x), logits, rtol=1e-3, atol=1e-4)
        assert all(p.device.type == "cpu" for p in net.parameters())  # the caller's model stays
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    built, skipped = rivals.build(("torch-cuda-fp32", "torch-ao-int8"), net, x)
    assert [r.engine for r in built] == ["torch-ao-int8"]
    assert skipped == {"torch-cuda-fp32": "no CUDA GPU visible to torch"}
