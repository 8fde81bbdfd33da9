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
    bound: str = ""  # "compute" or "memory" where the model knows

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

    @property
    def latency_s(self) -> float:
        return sum(e.latency_s for e in self.layers)

    @property
    def energy_pj(self) -> float:
        return sum(e.total_energy_pj for e in self.layers)

    @property
    def feasible(self) -> bool:
        return all(e.feasible for e in self.layers)


class Device:
    """Base class: subclasses set ``name`` and implement ``run``."""

    name: str = "device"

    def run(self, workload: Workload) -> list[LayerEstimate]:  # pragma: no cover - abstract
        raise NotImplementedError

    def estimate(self, workload: Workload, batch: int = 1) -> WorkloadEstimate:
        return WorkloadEstimate(self.name, workload.name, self.run(workload), batch)
