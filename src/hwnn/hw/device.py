"""The one interface every hardware model implements: ``device.run(workload)``.

A Device turns each Layer of a Workload into a LayerEstimate: cycles, latency, energy by
part (compute and each memory level), bytes moved per memory level, utilization, and
whether the layer can be mapped at all (``feasible`` with a ``reason`` when not).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hwnn.hw.workload import Workload


@dataclass(frozen=True)
class LayerEstimate:
    layer: str
    cycles: float
    latency_s: float
    macs: int
    # energy by part, e.g. {"compute": ..., "sram": ..., "dram": ...}, in picojoules
    energy_pj: dict[str, float] = field(default_factory=dict)
    # bytes moved per memory level, e.g. {"sram": ..., "dram": ...}
    traffic_bytes: dict[str, float] = field(default_factory=dict)
    utilization: float = 0.0
    feasible: bool = True
    reason: str = ""
    bound: str = ""  # "compute", "memory" or "overhead" (fixed per-layer cost) where known

    @property
    def total_energy_pj(self) -> float:
        return float(sum(self.energy_pj.values()))


@dataclass(frozen=True)
class WorkloadEstimate:
    """Totals over a workload's layers; layers run one after another unless a device says."""

    device: str
    workload: str
    layers: list[LayerEstimate]
    batch: int = 1
    # True when the layers run as a pipeline (one frame per layer in flight, as in FINN's
    # dataflow): throughput is then set by the slowest layer, latency by their sum.
    pipelined: bool = False
    # identical copies of the whole design working on different inputs (the deck's
    # "training parallelism" on an FPGA): throughput scales, latency does not
    copies: int = 1

    @property
    def latency_s(self) -> float:
        return sum(e.latency_s for e in self.layers)

    @property
    def energy_pj(self) -> float:
        return sum(e.total_energy_pj for e in self.layers)

    @property
    def feasible(self) -> bool:
        return all(e.feasible for e in self.layers)

    @property
    def reasons(self) -> list[str]:
        return [f"{e.layer}: {e.reason}" for e in self.layers if not e.feasible]

    @property
    def interval_s(self) -> float:
        """Seconds between successive batches: the slowest stage when pipelined."""
        if self.pipelined and self.layers:
            return max(e.latency_s for e in self.layers) / self.copies
        return self.latency_s / self.copies

    @property
    def throughput_per_s(self) -> float:
        """Inferences per second (``batch`` inferences every ``interval_s``); NaN when the
        workload does not map."""
        t = self.interval_s
        return self.batch / t if self.feasible and t > 0 else float("nan")

    @property
    def energy_per_inference_pj(self) -> float:
        return self.energy_pj / self.batch if self.feasible else float("nan")

    @property
    def inferences_per_j(self) -> float:
        e = self.energy_per_inference_pj
        return 1e12 / e if e > 0 else float("nan")

    def energy_by_part_pj(self) -> dict[str, float]:
        """Energy summed over layers for each part (compute, each memory level, ...)."""
        parts: dict[str, float] = {}
        for e in self.layers:
            for k, v in e.energy_pj.items():
                parts[k] = parts.get(k, 0.0) + v
        return parts


class Device:
    """Base class: subclasses set ``name`` and implement ``run``."""

    name: str = "device"
    kind: str = "device"  # "cpu", "gpu", "tpu", "fpga", "vpu", "asic"
    pipelined: bool = False

    def run(self, workload: Workload) -> list[LayerEstimate]:  # pragma: no cover - abstract
        raise NotImplementedError

    def estimate(self, workload: Workload, batch: int = 1) -> WorkloadEstimate:
        return WorkloadEstimate(
            self.name, workload.name, self.run(workload), batch, self.pipelined
        )

    def spec(self) -> dict:
        """The preset's numbers, for ``hwnn devices``; subclasses add theirs."""
        return {"name": self.name, "kind": self.kind}
