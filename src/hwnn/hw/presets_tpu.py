"""The TPU v1 (Jouppi et al., ISCA 2017) as a systolic-array preset.

| part | value (paper) | here |
|---|---|---|
| matrix unit | 256 x 256 8-bit MACs, weight stationary | rows = cols = 256, ``ws`` |
| clock | 700 MHz | ``freq_hz`` |
| unified buffer (activations) | 24 MiB | ifmap SRAM |
| accumulators | 4 MiB (4096 x 256 x 32 bit) | ofmap SRAM |
| weight FIFO | 4 tiles of 256 x 256 bytes = 256 KiB | filter SRAM |
| weight memory | 8 GiB DDR3, 34 GB/s | DRAM interface |

Peak: 2 ops x 65,536 MACs x 700 MHz = 91.75 TOPS ("92 TOPS"). Roofline ridge: 65,536 x
700e6 MAC/s / 34e9 B/s = 1,349 MACs per weight byte (the paper's "about 1350").
SRAM sizes are in bytes with 1-byte words (SCALE-Sim's convention), so the 32-bit
accumulators count as 4 MiB of 1-byte words.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwnn.hw.systolic import ArrayConfig, SystolicArray

MIB = 1024 * 1024


@dataclass(frozen=True)
class TpuPreset:
    name: str = "tpu-v1"
    rows: int = 256
    cols: int = 256
    freq_hz: float = 700e6
    unified_buffer_bytes: int = 24 * MIB
    accumulator_bytes: int = 4 * MIB
    weight_fifo_tiles: int = 4
    dram_bytes_per_s: float = 34e9

    @property
    def weight_fifo_bytes(self) -> int:
        return self.weight_fifo_tiles * self.rows * self.cols

    @property
    def peak_macs_per_s(self) -> float:
        return self.rows * self.cols * self.freq_hz

    @property
    def peak_tops(self) -> float:
        """Tera-ops per second, 1 MAC = 2 ops."""
        return 2 * self.peak_macs_per_s / 1e12

    @property
    def ridge_macs_per_weight_byte(self) -> float:
        """Operational intensity where the roofline turns (MACs per byte from DRAM)."""
        return self.peak_macs_per_s / self.dram_bytes_per_s

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram_bytes_per_s / self.freq_hz

    def array_config(self, bandwidth_mode: str = "CALC") -> ArrayConfig:
        return ArrayConfig(
            rows=self.rows, cols=self.cols, dataflow="ws",
            ifmap_sram_kb=self.unified_buffer_bytes // 1024,
            filter_sram_kb=self.weight_fifo_bytes // 1024,
            ofmap_sram_kb=self.accumulator_bytes // 1024,
            bandwidth_mode=bandwidth_mode, dram_bw_words=self.dram_bytes_per_cycle,
            word_bytes=1, freq_hz=self.freq_hz, run_name=self.name, name=self.name)


TPU_V1 = TpuPreset()
PRESETS = {"tpu-v1": TPU_V1}


def tpu_v1(bandwidth_mode: str = "CALC", convention: str = "hwnn",
           memory: bool = True) -> SystolicArray:
    """TPU v1's matrix unit as a Device (see the module table)."""
    return SystolicArray(TPU_V1.array_config(bandwidth_mode), convention, memory)
