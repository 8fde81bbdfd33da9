"""SCALE-Sim's trace CSVs: byte-identical to the real SCALE-Sim 3.0.0, written in bounded memory.

The cross-checks run SCALE-Sim (its own venv) with traces on, on layers small enough that
each run takes well under a second: a 1x1x1 GEMM, K = 1, N = 1, M = 1, strided convs whose
windows run off the input (address -1), 1-row, 1-column and non-square arrays, and 1 KiB
SRAMs so the prefetch estimator turns over, widens its prefetch rows (1.0 padding) and
ends on an empty last epoch.
"""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from hwnn.commands.simulate import run_simulate
from hwnn.errors import ConfigError
from hwnn.hw.scalesim_io import read_topology, run_scalesim, scalesim_python, write_config
from hwnn.hw.scalesim_traces import TRACE_FILES, _csv, write_all_traces, write_traces
from hwnn.hw.systolic import ArrayConfig, LayerSpec
from hwnn.hw.systolic_folds import gemm_geometry

PY = scalesim_python()
needs_scalesim = pytest.mark.skipif(
    PY is None, reason="SCALE-Sim venv missing: run `make scalesim` or set HWNN_SCALESIM_PYTHON")

ODD_GEMM = "Layer, M, N, K,\none, 1, 1, 1,\nk1, 7, 5, 1,\nn1, 7, 1, 9,\nm1, 1, 13, 6,\n"
STRIDED = ("Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
           "Num Filter, Strides,\n"
           "s2, 9, 7, 3, 2, 4, 9, 2,\ns3, 13, 11, 3, 3, 5, 6, 3,\n")
# 1000 ifmap words = exactly two estimator epochs of a 1 KiB SRAM (an empty last one);
# 60x30 on a 16-wide array brings new words faster than 10 a cycle (wider prefetch rows)
EPOCHS = "Layer, M, N, K,\nexact, 20, 7, 50,\nwide, 60, 40, 30,\n"


def _compare(text: str, gemm: bool, cfg: ArrayConfig, tmp: Path) -> None:
    topo = tmp / "topo.csv"
    topo.write_text(text)
    specs = read_topology(topo, gemm)
    write_all_traces(specs, cfg, tmp / "mine")
    ref = run_scalesim(topo, cfg, tmp / "ref", gemm=gemm, python=PY, traces=True)
    for i in range(len(specs)):
        for f in TRACE_FILES:
            want = (ref.outdir / f"layer{i}" / f).read_bytes()
            got = (tmp / "mine" / f"layer{i}" / f).read_bytes()
            assert got == want, f"layer{i}/{f} differs ({cfg.dataflow} {cfg.rows}x{cfg.cols})"


def _cfg(rows: int, cols: int, dataflow: str, kb: int = 1) -> ArrayConfig:
    return ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, ifmap_sram_kb=kb,
                       filter_sram_kb=kb, ofmap_sram_kb=kb, run_name="traces")


@needs_scalesim
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("rows,cols", [(1, 5), (3, 1)])
def test_odd_gemms_on_one_row_and_one_column_arrays(dataflow, rows, cols, tmp_path):
    _compare(ODD_GEMM, True, _cfg(rows, cols, dataflow), tmp_path)


@needs_scalesim
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_strided_conv_on_non_square_array(dataflow, tmp_path):
    _compare(STRIDED, False, _cfg(4, 3, dataflow), tmp_path)


@needs_scalesim
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
def test_estimator_epochs_and_wide_prefetches(dataflow, tmp_path):
    _compare(EPOCHS, True, _cfg(16, 8, dataflow), tmp_path)


@needs_scalesim
def test_offsets_and_larger_srams(tmp_path):
    cfg = ArrayConfig(rows=5, cols=4, dataflow="ws", ifmap_sram_kb=2, filter_sram_kb=1,
                      ofmap_sram_kb=3, ifmap_offset=7, filter_offset=50_000,
                      ofmap_offset=123_456, run_name="traces")
    _compare(STRIDED, False, cfg, tmp_path)


