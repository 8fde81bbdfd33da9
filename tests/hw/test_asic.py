"""ASIC: a MAC array of any format plus SRAMs, area and energy from the table."""

import pytest

from hwnn.errors import ConfigError
from hwnn.formats import FP32, INT8, Binary
from hwnn.hw import asic, energy
from hwnn.hw.workload import Layer, Workload


def test_area_from_the_table():
    a = asic.asic("int8")
    area = a.area_um2()
    assert area["macs"] == pytest.approx(64 * 64 * (282 + 137))  # int8 mult + int32 add
    assert area["weight_buffer"] == pytest.approx(512 * 1024 * 8 * 0.494)
    assert asic.asic("binary").area_um2()["macs"] < area["macs"] / 20


def test_one_small_layer_energy_exact():
    # 1 x 64 input times 64 x 64 int8 weights: 4096 MACs, weights (4 KiB) resident,
    # activations 64 in + 64 out bytes in the 256 KiB buffer, nothing from DRAM.
    a = asic.asic("int8")
    layer = Layer("l", m=1, k=64, n=64, weight_format=INT8, act_format=INT8)
    (e,) = a.run(Workload("w", (layer,)))
    wb = 4096 * 8 / 32 * 5 * (512 * 1024 / 8192) ** 0.5
    ab = 128 * 8 / 32 * 5 * (256 * 1024 / 8192) ** 0.5
    assert e.energy_pj["compute"] == pytest.approx(4096 * 0.3)
    assert e.energy_pj["weight_buffer"] == pytest.approx(wb)
    assert e.energy_pj["act_buffer"] == pytest.approx(ab)
    assert "dram" not in e.energy_pj
    assert e.cycles == 1 + 64 + 64


def test_formats_decide_energy_and_fit():
    layer = Layer("l", m=16, k=256, n=256, weight_format=Binary(), act_format=Binary())
    w = Workload("w", (layer,))
    e_bin = asic.asic("binary").estimate(w).energy_pj
    e_int8 = asic.asic("int8").estimate(w).energy_pj
    assert e_bin < e_int8
    fp = Workload("w", (layer.with_formats(FP32, FP32),))
    assert not asic.asic("int8").estimate(fp).feasible
    assert asic.asic("fp32").estimate(fp).feasible
    assert energy.mac_energy_pj(FP32, FP32) == asic.asic("fp32").spec()["mac_energy_pj"]


def test_bad_presets():
    with pytest.raises(ConfigError):
        asic.asic("int3")
    with pytest.raises(ConfigError):
        asic.ASIC("x", 0, 4, INT8, INT8, 1, 1)
