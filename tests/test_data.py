import numpy as np
import pytest

from hwnn import data
from hwnn.config import DataConfig
from hwnn.errors import ConfigError, DataError
from hwnn.idx import write_idx


def test_digits_is_the_embedded_set():
    ds = data.load()
    assert ds.name == "digits"
    assert len(ds.y_train) + len(ds.y_test) == 1797
    assert ds.input_shape == (1, 8, 8)
    assert ds.x_train.dtype == np.float32 and 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    # stratified: every class is in the test split in about its overall share
    assert set(np.unique(ds.y_test)) == set(range(10))


def test_split_follows_seed():
    a, b, c = data.digits(0), data.digits(0), data.digits(1)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    assert not np.array_equal(a.y_test, c.y_test)


def test_mnist_t10k_only_makes_stratified_8000_2000(mnist_dir):
    ds = data.load("mnist", data_dir=mnist_dir, seed=0)
    assert (len(ds.y_train), len(ds.y_test)) == (8000, 2000)
    assert ds.input_shape == (1, 28, 28)
    counts_train = np.bincount(ds.y_train, minlength=10) / 8000
    counts_test = np.bincount(ds.y_test, minlength=10) / 2000
    np.testing.assert_allclose(counts_train, counts_test, atol=0.002)
    assert "8000/2000" in ds.split


def _write_pair(folder, prefix, n, seed):
    rng = np.random.default_rng(seed)
    write_idx(
        folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), np.uint8)
    )
    write_idx(folder / f"{prefix}-labels-idx1-ubyte", (np.arange(n) % 10).astype(np.uint8))


def test_mnist_with_train_files_uses_standard_split(tmp_path):
    _write_pair(tmp_path, "train", 50, 0)
    _write_pair(tmp_path, "t10k", 30, 1)
    ds = data.load("mnist", data_dir=tmp_path)
    assert (len(ds.y_train), len(ds.y_test)) == (50, 30)
    assert ds.split == "standard 60k/10k"


def test_mismatched_images_and_labels(tmp_path):
    write_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((20, 28, 28), np.uint8))
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(19, np.uint8))
    with pytest.raises(DataError, match="20 images but .* 19 labels"):
        data.load("mnist", data_dir=tmp_path)


def test_missing_files_and_folder(tmp_path):
    with pytest.raises(DataError, match="missing t10k-images"):
        data.load("mnist", data_dir=tmp_path)
    with pytest.raises(DataError, match="not a directory"):
        data.load("mnist", data_dir=tmp_path / "absent")
    with pytest.raises(ConfigError, match="needs --data-dir"):
        DataConfig(name="mnist")


def test_unknown_dataset():
    with pytest.raises(ConfigError, match="choose one of digits, mnist, synthetic"):
        DataConfig(name="cifar")


def test_synthetic_any_shape_and_seeded():
    a = data.load("synthetic", samples=100, shape=(3, 5, 7), classes=4, seed=3)
    b = data.synthetic(100, (3, 5, 7), 4, seed=3)
    assert a.x_train.shape == (80, 3, 5, 7) and a.classes == 4
    np.testing.assert_array_equal(a.x_train, b.x_train)
