"""Runs ZigZag (zigzag-dse) once and prints its results as one JSON object on stdout.

Runs in ZigZag's own venv, never in hwnn's (it imports nothing from hwnn)::

    .venv-zigzag/bin/python benchmarks/zigzag_runner.py                      # ResNet-18, tpu_like
    .venv-zigzag/bin/python benchmarks/zigzag_runner.py --layer /fc/Gemm     # one ONNX node
    .venv-zigzag/bin/python benchmarks/zigzag_runner.py --accelerator edge_tpu_like
    .venv-zigzag/bin/python benchmarks/zigzag_runner.py --describe           # hardware only

``benchmarks/bench_zigzag.py`` drives it as a subprocess. The call is ZigZag's own entry
point, ``zigzag.api.get_hardware_performance_zigzag`` (LOMA temporal-mapping search, one
process, uneven mappings, ``opt="latency"``: the mapping with the fewest cycles per layer),
with its default workload / hardware / mapping files shipped in the wheel.

What each number means, in ZigZag's cost model (``zigzag/cost_model/cost_model.py``):

* ``macs``: ``layer.total_mac_count`` (B K G OX OY C FX FY).
* ``ideal_cycles``: ceil(MACs / PEs), the array fully used every cycle.
* ``ideal_temporal_cycles``: the temporal loop nest's length for the chosen spatial mapping
  (``ideal_cycles`` / spatial utilization).
* ``stall_cycles``: ``stall_slack_comb``, memory-port stalls during compute (a port whose
  transfers do not fit the allowed window stalls the array).
* ``onloading_cycles`` / ``offloading_cycles``: loading the first tiles before compute and
  writing the last outputs after it (not overlapped with compute).
* ``systolic_drain_cycles``: along each systolic dimension, (unrolling - 1), once a layer.
* ``latency_cycles``: ``latency_total2`` = the sum of the five above (ideal_temporal +
  stall + onloading + offloading + drain); ``mac_utilization`` = ideal / latency.
* ``mac_energy_pj``: MACs x the operational array's ``unit_energy``.
* ``mem_energy_pj``: every access of every memory level x its ``r_cost`` / ``w_cost`` (pJ
  per access of the port's full width); ``energy_by_memory_pj`` splits it by memory.
* ``bits_by_memory``: accesses x the port width, i.e. the bits read from / written into
  each memory (rounded up to whole port words, as ZigZag counts them).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path


def _fail(msg: str) -> None:
    print(f"zigzag_runner: {msg}", file=sys.stderr)
    sys.exit(2)


try:
    import zigzag
    from zigzag.api import get_hardware_performance_zigzag
    from zigzag.hardware.architecture.memory_port import DataDirection
except ImportError as e:  # wrong interpreter, or a missing dependency of zigzag-dse
    _fail(f"cannot import ZigZag ({e}); run this file with .venv-zigzag/bin/python "
          "(make it: python3 -m venv .venv-zigzag && "
          ".venv-zigzag/bin/pip install zigzag-dse==3.9.1 six)")

INPUTS = Path(zigzag.__file__).parent / "inputs"
READS = (DataDirection.RD_OUT_TO_LOW, DataDirection.RD_OUT_TO_HIGH)
WRITES = (DataDirection.WR_IN_BY_LOW, DataDirection.WR_IN_BY_HIGH)


def _input_file(kind: str, name: str, ext: str) -> str:
    """A path as given, or the name of a file shipped in zigzag/inputs/<kind>/."""
    p = Path(name)
    if not p.is_file():
        p = INPUTS / kind / (name if name.endswith(ext) else name + ext)
    if not p.is_file():
        shipped = sorted(x.stem for x in (INPUTS / kind).glob(f"*{ext}"))
        _fail(f"{kind} {name!r} not found: give a path or one of {shipped}")
    return str(p)


def _load_onnx(path: str, layer: str | None):
    """The ONNX model without its weights (ZigZag needs shapes only), optionally one node."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    if layer is None:
        return model
    names = [n.name for n in model.graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    if layer not in names:
        _fail(f"--layer {layer!r} is not a Conv/Gemm/MatMul node of {path}; use one of {names}")
    keep = [n for n in model.graph.node if n.name == layer]
    del model.graph.node[:]
    model.graph.node.extend(keep)
    return model


def describe_accelerator(acc) -> dict:
    """The parsed hardware: array dimensions, MAC energy, memories (sizes in bits)."""
    oa = acc.operational_array
    mems = []
    for level in acc.memory_hierarchy.mem_level_list:
        inst = level.memory_instance
        bw = {str(op): {str(d): [level.get_min_bandwidth(op, d), level.get_max_bandwidth(op, d)]
                        for d in DataDirection if level.get_max_bandwidth(op, d)}
              for op in level.operands}
        mems.append({"name": level.name, "operands": [str(o) for o in level.operands],
                     "size_bits": inst.size, "r_cost_pj": inst.r_cost, "w_cost_pj": inst.w_cost,
                     "served_dimensions": sorted(str(d) for d in level.served_dimensions),
                     "instances": level.unroll_count, "bandwidth_bits": bw})
    return {
        "name": acc.name,
        "dimensions": {str(d): int(s) for d, s in oa.dimension_sizes.items()},
        "pes": int(oa.total_unit_count),
        "mac_energy_pj": float(oa.unit.energy_cost),
        "systolic_dimensions": sorted(str(d) for d in getattr(oa, "systolic_dimensions", ())),
        "memories": mems,
    }


def layer_result(cme) -> dict:
    """One layer's numbers (module docstring), from its best CostModelEvaluation."""
    energy: dict[str, float] = {}
    bits: dict[str, dict[str, float]] = {}
    hierarchy = cme.accelerator.memory_hierarchy
    for layer_op, accesses in cme.memory_word_access.items():
        mem_op = cme.memory_operand_links.layer_to_mem_op(layer_op)
        levels = hierarchy.get_memory_levels(mem_op=mem_op)
        for level, acc, e in zip(levels, accesses, cme.mem_energy_breakdown[layer_op],
                                 strict=False):
            energy[level.name] = energy.get(level.name, 0.0) + float(e)
            b = bits.setdefault(level.name, {"read": 0.0, "write": 0.0})
            for kind, dirs in (("read", READS), ("write", WRITES)):
                for d in dirs:
                    width = level.get_max_bandwidth(mem_op, d) or 0
                    b[kind] += float(acc.get(d)) * width
    layer = cme.layer
    return {
        "name": layer.name,
        "macs": int(layer.total_mac_count),
        "loop_sizes": {str(k): int(v) for k, v in layer.layer_dim_sizes.items()},
        "precision_bits": {str(k): int(v) for k, v in layer.operand_precision.data.items()},
        "latency_cycles": float(cme.latency_total2),
        "ideal_cycles": float(cme.ideal_cycle),
        "ideal_temporal_cycles": float(cme.ideal_temporal_cycle),
        "stall_cycles": float(cme.stall_slack_comb),
        "onloading_cycles": float(cme.data_onloading_cycle),
        "offloading_cycles": float(cme.data_offloading_cycle),
        "systolic_drain_cycles": float(cme.systolic_drain_cycle),
        "spatial_utilization": float(cme.mac_spatial_utilization),
        "mac_utilization": float(cme.mac_utilization2),
        "mac_energy_pj": float(cme.mac_energy),
        "mem_energy_pj": float(cme.mem_energy),
        "energy_pj": float(cme.energy_total),
        "energy_by_memory_pj": energy,
        "bits_by_memory": bits,
        "spatial_mapping": str(cme.spatial_mapping_int.mapping_dict_origin),
        "temporal_mapping": str(cme.temporal_mapping),
    }


def run(onnx_path: str, accelerator: str, mapping: str, layer: str | None, opt: str) -> dict:
    model = _load_onnx(onnx_path, layer)
    with tempfile.TemporaryDirectory(prefix="zigzag-") as dump:
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        # ZigZag logs at INFO and may print; keep stdout for our JSON only
        with contextlib.redirect_stdout(sys.stderr):
            energy, latency, cmes = get_hardware_performance_zigzag(
                model, accelerator, mapping, opt=opt, dump_folder=dump,
                loma_show_progress_bar=False)
        run_s = time.perf_counter() - t0
        cpu_s = time.process_time() - cpu0
    total, per_layer = cmes[0]
    layers = [layer_result(cme) for cme, _ in per_layer]
    return {
        "tool": "zigzag-dse",
        "version": _version(),
        "accelerator_file": accelerator,
        "mapping_file": mapping,
        "onnx": onnx_path,
        "opt": opt,
        "search": "loma (lpf_limit 6, uneven temporal mappings, one process)",
        "run_s": run_s,
        "cpu_s": cpu_s,
        "architecture": describe_accelerator(per_layer[0][0].accelerator),
        "totals": {
            "latency_cycles": float(latency),
            "energy_pj": float(energy),
            "mac_energy_pj": float(total.mac_energy),
            "mem_energy_pj": float(total.mem_energy),
            "ideal_cycles": float(total.ideal_cycle),
            "mac_utilization": float(total.mac_utilization2),
        },
        "layers": layers,
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zigzag-dse")
    except PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--onnx", default="resnet18",
                    help="ONNX workload: a path or a name in zigzag/inputs/workload/")
    ap.add_argument("--accelerator", default="tpu_like",
                    help="hardware YAML: a path or a name in zigzag/inputs/hardware/")
    ap.add_argument("--mapping", default=None,
                    help="mapping YAML (default: the one named like the accelerator)")
    ap.add_argument("--layer", default=None, help="run only this ONNX node (e.g. /fc/Gemm)")
    ap.add_argument("--opt", default="latency", choices=("latency", "energy", "EDP"))
    ap.add_argument("--describe", action="store_true",
                    help="only parse the hardware and print it (no workload, no search)")
    a = ap.parse_args(argv)
    acc = _input_file("hardware", a.accelerator, ".yaml")
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    os.environ.setdefault("MPLBACKEND", "Agg")
    if a.describe:
        from zigzag.stages.parser.accelerator_parser import AcceleratorParserStage

        out = {"architecture": describe_accelerator(AcceleratorParserStage.parse_accelerator(acc))}
    else:
        onnx_path = _input_file("workload", a.onnx, ".onnx")
        mapping = _input_file("mapping", a.mapping or Path(acc).stem, ".yaml")
        out = run(onnx_path, acc, mapping, a.layer, a.opt)
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
