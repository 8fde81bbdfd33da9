"""Measuring a device's roofs and the speech batching table through torch (CPU here; the
GPU tests run where a CUDA GPU is visible and skip elsewhere)."""

import json
import math

import pytest
import torch

from hwnn.errors import ConfigError
from hwnn.formats import BF16
from hwnn.hw import gpu
from hwnn.hw import gpu_calibrate as gc
from hwnn.hw.roofline import RooflineDevice

SMALL = (64, 128, 128, 32)  # the speech network's form at a size a test times quickly
has_cuda = torch.cuda.is_available()


def test_roofs_measured_on_cpu_make_a_model_device():
    m = gc.measure("cpu", gemm_n=64, copy_bytes=1 << 20, repeats=2)
    for v in (m.peak_fp32_flops, m.peak_bf16_flops, m.bandwidth_bytes_per_s, m.sync_s):
        assert math.isfinite(v) and v > 0
    assert 0 <= m.layer_overhead_s < m.sync_s * 10  # a slope of timings: noise can make it 0
    dev = m.roofline()
    assert isinstance(dev, RooflineDevice) and dev.kind == "cpu"
    assert dev.peak_ops_per_s == {"fp32": m.peak_fp32_flops, "fp16": m.peak_bf16_flops}
    assert dev.dram_bandwidth_bytes_per_s == m.bandwidth_bytes_per_s


def test_timing_leaves_the_callers_precision_and_random_state():
    torch.set_float32_matmul_precision("medium")
    try:
        state = torch.random.get_rng_state()
        gc.peak_flops("cpu", "fp32", 32, 1)
        gc.speech_net("cpu", "fp32", SMALL)
        assert torch.get_float32_matmul_precision() == "medium"
        assert torch.equal(state, torch.random.get_rng_state())
    finally:
        torch.set_float32_matmul_precision("highest")
    a, b = gc.speech_net("cpu", "fp32", SMALL), gc.speech_net("cpu", "fp32", SMALL)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_speech_batching_counts_ceil_n_over_b_calls():
    t = gc.speech_batching("cpu", (1, 3, 100, 128), frames=100, repeats=3, shape=SMALL)
    assert set(t) == {1, 3, 100, 128}
    assert all(v > 0 for v in t.values())
    # one call of 100 frames against 100 calls of one: batching must pay off on any CPU
    assert t[100] < t[1]


def test_speech_net_has_the_decks_layers():
    net = gc.speech_net("cpu", "bf16")
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == list(
        zip(gpu.SPEECH_SHAPE[:-1], gpu.SPEECH_SHAPE[1:], strict=True)
    )
    assert all(p.dtype == torch.bfloat16 for p in net.parameters())
    assert sum(isinstance(m, torch.nn.Sigmoid) for m in net) == len(linears) - 1


def test_speech_workload_in_bf16_runs_on_the_fp16_units():
    w = gpu.speech_dnn(8, BF16)
    assert w.name.endswith("-bf16") and all(layer.weight_format == BF16 for layer in w.layers)
    h = gpu.h200()
    fast = h.estimate(gpu.speech_dnn(1024, BF16), 1024)
    slow = h.estimate(gpu.speech_dnn(1024), 1024)
    assert fast.latency_s < slow.latency_s  # tensor cores: 989 against 67 TFLOP/s


def test_h200_differs_from_h100_only_in_memory():
    a, b = gpu.h100(), gpu.h200()
    assert a.peak_ops_per_s == b.peak_ops_per_s
    assert b.dram_bandwidth_bytes_per_s > a.dram_bandwidth_bytes_per_s
    # batch 1 is memory-bound: the speech network is faster on the H200 by the bandwidth ratio
    ta = a.estimate(gpu.speech_dnn(1), 1).latency_s
    tb = b.estimate(gpu.speech_dnn(1), 1).latency_s
    assert tb < ta


