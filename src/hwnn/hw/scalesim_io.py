"""SCALE-Sim's files: topology CSVs (conv and GEMM forms), ``.cfg`` configs, the reports.

Topology rows (SCALE-Sim 3.0.0 ``topology_utils.py``):

* conv: ``name, ifmap H, ifmap W, filter H, filter W, channels, filters, stride,`` with an
  optional ``N:M`` sparsity field; a name containing ``DP`` is SCALE-Sim's depthwise
  trick (the row is repeated once per channel with channels = 1).
* GEMM (``--gemm``, SCALE-Sim's ``-i gemm``): ``name, M, N, K,``.

SCALE-Sim drops the last field of every row (it expects a trailing comma); hwnn drops it
only when it is empty, so a row without the trailing comma is read whole instead of losing
its stride. The first line is a header; blank lines are skipped.

Reports: ``COMPUTE_REPORT.csv``, ``BANDWIDTH_REPORT.csv``, ``DETAILED_ACCESS_REPORT.csv``
with SCALE-Sim's exact headers, ``", "`` separators and a trailing comma on every row.
The per-layer trace CSVs are ``hwnn.hw.scalesim_traces``; ``run_scalesim(traces=True)``
has the real SCALE-Sim write its own for comparison.
"""

from __future__ import annotations

import configparser
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hwnn.errors import ConfigError, DataError
from hwnn.hw.systolic import ArrayConfig, LayerReport, LayerSpec
from hwnn.hw.systolic_folds import gemm_geometry, scalesim_geometry

COMPUTE_HEADER = ("LayerID, Total Cycles (incl. prefetch), Total Cycles, Stall Cycles, "
                  "Overall Util %, Mapping Efficiency %, Compute Util %,\n")
BANDWIDTH_HEADER = ("LayerID, Avg IFMAP SRAM BW, Avg FILTER SRAM BW, Avg OFMAP SRAM BW, "
                    "Avg IFMAP DRAM BW, Avg FILTER DRAM BW, Avg OFMAP DRAM BW,\n")
DETAIL_HEADER = (
    "LayerID, "
    "SRAM IFMAP Start Cycle, SRAM IFMAP Stop Cycle, SRAM IFMAP Reads, "
    "SRAM Filter Start Cycle, SRAM Filter Stop Cycle, SRAM Filter Reads, "
    "SRAM OFMAP Start Cycle, SRAM OFMAP Stop Cycle, SRAM OFMAP Writes, "
    "DRAM IFMAP Start Cycle, DRAM IFMAP Stop Cycle, DRAM IFMAP Reads, "
    "DRAM Filter Start Cycle, DRAM Filter Stop Cycle, DRAM Filter Reads, "
    "DRAM OFMAP Start Cycle, DRAM OFMAP Stop Cycle, DRAM OFMAP Writes,\n")
REPORT_FILES = ("COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv")


# ---- topologies --------------------------------------------------------------------------


def _int_field(path: Path, line: int, fields: list[str], i: int, what: str) -> int:
    if i >= len(fields):
        raise DataError(f"{path}:{line}: missing field {i + 1} ({what}); a row needs "
                        f"at least {i + 1} comma-separated fields")
    raw = fields[i].strip()
    try:
        v = int(raw)
    except ValueError:
        raise DataError(f"{path}:{line}: field {i + 1} ({what}) is {raw!r}, "
                        "not an integer") from None
    if v <= 0:
        raise DataError(f"{path}:{line}: field {i + 1} ({what}) must be positive, got {v}")
    return v


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    try:
        text = path.read_text()
    except OSError as e:
        raise DataError(f"cannot read topology {path}: {e.strerror}") from None
    out = []
    for n, raw in enumerate(text.splitlines(), start=1):
        if n == 1:
            continue  # header
        row = raw.strip()
        if not row:
            continue
        fields = row.split(",")
        if fields[-1].strip() == "" or fields[-1].strip().startswith("#"):
            fields = fields[:-1]  # the trailing comma (or a comment after it)
        out.append((n, fields))
    return out


