"""The deck's GPU batching table measured on a real GPU, beside hwnn's roofline model of it.

    .venv/bin/python benchmarks/bench_gpu.py                # the GPU PyTorch sees
    .venv/bin/python benchmarks/bench_gpu.py --device cpu   # this CPU through torch

Measures the device's roofs (fp32 with TF32 off, bf16, copy bandwidth, one empty layer's
launch + sync) with ``hwnn.hw.gpu_calibrate``, then the time to process 1 s of speech
(100 frames) through the deck's speech network at each batch size, fp32 and bf16. Beside
each measured time: the roofline model of the measured roofs, the datasheet preset
(h100 / h200) and the deck's 2011 GPU. Then the MNIST MLP and LeNet-5 (fp32 torch) latency
per sample against batch size, the deployment benchmark's torch column on this device.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from hwnn.formats import BF16, FP32
from hwnn.hw import gpu
from hwnn.hw import gpu_calibrate as gc

BATCHES = (1, 2, 4, 8, 16, 32, 64, 128)


def _preset(name: str):
    """The datasheet preset of this GPU; the H100's for any other (printed as such)."""
    return gpu.h200() if "H200" in name.upper() else gpu.h100()


def _model_s(dev, batch: int, fmt) -> float:
    per_call = dev.estimate(gpu.speech_dnn(batch, fmt), batch).latency_s
    return -(-gpu.SPEECH_FRAMES_PER_S // batch) * per_call


def _mnist_latency(device: str, repeats: int) -> dict:
    import torch

    from hwnn import models

    out = {}
    for name, hidden in (("mlp", (256, 256)), ("lenet5", ())):
        net = models.build(name, (1, 28, 28), 10, 0, hidden).to(device).eval()
        row = {}
        with torch.inference_mode():
            for b in (1, 4, 16, 64, 256):
                x = torch.randn(b, 1, 28, 28, device=device)
                row[b] = gc.time_s(lambda x=x, net=net: net(x), device, repeats) / b
        out[name] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default=None, help="cuda (default when a GPU is seen) or cpu")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args()

    import torch

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    small = not device.startswith("cuda")  # sizes a CPU measures in seconds, not minutes
    m = gc.measure(
        device, gemm_n=1024 if small else 8192, copy_bytes=(256 << 20) if small else (2 << 30),
        repeats=5 if small else 10,
    )
    preset = _preset(m.name)
    print(f"{m.name} ({device}), torch {torch.__version__}")
    print(f"  fp32 (TF32 off) {m.peak_fp32_flops / 1e12:8.2f} TFLOP/s   datasheet "
          f"{preset.peak_ops_per_s['fp32'] / 1e12:.0f} ({preset.name})")  # fmt: skip
    print(f"  bf16            {m.peak_bf16_flops / 1e12:8.2f} TFLOP/s   datasheet "
          f"{preset.peak_ops_per_s['fp16'] / 1e12:.0f}")  # fmt: skip
    print(f"  copy            {m.bandwidth_bytes_per_s / 1e12:8.3f} TB/s      datasheet "
          f"{preset.dram_bandwidth_bytes_per_s / 1e12:.2f}")  # fmt: skip
    print(f"  one more layer  {m.layer_overhead_s * 1e6:8.1f} us        model "
          f"{preset.layer_overhead_s * 1e6:.0f}")  # fmt: skip
    print(f"  1-layer call    {m.sync_s * 1e6:8.1f} us        (launch + synchronisation)")
    print(f"  L2 {m.l2_bytes / 2**20:.0f} MiB, SM clock {m.clock_hz / 1e9:.2f} GHz")

    measured_dev = m.roofline()
    result = {"device": m.__dict__, "torch": torch.__version__, "speech": {}}
    for dtype, fmt in (("fp32", FP32), ("bf16", BF16)):
        t = gc.speech_batching(device, BATCHES, dtype, repeats=args.repeats)
        print(f"\nms to process 1 s of speech (100 frames), {dtype}:")
        print(f"{'batch':>6}{'measured':>10}{'model(measured roofs)':>23}"
              f"{f'model({preset.name})':>14}{'deck 2011':>11}")  # fmt: skip
        rows = []
        for b in BATCHES:
            row = {"batch": b, "measured_ms": t[b] * 1e3,
                   "model_measured_roofs_ms": _model_s(measured_dev, b, fmt) * 1e3,
                   "model_preset_ms": _model_s(preset, b, fmt) * 1e3,
                   "deck_2011_ms": gpu.DECK_GPU_MS.get(b)}  # fmt: skip
            rows.append(row)
            deck_ms = f"{row['deck_2011_ms']:.0f}" if row["deck_2011_ms"] else "-"
            print(f"{b:>6}{row['measured_ms']:>10.3f}{row['model_measured_roofs_ms']:>23.3f}"
                  f"{row['model_preset_ms']:>14.3f}{deck_ms:>11}")  # fmt: skip
        first, last = rows[0]["measured_ms"], rows[-1]["measured_ms"]
        modelled = rows[0]["model_measured_roofs_ms"] / rows[-1]["model_measured_roofs_ms"]
        print(f"batching 1 -> {BATCHES[-1]}: {first / last:.1f}x faster measured, "
              f"{modelled:.1f}x modelled; the deck's GPU "
              f"{gpu.DECK_GPU_MS[1] / gpu.DECK_GPU_MS[128]:.1f}x")  # fmt: skip
        result["speech"][dtype] = rows

    lat = _mnist_latency(device, args.repeats)
    print("\nfp32 torch latency per sample (us) on this device:")
    print(f"{'batch':>6}" + "".join(f"{k:>10}" for k in lat))
    for b in lat["mlp"]:
        print(f"{b:>6}" + "".join(f"{lat[k][b] * 1e6:>10.2f}" for k in lat))
    result["mnist_latency_per_sample_s"] = lat
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
