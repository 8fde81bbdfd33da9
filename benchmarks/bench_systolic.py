"""hwnn's systolic model against the real SCALE-Sim 3.0.0, side by side in one run.

    .venv/bin/python benchmarks/bench_systolic.py             # default cases (~15 min)
    .venv/bin/python benchmarks/bench_systolic.py --quick     # two small cases (~1 min)
    .venv/bin/python benchmarks/bench_systolic.py --full --log parity.jsonl  # ~1 h
    .venv/bin/python benchmarks/bench_systolic.py --json out.json

Three parts:

1. **Parity and speed.** For each case (a SCALE-Sim topology, an array, a dataflow, CALC
   mode) both tools write the three reports; the files must be identical byte for byte.
   hwnn's time is the median of 3 runs; SCALE-Sim (its own venv, ``make scalesim``) runs
   once, in a subprocess, reports only (no traces), and its time includes its start-up
   (a fraction of a second, reported separately as the time of a 2x2x2 GEMM).
2. **Cycles only.** ResNet-50 (hwnn's own layer format: padding, floor output size) on a
   256x256 array: total cycles and utilization for all layers, median of 5 runs.
3. **Memory.** Peak traced Python memory (tracemalloc) of the full CALC model for GEMMs
   whose demand matrices grow 64x; SCALE-Sim holds those matrices whole.
4. **Traces** (``--traces``). Both tools write the reports and the six per-layer trace CSVs
   of a few layers; every file must be identical. Writing CSV text dominates both.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
import tracemalloc
from pathlib import Path

from hwnn.hw.scalesim_io import (
    REPORT_FILES,
    read_topology,
    run_scalesim,
    scalesim_python,
    write_reports,
)
from hwnn.hw.scalesim_traces import write_all_traces
from hwnn.hw.systolic import (
    ArrayConfig,
    LayerSpec,
    cycles_only,
    simulate,
    simulate_layer,
    spec_from_layer,
)
from hwnn.hw.systolic_folds import gemm_geometry
from hwnn.hw.workload import Layer

DATA = Path(__file__).parent / "data"

# (topology, gemm?, rows, cols, dataflow, SRAM KiB ifmap/filter/ofmap)
DEFAULT_CASES = [
    ("alexnet.csv", False, 128, 128, "ws", (512, 512, 256)),
    ("alexnet.csv", False, 128, 128, "os", (512, 512, 256)),
    ("alexnet.csv", False, 128, 128, "is", (512, 512, 256)),
    ("resnet18.csv", False, 128, 128, "ws", (512, 512, 256)),
    ("resnet18.csv", False, 256, 256, "os", (1024, 1024, 512)),
    ("yolo_tiny_tail.csv", False, 256, 256, "ws", (6144, 6144, 2048)),
    ("mobilenet_tail.csv", False, 64, 32, "os", (256, 256, 128)),
    ("ncf.csv", True, 128, 128, "os", (256, 256, 128)),
    ("gpt2_attention.csv", True, 128, 64, "is", (256, 256, 128)),
    ("gpt2_attention.csv", True, 32, 32, "ws", (64, 64, 64)),
]
# Every SCALE-Sim topology in every dataflow (``--full``, about an hour of SCALE-Sim): square
# arrays from 8x8 to 256x256 and non-square ones, TPU-like SRAM for the 256x256 cases.
TPU_KB = (6144, 6144, 2048)
FULL_CASES = DEFAULT_CASES[:3] + [
    ("resnet18.csv", False, 128, 128, "ws", (512, 512, 256)),
    ("resnet18.csv", False, 256, 256, "os", (1024, 1024, 512)),
    ("resnet18.csv", False, 128, 64, "is", (512, 512, 256)),
    ("mobilenet.csv", False, 256, 256, "ws", TPU_KB),
    ("mobilenet.csv", False, 128, 128, "os", (512, 512, 256)),
    ("mobilenet.csv", False, 32, 128, "is", (256, 256, 128)),
    ("yolo_tiny.csv", False, 256, 256, "ws", TPU_KB),
    ("yolo_tiny.csv", False, 256, 256, "os", TPU_KB),
    ("yolo_tiny.csv", False, 256, 256, "is", TPU_KB),
    ("gpt2.csv", True, 256, 256, "ws", TPU_KB),
    ("gpt2.csv", True, 256, 256, "os", TPU_KB),
    ("gpt2.csv", True, 256, 256, "is", TPU_KB),
    ("ncf.csv", True, 128, 128, "ws", (256, 256, 128)),
    ("ncf.csv", True, 128, 128, "os", (256, 256, 128)),
    ("ncf.csv", True, 128, 64, "is", (256, 256, 128)),
    ("ncf_tail.csv", True, 8, 8, "ws", (16, 16, 8)),
    ("ncf_tail.csv", True, 8, 8, "os", (16, 16, 8)),
    ("ncf_tail.csv", True, 8, 8, "is", (16, 16, 8)),
    ("gpt2_attention.csv", True, 8, 32, "ws", (64, 64, 32)),
]
QUICK_CASES = [
    ("gpt2_attention.csv", True, 128, 64, "is", (256, 256, 128)),
    ("mobilenet_tail.csv", False, 64, 32, "os", (256, 256, 128)),
]


def resnet50_layers(batch: int = 1) -> list[Layer]:
    """ResNet-50's 53 convolutions and its FC layer at 224x224 (He et al., CVPR 2016)."""
    layers = [Layer("conv1", "conv2d", in_h=224, in_w=224, in_c=3, out_c=64, kernel_h=7,
                    kernel_w=7, stride_h=2, stride_w=2, pad_h=3, pad_w=3, batch=batch)]
    size, cin = 56, 64
    for stage, (mid, blocks) in enumerate([(64, 3), (128, 4), (256, 6), (512, 3)]):
        out = 4 * mid
        for b in range(blocks):
            s = 2 if (b == 0 and stage > 0) else 1
            name = f"res{stage + 2}{chr(97 + b)}"

            def conv(tag, h, ci, co, k, st, p, name=name):
                return Layer(f"{name}_{tag}", "conv2d", in_h=h, in_w=h, in_c=ci, out_c=co,
                             kernel_h=k, kernel_w=k, stride_h=st, stride_w=st, pad_h=p,
                             pad_w=p, batch=batch)
            layers.append(conv("1x1a", size, cin, mid, 1, 1, 0))
            layers.append(conv("3x3", size, mid, mid, 3, s, 1))
            osz = (size + 2 - 3) // s + 1
            layers.append(conv("1x1b", osz, mid, out, 1, 1, 0))
            if b == 0:
                layers.append(conv("proj", size, cin, out, 1, s, 0))
            size, cin = osz, out
    layers.append(Layer("fc", m=batch, k=2048, n=1000))
    return layers


