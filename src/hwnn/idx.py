"""Reading and writing IDX files (the MNIST format), gzip or raw.

Layout (LeCun et al., http://yann.lecun.com/exdb/mnist/): two zero bytes, a type code,
the number of dimensions n, then n big-endian uint32 sizes, then the values big-endian.
Every check names the file and what is wrong: a wrong magic number, an unknown type, a
zero dimension, or a body shorter or longer than the dimensions say.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np

from hwnn.errors import DataError

# type code -> big-endian dtype
_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as err:
        raise DataError(
            f"{path}: the gzip stream is truncated or corrupt ({err}); download the file again"
        ) from None


def read_idx(path: str | Path) -> np.ndarray:
    """Reads one IDX file into a native-endian array of its dimensions."""
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes is too short for an IDX header (4 or more)")
    zero, code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or code not in _TYPES:
        raise DataError(
            f"{path}: bad IDX magic number 0x{data[:4].hex()} (expected 0x0000TTNN with type "
            f"TT in {', '.join(f'{c:02x}' for c in _TYPES)}): this is not an IDX file"
        )
    if ndim == 0:
        raise DataError(f"{path}: the IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated header: {ndim} dimensions need {header} bytes")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if 0 in dims:
        raise DataError(f"{path}: a dimension is 0 in {dims}")
    dtype = _TYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    body = len(data) - header
    if body != expected:
        what = "truncated" if body < expected else "longer than its header says"
        raise DataError(
            f"{path}: file is {what}: dimensions {dims} need {expected} bytes of data, found {body}"
        )
    values = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return values.astype(dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, compress: bool | None = None) -> Path:
    """Writes an array as IDX; gzip when ``compress`` or the name ends in .gz."""
    path = Path(path)
    arr = np.asarray(array)
    code = _CODES.get(arr.dtype.newbyteorder("="))
    if code is None:
        raise DataError(f"IDX cannot store dtype {arr.dtype}: use uint8, int8/16/32, float32/64")
    if arr.ndim == 0 or arr.ndim > 255:
        raise DataError(f"IDX needs 1 to 255 dimensions, got {arr.ndim}")
    header = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    payload = header + arr.astype(_TYPES[code]).tobytes()
    if compress if compress is not None else path.suffix == ".gz":
        payload = gzip.compress(payload)
    path.write_bytes(payload)
    return path
