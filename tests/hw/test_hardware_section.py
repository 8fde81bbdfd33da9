"""The study's hardware section: rows for every precision x device, charts, MAC costs."""

import json
import math

import pytest

from hwnn.formats import FP32, INT8, Binary
from hwnn.hw.hardware_section import asic_for, hardware_section
from hwnn.hw.workload import Layer, Workload
from hwnn.results import to_jsonable


def mlp(w, a, float_ends=False):
    dims = (64, 32, 10)
    layers = []
    for i in range(2):
        wf, af = (FP32, FP32) if float_ends and i == 0 else (w, a)
        layers.append(Layer(f"fc{i}", m=1, k=dims[i], n=dims[i + 1], weight_format=wf,
                            act_format=af))
    return Workload("mlp", tuple(layers))


WORKLOADS = {"fp32": mlp(FP32, FP32), "int8": mlp(INT8, INT8),
             "bnn": mlp(Binary(), Binary(), float_ends=True)}
DEVICES = ("haswell", "tpu-v1", "zc706", "asic")


@pytest.fixture(scope="module")
def sections():
    return hardware_section(WORKLOADS, DEVICES)


def test_rows_for_every_precision_and_device(sections):
    hw, costs, _ = sections
    assert hw.key == "hardware" and costs.key == "mac_costs"
    assert [(r.precision, r.device.split("-")[0]) for r in hw.data] == [
        (p, d.split("-")[0]) for p in WORKLOADS for d in DEVICES
    ]
    for r in hw.data:
        if not r.feasible:
            assert r.device == "tpu-v1" and r.precision in ("fp32", "bnn")
            assert "quantize to int8" in r.reason and math.isnan(r.throughput_per_s)
            continue
        assert r.latency_s > 0 and r.throughput_per_s > 0
        assert r.inferences_per_j == pytest.approx(1e12 / r.energy_per_inference_pj)
        assert sum(r.energy_by_part_pj.values()) == pytest.approx(r.energy_per_inference_pj)
    json.dumps(to_jsonable(hw.data))  # NaN becomes null


def test_lower_precision_is_cheaper_on_the_custom_array(sections):
    hw, _, _ = sections
    asic = {r.precision: r for r in hw.data if r.kind == "asic"}
    assert asic["int8"].energy_per_inference_pj < asic["fp32"].energy_per_inference_pj / 3
    assert asic_for(WORKLOADS["int8"]).weight_format == INT8
    assert asic_for(WORKLOADS["bnn"]).weight_format == FP32  # float first layer


def test_charts_are_inline_svg(sections):
    hw, _, batching = sections
    assert len(hw.charts) == 2 and len(batching.charts) == 1
    charts = hw.charts + batching.charts
    assert all(c.startswith("<svg") and c.rstrip().endswith("</svg>") for c in charts)


def test_mac_costs_exact(sections):
    _, costs, _ = sections
    by = {r.precision: r for r in costs.data}
    assert by["int8"].mac_energy_pj == pytest.approx(0.3)
    assert by["fp32"].mac_energy_pj == pytest.approx(4.6)
    macs = 64 * 32 + 32 * 10
    assert by["int8"].compute_energy_pj == pytest.approx(macs * 0.3)
    assert by["bnn"].compute_energy_pj == pytest.approx(64 * 32 * 4.6 + 32 * 10 * 2 * 0.03 / 8)
    assert by["int8"].weight_bytes == macs
    assert by["fp32"].asic_area_mm2 > 10 * by["int8"].asic_area_mm2  # 51.8 vs 4.8 mm^2


def test_another_energy_table_reprices_everything(tmp_path):
    from hwnn.hw.energy import default_table

    raw = default_table().to_dict()
    for entry in raw["ops"].values():
        entry["energy_pj"] *= 0.5
    path = tmp_path / "half.json"
    path.write_text(json.dumps(raw))
    work = {"int8": WORKLOADS["int8"]}
    base = hardware_section(work, ("asic",))
    half = hardware_section(work, ("asic",), table=str(path))
    assert half[1].data[0].mac_energy_pj == pytest.approx(0.15)
    b, h = base[0].data[0].energy_by_part_pj, half[0].data[0].energy_by_part_pj
    assert h["compute"] == pytest.approx(b["compute"] / 2)
    assert h["weight_buffer"] == pytest.approx(b["weight_buffer"])  # SRAM unchanged


def test_batching_section_reproduces_the_decks_table(sections):
    rows = sections[2].data
    assert [(r.device, r.batch) for r in rows] == [
        ("CPU", 1), ("GPU", 1), ("GPU", 2), ("GPU", 4), ("GPU", 8), ("GPU", 128)]
    assert all(abs(r.error_pct) < 5 for r in rows)
