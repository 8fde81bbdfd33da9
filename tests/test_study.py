import json
from pathlib import Path

import jsonschema
import pytest

from hwnn import study
from hwnn.config import StudyConfig, TrainConfig
from hwnn.errors import ConfigError, HwnnError

SCHEMA = Path(study.__file__).parent / "report" / "results.schema.json"
# the optional steps beyond the foundation, left out where a test needs only the basics
HEAVY = tuple(
    n for n, _, required in study.STEPS if not required and n not in ("system", "throughput")
)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    config = StudyConfig(train=TrainConfig(epochs=3), out=out, batches=(1, 8))
    return study.run_study(config), out


def test_writes_both_files_and_json_validates(result):
    res, out = result
    doc = json.loads((out / "results.json").read_text())
    jsonschema.validate(doc, json.loads(SCHEMA.read_text()))
    assert doc["schema"] == "hwnn.results/1"
    assert doc["dataset"]["name"] == "digits" and doc["model"]["name"] == "mlp"
    assert 0 < doc["fp32"]["accuracy"] <= 1 and doc["fp32"]["train_time_s"] > 0
    assert [p["batch"] for p in doc["throughput"]] == [1, 8]
    assert all(p["predictions_per_s"] > 0 for p in doc["throughput"])


def test_html_is_self_contained(result):
    _, out = result
    html = (out / "report.html").read_text()
    assert "<svg" in html  # charts are inline
    for external in ('src="http', 'href="http', "<script src", "<link"):
        assert external not in html
    for title in ("Data set", "fp32 training", "Predictions per second"):
        assert title in html


def test_every_section_is_documented(result):
    res, _ = result
    doc = (Path(__file__).parents[1] / "docs" / "results.md").read_text()
    for key, value in res.to_json().items():
        assert f"`{key}`" in doc, f"results.json field {key} is not in docs/results.md"
        if isinstance(value, dict) and key != "config":  # config mirrors StudyConfig
            for sub in value:
                assert f"`{key}.{sub}`" in doc, f"{key}.{sub} is not in docs/results.md"
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for sub in value[0]:
                assert f"`{sub}`" in doc, f"{key}[].{sub} is not in docs/results.md"


def test_failing_optional_step_keeps_what_was_computed(tmp_path, monkeypatch):
    def broken(ctx):
        raise HwnnError("the device model could not map layer 3")

    monkeypatch.setattr(study, "STEPS", [*study.STEPS, ("broken", broken, False)])
    config = StudyConfig(train=TrainConfig(epochs=1), out=tmp_path, batches=(1,), skip=HEAVY)
    res = study.run_study(config)
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["errors"] == [{"step": "broken", "error": "the device model could not map layer 3"}]
    assert doc["fp32"]["accuracy"] == res.section("fp32").data.accuracy
    assert "the device model could not map layer 3" in (tmp_path / "report.html").read_text()


def test_seed_fixes_the_result(tmp_path):
    runs = [
        study.run_study(
            StudyConfig(
                train=TrainConfig(epochs=2), out=tmp_path / str(i), batches=(1,), skip=HEAVY
            )
        )
        for i in range(2)
    ]
    a, b = (r.section("fp32").data for r in runs)
    assert a.loss_per_epoch == b.loss_per_epoch and a.accuracy == b.accuracy


def test_unknown_skip_names_the_optional_steps(tmp_path):
    with pytest.raises(ConfigError, match="cannot skip fp32: optional study steps are system"):
        study.run_study(StudyConfig(out=tmp_path, skip=("fp32",)))
