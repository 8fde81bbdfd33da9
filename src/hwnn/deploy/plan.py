"""An inference plan: the compiled steps of one network, runnable without torch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hwnn.deploy import steps as S

SUPPORTED = ("fp32", "int8", "bwn", "twn", "ttq", "binaryconnect", "bnn", "xnor")


@dataclass
class Plan:
    """Steps in order; ``run(x)`` maps float32 inputs [N, ...] to float32 logits [N, classes].

    ``method`` is the quantization method the plan was compiled from ("fp32" for a plain
    model); ``engine`` names the kernels it runs on ("binary", "int8", "float");
    ``weight_bytes`` is what its weights occupy (packed bits for binary layers).
    """

    steps: list
    method: str
    engine: str
    weight_bytes: int
    layers: list[str] = field(default_factory=list)

    def run(self, x: np.ndarray) -> np.ndarray:
        # On the batch-1 path a call of the native runner takes ~1 us: a float32 C-contiguous
        # array goes through without another NumPy call.
        if type(x) is not np.ndarray or x.dtype != np.float32 or not x.flags.c_contiguous:
            x = np.ascontiguousarray(x, dtype=np.float32)
        for step in self.steps:
            x = step.run(x)
        return x

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """Class indices (argmax of the logits), int64 [N], in batches of ``batch_size``."""
        x = np.asarray(x, dtype=np.float32)
        out = [self.run(x[i : i + batch_size]).argmax(axis=1) for i in range(0, len(x), batch_size)]
        return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)

    def describe(self) -> list[dict]:
        """One row per step: its kind and the shapes it holds (for reports and --json)."""
        rows = []
        for s in self.steps:
            if hasattr(s, "runner"):  # a fused native segment: describe what it runs
                rows.append({"step": "NativeSegment", "fused": [type(x).__name__ for x in s.steps]})
                continue
            row = {"step": type(s).__name__}
            for name in ("weight", "weight_t"):
                w = getattr(s, name, None)
                if isinstance(w, np.ndarray):
                    row["weight_shape"] = list(w.shape)
                    row["weight_dtype"] = str(w.dtype)
                elif isinstance(w, S.PackedConv):
                    row["weight_shape"] = list(w.words.shape)
                    row["weight_dtype"] = "uint64 (signs packed along channels)"
            rows.append(row)
        return rows