def read_topology(path: str | Path, gemm: bool = False) -> list[LayerSpec]:
    """A SCALE-Sim topology CSV as LayerSpecs (depthwise ``DP`` rows expanded like SCALE-Sim)."""
    path = Path(path)
    specs: list[LayerSpec] = []
    names = ("ifmap height", "ifmap width", "filter height", "filter width", "channels",
             "num filter", "stride")
    for line, f in _rows(path):
        name = f[0].strip()
        if gemm:
            m, n, k = (_int_field(path, line, f, i, w) for i, w in ((1, "M"), (2, "N"), (3, "K")))
            specs.append(LayerSpec(name, gemm_geometry(m, k, n)))
            continue
        v = [_int_field(path, line, f, i + 1, w) for i, w in enumerate(names)]
        h, w, fh, fw, ch, nf, s = v
        if fh > h or fw > w:
            raise DataError(f"{path}:{line}: filter {fh}x{fw} is larger than the {h}x{w} ifmap")
        if len(f) > 8 and ":" in f[8]:
            a, b = f[8].split(":", 1)
            if a.strip() != b.strip():
                raise DataError(f"{path}:{line}: sparsity {f[8].strip()} is not supported; "
                                "use 1:1 (dense)")
        if "DP" in name:
            for c in range(ch):
                specs.append(LayerSpec(f"{name}Channel_{c}",
                                       scalesim_geometry(h, w, fh, fw, 1, nf, s, s)))
        else:
            specs.append(LayerSpec(name, scalesim_geometry(h, w, fh, fw, ch, nf, s, s)))
    if not specs:
        raise DataError(f"{path}: no layers (a header line, then one row per layer)")
    return specs


def write_topology(specs: list[LayerSpec], path: str | Path, gemm: bool = False) -> Path:
    """Writes LayerSpecs (batch 1, SCALE-Sim geometry) back as a SCALE-Sim topology CSV."""
    path = Path(path)
    lines = ["Layer, M, N, K,\n" if gemm else
             "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
             "Num Filter, Strides,\n"]
    for s in specs:
        g = s.geom
        if gemm:
            lines.append(f"{s.name}, {g.m}, {g.n}, {g.k},\n")
        else:
            lines.append(f"{s.name}, {g.ifmap_h}, {g.ifmap_w}, {g.filt_h}, {g.filt_w}, "
                         f"{g.channels}, {g.num_filt}, {g.stride_h},\n")
    path.write_text("".join(lines))
    return path


# ---- configs -----------------------------------------------------------------------------

_ARCH_KEYS = {  # cfg key (lower case) -> (ArrayConfig field, type)
    "arrayheight": ("rows", int), "arraywidth": ("cols", int),
    "ifmapsramszkb": ("ifmap_sram_kb", int), "filtersramszkb": ("filter_sram_kb", int),
    "ofmapsramszkb": ("ofmap_sram_kb", int), "ifmapoffset": ("ifmap_offset", int),
    "filteroffset": ("filter_offset", int), "ofmapoffset": ("ofmap_offset", int),
    "dataflow": ("dataflow", str),
}


def _find_line(path: Path, key: str) -> int:
    try:
        for n, line in enumerate(path.read_text().splitlines(), start=1):
            if line.strip().lower().startswith(key.lower()):
                return n
    except OSError:
        pass
    return 0


