"""Cross-check against the real SCALE-Sim 3.0.0 (its own venv): identical report files.

Small layers and arrays so each SCALE-Sim run takes about a second. The SRAMs are tiny
(1-4 KiB) so the prefetch estimator turns over many times inside one layer.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hwnn.hw.scalesim_io import (
    REPORT_FILES,
    read_topology,
    run_scalesim,
    scalesim_python,
    write_reports,
)
from hwnn.hw.systolic import ArrayConfig, simulate

DATA = Path(__file__).parent / "data"
PY = scalesim_python()
needs_scalesim = pytest.mark.skipif(
    PY is None, reason="SCALE-Sim venv missing: run `make scalesim` or set HWNN_SCALESIM_PYTHON")

# (rows, cols, SRAM KiB): square, tall, one row, one column
ARRAYS = [(4, 4, 1), (8, 3, 2), (1, 5, 1), (3, 1, 4)]


def _compare(topology: Path, cfg: ArrayConfig, gemm: bool, tmp: Path) -> None:
    mine = simulate(read_topology(topology, gemm), cfg)
    write_reports(mine, tmp / "mine")
    ref = run_scalesim(topology, cfg, tmp / "ref", gemm=gemm, python=PY)
    for f in REPORT_FILES:
        a = (tmp / "mine" / f).read_text().splitlines()
        b = (ref.outdir / f).read_text().splitlines()
        assert a == b, f"{f} differs for {cfg.dataflow} {cfg.rows}x{cfg.cols}"


@needs_scalesim
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("rows,cols,kb", ARRAYS[:2])
def test_conv_reports_identical(dataflow, rows, cols, kb, tmp_path):
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, ifmap_sram_kb=kb,
                      filter_sram_kb=kb, ofmap_sram_kb=kb, run_name="parity")
    _compare(DATA / "small_conv.csv", cfg, False, tmp_path)


@needs_scalesim
@pytest.mark.parametrize("dataflow", ["ws", "os", "is"])
@pytest.mark.parametrize("rows,cols,kb", ARRAYS[2:])
def test_gemm_reports_identical_on_degenerate_arrays(dataflow, rows, cols, kb, tmp_path):
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow, ifmap_sram_kb=kb,
                      filter_sram_kb=kb, ofmap_sram_kb=kb, run_name="parity")
    _compare(DATA / "odd_gemm.csv", cfg, True, tmp_path)


@needs_scalesim
def test_offsets_and_large_srams(tmp_path):
    cfg = ArrayConfig(rows=16, cols=8, dataflow="ws", ifmap_sram_kb=64, filter_sram_kb=32,
                      ofmap_sram_kb=16, ifmap_offset=5, filter_offset=70_000,
                      ofmap_offset=900_000, run_name="parity")
    _compare(DATA / "small_conv.csv", cfg, False, tmp_path)
