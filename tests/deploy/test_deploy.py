"""The deployment engine: predictions equal the fake-quantized torch model's on the whole
test set, for every supported method, on an MLP and on LeNet-5 (binary convolutions, max
pooling on packed signs, NHWC flattening into a binary fully connected layer)."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import hwnn.deploy
from hwnn import data, models, quant, train
from hwnn.config import TrainConfig
from hwnn.deploy import steps as S
from hwnn.errors import ConfigError
from hwnn.kernels import backend

METHODS = ["fp32", "int8", "bwn", "twn", "bnn", "xnor"]


@pytest.fixture(scope="module")
def digits():
    return data.load("digits")


def _trained(name, ds):
    hidden = {"hidden": (48, 32)} if name == "mlp" else {}
    m = models.build(name, ds.x_train.shape[1:], 10, seed=0, **hidden)
    train.fit(m, ds, TrainConfig(epochs=2, lr=2e-3, batch_size=64, seed=0))
    return m.eval()


@pytest.fixture(scope="module")
def mlp(digits):
    return _trained("mlp", digits)


@pytest.fixture(scope="module")
def lenet(digits):
    return _trained("lenet5", digits)


def _quantized(model, method, ds):
    return model if method == "fp32" else quant.quantize(model, method, ds, epochs=1)


def _torch_predictions(model, x):
    with torch.no_grad():
        return model(torch.from_numpy(x)).argmax(1).numpy()


@pytest.mark.parametrize("method", METHODS)
def test_mlp_plan_predicts_like_torch(mlp, digits, method):
    q = _quantized(mlp, method, digits)
    plan = hwnn.deploy(q)
    np.testing.assert_array_equal(plan.predict(digits.x_test), _torch_predictions(q, digits.x_test))
    assert plan.method == method


@pytest.mark.parametrize("method", METHODS)
def test_lenet5_plan_predicts_like_torch(lenet, digits, method):
    q = _quantized(lenet, method, digits)
    plan = hwnn.deploy.deploy(q)
    np.testing.assert_array_equal(plan.predict(digits.x_test), _torch_predictions(q, digits.x_test))


def test_binary_plans_run_on_popcount_and_threshold(mlp, lenet, digits):
    bnn = hwnn.deploy.deploy(quant.quantize(mlp, "bnn", digits, epochs=0), fuse=False)
    kinds = [type(s) for s in bnn.steps]
    assert bnn.engine == "binary" and S.SignLinear in kinds and S.Threshold in kinds
    # Hidden layers never materialize floats: threshold straight into the next layer.
    assert kinds.index(S.Threshold) < kinds.index(S.SignLinear)
    conv = hwnn.deploy.deploy(quant.quantize(lenet, "bnn", digits, epochs=0), fuse=False)
    assert S.SignConv in [type(s) for s in conv.steps]
    assert any(isinstance(s, S.MaxPool) for s in conv.steps)
    int8 = hwnn.deploy.deploy(quant.quantize(mlp, "int8", digits, epochs=0), fuse=False)
    assert int8.engine == "int8" and S.IntLinear in [type(s) for s in int8.steps]
    # Packed binary weights (the first layer's +-1 codes stay int8 for its fixed-point
    # input) take a fraction of the fp32 bytes.
    assert bnn.weight_bytes < hwnn.deploy(mlp).weight_bytes / 4


@pytest.mark.parametrize("model", ["mlp", "lenet"])
@pytest.mark.parametrize("method", ["bnn", "int8"])
def test_fused_native_segment_gives_identical_logits(mlp, lenet, digits, method, model):
    from hwnn.deploy.fuse import NativeSegment

    q = quant.quantize(mlp if model == "mlp" else lenet, method, digits, epochs=0)
    fused, plain = hwnn.deploy(q), hwnn.deploy.deploy(q, fuse=False)
    if backend.use_native():  # HWNN_KERNELS=reference plans stay unfused NumPy steps
        assert any(isinstance(s, NativeSegment) for s in fused.steps)
    np.testing.assert_array_equal(fused.run(digits.x_test), plain.run(digits.x_test))
    for i in range(20):  # batch 1: the runner's GEMV path
        x = digits.x_test[i : i + 1]
        np.testing.assert_array_equal(fused.run(x), plain.run(x))
    if model == "lenet" and backend.use_native():
        # The whole CNN is one native call: convolutions (int8, or the BNN's int8 first and
        # binary second), thresholds, pooling, flatten, fully connected layers.
        assert [type(s) for s in fused.steps] == [NativeSegment]


def test_plan_runs_without_torch(mlp, digits, tmp_path):
    plan = hwnn.deploy(quant.quantize(mlp, "bnn", digits, epochs=0))
    path = tmp_path / "plan.pkl"
    path.write_bytes(pickle.dumps(plan))
    np.save(tmp_path / "x.npy", digits.x_test[:50])
    script = (
        "import sys, pickle, numpy as np\n"
        "sys.modules['torch'] = None  # any torch import now fails\n"
        f"plan = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        f"print(','.join(map(str, plan.predict(np.load({str(tmp_path / 'x.npy')!r})))))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    got = np.array([int(v) for v in out.stdout.strip().split(",")])
    np.testing.assert_array_equal(got, plan.predict(digits.x_test[:50]))


def test_unsupported_method_and_layer_are_clear_errors(mlp, digits):
    with pytest.raises(ConfigError, match="cannot run method 'lognet'"):
        hwnn.deploy(quant.quantize(mlp, "lognet", digits, epochs=0))
    with pytest.raises(ConfigError, match="cannot deploy a GELU"):
        hwnn.deploy(nn.Sequential(nn.Flatten(), nn.Linear(64, 8), nn.GELU()))
    with pytest.raises(ConfigError, match="no Linear or Conv2d"):
        hwnn.deploy(nn.Sequential(nn.Flatten()))


@pytest.mark.parametrize("method", ["fp32", "int8", "bnn"])
def test_non_square_kernels_deploy_like_torch(digits, method):
    """A (3, 5) kernel: rows and columns of the output come from their own kernel size, in
    the NumPy steps and the fused runner alike."""
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 4, (3, 5), padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 3, 10),
    ).eval()  # fmt: skip
    q = _quantized(net, method, digits)
    want = _torch_predictions(q, digits.x_test)
    for fuse in (True, False):
        plan = hwnn.deploy.deploy(q, fuse=fuse)
        np.testing.assert_array_equal(plan.predict(digits.x_test), want)
