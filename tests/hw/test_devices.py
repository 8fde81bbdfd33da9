"""The preset registry and the one interface every device implements."""

import json
import math
import subprocess
import sys

import pytest

from hwnn.errors import ConfigError
from hwnn.formats import INT8
from hwnn.hw import calibrate, cpu, devices
from hwnn.hw.device import WorkloadEstimate
from hwnn.hw.workload import Layer, Workload
from hwnn.results import to_jsonable

MLP = Workload("mlp", (
    Layer("fc0", m=1, k=64, n=128, weight_format=INT8, act_format=INT8),
    Layer("fc1", m=1, k=128, n=10, weight_format=INT8, act_format=INT8),
))


def test_every_preset_runs_the_same_interface():
    presets = devices.presets()
    for name in ("haswell", "k80", "h100", "tpu-v1", "zc706", "myriad2", "myriadx",
                 "asic-int8", "deck-gpu-2011", "deck-cpu-2011"):
        assert name in presets
    for name, dev in presets.items():
        if name == "tpu-v1-systolic":  # the simulator's own tests cover it
            continue
        est = dev.estimate(MLP, batch=1)
        assert isinstance(est, WorkloadEstimate) and len(est.layers) == 2, name
        if name == "asic-binary":  # int8 operands are wider than its 1-bit MACs
            assert not est.feasible and "quantize" in est.reasons[0]
            continue
        assert est.feasible, (name, est.reasons)
        assert est.latency_s > 0 and est.energy_pj > 0, name
        assert est.throughput_per_s > 0 and est.inferences_per_j > 0, name
        assert all(e.macs == layer.macs for e, layer in zip(est.layers, MLP.layers, strict=True))
        spec = dev.spec()
        assert spec["name"] == name and spec["kind"] in {"cpu", "gpu", "tpu", "fpga", "vpu",
                                                          "asic"}
        json.dumps(to_jsonable(spec))


def test_get_unknown_lists_names():
    with pytest.raises(ConfigError, match="haswell"):
        devices.get("pentium")
    assert devices.get(" H100 ").name == "h100"


def test_infeasible_estimate_has_nan_rates():
    from hwnn.formats import FP32

    fp = Workload("f", (Layer("fc", m=1, k=4, n=4, weight_format=FP32, act_format=FP32),))
    est = devices.get("tpu-v1").estimate(fp)
    assert not est.feasible and math.isnan(est.throughput_per_s)
    assert to_jsonable(est.throughput_per_s) is None


def test_calibrate_small_and_local_preset(tmp_path, monkeypatch):
    monkeypatch.setenv("HWNN_CALIBRATION", str(tmp_path / "cal.json"))
    assert devices.local_cpu(measure_if_missing=False) is None
    cal = calibrate.calibrate(save=True, gemm_n=128, copy_bytes=1 << 20, repeats=2)
    assert cal["peak_fp32_flops"] > 1e6 and cal["bandwidth_bytes_per_s"] > 1e6
    assert (tmp_path / "cal.json").is_file()
    dev = devices.get("local-cpu")
    assert dev.peak_ops_per_s["fp32"] == pytest.approx(cal["peak_fp32_flops"])
    assert "local-cpu" in devices.presets()
    assert cpu.from_calibration(cal).estimate(MLP).feasible
    (tmp_path / "cal.json").write_text("{broken")
    with pytest.raises(ConfigError, match="not valid JSON"):
        calibrate.load_calibration()
    with pytest.raises(ConfigError):
        calibrate.calibrate(gemm_n=2)


def test_hardware_layer_never_imports_torch():
    code = (
        "import sys; import hwnn.hw.devices, hwnn.hw.energy, hwnn.hw.hardware_section;"
        "hwnn.hw.devices.presets();"
        "assert 'torch' not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