def test_bad_arguments_are_clear_errors(monkeypatch):
    with pytest.raises(ConfigError, match="gemm_n"):
        gc.measure("cpu", gemm_n=8)
    with pytest.raises(ConfigError, match="batch sizes"):
        gc.speech_batching("cpu", (0, 4), shape=SMALL)
    with pytest.raises(ConfigError, match="batch sizes"):
        gc.speech_batching("cpu", (), shape=SMALL)
    with pytest.raises(ConfigError, match="'gpu' is not known"):
        gc.measure("gpu")
    with pytest.raises(ConfigError, match="'gpu' is not known"):
        gc.speech_batching("gpu", (1,), shape=SMALL)
    with pytest.raises(ConfigError, match="fp16.*fp32, bf16"):
        gc.speech_batching("cpu", (1,), dtype="fp16", shape=SMALL)
    with pytest.raises(ConfigError, match="int8"):
        gc.peak_flops("cpu", "int8", 32, 1)
    with pytest.raises(ConfigError, match="repeats"):
        gc.speech_batching("cpu", (1,), repeats=0, shape=SMALL)
    with pytest.raises(ConfigError, match="repeats"):
        gc.time_s(lambda: None, "cpu", 0)
    with pytest.raises(ConfigError, match="2 or more"):
        gc.speech_batching("cpu", (1,), shape=(8,))
    if torch.cuda.is_available():
        with pytest.raises(ConfigError, match="numbered from 0"):
            gc.measure(f"cuda:{torch.cuda.device_count()}")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        gc.measure("cuda")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        gc.speech_batching("cuda", (1,), shape=SMALL)


def test_saved_measurement_is_the_local_gpu_preset(tmp_path, monkeypatch):
    from hwnn.hw import devices

    monkeypatch.setenv("HWNN_GPU_CALIBRATION", str(tmp_path / "gpu.json"))
    assert gc.load() is None and devices.local_gpu(measure_if_missing=False) is None
    assert "local-gpu" not in devices.presets() and "local-gpu" in devices.names()
    m = gc.measure("cpu", gemm_n=64, copy_bytes=1 << 20, repeats=2)
    assert gc.save(m) == tmp_path / "gpu.json"
    assert gc.load() == m
    dev = devices.get("local-gpu")
    assert dev.name == "local-gpu" and dev.peak_ops_per_s["fp32"] == m.peak_fp32_flops
    assert dev.layer_overhead_s == m.layer_overhead_s
    assert "local-gpu" in devices.presets()
    good = json.loads((tmp_path / "gpu.json").read_text())
    for bad in ('{"name": "x"}', json.dumps({**good, "peak_fp32_flops": "a"}),
                json.dumps({**good, "bandwidth_bytes_per_s": -1.0}),
                json.dumps({**good, "name": 3}), json.dumps({**good, "l2_bytes": True})):
        (tmp_path / "gpu.json").write_text(bad)
        with pytest.raises(ConfigError, match="unreadable"):
            gc.load()
        with pytest.raises(ConfigError, match="unreadable"):
            devices.presets()  # a bad file is an error that names it, not a TypeError
    (tmp_path / "gpu.json").write_bytes(b"\xff\xfe")
    with pytest.raises(ConfigError, match="unreadable"):
        gc.load()
    (tmp_path / "gpu.json").write_text("{broken")
    with pytest.raises(ConfigError, match="hwnn info --calibrate"):
        devices.get("local-gpu")


def test_local_gpu_without_a_gpu_or_a_saved_measurement(tmp_path, monkeypatch):
    from hwnn.hw import devices

    monkeypatch.setenv("HWNN_GPU_CALIBRATION", str(tmp_path / "none.json"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        devices.get("local-gpu")


@pytest.mark.skipif(not has_cuda, reason="no CUDA GPU visible")
def test_gpu_roofs_are_a_datacenter_gpus():
    m = gc.measure("cuda", gemm_n=4096, copy_bytes=1 << 30, repeats=5)
    assert m.peak_fp32_flops > 5e12 and m.peak_bf16_flops > 4 * m.peak_fp32_flops
    assert m.bandwidth_bytes_per_s > 5e11
    assert 1e-7 < m.layer_overhead_s < 1e-3 and 1e-7 < m.sync_s < 1e-2
    assert m.roofline().kind == "gpu"


@pytest.mark.skipif(not has_cuda, reason="no CUDA GPU visible")
def test_gpu_batching_follows_the_decks_shape():
    """Time per second of speech falls with the batch while weights dominate (the deck's
    "linear improvements from batching"), on the real speech network."""
    t = gc.speech_batching("cuda", (1, 8, 128), repeats=10)
    assert t[8] < t[1] / 3 and t[128] < t[8]