def _median_time(fn, reps: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def parity_and_speed(cases, py: Path, tmp: Path, log: Path | None = None) -> list[dict]:
    rows = []
    # SCALE-Sim's fixed start-up cost: a 1x1x1 GEMM
    tiny = tmp / "tiny.csv"
    tiny.write_text("Layer, M, N, K,\nt, 2, 2, 2,\n")
    startup = run_scalesim(tiny, ArrayConfig(rows=2, cols=2, run_name="t"), tmp / "t", True,
                           python=py).wall_s
    for topo, gemm, r, c, df, kb in cases:
        cfg = ArrayConfig(rows=r, cols=c, dataflow=df, ifmap_sram_kb=kb[0],
                          filter_sram_kb=kb[1], ofmap_sram_kb=kb[2], run_name="bench")
        specs = read_topology(DATA / topo, gemm)
        t_hwnn, reps = _median_time(lambda s=specs, g=cfg: simulate(s, g), 3)
        write_reports(reps, tmp / "hwnn")
        ref = run_scalesim(DATA / topo, cfg, tmp / "ref", gemm, python=py)
        same = all((tmp / "hwnn" / f).read_text() == (ref.outdir / f).read_text()
                   for f in REPORT_FILES)
        cycles = sum(x.total_cycles + 1 for x in reps)
        row = {"topology": topo, "array": f"{r}x{c}", "dataflow": df, "layers": len(specs),
               "cycles": cycles, "identical_reports": same, "hwnn_s": t_hwnn,
               "scalesim_s": ref.wall_s, "scalesim_startup_s": startup,
               "speedup": ref.wall_s / t_hwnn,
               "scalesim_cycles_per_s": cycles / max(ref.wall_s - startup, 1e-9)}
        rows.append(row)
        print(f"{topo:20s} {r:>3}x{c:<3} {df}  {len(specs):>3} layers {cycles:>9} cycles  "
              f"identical={same}  hwnn {t_hwnn:7.3f} s  SCALE-Sim {ref.wall_s:8.2f} s  "
              f"ratio {row['speedup']:7.1f}x", flush=True)
        if log is not None:  # a long --full run keeps every finished case
            with log.open("a") as f:
                f.write(json.dumps(row) + "\n")
    return rows


TRACE_CASES = [  # (topology, gemm?, rows, cols, dataflow, SRAM KiB)
    ("ncf_tail.csv", True, 8, 8, "ws", (16, 16, 8)),
    ("ncf_tail.csv", True, 8, 8, "os", (16, 16, 8)),
    ("ncf_tail.csv", True, 8, 8, "is", (16, 16, 8)),
    ("gpt2_attention.csv", True, 32, 32, "os", (64, 64, 32)),
]


def _same_tree(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*.csv"))
    theirs = sorted(p.relative_to(b) for p in b.rglob("*.csv"))
    return files == theirs and all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def traces(py: Path, tmp: Path) -> list[dict]:
    rows = []
    for topo, gemm, r, c, df, kb in TRACE_CASES:
        cfg = ArrayConfig(rows=r, cols=c, dataflow=df, ifmap_sram_kb=kb[0],
                          filter_sram_kb=kb[1], ofmap_sram_kb=kb[2], run_name="tr")
        specs = read_topology(DATA / topo, gemm)
        mine = tmp / "trace_hwnn" / topo
        t0 = time.perf_counter()
        write_reports(simulate(specs, cfg), mine)
        write_all_traces(specs, cfg, mine)
        t_hwnn = time.perf_counter() - t0
        ref = run_scalesim(DATA / topo, cfg, tmp / "trace_ref" / topo, gemm, python=py,
                           traces=True)
        size = sum(p.stat().st_size for p in mine.rglob("*.csv"))
        row = {"topology": topo, "array": f"{r}x{c}", "dataflow": df,
               "identical_files": _same_tree(mine, ref.outdir), "csv_bytes": size,
               "hwnn_s": t_hwnn, "scalesim_s": ref.wall_s, "speedup": ref.wall_s / t_hwnn}
        rows.append(row)
        print(f"traces {topo:20s} {r:>3}x{c:<3} {df}  {size / 2**20:7.1f} MiB  identical="
              f"{row['identical_files']}  hwnn {t_hwnn:6.2f} s  SCALE-Sim {ref.wall_s:7.2f} s  "
              f"ratio {row['speedup']:5.1f}x", flush=True)
    return rows


def resnet50_cycles() -> list[dict]:
    specs = [spec_from_layer(x) for x in resnet50_layers()]
    out = []
    for df in ("ws", "os", "is"):
        cfg = ArrayConfig(rows=256, cols=256, dataflow=df)
        t, res = _median_time(lambda c=cfg: [cycles_only(s, c, "hwnn") for s in specs], 5)
        cyc = sum(r.cycles for r in res)
        macs = sum(r.macs for r in res)
        out.append({"dataflow": df, "layers": len(specs), "cycles": cyc,
                    "utilization_pct": 100 * macs / (cyc * 256 * 256), "wall_s": t})
        print(f"ResNet-50 256x256 {df}: {len(specs)} layers, {cyc} cycles, "
              f"util {out[-1]['utilization_pct']:.1f} %, {t * 1e3:.1f} ms", flush=True)
    return out


def memory_growth() -> list[dict]:
    out = []
    cfg = ArrayConfig(rows=32, cols=32, dataflow="ws", ifmap_sram_kb=256, filter_sram_kb=256,
                      ofmap_sram_kb=128)
    for m in (1024, 4096, 16384, 65536):
        spec = LayerSpec("g", gemm_geometry(m, 256, 64))
        demand = cycles_only(spec, cfg).cycles * (cfg.rows + 2 * cfg.cols)
        tracemalloc.start()
        t0 = time.perf_counter()
        simulate_layer(spec, cfg)
        wall = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out.append({"M": m, "K": 256, "N": 64, "demand_matrix_entries": demand,
                    "scalesim_demand_bytes": demand * 8, "hwnn_peak_bytes": peak,
                    "wall_s": wall})
        print(f"GEMM M={m:>6} K=256 N=64 on 32x32 ws: demand matrices {demand * 8 / 2**20:8.1f}"
              f" MiB (SCALE-Sim holds them), hwnn peak {peak / 2**20:6.1f} MiB, {wall:.2f} s",
              flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--full", action="store_true", help="every topology in every dataflow")
    ap.add_argument("--log", type=Path, help="append each finished parity case (JSON lines)")
    ap.add_argument("--only", help="run the parity cases of this topology file only")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--skip-scalesim", action="store_true")
    ap.add_argument("--traces", action="store_true", help="only part 4: the trace CSVs")
    args = ap.parse_args()
    result = {"machine": platform.platform(), "python": platform.python_version()}
    py = scalesim_python()
    if py is None and not args.skip_scalesim:
        raise SystemExit("SCALE-Sim venv missing: run `make scalesim` (or --skip-scalesim)")
    with tempfile.TemporaryDirectory() as tmp:
        if args.traces:
            result["traces"] = traces(py, Path(tmp))
            if args.json:
                args.json.write_text(json.dumps(result, indent=2))
            return
        if not args.skip_scalesim:
            cases = QUICK_CASES if args.quick else FULL_CASES if args.full else DEFAULT_CASES
            if args.only:
                cases = [c for c in cases if c[0] == args.only]
            result["parity"] = parity_and_speed(cases, py, Path(tmp), args.log)
            ratios = [r["speedup"] for r in result["parity"]]
            print(f"median speed-up {statistics.median(ratios):.0f}x, min {min(ratios):.0f}x; "
                  f"all identical: {all(r['identical_reports'] for r in result['parity'])}")
    result["resnet50_cycles"] = resnet50_cycles()
    result["memory"] = memory_growth()
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
