"""``hwnn bench`` logic: every engine timed at every batch size, plans checked against torch."""

import pytest
import typer
from typer.testing import CliRunner

from hwnn.commands import bench as bench_command
from hwnn.deploy import bench
from hwnn.errors import ConfigError
from hwnn.results import Section


@pytest.fixture(scope="module")
def result():
    return bench.run_bench(
        "mlp", "bnn", "digits", epochs=1, hidden=(32,), batches=(1, 4), min_time_s=0.01,
        finetune_epochs=0,
    )  # fmt: skip


def test_run_bench_times_every_engine_at_every_batch(result):
    engines = [e.engine for e in result.engines]
    assert engines == ["torch-fp32", "engine-int8", "engine-bnn"]
    assert {(p.engine, p.batch) for p in result.points} == {(e, b) for e in engines for b in (1, 4)}
    for p in result.points:
        assert p.predictions_per_s > 0
        assert p.latency_per_sample_s == pytest.approx(p.latency_per_batch_s / p.batch)
    assert all(e.agrees_with_torch == 1.0 for e in result.engines)
    assert set(result.speedup_at_batch_1) == {"engine-int8", "engine-bnn"}


def test_bench_section_has_points_and_a_chart(result):
    section = bench.bench_section(result)
    assert isinstance(section, Section) and section.key == "deploy_bench"
    assert section.data == result.points
    assert section.charts and section.charts[0].startswith("<svg")


def test_section_from_study_models(digits_models):
    fp32, quantized, ds = digits_models
    section = bench.section_from_models(
        fp32, quantized, ds.x_test, ds.y_test, batches=(2,), model="mlp", data="digits",
        min_time_s=0.01,
    )  # fmt: skip
    engines = {p.engine for p in section.data}
    assert engines == {"torch-fp32", "engine-int8", "engine-xnor"}  # bwn is not served here
    assert "mlp on digits" in section.description


@pytest.fixture(scope="module")
def digits_models():
    from hwnn import data, models, quant, train
    from hwnn.config import TrainConfig

    ds = data.load("digits")
    net = models.build("mlp", ds.input_shape, ds.classes, 0, (32,))
    train.fit(net, ds, TrainConfig(epochs=1, seed=0))
    net.eval()
    quantized = {m: quant.quantize(net, m, ds, epochs=0) for m in ("int8", "xnor", "bwn")}
    return net, quantized, ds


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="cannot be deployed"):
        bench.run_bench(method="lognet")
    with pytest.raises(ConfigError, match="batch sizes"):
        bench.run_bench(batches=(0,))


def test_cli_command_prints_json():
    app = typer.Typer()
    bench_command.register(app)
    app.command("noop")(lambda: None)  # typer needs two commands to keep subcommand names
    args = ["bench", "--epochs", "1", "--hidden", "16", "--batches", "1", "--finetune-epochs",
            "0", "--json"]  # fmt: skip
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    assert '"engine": "engine-bnn"' in out.output
    bad = CliRunner().invoke(app, ["bench", "--method", "lognet"])
    assert bad.exit_code == 2 and "cannot be deployed" in bad.output
    bad = CliRunner().invoke(app, ["bench", "--rivals", "tflite"])
    assert bad.exit_code == 2 and "unknown rival engine(s) tflite" in bad.output


def test_cli_names_rivals_it_could_not_run(monkeypatch):
    from hwnn.deploy import rivals

    monkeypatch.setattr(rivals, "missing", lambda: {"ort-int8": "onnxruntime not installed"})
    app = typer.Typer()
    bench_command.register(app)
    app.command("noop")(lambda: None)
    args = ["bench", "--epochs", "1", "--hidden", "16", "--batches", "1", "--finetune-epochs",
            "0", "--rivals", "ort-int8,torch-ao-int8"]  # fmt: skip
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    assert "ort-int8 not run: onnxruntime not installed" in out.output
    assert "torch-ao-int8" in out.output