def read_config(path: str | Path) -> ArrayConfig:
    """A SCALE-Sim ``.cfg`` file as an ArrayConfig; missing optional keys take defaults."""
    path = Path(path)
    cp = configparser.ConfigParser()
    try:
        with path.open() as fh:
            cp.read_file(fh)
    except OSError as e:
        raise DataError(f"cannot read config {path}: {e.strerror}") from None
    except configparser.Error as e:
        raise DataError(f"{path}: not a valid .cfg file ({e.message.splitlines()[0]})") from None
    if not cp.has_section("architecture_presets"):
        raise DataError(f"{path}: no [architecture_presets] section; it holds ArrayHeight, "
                        "ArrayWidth, the SRAM sizes and Dataflow")
    kw: dict = {}
    sec = cp["architecture_presets"]
    for key, (fieldname, kind) in _ARCH_KEYS.items():
        if key not in sec:
            if key in ("arrayheight", "arraywidth", "dataflow"):
                raise DataError(f"{path}: [architecture_presets] needs {key!r}")
            continue
        raw = sec[key].strip()
        try:
            kw[fieldname] = kind(raw)
        except ValueError:
            line = _find_line(path, key)
            raise DataError(f"{path}:{line}: {key} = {raw!r} is not an integer") from None
    if "general" in cp and "run_name" in cp["general"]:
        kw["run_name"] = cp["general"]["run_name"].strip()
    mode = "CALC"
    if cp.has_section("run_presets") and "interfacebandwidth" in cp["run_presets"]:
        mode = cp["run_presets"]["interfacebandwidth"].strip()
        if mode not in ("CALC", "USER"):
            line = _find_line(path, "InterfaceBandwidth")
            raise DataError(f"{path}:{line}: InterfaceBandwidth = {mode!r}; use CALC or USER")
    kw["bandwidth_mode"] = mode
    if mode == "USER":
        raw = sec.get("bandwidth", "").strip()
        try:
            kw["dram_bw_words"] = float(raw.split(",")[0])
        except ValueError:
            line = _find_line(path, "Bandwidth")
            raise DataError(f"{path}:{line}: USER mode needs Bandwidth = words per cycle, "
                            f"got {raw!r}") from None
    try:
        return ArrayConfig(**kw)
    except ConfigError as e:
        raise DataError(f"{path}: {e}") from None


def write_config(cfg: ArrayConfig, path: str | Path) -> Path:
    """A ``.cfg`` that SCALE-Sim 3.0.0 itself accepts (every section it insists on)."""
    path = Path(path)
    bw = cfg.dram_bw_words
    path.write_text(
        f"[general]\nrun_name = {cfg.run_name}\n\n"
        f"[architecture_presets]\nArrayHeight:    {cfg.rows}\nArrayWidth:     {cfg.cols}\n"
        f"IfmapSramSzkB:    {cfg.ifmap_sram_kb}\nFilterSramSzkB:   {cfg.filter_sram_kb}\n"
        f"OfmapSramSzkB:    {cfg.ofmap_sram_kb}\nIfmapOffset:    {cfg.ifmap_offset}\n"
        f"FilterOffset:   {cfg.filter_offset}\nOfmapOffset:    {cfg.ofmap_offset}\n"
        f"Dataflow : {cfg.dataflow}\nBandwidth : {int(bw) if bw == int(bw) else bw}\n"
        "ReadRequestBuffer: 32\nWriteRequestBuffer: 32\n\n"
        "[layout]\nIfmapCustomLayout: False\nIfmapSRAMBankBandwidth: 10\n"
        "IfmapSRAMBankNum: 10\nIfmapSRAMBankPort: 2\nFilterCustomLayout: False\n"
        "FilterSRAMBankBandwidth: 10\nFilterSRAMBankNum: 10\nFilterSRAMBankPort: 2\n\n"
        "[sparsity]\nSparsitySupport : false\nSparseRep : ellpack_block\n"
        "OptimizedMapping : false\nBlockSize : 8\nRandomNumberGeneratorSeed : 40\n\n"
        f"[run_presets]\nInterfaceBandwidth: {cfg.bandwidth_mode}\nUseRamulatorTrace: False\n")
    return path


# ---- reports -----------------------------------------------------------------------------


def _fmt(v) -> str:
    """SCALE-Sim prints Python ints as ints and floats (its cycle windows too) by repr."""
    if isinstance(v, float):
        return repr(v)
    return str(int(v))


