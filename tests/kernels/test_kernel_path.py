"""Run-time path choice: HWNN_FORCE_SCALAR masks every feature, explicit paths fail clearly."""

import json
import os
import subprocess
import sys

import pytest
from tests.kernels.conftest import core, native

from hwnn.kernels import describe, get_threads, set_threads

_PROBE = """
import json, numpy as np
from hwnn import _core
from hwnn.kernels import binary_matmul, int8_matmul, pack_signs
rng = np.random.default_rng(0)
a, b = rng.standard_normal((5, 200)), rng.standard_normal((6, 200))
s = lambda x: np.where(x < 0, -1, 1)
ok = bool((binary_matmul(pack_signs(a), pack_signs(b)) == s(a) @ s(b).T).all())
ia = rng.integers(-128, 128, (5, 77), dtype=np.int8)
ib = rng.integers(-128, 128, (6, 77), dtype=np.int8)
ok = ok and bool((int8_matmul(ia, ib) == ia.astype(int) @ ib.astype(int).T).all())
try:
    binary_matmul(pack_signs(a), pack_signs(b), path="avx2")
    refused = ""
except ValueError as e:
    refused = str(e)
print(json.dumps({"paths": _core.kernel_paths(), "ok": ok, "refused": refused,
                  "threads": _core.kernel_threads()}))
"""


@native
def test_force_scalar_masks_features_and_stays_exact():
    env = dict(os.environ, HWNN_FORCE_SCALAR="1", HWNN_THREADS="2", HWNN_KERNELS="native")
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    assert set(result["paths"].values()) == {"scalar"}
    assert result["ok"]
    assert "not available on this CPU" in result["refused"]
    assert result["threads"] == 2


@native
def test_describe_reports_paths_and_threads():
    info = describe()
    assert info["native"] and "binary_gemm" in info["paths"]
    before = get_threads()
    try:
        set_threads(3)
        assert core.kernel_threads() == 3
    finally:
        set_threads(before)
    with pytest.raises(ValueError, match="positive integer"):
        set_threads(0)
