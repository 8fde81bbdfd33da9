"""The study's precision section and the ``hwnn quantize`` command."""

import json

import pytest
import typer
from typer.testing import CliRunner

from hwnn import checkpoint, models
from hwnn import data as datasets
from hwnn.commands import quantize as quantize_command
from hwnn.config import TrainConfig
from hwnn.quant import quant_layers
from hwnn.quant.study_section import PrecisionRow, precision_section
from hwnn.results import to_jsonable
from hwnn.train import fit

FIELDS = ("method", "weight_bits", "activation_bits", "fp32_accuracy", "accuracy",
          "accuracy_loss_pct", "model_bytes", "fp32_model_bytes")


@pytest.fixture(scope="module")
def app():
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        pass

    quantize_command.register(app)
    return app


@pytest.fixture(scope="module")
def fp32():
    data = datasets.load("digits")
    cfg = TrainConfig(epochs=8)
    model = models.build("mlp", data.input_shape, data.classes, seed=0)
    acc = fit(model, data, cfg).accuracy
    return data, cfg, model, acc


def test_precision_section_has_the_deck_columns_sizes_and_chart(fp32):
    data, cfg, model, acc = fp32
    out: dict = {}
    names = ["fixed", "twn", "bnn", "lognet", "weight_sharing", "fp16"]
    sections = precision_section(data, "mlp", cfg, model, acc, models_out=out, names=names)
    table, layers = sections
    assert table.key == "precision" and layers.key == "precision_layers"
    assert [r.method for r in table.data] == names
    assert all(isinstance(r, PrecisionRow) for r in table.data)
    first = to_jsonable(table.data[0])
    for col in ("category", "weight_bits", "activation_bits", "accuracy_loss_pct",
                "model_bytes", "compression_ratio", "deck_accuracy_loss_pct"):
        assert col in first
    assert all(r.compression_ratio > 1 for r in table.data)
    assert table.charts and all(c.startswith("<svg") for c in table.charts)
    assert "weight bits" in table.charts[0]
    assert set(out) == set(names) and all(quant_layers(m) for m in out.values())
    assert len(layers.data) == 2 * len(names)
    json.dumps(to_jsonable([s.data for s in sections]))  # JSON-ready as results.json needs


def test_quantize_command_json(app):
    res = CliRunner().invoke(app, ["quantize", "--method", "TWN", "--epochs", "3",
                                   "--hidden", "32,16", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    for key in FIELDS:
        assert key in doc
    assert doc["method"] == "twn" and doc["weight_bits"] == 2 and doc["activation_bits"] == 32
    assert [x["distinct_weights"] <= 3 for x in doc["layers"]] == [False, True, False]
    assert doc["accuracy_loss_pct"] == pytest.approx(
        100 * (doc["fp32_accuracy"] - doc["accuracy"])
    )


def test_quantize_command_first_last_option(app):
    args = ["quantize", "--method", "twn", "--epochs", "1", "--finetune-epochs", "1",
            "--hidden", "16", "--json"]
    keep = json.loads(CliRunner().invoke(app, [*args, "--first-last-fp32"]).stdout)
    assert keep["first_last_fp32"] and keep["precision"] == "32"  # a 2-layer MLP: all fp32
    default = json.loads(CliRunner().invoke(app, args).stdout)
    assert not default["first_last_fp32"] and default["precision"] == "2"


def test_section_epochs_cap(fp32):
    data, cfg, model, acc = fp32
    sections = precision_section(data, "mlp", cfg, model, acc, names=["bnn"], epochs=0)
    assert sections[0].data[0].method == "bnn"


def test_quantize_command_from_checkpoint_and_table(app, tmp_path, fp32):
    data, cfg, model, acc = fp32
    spec = {"name": "mlp", "input_shape": list(data.input_shape), "classes": 10, "seed": 0,
            "hidden": [128]}
    path = checkpoint.save(tmp_path / "m.pt", model, spec)
    res = CliRunner().invoke(app, ["quantize", "--method", "int8", "--checkpoint", str(path),
                                   "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["fp32_accuracy"] == pytest.approx(acc)
    res = CliRunner().invoke(app, ["quantize", "--method", "fp16", "--checkpoint", str(path)])
    assert res.exit_code == 0 and "distinct weights" in res.stdout


def test_quantize_list(app):
    res = CliRunner().invoke(app, ["quantize", "--list", "--json"])
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert {r["method"] for r in rows} >= {"twn", "ttq", "bnn", "xnor", "lognet"}
    assert all(r["rule"] and r["gradient"] for r in rows)
    res = CliRunner().invoke(app, ["quantize"])
    assert res.exit_code == 2 and "--method is required" in res.output


@pytest.mark.parametrize(
    "args,message",
    [
        (["--method", "int3"], "unknown quantization method"),
        (["--method", "twn", "--model", "vgg"], "is not known"),
        (["--method", "twn", "--hidden", "a,b"], "--hidden"),
        (["--method", "twn", "--checkpoint", "/nonexistent.pt"], "no such checkpoint"),
        (["--method", "twn", "--data", "mnist"], "--data-dir"),
    ],
)
def test_quantize_command_bad_input_is_one_clear_error(app, args, message):
    res = CliRunner().invoke(app, ["quantize", *args, "--epochs", "1"])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output


def test_checkpoint_for_other_data_is_refused(app, tmp_path):
    model = models.build("mlp", (1, 4, 4), 10)
    spec = {"name": "mlp", "input_shape": [1, 4, 4], "classes": 10, "seed": 0, "hidden": [128]}
    path = checkpoint.save(tmp_path / "small.pt", model, spec)
    res = CliRunner().invoke(app, ["quantize", "--method", "fp16", "--checkpoint", str(path)])
    assert res.exit_code == 2 and "expects inputs" in res.output
