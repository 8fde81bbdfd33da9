"""`hwnn devices` and `hwnn estimate`: the command logic and its typer wiring."""

import json

import pytest
import typer
from typer.testing import CliRunner

from hwnn.commands import hardware
from hwnn.errors import ConfigError
from hwnn.formats import FP32


@pytest.fixture(scope="module")
def app():
    a = typer.Typer()
    hardware.register(a)
    return a


def test_devices_json(app):
    res = CliRunner().invoke(app, ["devices", "--json"])
    assert res.exit_code == 0, res.output
    specs = {s["name"]: s for s in json.loads(res.output)}
    assert specs["tpu-v1"]["ridge_macs_per_weight_byte"] == pytest.approx(1349.27, rel=1e-3)
    assert specs["zc706"]["luts"] == 218_600
    assert {"haswell", "k80", "h100", "myriad2", "myriadx", "asic-int8"} <= set(specs)


def test_estimate_fp32_mlp_json(app):
    res = CliRunner().invoke(app, ["estimate", "--model", "mlp", "--method", "fp32",
                                   "--device", "haswell", "--epochs", "1", "--json"])
    assert res.exit_code == 0, res.output
    r = json.loads(res.output)
    assert len(r["layers"]) == 2 and [x["n"] for x in r["layers"]] == [128, 10]
    assert r["macs_per_inference"] == 64 * 128 + 128 * 10
    assert r["feasible"] and r["energy_per_inference_pj"] > 0
    assert r["throughput_per_s"] == pytest.approx(1 / r["latency_s"])
    assert r["inferences_per_j"] == pytest.approx(1e12 / r["energy_per_inference_pj"])
    assert all(x["weight_format"] == "fp32" for x in r["layers"])


def test_estimate_quantized_on_the_tpu():
    r = hardware.estimate("mlp", "int8", "tpu-v1", batch=8, epochs=1)
    assert r.feasible and r.batch == 8
    assert {x.weight_format for x in r.layers} == {"int8"}
    assert r.layers[0].m == 8
    fp = hardware.estimate("mlp", "fp32", "tpu-v1", epochs=1)
    assert not fp.feasible and "quantize to int8" in fp.reasons[0]
    own = hardware.estimate("mlp", "int8", "asic", epochs=1)
    assert own.feasible and own.device.startswith("asic-int8")


def test_lenet_lowering_shapes():
    from hwnn import models
    from hwnn.lower import lower

    net = models.build("lenet5", (1, 8, 8), 10)
    w = lower(net, (1, 8, 8), batch=2)
    conv1 = w.layers[0]
    assert conv1.kind == "conv2d" and conv1.gemm_dims() == (2 * 8 * 8, 25, 6)
    assert [x.kind for x in w.layers] == ["conv2d", "conv2d", "gemm", "gemm", "gemm"]
    assert all(x.weight_format == FP32 for x in w.layers)


def test_bad_input_exits_2_with_a_message(app):
    runner = CliRunner()
    res = runner.invoke(app, ["estimate", "--device", "pentium", "--epochs", "1"])
    assert res.exit_code == 2 and "haswell" in res.output
    res = runner.invoke(app, ["estimate", "--model", "/no/such.pt", "--epochs", "1"])
    assert res.exit_code == 2 and "checkpoint path" in res.output
    res = runner.invoke(app, ["estimate", "--energy-table", "/no/table.json", "--epochs", "1"])
    assert res.exit_code == 2 and "energy table" in res.output
    with pytest.raises(ConfigError, match="unknown"):
        hardware.estimate("mlp", "int3", "haswell", epochs=1)
    with pytest.raises(ConfigError, match="batch"):
        hardware.estimate("mlp", "fp32", "haswell", batch=0, epochs=1)


def test_estimate_from_a_checkpoint(tmp_path):
    from hwnn import checkpoint, models

    spec = {"name": "mlp", "input_shape": [1, 8, 8], "classes": 10, "seed": 0,
            "hidden": [32]}
    net = models.build("mlp", (1, 8, 8), 10, hidden=(32,))
    path = checkpoint.save(tmp_path / "m.pt", net, spec)
    r = hardware.estimate(str(path), "int8", "zc706")
    assert r.feasible and r.macs_per_inference == 64 * 32 + 32 * 10
    big = models.build("mlp", (1, 28, 28), 10, hidden=(32,))
    other = checkpoint.save(tmp_path / "b.pt", big, {**spec, "input_shape": [1, 28, 28]})
    with pytest.raises(ConfigError, match="expects inputs"):
        hardware.estimate(str(other), "int8", "zc706", data="digits")