def write_reports(reports: list[LayerReport], outdir: str | Path) -> list[Path]:
    """The three report CSVs, byte-compatible with SCALE-Sim 3.0.0's."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    bodies = {f: [h] for f, h in zip(REPORT_FILES, (COMPUTE_HEADER, BANDWIDTH_HEADER,
                                                     DETAIL_HEADER), strict=True)}
    for lid, r in enumerate(reports):
        for f, items in zip(REPORT_FILES, (r.compute_row(), r.bandwidth_row(), r.detail_row()),
                            strict=True):
            bodies[f].append(f"{lid}, " + ", ".join(_fmt(x) for x in items) + ",\n")
    paths = []
    for f, lines in bodies.items():
        p = outdir / f
        p.write_text("".join(lines))
        paths.append(p)
    return paths


def read_report(path: str | Path) -> list[list[float]]:
    """A report CSV as rows of numbers (LayerID first), for comparisons."""
    rows = []
    for line in Path(path).read_text().splitlines()[1:]:
        if line.strip():
            rows.append([float(x) for x in line.rstrip().rstrip(",").split(",")])
    return rows


# ---- the reference SCALE-Sim, in its own venv --------------------------------------------

_DRIVER = """
import sys
from scalesim.scale_sim import scalesim
cfg, topo, layout, out, gemm, traces = sys.argv[1:7]
s = scalesim(save_disk_space=(traces != "1"), verbose=False, config=cfg, topology=topo,
             layout=layout, input_type_gemm=(gemm == "1"))
s.run_scale(top_path=out)
"""


@dataclass(frozen=True)
class ReferenceRun:
    outdir: Path
    wall_s: float


def scalesim_python(repo_root: str | Path | None = None) -> Path | None:
    """SCALE-Sim's interpreter: $HWNN_SCALESIM_PYTHON, else <repo>/.venv-scalesim."""
    env = os.environ.get("HWNN_SCALESIM_PYTHON")
    if env:
        return Path(env) if Path(env).exists() else None
    root = Path(repo_root) if repo_root else Path(__file__).resolve().parents[3]
    p = root / ".venv-scalesim" / "bin" / "python"
    return p if p.exists() else None


def run_scalesim(topology: str | Path, cfg: ArrayConfig, outdir: str | Path, gemm: bool = False,
                 python: str | Path | None = None, timeout_s: float = 3600,
                 traces: bool = False) -> ReferenceRun:
    """Runs the real SCALE-Sim 3.0.0 on a topology; returns where its reports are.

    ``traces=True`` has SCALE-Sim save its per-layer trace CSVs too (``layer<i>/`` under
    the run folder); they can be large and slow to write, so they are off by default.
    """
    import time

    py = Path(python) if python else scalesim_python()
    if py is None:
        raise ConfigError("SCALE-Sim's venv is missing: run `make scalesim` or set "
                          "HWNN_SCALESIM_PYTHON to its python")
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    topology = Path(topology).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        cfg_path = write_config(cfg, Path(tmp) / "run.cfg")
        layout = Path(tmp) / "layout.csv"
        layout.write_text("Layer name,\n")
        t0 = time.perf_counter()
        proc = subprocess.run(
            [str(py), "-c", _DRIVER, str(cfg_path), str(topology), str(layout), str(outdir),
             "1" if gemm else "0", "1" if traces else "0"],
            capture_output=True, text=True, timeout=timeout_s, cwd=tmp)
        wall = time.perf_counter() - t0
    done = outdir / cfg.run_name
    # SCALE-Sim exits with status 0 after printing ERROR for a missing file
    if proc.returncode != 0 or not (done / REPORT_FILES[0]).exists():
        tail = (proc.stderr + proc.stdout)[-2000:]
        raise DataError(f"SCALE-Sim failed (exit {proc.returncode}):\n{tail}")
    return ReferenceRun(done, wall)
