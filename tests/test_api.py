"""The top-level API the README shows: hwnn.quantize, hwnn.deploy, hwnn.run_study."""

import subprocess
import sys

import numpy as np

import hwnn
from hwnn import data, models
from hwnn.config import TrainConfig
from hwnn.train import fit, predict


def test_import_is_light():
    code = "import sys, hwnn; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_quantize_then_deploy_agrees_with_torch():
    ds = data.load("digits", seed=0)
    net = models.build("mlp", ds.input_shape, ds.classes, seed=0)
    fit(net, ds, TrainConfig(epochs=5))
    q = hwnn.quantize(net, "bnn", data=ds, epochs=2)
    assert q is not net
    plan = hwnn.deploy(q)
    np.testing.assert_array_equal(plan.predict(ds.x_test), predict(q, ds.x_test))


def test_unknown_top_level_name():
    try:
        hwnn.no_such_thing  # noqa: B018
    except AttributeError as err:
        assert "no_such_thing" in str(err)
    else:
        raise AssertionError("expected AttributeError")
