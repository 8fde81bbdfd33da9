"""The engines users would deploy instead, run beside hwnn's plans: ONNX Runtime and torch.ao.

- ``ort-fp32``: the fp32 model exported to ONNX, served by ONNX Runtime (its MLAS kernels).
- ``ort-int8``: the same graph quantized statically by ``onnxruntime.quantization`` with its
  recommended settings (QDQ format, int8 weights per output channel, int8 activations
  calibrated on training images): what "an ONNX Runtime int8 model" means for MLPs and CNNs.
- ``ort-int8-dynamic``: ``quantize_dynamic`` (int8 weights, activations quantized per call).
- ``torch-ao-int8``: torch.ao's dynamic int8 quantization of the Linear layers (fbgemm / x86
  backend), PyTorch's own route to an int8 CPU model; convolutions stay fp32.
- ``torch-cuda-fp32``: the fp32 model on a CUDA GPU, where one is visible: each call copies
  the batch over, runs it and copies the logits back (what a caller waits for). The deck's
  "CPU vs GPU" question for the user's own network: a GPU pays launches and transfers per
  call, so it needs batches to win.

Each is a ``Rival`` with ``run(x) -> logits``, ``predict`` and ``weight_bytes`` like a
``Plan``, so the same timing and accuracy code measures every engine. They need packages
that hwnn itself does not (``pip install hwnn[rivals]``); ``missing()`` says which cannot
run here and why, and callers skip those with that note.
"""

from __future__ import annotations

import copy
import io
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwnn.errors import ConfigError

RIVALS = ("ort-fp32", "ort-int8", "ort-int8-dynamic", "torch-ao-int8", "torch-cuda-fp32")
_NEEDS = {
    "ort-fp32": ("onnx", "onnxruntime"),
    "ort-int8": ("onnx", "onnxruntime"),
    "ort-int8-dynamic": ("onnx", "onnxruntime"),
    "torch-ao-int8": (),
    "torch-cuda-fp32": (),
}
_INSTALL = "pip install 'hwnn[rivals]' (onnx and onnxruntime)"


@dataclass
class Rival:
    """One engine from another tool: float images in, logits out."""

    engine: str
    method: str  # the precision it serves: "fp32" or "int8"
    run: Callable[[np.ndarray], np.ndarray]
    weight_bytes: int

    def predict(self, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        parts = [self.run(x[i : i + batch_size]).argmax(1) for i in range(0, len(x), batch_size)]
        return np.concatenate(parts)


def missing() -> dict[str, str]:
    """Rival -> why it cannot run on this installation (absent when it can)."""
    import importlib.util

    import torch

    out = {}
    for name, modules in _NEEDS.items():
        absent = [m for m in modules if importlib.util.find_spec(m) is None]
        if absent:
            out[name] = f"{', '.join(absent)} not installed: {_INSTALL}"
    if not torch.cuda.is_available():
        out["torch-cuda-fp32"] = "no CUDA GPU visible to torch"
    return out


def parse(spec: str) -> tuple[str, ...]:
    """``--rivals`` text: "all", "none"/"" or a comma list of RIVALS."""
    spec = spec.strip().lower()
    if spec in ("", "none"):
        return ()
    if spec == "all":
        return RIVALS
    names = tuple(s.strip() for s in spec.split(",") if s.strip())
    unknown = [n for n in names if n not in RIVALS]
    if unknown:
        raise ConfigError(
            f"unknown rival engine(s) {', '.join(unknown)}: choose from {', '.join(RIVALS)}, "
            "all or none"
        )
    return names


def build(
    names, model, calibration: np.ndarray, threads: int = 1
) -> tuple[list[Rival], dict[str, str]]:
    """The rivals among ``names`` that can run here, and the skipped ones with the reason.

    ``model`` is the trained fp32 torch model (eval mode); ``calibration`` a few hundred
    training images for ort-int8's activation ranges.
    """
    skipped = {n: why for n, why in missing().items() if n in names}
    built = []
    onnx_fp32 = None
    for name in names:
        if name in skipped:
            continue
        # Another tool failing on this model (an operator it cannot export or quantize) is
        # a finding to report, not a reason to lose hwnn's own measurements.
        try:
            torch_rival = {"torch-ao-int8": _torch_ao, "torch-cuda-fp32": _torch_cuda}.get(name)
            if torch_rival is not None:
                built.append(torch_rival(model))
                continue
            if onnx_fp32 is None:
                onnx_fp32 = _export_onnx(model, calibration[:1])
            built.append(_ort(name, onnx_fp32, calibration, threads))
        except Exception as e:  # noqa: BLE001 - any failure of the other tool is reported
            skipped[name] = f"{type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
    return built, skipped


def _export_onnx(model, sample: np.ndarray) -> bytes:
    import torch

    buf = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter: it needs no onnxscript and takes 0.2 s, not 3 s. Its
        # deprecation notice is not the user's concern here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (torch.from_numpy(np.ascontiguousarray(sample)),), buf, dynamo=False,
            input_names=["x"], output_names=["logits"],
            dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
        )  # fmt: skip
    return buf.getvalue()