# ---- without SCALE-Sim -------------------------------------------------------------------


@pytest.mark.parametrize("fmt,floats", [("%i", False), ("%s", True)])
def test_csv_matches_numpy_savetxt(fmt, floats):
    rng = np.random.default_rng(1)
    for mat in (rng.integers(-40, 40, (300, 7)), rng.integers(-1, 10**12, (200, 5)),
                np.zeros((2, 1), dtype=np.int64), rng.integers(-1, 30_000_000, (3000, 33))):
        buf = io.BytesIO()
        np.savetxt(buf, mat.astype(float), fmt=fmt, delimiter=",")
        assert _csv(mat, floats) == buf.getvalue()


def test_layout_and_row_shapes(tmp_path):
    spec = LayerSpec("g", gemm_geometry(6, 5, 4))
    cfg = _cfg(3, 2, "ws")
    paths = write_all_traces([spec, spec], cfg, tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in paths[:6]] == [
        f"layer0/{f}" for f in TRACE_FILES]
    assert (tmp_path / "layer1" / "OFMAP_DRAM_TRACE.csv").exists()
    rows = (tmp_path / "layer0" / "IFMAP_SRAM_TRACE.csv").read_text().splitlines()
    # ws: 2 x 2 folds of 2*3 + 2 + 6 - 2 = 12 rows, cycle then one column per array row
    assert len(rows) == 48 and rows[0] == "1,-1,-1,-1"
    dram = (tmp_path / "layer0" / "FILTER_DRAM_TRACE.csv").read_text().splitlines()
    assert dram[0].startswith("-") and dram[0].endswith(".0")


def test_bad_settings_are_config_errors(tmp_path):
    spec = LayerSpec("g", gemm_geometry(4, 4, 4))
    with pytest.raises(ConfigError, match="CALC"):
        write_traces(spec, _cfg(2, 2, "ws").with_(bandwidth_mode="USER"), tmp_path)
    with pytest.raises(ConfigError, match="groups"):
        write_traces(LayerSpec("dw", spec.geom, groups=3), _cfg(2, 2, "ws"), tmp_path)


def test_simulate_writes_traces_next_to_the_reports(tmp_path):
    topo = tmp_path / "t.csv"
    topo.write_text(STRIDED)
    cfg = write_config(_cfg(4, 3, "is"), tmp_path / "a.cfg")
    res = run_simulate(topo, cfg, tmp_path / "out", traces=True)
    assert len(res.trace_files) == 12 and len(res.report_files) == 3
    assert (tmp_path / "out" / "layer1" / "IFMAP_SRAM_TRACE.csv").stat().st_size > 0
    with pytest.raises(ConfigError, match="--outdir"):
        run_simulate(topo, cfg, None, traces=True)
    user = write_config(_cfg(4, 3, "is").with_(bandwidth_mode="USER"), tmp_path / "u.cfg")
    with pytest.raises(ConfigError, match="CALC"):
        run_simulate(topo, user, tmp_path / "user", traces=True)
    assert not (tmp_path / "user").exists()  # refused before anything was written


def test_memory_stays_bounded_on_a_larger_layer(tmp_path):
    # SCALE-Sim would hold 27 MiB of float64 demand matrices (48 columns x 73,216 rows)
    spec = LayerSpec("big", gemm_geometry(1024, 256, 64))
    cfg = ArrayConfig(rows=16, cols=16, dataflow="os", ifmap_sram_kb=16, filter_sram_kb=16,
                      ofmap_sram_kb=16)
    tracemalloc.start()
    try:
        write_traces(spec, cfg, tmp_path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    written = sum(p.stat().st_size for p in (tmp_path / "layer0").iterdir())
    assert written > 30 * 2**20
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB"
