"""hwnn's systolic model against ZigZag (zigzag-dse 3.9.1) on ResNet-18, side by side.

    .venv/bin/python benchmarks/bench_zigzag.py                    # ResNet-18 on tpu_like (~75 s)
    .venv/bin/python benchmarks/bench_zigzag.py --json zz.json     # also save every number
    .venv/bin/python benchmarks/bench_zigzag.py --zigzag-json old.json   # reuse a ZigZag run

ZigZag needs its own venv (``python3 -m venv .venv-zigzag && .venv-zigzag/bin/pip install
zigzag-dse==3.9.1 six``; the wheel imports ``six`` without declaring it). It runs as a
subprocess through ``benchmarks/zigzag_runner.py``, which prints JSON; this file runs with
hwnn's venv.

**Same workload.** ZigZag reads its own ``resnet18.onnx`` (torchvision ResNet-18, 224x224,
batch 1, 8-bit weights and activations by default). hwnn reads the same file here
(``hwnn.hw.onnx_workload.read_onnx``, as ``hwnn simulate --model x.onnx`` does) into ``Layer``
objects with the ONNX padding, so both tools see the same 20 convolutions and the FC layer;
per layer the loop sizes (K, C, OX, OY, FX, FY) and the MAC counts are checked equal.
``benchmarks/data/resnet18.csv`` (SCALE-Sim's topology) is *not* the same network: it lists
pre-padded ifmaps and SCALE-Sim's ceil((H - R + s) / s) output size, so its five stride-2
layers have one more output row and column than ONNX's (113 vs 112, 29 vs 28, ...);
``scalesim_csv_mismatches`` prints them.

**Same hardware, as far as hwnn can express it.** From ZigZag's parsed ``tpu_like.yaml``:
a 32 x 32 array (D1 unrolls K, the filters; D2 unrolls C, the input channels; systolic
along both), 8-bit operands, a 2 MiB SRAM shared by activations and outputs, a 128 B
weight register per PE (128 KiB in all) filled straight from DRAM, and one DRAM port of
64 bits per cycle. hwnn gets: a 32 x 32 weight-stationary (``ws``) array; ifmap and ofmap
SRAMs of 1 MiB each (hwnn has no shared SRAM, so the 2 MiB is split in half); a 128 KiB
filter SRAM; int8 weights and activations; 1-byte words; and two memory models:

* ``hwnn CALC``: SCALE-Sim 3.0.0's CALC mode, reproduced exactly (DRAM bandwidth is never
  a limit; cycles are compute folds plus ofmap-write stalls);
* ``hwnn USER``: hwnn's own finite-bandwidth model: double-buffered SRAMs behind one DRAM
  channel of 8 words (= ZigZag's 64 bits) per cycle, waiting cycles counted once.

Both use ``convention="hwnn"`` (the physically sound cycle count, not SCALE-Sim's
off-by-one).

**What differs in the models (not hidden, and it moves the numbers):**

1. *Spatial mapping.* hwnn/SCALE-Sim lower a convolution to a GEMM (im2col) and put the
   whole R x S x C window on the array's rows; ZigZag's tpu_like mapping unrolls only C
   (32) on D2 and K (32) on D1, with FX and FY as temporal loops. For conv1 (C = 3) ZigZag
   uses 3 of 32 rows (9.4 % spatial utilization), hwnn 147 of 160 (92 %): conv1 is where
   the totals part most.
2. *Temporal mapping.* ZigZag searches loop orders (LOMA) per layer and keeps the fastest
   (``opt="latency"``); hwnn/SCALE-Sim use one fixed fold order per dataflow.
3. *Pipeline fill.* hwnn charges a systolic fill and drain (2 rows + cols - 2 cycles for
   ws) on every fold; ZigZag charges the drain (rows + cols - 2) once per layer.
4. *Memory.* ZigZag adds memory-port stalls during compute plus the on-loading of the
   first tiles and off-loading of the last outputs, not overlapped with compute. hwnn CALC
   never stalls on reads (SCALE-Sim's assumption); hwnn USER overlaps loads with the
   previous fold and stalls only when the DRAM channel falls behind.
5. *Energy.* ZigZag: MACs x 0.04 pJ + every access to every memory level (including the
   per-PE weight and partial-sum registers) x the YAML's pJ per access; it counts no
   padding. hwnn: MACs x Horowitz 45 nm int8 multiply + int32 add (0.3 pJ), SRAM reads
   and writes at 5 pJ / 32 bit x sqrt(size / 8 KiB), DRAM at 20 pJ/bit; no PE-register
   energy; the ifmap includes its zero padding (SCALE-Sim's lowering). The line "hwnn
   traffic, ZigZag prices" re-prices hwnn's own access counts with ZigZag's per-bit costs
   (``reprice_with_zigzag``) to separate traffic from price.

**Run time.** Each tool runs once in a fresh process (``OMP_NUM_THREADS`` and friends = 1).
ZigZag's LOMA search is single-process (its multiprocessing is only in the SALSA engine,
not used here); its CPU time is reported next to its wall time to show it. hwnn's model
is timed in-process (median of ``--reps``) and as a whole fresh process (start-up,
imports, ONNX read, both memory models).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNNER = ROOT / "benchmarks" / "zigzag_runner.py"
ZIGZAG_VENV = ROOT / ".venv-zigzag"
INSTALL = ("python3 -m venv .venv-zigzag && .venv-zigzag/bin/pip install "
           "zigzag-dse==3.9.1 six")
SCALESIM_RESNET18 = ROOT / "benchmarks" / "data" / "resnet18.csv"
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                               "NUMEXPR_NUM_THREADS")}


class BenchError(Exception):
    """Bad input or a missing tool: the message names the problem and the fix."""


# ---- the workload: ZigZag's ONNX as hwnn layers -----------------------------------------


def onnx_layers(path: str | Path) -> list:
    """The Conv and Gemm nodes of an ONNX model as int8 hwnn ``Layer`` objects
    (``hwnn.hw.onnx_workload.read_onnx``; its errors become this script's)."""
    from hwnn.errors import HwnnError
    from hwnn.formats import INT8
    from hwnn.hw.onnx_workload import read_onnx

    try:
        return list(read_onnx(path, INT8, INT8).layers)
    except HwnnError as e:
        raise BenchError(str(e)) from None


def loop_sizes(layer) -> dict[str, int]:
    """A hwnn Layer's loops in ZigZag's names (K filters, C channels, OX/OY, FX/FY, B)."""
    if layer.kind == "gemm":
        return {"B": layer.m, "K": layer.n, "C": layer.k}
    return {"B": layer.batch, "K": layer.out_c, "C": layer.in_c, "OX": layer.out_w,
            "OY": layer.out_h, "FX": layer.kernel_w, "FY": layer.kernel_h}


def check_same_layers(layers: list, zz_layers: list[dict]) -> None:
    """Every hwnn layer has a ZigZag layer of the same name, loop sizes and MACs."""
    by_name = {x["name"]: x for x in zz_layers}
    if set(by_name) != {x.name for x in layers}:
        raise BenchError("hwnn and ZigZag read different layers: "
                         f"{sorted(set(by_name) ^ {x.name for x in layers})}")
    for layer in layers:
        z = by_name[layer.name]
        ours = loop_sizes(layer)
        theirs = {k: v for k, v in z["loop_sizes"].items() if k in ours}
        # ZigZag parses a Gemm's batch as its own loop; absent loops are size 1
        mismatch = {k: (v, theirs.get(k, 1)) for k, v in ours.items() if theirs.get(k, 1) != v}
        if mismatch or layer.macs != z["macs"]:
            raise BenchError(f"layer {layer.name}: hwnn and ZigZag disagree on the shape "
                             f"(loop: (hwnn, ZigZag)) {mismatch}, MACs {layer.macs} vs "
                             f"{z['macs']}")


def scalesim_csv_mismatches(layers: list, csv: Path = SCALESIM_RESNET18) -> list[dict]:
    """Layers whose GEMM (M, K, N) differs between SCALE-Sim's resnet18.csv and the ONNX.

    Pairs rows by position (both lists are conv1, the 16 block convs and 3 projections in
    SCALE-Sim's order, then the FC layer); returns one dict per differing pair.
    """
    from hwnn.hw.scalesim_io import read_topology

    specs = read_topology(csv)
    order = sorted(layers, key=_scalesim_order)
    out = []
    for spec, layer in zip(specs, order, strict=False):
        g = spec.geom
        ours = layer.gemm_dims()
        if (g.m, g.k, g.n) != ours:
            out.append({"csv": spec.name, "onnx": layer.name, "csv_mkn": (g.m, g.k, g.n),
                        "onnx_mkn": ours, "csv_macs": spec.macs, "onnx_macs": layer.macs})
    return out


def _scalesim_order(layer) -> tuple:
    """SCALE-Sim's resnet18.csv order: conv1, then per stage 1a, 1b, ds, 2a, 2b; FC last."""
    n = layer.name
    if layer.kind == "gemm":
        return (9, 0, 0)
    if "layer" not in n:
        return (0, 0, 0)
    stage = int(n.split("/layer")[1][0])
    block = int(n.split(f"layer{stage}.")[1][0])
    rank = 2 if "downsample" in n else (0 if "conv1" in n else 1)
    return (stage, block, rank if block == 0 else rank + 3)


# ---- the hardware: ZigZag's architecture as an hwnn ArrayConfig --------------------------


def hwnn_config(arch: dict, mode: str, word_bits: int = 8):
    """hwnn's closest ``ArrayConfig`` to a ZigZag architecture (module docstring).

    ``arch`` is ``zigzag_runner.describe_accelerator``'s dict. rows = D2 (ZigZag's tpu_like
    unrolls C, the reduction, there), cols = D1 (K, the filters). The activation SRAM
    (the largest level below DRAM holding I1) is split in half into ifmap and ofmap SRAMs;
    the filter SRAM is every level below DRAM holding I2 (x its instances). DRAM words per
    cycle = the DRAM port's bits per cycle / ``word_bits``.
    """
    from hwnn.hw.systolic import ArrayConfig

    dims = arch["dimensions"]
    if len(dims) != 2:
        sizes = " x ".join(str(v) for v in dims.values())
        raise BenchError(f"ZigZag accelerator {arch['name']!r} has a {len(dims)}-D array "
                         f"({sizes}); hwnn's systolic array is 2-D, so there is no equal "
                         "hwnn configuration. Use a 2-D one such as tpu_like")
    mems = arch["memories"]
    dram = max(mems, key=lambda m: m["size_bits"])
    on_chip = [m for m in mems if m is not dram]
    act = [m for m in on_chip if "I1" in m["operands"]]
    wgt = [m for m in on_chip if "I2" in m["operands"]]
    if not act or not wgt:
        raise BenchError(f"ZigZag accelerator {arch['name']!r}: need an on-chip memory for "
                         "activations (I1) and one for weights (I2)")
    act_kib = max(m["size_bits"] * m["instances"] for m in act) / 8 / 1024
    wgt_kib = sum(m["size_bits"] * m["instances"] for m in wgt) / 8 / 1024
    dram_bits = max(bw[1] for per_op in dram["bandwidth_bits"].values()
                    for bw in per_op.values())
    d1, d2 = dims["D1"], dims["D2"]
    return ArrayConfig(rows=d2, cols=d1, dataflow="ws", ifmap_sram_kb=max(1, int(act_kib // 2)),
                       filter_sram_kb=max(1, int(wgt_kib)), ofmap_sram_kb=max(1, int(act_kib // 2)),
                       bandwidth_mode=mode, dram_bw_words=dram_bits / word_bits, word_bytes=1,
                       run_name="bench_zigzag", name=f"hwnn-{arch['name']}-{mode}")


def run_hwnn(layers: list, cfg) -> list:
    """hwnn's per-layer reports (``convention="hwnn"``) for one config."""
    from hwnn.hw.systolic import simulate, spec_from_layer

    return simulate([spec_from_layer(x) for x in layers], cfg, convention="hwnn")


def reprice_with_zigzag(rep, arch: dict) -> dict[str, float]:
    """One hwnn layer report's accesses priced with ZigZag's costs, by part (pJ).

    MACs x ZigZag's MAC energy; hwnn's ifmap SRAM reads and ofmap SRAM writes at the
    activation SRAM's r_cost / w_cost per port word; its filter SRAM reads at the weight
    register's w_cost (they are the weights loaded into the PEs); DRAM reads (ifmap,
    filter) at r_cost and writes (ofmap) at w_cost per port word. 1-byte words.
    """
    mems = arch["memories"]
    dram = max(mems, key=lambda m: m["size_bits"])
    act = max((m for m in mems if m is not dram and "I1" in m["operands"]),
              key=lambda m: m["size_bits"])
    wgt = min((m for m in mems if m is not dram and "I2" in m["operands"]),
              key=lambda m: m["size_bits"])

    def per_bit(mem: dict, cost: str) -> float:
        width = max(bw[1] for per_op in mem["bandwidth_bits"].values() for bw in per_op.values())
        return mem[cost] / width

    return {
        "compute": rep.macs * arch["mac_energy_pj"],
        "sram": 8 * (rep.sram_ifmap[2] * per_bit(act, "r_cost_pj")
                     + rep.sram_ofmap[2] * per_bit(act, "w_cost_pj")),
        "weight registers": 8 * rep.sram_filter[2] * per_bit(wgt, "w_cost_pj"),
        "dram": 8 * ((rep.dram_ifmap[2] + rep.dram_filter[2]) * per_bit(dram, "r_cost_pj")
                     + rep.dram_ofmap[2] * per_bit(dram, "w_cost_pj")),
    }


# ---- running the two tools ---------------------------------------------------------------


@dataclass
class Timed:
    out: dict
    wall_s: float
    cpu_s: float  # user + system CPU seconds of the child process


def _run_child(cmd: list[str], what: str, timeout: float) -> Timed:
    env = {**os.environ, **ONE_THREAD, "MPLBACKEND": "Agg"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=ROOT)
    except subprocess.TimeoutExpired:
        raise BenchError(f"{what} did not finish in {timeout:.0f} s; raise --timeout") from None
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        raise BenchError(f"{what} failed (exit {proc.returncode}):\n{tail}")
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        raise BenchError(f"{what} printed no JSON; its output ends:\n"
                         f"{proc.stdout[-500:]}") from None
    return Timed(out, wall, cpu)


def zigzag_python(venv: Path = ZIGZAG_VENV) -> Path:
    py = venv / "bin" / "python"
    if not py.is_file():
        raise BenchError(f"{venv} missing: run `{INSTALL}` in {ROOT}")
    return py


def run_zigzag(args: list[str], venv: Path = ZIGZAG_VENV, timeout: float = 1800) -> Timed:
    """One fresh ZigZag process through zigzag_runner.py; its JSON plus wall and CPU time."""
    py = zigzag_python(venv)
    return _run_child([str(py), str(RUNNER), *args], "ZigZag (zigzag_runner.py)", timeout)


def hwnn_side(onnx: Path, arch: dict, reps: int) -> dict:
    """hwnn on the ONNX layers, both memory models: per-layer numbers and in-process times."""
    t0 = time.perf_counter()
    layers = onnx_layers(onnx)
    read_s = time.perf_counter() - t0
    out: dict = {"read_onnx_s": read_s, "modes": {}}
    for mode in ("CALC", "USER"):
        cfg = hwnn_config(arch, mode)
        times = []
        reports = []
        for _ in range(max(1, reps)):
            t = time.perf_counter()
            reports = run_hwnn(layers, cfg)
            times.append(time.perf_counter() - t)
        out["modes"][mode] = {
            "config": {k: getattr(cfg, k) for k in ("rows", "cols", "dataflow", "ifmap_sram_kb",
                                                    "filter_sram_kb", "ofmap_sram_kb",
                                                    "bandwidth_mode", "dram_bw_words")},
            "run_s_median": statistics.median(times),
            "run_s_all": times,
            "layers": [_hwnn_layer(r, arch) for r in reports],
        }
    return out


def _hwnn_layer(r, arch: dict) -> dict:
    """One hwnn layer report: cycles, stalls, utilization, accesses, energy (own and repriced)."""
    return {
        "name": r.name, "macs": r.macs, "cycles": r.total_cycles, "stall_cycles": r.stall_cycles,
        "folds": r.folds, "util": r.overall_util_pct / 100,
        "mapping_efficiency": r.mapping_efficiency_pct / 100,
        "sram_bytes": {"ifmap_read": r.sram_ifmap[2], "filter_read": r.sram_filter[2],
                       "ofmap_write": r.sram_ofmap[2]},
        "dram_bytes": {"ifmap_read": r.dram_ifmap[2], "filter_read": r.dram_filter[2],
                       "ofmap_write": r.dram_ofmap[2]},
        "energy_pj": dict(r.energy_pj),
        "energy_zigzag_prices_pj": reprice_with_zigzag(r, arch),
    }


# ---- tables ------------------------------------------------------------------------------


def _f(x: float, digits: int = 3) -> str:
    return f"{x:,.{digits}g}" if abs(x) < 1000 else f"{x:,.0f}"


def _zz_part(layers: list[dict], key: str) -> float:
    return sum(x[key] for x in layers)


def totals_table(zz: dict, hw: dict, pes: int) -> str:
    zl = zz["layers"]
    rows = [("", "ZigZag", "hwnn CALC", "hwnn USER")]
    hl = {m: hw["modes"][m]["layers"] for m in ("CALC", "USER")}
    macs = _zz_part(zl, "macs")
    zcyc = zz["totals"]["latency_cycles"]
    hcyc = {m: sum(x["cycles"] for x in v) for m, v in hl.items()}
    rows.append(("MACs", f"{macs:,}", *(f"{sum(x['macs'] for x in hl[m]):,}" for m in hl)))
    rows.append(("ideal cycles (MACs / PEs)", f"{macs / pes:,.0f}", f"{macs / pes:,.0f}",
                 f"{macs / pes:,.0f}"))
    rows.append(("cycles", f"{zcyc:,.0f}", *(f"{hcyc[m]:,}" for m in hl)))
    rows.append(("  of which stalls", f"{_zz_part(zl, 'stall_cycles'):,.0f} + on/off-loading "
                 f"{_zz_part(zl, 'onloading_cycles') + _zz_part(zl, 'offloading_cycles'):,.0f}",
                 *(f"{sum(x['stall_cycles'] for x in hl[m]):,}" for m in hl)))
    rows.append(("MAC utilization", f"{100 * macs / pes / zcyc:.1f} %",
                 *(f"{100 * macs / pes / hcyc[m]:.1f} %" for m in hl)))
    ze = zz["totals"]
    he = {m: _sum_parts([x["energy_pj"] for x in v]) for m, v in hl.items()}
    rows.append(("energy, own table (uJ)", f"{ze['energy_pj'] / 1e6:,.1f}",
                 *(f"{sum(he[m].values()) / 1e6:,.1f}" for m in hl)))
    rows.append(("  MACs (uJ)", f"{ze['mac_energy_pj'] / 1e6:,.1f}",
                 *(f"{he[m]['compute'] / 1e6:,.1f}" for m in hl)))
    rows.append(("  memory (uJ)", f"{ze['mem_energy_pj'] / 1e6:,.1f}",
                 *(f"{(sum(he[m].values()) - he[m]['compute']) / 1e6:,.1f}" for m in hl)))
    hz = {m: _sum_parts([x["energy_zigzag_prices_pj"] for x in v]) for m, v in hl.items()}
    rows.append(("energy, hwnn traffic at ZigZag prices (uJ)", "-",
                 *(f"{sum(hz[m].values()) / 1e6:,.1f}" for m in hl)))
    zdram = sum(sum(x["bits_by_memory"].get(_dram_name(zz), {}).values()) for x in zl) / 8
    rows.append(("DRAM traffic (MB)", f"{zdram / 1e6:,.2f}",
                 *(f"{sum(sum(x['dram_bytes'].values()) for x in hl[m]) / 1e6:,.2f}"
                   for m in hl)))
    return _md(rows)


def energy_table(zz: dict, hw: dict) -> str:
    """ResNet-18 energy by part (uJ): ZigZag's levels grouped like hwnn's buffers.

    ZigZag's memories are grouped as per-PE registers (more than one instance), on-chip
    SRAM (the rest below DRAM) and DRAM (the largest). hwnn has no PE registers; its
    filter-SRAM reads are the weights loaded into the PEs, so at ZigZag's prices they are
    priced as weight-register writes and listed on that line.
    """
    arch = zz["architecture"]
    dram = _dram_name(zz)
    group = {m["name"]: ("DRAM" if m["name"] == dram else
                         "PE registers" if m["instances"] > 1 else "on-chip SRAM")
             for m in arch["memories"]}
    zp = {"MACs": _zz_part(zz["layers"], "mac_energy_pj")}
    for x in zz["layers"]:
        for k, v in x["energy_by_memory_pj"].items():
            zp[group[k]] = zp.get(group[k], 0.0) + v
    names = {g: sorted(k for k in group if group[k] == g) for g in set(group.values())}
    rows = [("part", "ZigZag", "hwnn CALC", "hwnn USER", "hwnn USER traffic, ZigZag prices")]
    own = {m: _sum_parts([x["energy_pj"] for x in hw["modes"][m]["layers"]])
           for m in ("CALC", "USER")}
    rep = _sum_parts([x["energy_zigzag_prices_pj"] for x in hw["modes"]["USER"]["layers"]])

    def uj(v: float | None) -> str:
        return "not modelled" if v is None else f"{v / 1e6:,.1f}"

    def sram(d: dict) -> float:
        return sum(v for k, v in d.items() if k.startswith("sram_"))

    lines = [
        ("MACs", zp["MACs"], own["CALC"]["compute"], own["USER"]["compute"], rep["compute"]),
        ("PE registers (" + ", ".join(names.get("PE registers", [])) + ")",
         zp.get("PE registers", 0.0), None, None, rep["weight registers"]),
        ("on-chip SRAM (" + ", ".join(names.get("on-chip SRAM", [])) + ")",
         zp.get("on-chip SRAM", 0.0), sram(own["CALC"]), sram(own["USER"]), rep["sram"]),
        ("DRAM", zp.get("DRAM", 0.0), own["CALC"].get("dram", 0.0), own["USER"].get("dram", 0.0),
         rep["dram"]),
        ("total", sum(zp.values()), sum(own["CALC"].values()), sum(own["USER"].values()),
         sum(rep.values())),
    ]
    rows += [(name, *(uj(v) for v in vals)) for name, *vals in lines]
    return _md(rows)


def layers_table(zz: dict, hw: dict) -> str:
    zl = {x["name"]: x for x in zz["layers"]}
    calc = {x["name"]: x for x in hw["modes"]["CALC"]["layers"]}
    user = {x["name"]: x for x in hw["modes"]["USER"]["layers"]}
    rows = [("layer", "MACs", "ZigZag cycles", "ZZ compute", "ZZ stall+load", "ZZ spatial util",
             "hwnn CALC", "hwnn USER", "CALC / ZZ", "USER / ZZ", "DRAM kB ZZ / USER")]
    dram = _dram_name(zz)
    for name, z in zl.items():
        stall = z["stall_cycles"] + z["onloading_cycles"] + z["offloading_cycles"]
        c, u = calc[name]["cycles"], user[name]["cycles"]
        zk = sum(z["bits_by_memory"].get(dram, {}).values()) / 8e3
        uk = sum(user[name]["dram_bytes"].values()) / 1e3
        rows.append((_short(name), f"{z['macs']:,}", f"{z['latency_cycles']:,.0f}",
                     f"{z['ideal_temporal_cycles']:,.0f}", f"{stall:,.0f}",
                     f"{100 * z['spatial_utilization']:.0f} %", f"{c:,}", f"{u:,}",
                     f"{c / z['latency_cycles']:.2f}", f"{u / z['latency_cycles']:.2f}",
                     f"{zk:,.0f} / {uk:,.0f}"))
    return _md(rows)


def _short(name: str) -> str:
    return name.replace("/Conv", "").replace("/Gemm", "").replace("/downsample/downsample.0",
                                                                  "/ds").lstrip("/")


def _dram_name(zz: dict) -> str:
    return max(zz["architecture"]["memories"], key=lambda m: m["size_bits"])["name"]


def _sum_parts(dicts: list[dict]) -> dict[str, float]:
    out: dict[str, float] = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = out.get(k, 0.0) + v
    return out


def _md(rows: list[tuple]) -> str:
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows[1:]]
    return "\n".join(lines)


def timing_table(zz: Timed, hw_proc: Timed, hw: dict) -> str:
    calc = hw["modes"]["CALC"]["run_s_median"]
    user = hw["modes"]["USER"]["run_s_median"]
    z_in = zz.out["run_s"]
    rows = [("", "ZigZag", "hwnn", "ZigZag / hwnn")]
    rows.append(("model run, in-process (s)", f"{z_in:.2f} (CPU {zz.out['cpu_s']:.2f})",
                 f"CALC {calc:.3f}, USER {user:.3f} (median)",
                 f"{z_in / calc:,.0f}x / {z_in / user:,.0f}x"))
    rows.append(("whole fresh process (s)", f"{zz.wall_s:.2f} (CPU {zz.cpu_s:.2f})",
                 f"{hw_proc.wall_s:.2f} (CPU {hw_proc.cpu_s:.2f}; ONNX + CALC + USER)",
                 f"{zz.wall_s / hw_proc.wall_s:,.0f}x"))
    return _md(rows)


# ---- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accelerator", default="tpu_like",
                    help="ZigZag hardware YAML (name in zigzag/inputs/hardware or a path)")
    ap.add_argument("--onnx", default=None,
                    help="ONNX workload (default: ZigZag's own resnet18.onnx)")
    ap.add_argument("--reps", type=int, default=5, help="hwnn in-process repetitions (median)")
    ap.add_argument("--zigzag-venv", type=Path, default=ZIGZAG_VENV)
    ap.add_argument("--zigzag-json", type=Path, default=None,
                    help="reuse the ZigZag run saved by an earlier --json")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds allowed for ZigZag")
    ap.add_argument("--json", type=Path, default=None, help="write every number here")
    ap.add_argument("--hwnn-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--arch-json", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    try:
        if a.hwnn_only:  # the fresh hwnn process timed by the parent
            arch = json.loads(Path(a.arch_json).read_text())
            print(json.dumps(hwnn_side(Path(a.onnx), arch, 1)))
            return 0
        return _bench(a)
    except BenchError as e:
        print(f"bench_zigzag: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head`
        sys.stderr.close()
        return 0


def _bench(a) -> int:
    import tempfile

    if a.zigzag_json is not None:
        if not a.zigzag_json.is_file():
            raise BenchError(f"--zigzag-json {a.zigzag_json} not found")
        saved = json.loads(a.zigzag_json.read_text())
        saved = saved.get("zigzag", saved)  # a whole --json file, or its "zigzag" entry
        zz = Timed(saved["out"], saved["wall_s"], saved["cpu_s"])
        print(f"ZigZag: reusing {a.zigzag_json}", file=sys.stderr)
    else:
        # the hardware first (two seconds): a non-2-D array fails here, not after the search
        hwnn_config(run_zigzag(["--describe", "--accelerator", a.accelerator],
                               a.zigzag_venv, 120).out["architecture"], "USER")
        args = ["--accelerator", a.accelerator] + (["--onnx", str(a.onnx)] if a.onnx else [])
        print("ZigZag: running (about a minute for ResNet-18) ...", file=sys.stderr)
        zz = run_zigzag(args, a.zigzag_venv, a.timeout)
    z = zz.out
    onnx = Path(a.onnx) if a.onnx else Path(z["onnx"])
    arch = z["architecture"]
    hwnn_config(arch, "USER")  # fails early, with the reason, on a non-2-D array
    layers = onnx_layers(onnx)
    check_same_layers(layers, z["layers"])
    hw = hwnn_side(onnx, arch, a.reps)
    with tempfile.TemporaryDirectory() as tmp:
        arch_file = Path(tmp) / "arch.json"
        arch_file.write_text(json.dumps(arch))
        hw_proc = _run_child([sys.executable, str(Path(__file__).resolve()), "--hwnn-only",
                              "--onnx", str(onnx), "--arch-json", str(arch_file)],
                             "hwnn (fresh process)", 600)
    cfg = hw["modes"]["USER"]["config"]
    print(f"# hwnn vs ZigZag {z['version']}: {Path(onnx).name} on {arch['name']}\n")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; ZigZag search: {z['search']}, opt={z['opt']}")
    print(f"hwnn config: {cfg['rows']}x{cfg['cols']} {cfg['dataflow']}, SRAM KiB ifmap/filter/"
          f"ofmap {cfg['ifmap_sram_kb']}/{cfg['filter_sram_kb']}/{cfg['ofmap_sram_kb']}, "
          f"USER DRAM {cfg['dram_bw_words']:g} words/cycle, int8\n")
    print("## Totals\n\n" + totals_table(z, hw, arch["pes"]) + "\n")
    print("## Run time\n\n" + timing_table(zz, hw_proc, hw) + "\n")
    print("## Energy by part (ResNet-18 total)\n\n" + energy_table(z, hw) + "\n")
    print("## Per layer (cycles)\n\n" + layers_table(z, hw) + "\n")
    mism = scalesim_csv_mismatches(layers)
    if mism:
        rows = [("SCALE-Sim row", "ONNX node", "CSV (M, K, N)", "ONNX (M, K, N)")]
        rows += [(m["csv"], _short(m["onnx"]), str(m["csv_mkn"]), str(m["onnx_mkn"]))
                 for m in mism]
        print("## benchmarks/data/resnet18.csv vs the ONNX (why hwnn reads the ONNX)\n\n"
              + _md(rows) + "\n")
    if a.json:
        a.json.write_text(json.dumps({
            "zigzag": {"out": z, "wall_s": zz.wall_s, "cpu_s": zz.cpu_s},
            "hwnn": hw, "hwnn_process": {"wall_s": hw_proc.wall_s, "cpu_s": hw_proc.cpu_s},
            "scalesim_csv_mismatches": mism}, indent=1))
        print(f"wrote {a.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