def _session(model_bytes: bytes, threads: int):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3  # warnings about unused initializers are noise here
    return ort.InferenceSession(model_bytes, opts, providers=["CPUExecutionProvider"])


def _ort(name: str, fp32: bytes, calibration: np.ndarray, threads: int) -> Rival:
    model = fp32 if name == "ort-fp32" else _quantize_onnx(name, fp32, calibration)
    session = _session(model, threads)

    def run(x: np.ndarray) -> np.ndarray:
        return session.run(None, {"x": np.ascontiguousarray(x, dtype=np.float32)})[0]

    return Rival(name, "fp32" if name == "ort-fp32" else "int8", run, _initializer_bytes(model))


def _initializer_bytes(model: bytes) -> int:
    """The weights an ONNX model stores (its initializers), as hwnn counts a plan's."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load_from_string(model).graph
    return sum(numpy_helper.to_array(t).nbytes for t in graph.initializer)


def _quantize_onnx(name: str, fp32: bytes, calibration: np.ndarray) -> bytes:
    from onnxruntime import quantization as q
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        src, pre, dst = (Path(tmp) / f for f in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        src.write_bytes(fp32)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # ONNX Runtime's documented flow: shape inference and graph optimization first.
            quant_pre_process(src, pre)
            if name == "ort-int8-dynamic":
                q.quantize_dynamic(pre, dst, weight_type=q.QuantType.QInt8)
            else:
                q.quantize_static(
                    pre, dst, _Calibration(calibration), quant_format=q.QuantFormat.QDQ,
                    per_channel=True,
                )  # fmt: skip
        return dst.read_bytes()


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol: batches of 64 images, then None."""

    def __init__(self, x: np.ndarray) -> None:
        x = np.ascontiguousarray(x, dtype=np.float32)
        self._batches = iter([{"x": x[i : i + 64]} for i in range(0, len(x), 64)])

    def get_next(self):
        return next(self._batches, None)


def _torch_ao(model) -> Rival:
    import torch
    from torch import nn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        qmodel = torch.ao.quantization.quantize_dynamic(
            copy.deepcopy(model).eval(), {nn.Linear}, dtype=torch.qint8
        )

    def run(x: np.ndarray) -> np.ndarray:  # on torch's thread count: see measure()
        with torch.inference_mode():
            return qmodel(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))).numpy()

    return Rival("torch-ao-int8", "int8", run, _torch_ao_bytes(qmodel))


def _torch_cuda(model) -> Rival:
    import torch

    gpu_model = copy.deepcopy(model).eval().to("cuda")

    def run(x: np.ndarray) -> np.ndarray:  # .cpu() waits for the GPU: no separate sync
        with torch.inference_mode():
            xb = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to("cuda")
            return gpu_model(xb).cpu().numpy()

    return Rival("torch-cuda-fp32", "fp32", run, sum(4 * p.numel() for p in model.parameters()))


def _torch_ao_bytes(qmodel) -> int:
    """int8 weights of the quantized Linear layers, fp32 for every other parameter."""
    from torch.ao.nn.quantized.dynamic import Linear as QLinear

    total = 0
    for m in qmodel.modules():
        if isinstance(m, QLinear):
            w, b = m._weight_bias()
            total += w.numel() + (0 if b is None else 4 * b.numel())
        else:
            total += sum(4 * p.numel() for p in m.parameters(recurse=False))
    return total


def measure(rival: Rival, x: np.ndarray, batches, threads: int = 1, min_time_s: float = 0.2):
    """Throughput at each batch size, as ``measure_plan`` times a plan: torch (for
    torch-ao-int8) on ``threads`` threads for the duration; ONNX Runtime's sessions were
    made with that many."""
    import torch

    from hwnn.deploy.bench import measure_plan

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return measure_plan(rival, x, batches, threads, min_time_s, rival.engine)
    finally:
        torch.set_num_threads(before)
