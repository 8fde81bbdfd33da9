"""VPU: SHAVE vector cores at about 1 W."""

import pytest

from hwnn.formats import FP16, FP32, INT8
from hwnn.hw import vpu
from hwnn.hw.workload import Layer, Workload


def test_shave_peaks():
    p = vpu.shave_peaks(12, 600e6)
    assert p["fp16"] == pytest.approx(115.2e9)  # "over 100 GFLOPS"
    assert p["fp32"] * 2 == p["fp16"] and p["fp16"] * 2 == p["int8"]
    assert vpu.myriadx().peak_ops_per_s["int8"] == pytest.approx(1e12)


def test_about_one_watt_and_cmx_residency():
    dev = vpu.myriad2()
    small = Workload("s", (Layer("l", m=1, k=64, n=128, weight_format=FP16, act_format=FP16),))
    (e,) = dev.run(small)
    assert e.traffic_bytes["dram"] == 0 and e.traffic_bytes["cmx"] > 0
    assert sum(e.energy_pj.values()) == pytest.approx(0.9 * e.latency_s * 1e12)
    big = Workload("b", (Layer("l", m=1, k=4096, n=4096, weight_format=FP32, act_format=FP32),))
    (e,) = dev.run(big)
    assert e.traffic_bytes["dram"] == 4096 * 4096 * 4 and e.bound == "memory"


def test_myriadx_faster_than_myriad2_on_int8():
    w = Workload("c", (Layer("l", m=4096, k=256, n=256, weight_format=INT8, act_format=INT8),))
    assert vpu.myriadx().estimate(w).latency_s < vpu.myriad2().estimate(w).latency_s / 3
