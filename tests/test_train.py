import numpy as np
import pytest
import torch

from hwnn import checkpoint, data, models
from hwnn.config import TrainConfig
from hwnn.errors import ConfigError, DataError
from hwnn.train import evaluate, fit


@pytest.fixture(scope="module")
def digits():
    return data.load("digits", seed=0)


def test_mlp_reaches_95_percent_on_digits(digits):
    model = models.build("mlp", digits.input_shape, 10, seed=0)
    result = fit(model, digits, TrainConfig(epochs=30, seed=0))
    assert result.accuracy >= 0.95
    assert result.train_time_s > 0
    assert len(result.loss_per_epoch) == 30
    # learning happened: loss fell by a large factor from the first epoch
    assert result.loss_per_epoch[-1] < 0.2 * result.loss_per_epoch[0]


def test_training_is_deterministic_for_a_seed(digits):
    weights = []
    for _ in range(2):
        model = models.build("mlp", digits.input_shape, 10, seed=5)
        fit(model, digits, TrainConfig(epochs=2, seed=5, optimizer="sgd", lr=0.05))
        weights.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(weights[0], weights[1])


def test_lenet5_trains_on_digits(digits):
    model = models.build("lenet5", digits.input_shape, 10, seed=0)
    result = fit(model, digits, TrainConfig(model="lenet5", epochs=15, lr=3e-3, seed=0))
    assert result.accuracy >= 0.90


def test_lenet5_shapes_on_mnist_size():
    model = models.build("lenet5", (1, 28, 28), 10)
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    names = models.layer_names(model)
    assert names[0] == "Conv2d(1->6, 5x5)" and names[2] == "Linear(400->120)"


def test_checkpoint_round_trip(tmp_path, digits):
    model = models.build("mlp", digits.input_shape, 10, seed=1, hidden=(32, 16))
    fit(model, digits, TrainConfig(epochs=1, seed=1, hidden=(32, 16)))
    spec = {"name": "mlp", "input_shape": [1, 8, 8], "classes": 10, "seed": 1, "hidden": [32, 16]}
    path = checkpoint.save(tmp_path / "m.pt", model, spec)
    loaded, spec2 = checkpoint.load(path)
    assert spec2["hidden"] == (32, 16)
    assert evaluate(loaded, digits.x_test, digits.y_test) == evaluate(
        model, digits.x_test, digits.y_test
    )


def test_checkpoint_refuses_arbitrary_pickles(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "hwnn.checkpoint/1", "obj": np.random.default_rng(0)}, path)
    with pytest.raises(DataError, match="not a readable hwnn checkpoint"):
        checkpoint.load(path)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="junk.pt"):
        checkpoint.load(tmp_path / "junk.pt")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"model": "vgg"}, "model='vgg' is not known"),
        ({"optimizer": "lbfgs"}, "optimizer='lbfgs'"),
        ({"epochs": 0}, "epochs must be positive"),
        ({"lr": -1.0}, "lr must be positive"),
        ({"hidden": (0,)}, "hidden layer sizes must be positive"),
        ({"device": "tpu"}, "device='tpu' is not known"),
    ],
)
def test_bad_training_config(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**kwargs)


def _weights(model):
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def test_auto_device_without_a_gpu_trains_on_the_cpu(digits, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    got = []
    for device in ("cpu", "auto"):
        model = models.build("mlp", digits.input_shape, 10, seed=2)
        result = fit(model, digits, TrainConfig(epochs=1, seed=2, device=device))
        assert result.device == "cpu"
        got.append(_weights(model))
    assert torch.equal(got[0], got[1])


def test_cuda_without_a_gpu_is_a_clear_error_before_any_change(digits, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    model = models.build("mlp", digits.input_shape, 10, seed=2)
    before = _weights(model)
    with pytest.raises(ConfigError, match="--device cpu"):
        fit(model, digits, TrainConfig(epochs=1, device="cuda"))
    assert torch.equal(before, _weights(model))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU visible")
@pytest.mark.parametrize("model_name, epochs, lr, floor", [("mlp", 30, 1e-3, 0.95),
                                                           ("lenet5", 15, 3e-3, 0.90)])
def test_training_on_the_gpu_learns_and_hands_back_a_cpu_model(digits, model_name, epochs, lr,
                                                               floor):  # fmt: skip
    model = models.build(model_name, digits.input_shape, 10, seed=0)
    result = fit(model, digits, TrainConfig(model=model_name, epochs=epochs, lr=lr, seed=0,
                                            device="cuda"))  # fmt: skip
    assert result.device.startswith("cuda (") and result.accuracy >= floor
    assert all(p.device.type == "cpu" for p in model.parameters())
    assert evaluate(model, digits.x_test, digits.y_test) == pytest.approx(result.accuracy)
