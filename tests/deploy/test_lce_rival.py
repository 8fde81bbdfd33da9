"""hwnn's BNN networks through the npz -> Larq -> LCE round trip of bench_lce.py.

The LCE checks skip without ``.venv-larq`` (its install command is ``bench_lce.INSTALL``):
a tiny BNN MLP and a BNN LeNet-5 (whose second, binary convolution is zero-padded on the
8x8 digits) trained by hwnn are exported, rebuilt in Larq, converted by LCE's converter and
run by LCE's interpreter; LCE must give hwnn's engine's argmax on at least 99% of the
digits test images (the engines fold batch norm into thresholds in different float
arithmetic, so a sample on a threshold may flip; in practice they agree on all of them)
and logits within 1e-3 of the range of hwnn's.
"""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import bench_lce  # noqa: E402
import hwnn.deploy  # noqa: E402
from hwnn import data as datasets  # noqa: E402
from hwnn import models  # noqa: E402
from hwnn.config import TrainConfig  # noqa: E402
from hwnn.quant import quantize  # noqa: E402
from hwnn.train import fit  # noqa: E402

AGREEMENT = 0.99
LOGIT_TOL = 1e-3  # of the range of hwnn's logits


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


def _bnn(name, digits, hidden=(64,)):
    torch.set_num_threads(1)
    net = models.build(name, digits.input_shape, digits.classes, 0, hidden)
    fit(net, digits, TrainConfig(model=name, epochs=3, hidden=hidden, seed=0))
    return quantize(net.eval(), "bnn", digits, epochs=2)


def test_methods_without_a_larq_quantizer_are_named(digits):
    net = models.build("mlp", digits.input_shape, digits.classes, 0, (16,))
    ttq = quantize(net.eval(), "ttq", digits, epochs=0)
    with pytest.raises(bench_lce.NotInLarq, match="TTQWeight"):
        bench_lce.export_model(ttq, digits.x_test)


def test_missing_venv_message_names_the_fix(monkeypatch, tmp_path):
    monkeypatch.setattr(bench_lce, "LARQ_PYTHON", tmp_path / "nope" / "python")
    why = bench_lce.larq_missing()
    assert "missing" in why and "pip install" in why and "larq-compute-engine==0.16.0" in why


# LeNet-5 on 8x8 digits zero-pads its binary convolution: LCE 0.16's optimized bconv
# kernels give other results there (about half the argmaxes on x86); its reference kernel,
# which supports zero padding with every output type, agrees with hwnn (bench_lce.py).
@pytest.mark.parametrize(
    "name, config, variants",
    [("mlp", "default", "dense,conv1x1"), ("lenet5", "reference", "conv1x1")],
)
def test_lce_predicts_like_hwnns_engine(name, config, variants, digits, tmp_path):
    why = bench_lce.larq_missing()
    if why:
        pytest.skip(why)
    bnn = _bnn(name, digits)
    plan = hwnn.deploy(bnn)
    spec, arrays = bench_lce.export_model(bnn, digits.x_test)
    npz, out = tmp_path / "bnn.npz", tmp_path / "lce.json"
    bench_lce.write_exchange(npz, spec, arrays, x_test=digits.x_test)
    bench_lce.run_larq(
        bench_lce.RUNNER, "lce", "--npz", str(npz), "--out", str(out), "--batches", "1",
        "--min-time", "0.01", "--configs", config, "--variants", variants, "--no-keras",
        timeout=240,
    )  # fmt: skip
    result = json.loads(out.read_text())
    ours = plan.run(digits.x_test)
    for variant in variants.split(","):
        v = result["variants"][variant]
        logits = np.asarray(v["logits"][config], dtype=np.float32)
        agree = (logits.argmax(1) == ours.argmax(1)).mean()
        assert agree >= AGREEMENT, f"{variant}: LCE agrees with hwnn on {agree:.2%}"
        spread = float(ours.max() - ours.min())
        assert np.abs(logits - ours).max() <= LOGIT_TOL * spread, variant
    assert "LceBconv2d" in result["variants"]["conv1x1"]["ops"]  # the binary kernel ran
