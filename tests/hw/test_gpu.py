"""GPU roofline with batching: the deck's speech table, K80 and H100 presets."""

import math

import pytest

from hwnn.errors import ConfigError
from hwnn.formats import FP16, FP32, INT8
from hwnn.hw import cpu, gpu
from hwnn.hw.workload import Layer, Workload


def test_fit_reproduces_the_decks_gpu_table_within_5_percent():
    table = {b: ms / 1000 for b, ms in gpu.DECK_GPU_MS.items()}
    fit = gpu.fit_batching(table, gpu.SPEECH_FRAMES_PER_S)
    assert fit.max_rel_error < 0.05
    for b, t in table.items():
        assert fit.predict_s(gpu.SPEECH_FRAMES_PER_S, b) == pytest.approx(t, rel=0.05)
    # memory-bound below B* = t_weights / t_compute, compute-bound above
    assert 8 < fit.t_weights_s / fit.t_compute_s < 128


def test_deck_gpu_preset_reproduces_the_table_layer_by_layer():
    dev = gpu.deck_gpu_2011()
    points = gpu.batching_table(dev, gpu.speech_dnn, gpu.SPEECH_FRAMES_PER_S, list(gpu.DECK_GPU_MS))
    for p in points:
        assert p.total_latency_s * 1000 == pytest.approx(gpu.DECK_GPU_MS[p.batch], rel=0.05)
    # batching helps until compute dominates: linear at first
    assert points[0].total_latency_s / points[1].total_latency_s == pytest.approx(2, rel=0.02)


def test_deck_cpu_batch_one_is_1360_ms():
    dev = cpu.deck_cpu_2011()
    (p,) = gpu.batching_table(dev, gpu.speech_dnn, gpu.SPEECH_FRAMES_PER_S, [1])
    assert p.total_latency_s == pytest.approx(1.360, rel=1e-6)
    assert all(e.bound == "memory" for e in dev.run(gpu.speech_dnn(1)))


def test_batching_model_formula():
    assert gpu.batching_model_s(100, 8, 5e-3, 1e-4) == 13 * 5e-3
    assert gpu.batching_model_s(100, 128, 5e-3, 1e-4) == pytest.approx(128e-4)
    with pytest.raises(ConfigError):
        gpu.fit_batching({0: 1.0}, 100)
    with pytest.raises(ConfigError):
        gpu.speech_dnn(0)


def test_presets_rates_and_formats():
    k80, h100 = gpu.k80(), gpu.h100()
    assert k80.roofline("fp32").ridge_ops_per_byte == pytest.approx(2.8e12 / 160e9)
    # the K80 has no int8 or fp16 units: both run at the fp32 rate
    big = Workload("g", (Layer("g", m=4096, k=4096, n=4096, weight_format=INT8,
                                act_format=INT8),))
    e8 = k80.run(big)[0]
    assert "runs on fp32" in e8.reason
    assert e8.latency_s == pytest.approx(2 * 4096**3 / 2.8e12 + gpu.KERNEL_LAUNCH_S, rel=1e-6)
    # H100 tensor cores: fp16 ~15x and int8 ~30x the fp32 CUDA-core rate on a big GEMM
    t = {f.name: h100.run(Workload("g", (Layer("g", m=8192, k=8192, n=8192, weight_format=f,
                                                 act_format=f),)))[0].latency_s
         for f in (FP32, FP16, INT8)}
    assert t["fp32"] / t["fp16"] == pytest.approx(989 / 67, rel=0.05)
    assert t["fp16"] / t["int8"] == pytest.approx(2, rel=0.05)


def test_energy_is_busy_power_times_time():
    dev = gpu.k80()
    w = gpu.speech_dnn(32)
    est = dev.estimate(w, 32)
    assert est.energy_pj == pytest.approx(98.0 * est.latency_s * 1e12, rel=1e-9)
    parts = est.energy_by_part_pj()
    assert {"compute", "dram"} <= set(parts)
    assert math.isclose(sum(parts.values()), est.energy_pj)


def test_tiny_layers_are_overhead_bound():
    tiny = Workload("t", (Layer("t", m=1, k=64, n=10, weight_format=FP16, act_format=FP16),))
    (e,) = gpu.h100().run(tiny)
    assert e.bound == "overhead" and e.latency_s == pytest.approx(gpu.KERNEL_LAUNCH_S, rel=1e-3)
