"""``hwnn step``: summary, frames, JSON, pictures and refusals."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hwnn.cli import app

runner = CliRunner()


def _step(*args: str):
    return runner.invoke(app, ["step", *args])


def test_help():
    result = _step("--help")
    assert result.exit_code == 0, result.output
    assert "--dataflow" in result.output and "--png-dir" in result.output


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_summary_matches_fast_model(dataflow):
    result = _step("--dataflow", dataflow, "--rows", "2", "--cols", "3", "--m", "5", "--k", "4",
                   "--n", "3", "--seed", "7")
    assert result.exit_code == 0, result.output
    assert f"{dataflow} on a 2x3 array" in result.stdout
    assert "result equals A @ W" in result.stdout
    line = next(x for x in result.stdout.splitlines() if x.startswith("cycles:"))
    cycles = int(line.split()[1])
    assert f"fast model: {cycles};" in line


@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_json_with_frames(dataflow):
    result = _step("--dataflow", dataflow, "--rows", "2", "--cols", "2", "--m", "3", "--k", "3",
                   "--n", "2", "--frames", "--json")
    assert result.exit_code == 0, result.output
    res = json.loads(result.stdout)
    assert res["result_correct"] is True and res["cycles"] == res["fast_model_cycles"]
    assert res["cycles"] == res["folds"] * res["fold_cycles"] == len(res["frames"])
    a, w = res["a"], res["w"]
    expected = [[sum(a[i][t] * w[t][j] for t in range(3)) for j in range(2)] for i in range(3)]
    assert res["result"] == expected
    first = res["frames"][0]
    assert first["phase"] == {"ws": "load weights", "os": "stream operands",
                              "is": "load inputs"}[dataflow]
    assert len(first["weights"]) == 2 and None in first["psums"][1]  # empty registers: null


def test_frames_print_as_text():
    result = _step("--dataflow", "os", "--rows", "2", "--cols", "2", "--m", "2", "--k", "2",
                   "--n", "2", "--frames")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("cycle ") == 4  # K + A_r + A_c - 2
    assert "stream operands" in result.stdout and "drain outputs" in result.stdout
    assert "[w=" in result.stdout and "acc=" in result.stdout and "out: y[" in result.stdout


def test_gif_and_png_frames(tmp_path):
    gif, pngs = tmp_path / "is.gif", tmp_path / "frames"
    result = _step("--dataflow", "is", "--rows", "2", "--cols", "2", "--m", "2", "--k", "2",
                   "--n", "1", "--gif", str(gif), "--png-dir", str(pngs))
    assert result.exit_code == 0, result.output
    assert gif.read_bytes()[:6] == b"GIF89a"
    assert len(list(pngs.glob("frame_*.png"))) == 2 * 2 + 2 + 1 - 2
    assert "wrote 5 PNG frames" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--dataflow", "rs"], "--dataflow 'rs' unknown; use one of ws, os, is"),
    (["--rows", "0"], "--rows must be between 1 and 64"),
    (["--cols", "65"], "--cols must be between 1 and 64"),
    (["--m", "100"], "--m must be between 1 and 64"),
    (["--k", "0"], "--k must be between 1 and 64"),
    (["--n", "-3"], "--n must be between 1 and 64"),
    (["--rows", "1", "--cols", "1", "--m", "64", "--k", "64", "--n", "64"],
     "step mode stops at 10000"),
    (["--rows", "16", "--cols", "16", "--m", "16", "--gif", "x.gif"], "too slow"),
])
def test_bad_input_is_one_clear_message(args, message):
    result = _step(*args)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_unwritable_picture_paths(tmp_path):
    afile = tmp_path / "f.txt"
    afile.write_text("x")
    for args, message in ((["--gif", str(tmp_path / "no" / "x.gif")], "does not exist"),
                          (["--png-dir", str(afile)], "is a file, not a folder")):
        result = _step("--rows", "2", "--cols", "2", *args)
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.split())
