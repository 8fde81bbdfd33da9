import gzip

import numpy as np
import pytest

from hwnn.errors import DataError
from hwnn.idx import read_idx, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("name", ["a.idx", "a.idx.gz"])
def test_round_trip(tmp_path, dtype, name):
    arr = (np.arange(2 * 3 * 5) % 100).astype(dtype).reshape(2, 3, 5)
    path = write_idx(tmp_path / name, arr)
    assert path.read_bytes()[:2] == (b"\x1f\x8b" if name.endswith(".gz") else b"\x00\x00")
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def _labels(tmp_path, n=10):
    return write_idx(tmp_path / "labels.idx", np.arange(n, dtype=np.uint8) % 10)


def test_truncated_body_names_file_and_sizes(tmp_path):
    path = _labels(tmp_path)
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DataError, match=r"labels\.idx.*truncated.*need 10 bytes.*found 7"):
        read_idx(path)


def test_extra_bytes(tmp_path):
    path = _labels(tmp_path)
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(DataError, match="longer than its header says"):
        read_idx(path)


def test_bad_magic(tmp_path):
    path = tmp_path / "junk.idx"
    path.write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(DataError, match="junk.idx: bad IDX magic number 0x504b0304"):
        read_idx(path)


def test_unknown_type_code(tmp_path):
    path = tmp_path / "t.idx"
    path.write_bytes(b"\x00\x00\x07\x01" + (4).to_bytes(4, "big") + bytes(4))
    with pytest.raises(DataError, match="bad IDX magic"):
        read_idx(path)


def test_truncated_header(tmp_path):
    path = tmp_path / "h.idx"
    path.write_bytes(b"\x00\x00\x08\x03\x00\x00")
    with pytest.raises(DataError, match="truncated header"):
        read_idx(path)


def test_too_short(tmp_path):
    path = tmp_path / "s.idx"
    path.write_bytes(b"\x00")
    with pytest.raises(DataError, match="too short"):
        read_idx(path)


def test_zero_dimension(tmp_path):
    path = tmp_path / "z.idx"
    path.write_bytes(b"\x00\x00\x08\x01" + (0).to_bytes(4, "big"))
    with pytest.raises(DataError, match="dimension is 0"):
        read_idx(path)


def test_truncated_gzip(tmp_path):
    payload = gzip.compress(b"\x00\x00\x08\x01" + (1000).to_bytes(4, "big") + bytes(1000))
    path = tmp_path / "x.idx.gz"
    path.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DataError, match=r"x\.idx\.gz: the gzip stream is truncated or corrupt"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_idx(tmp_path / "nope.idx")


def test_unsupported_dtype(tmp_path):
    with pytest.raises(DataError, match="cannot store dtype"):
        write_idx(tmp_path / "c.idx", np.zeros(3, dtype=np.complex64))
