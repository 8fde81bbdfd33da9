import json

from typer.testing import CliRunner

from hwnn import study
from hwnn.cli import app

runner = CliRunner()


def test_help_on_every_command():
    for args in ([], ["study"], ["train"], ["info"]):
        result = runner.invoke(app, [*args, "--help"])
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output


def test_info_json_reports_native_core_and_features():
    result = runner.invoke(app, ["info", "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["version"]
    assert isinstance(info["native"], bool)
    assert info["threads"] >= 1
    assert isinstance(info["cuda_available"], bool)
    if info["native"]:
        for feature in ("popcnt", "avx2", "fma"):
            assert feature in info["cpu_features"]


def test_train_json_and_checkpoint(tmp_path):
    ckpt = tmp_path / "m.pt"
    result = runner.invoke(
        app, ["train", "--epochs", "3", "--hidden", "32", "--save", str(ckpt), "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["model"] == "mlp" and out["dataset"]["name"] == "digits"
    assert len(out["loss_per_epoch"]) == 3 and 0.5 < out["accuracy"] <= 1.0
    assert ckpt.is_file()


def test_study_writes_report_and_json(tmp_path):
    out_dir = tmp_path / "rep"
    result = runner.invoke(
        app,
        ["study", "--epochs", "2", "--batches", "1,4", "--out", str(out_dir), "--json"]
        + ["--skip", ",".join(n for n, _, req in study.STEPS if not req and n != "throughput")],
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    on_disk = json.loads((out_dir / "results.json").read_text())
    assert printed["fp32"] == on_disk["fp32"]
    assert [p["batch"] for p in on_disk["throughput"]] == [1, 4]
    assert (out_dir / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_bad_input_is_one_clear_message_not_a_traceback(tmp_path):
    cases = [
        (["train", "--model", "vgg"], "model='vgg' is not known"),
        (["train", "--data", "mnist"], "needs --data-dir"),
        (["train", "--data", "mnist", "--data-dir", str(tmp_path)], "missing t10k-images"),
        (["study", "--batches", "1,x", "--out", str(tmp_path)], "--batches must be"),
        (["train", "--epochs", "0"], "epochs must be positive"),
        (["train", "--device", "gpu"], "device='gpu' is not known"),
    ]
    for args, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
        assert "Traceback" not in result.output
