"""hwnn's quantization methods against Larq's, on LeNet-5 from the same fp32 model.

    .venv/bin/python benchmarks/bench_larq.py                       # every row
    .venv/bin/python benchmarks/bench_larq.py --methods bnn,bwn --checkpoint /tmp/l5.pt

Needs the Larq venv (``bench_lce.INSTALL``). Trains LeNet-5 in fp32 on the 8,000/2,000
stratified split of the MNIST test files exactly as ``bench_precision.py`` does (or loads
``--checkpoint``). For each method Larq also has, ``hwnn.quantize(model, m, data,
epochs=0)`` gives the network just before fine-tuning (batch norm inserted and initialised,
hardtanh before binary layers, shadow weights rescaled to the clip range where the recipe
does); ``bench_lce.export_model`` writes it with Larq's quantizer names, and
``larq_runner.py`` (Larq venv) rebuilds it in Larq and fine-tunes it with hwnn's budget for
the method (epochs, Adam, learning rate and its step decay, batch 64, clipping). hwnn's row
is ``hwnn.quant.measure`` with the full recipe, as ``bench_precision.py`` prints it. Both
sides start from the same parameters and train on the same images on one thread; they
differ in the quantizers' forward and backward rules, in the framework, and in the
shuffling order.

| hwnn | Larq equivalent used | difference in the rules |
|---|---|---|
| ``bnn`` | ``ste_sign`` inputs, kernels; ``weight_clip(1)`` | 8-bit input rounding: a ``Lambda`` |
| ``xnor`` | ``ste_sign`` in, ``magnitude_aware_sign`` | no input scale K; alpha stop-gradient |
| ``binaryconnect`` | ``SteSign(clip_value=None)``, ``weight_clip(1)`` | none |
| ``bwn`` | ``magnitude_aware_sign`` kernels | alpha stop-gradient in Larq, autograd in hwnn |
| ``twn`` | ``SteTern(ternary_weight_networks=True)`` | Larq's weights are -1, 0, +1: no alpha |

Not in Larq 0.14 (its ``larq.quantizers``: NoOp, SteSign, ApproxSign, SteHeaviside,
SwishSign, MagnitudeAwareSign, SteTern, DoReFa): dynamic fixed point (DoReFa is a k-bit
quantizer on [0, 1], tanh-normalised weights, not a per-layer fractional length), TTQ
(learned scales), stochastic BinaryConnect, LogNet (power-of-two weights), weight sharing
(k-means codebooks). Those rows carry hwnn's number only.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench_lce import (
    NotInLarq,
    export_model,
    larq_missing,
    run_larq,
    write_exchange,
)
from bench_precision import MNIST, fp32_model
from hwnn import data as datasets
from hwnn.errors import HwnnError
from hwnn.quant import get, measure, methods, quantize
from hwnn.train import evaluate

PAIRED = ("bnn", "xnor", "binaryconnect", "bwn", "twn")
LARQ_NAME = {
    "bnn": "ste_sign in+kernel, weight_clip", "xnor": "ste_sign in, magnitude_aware_sign",
    "binaryconnect": "SteSign(clip_value=None), weight_clip", "bwn": "magnitude_aware_sign",
    "twn": "SteTern(ternary_weight_networks)",
}  # fmt: skip
RUNNER = Path(__file__).resolve().parent / "larq_runner.py"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=MNIST)
    ap.add_argument("--epochs", type=int, default=20, help="fp32 training epochs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", default="", help="comma-separated; default: all deck rows")
    ap.add_argument("--checkpoint", type=Path, help="fp32 model cache (loaded if present)")
    ap.add_argument("--finetune-epochs", type=int, help="override every method's epochs")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    why = larq_missing()
    if why:
        sys.exit(why)
    try:
        wanted = [get(n).name for n in args.methods.split(",") if n] or [
            m.name for m in methods() if m.category != "Baseline"
        ]
        data = datasets.load("mnist", data_dir=args.data_dir, seed=args.seed)
    except HwnnError as err:
        sys.exit(str(err))
    torch.set_num_threads(1)
    model, train_s = fp32_model(data, args.epochs, args.seed, args.checkpoint)
    fp32_acc = evaluate(model, data.x_test, data.y_test)
    print(f"LeNet-5 fp32 on MNIST ({data.split}): {fp32_acc:.2%}"
          + (f", trained {args.epochs} epochs in {train_s:.0f} s" if train_s else ", loaded"))

    starts: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        spec, arrays = export_model(model, data.x_test)
        spec["name"] = "fp32"
        files.append(Path(tmp) / "fp32.npz")
        write_exchange(files[-1], spec, arrays)
        for name in (n for n in wanted if n in PAIRED):
            m = get(name)
            start = quantize(model, m, data, epochs=0, seed=args.seed)
            starts[name] = evaluate(start, data.x_test, data.y_test)
            try:
                spec, arrays = export_model(start, data.x_test)
            except NotInLarq as err:  # pragma: no cover - PAIRED are all exportable
                sys.exit(f"{name}: {err}")
            epochs = m.finetune_epochs if args.finetune_epochs is None else args.finetune_epochs
            spec["name"] = name
            spec["train"] = {"epochs": epochs, "lr": m.lr, "batch_size": 64, "seed": args.seed}
            files.append(Path(tmp) / f"{name}.npz")
            write_exchange(files[-1], spec, arrays)
        split = Path(tmp) / "data.npz"
        np.savez(split, x_train=data.x_train, y_train=data.y_train, x_test=data.x_test,
                 y_test=data.y_test)  # fmt: skip
        out = Path(tmp) / "larq.json"
        print(f"Larq side: fine-tuning {len(files) - 1} method(s) ...", flush=True)
        t0 = time.perf_counter()
        try:
            run_larq(RUNNER, "--data", str(split), "--out", str(out), *map(str, files))
        except RuntimeError as err:
            sys.exit(str(err))
        larq = json.loads(out.read_text())
    print(f"Larq {larq['larq_version']} (TF {larq['tf_version']}) side took "
          f"{time.perf_counter() - t0:.0f} s; fp32 model in Keras: "
          f"{larq['methods']['fp32']['accuracy']:.2%} (torch {fp32_acc:.2%})")  # fmt: skip

    head = ("| method | epochs, lr | Larq quantizers | start acc hwnn / Larq | hwnn acc | "
            "hwnn loss (pts) | Larq acc | Larq loss (pts) | Larq - hwnn (pts) | "
            "time hwnn / Larq (s) |")  # fmt: skip
    print(head)
    print("|" + "---|" * 10)
    rows = []
    for name in wanted:
        m = get(name)
        options = {"seed": args.seed}
        if args.finetune_epochs is not None:
            options["epochs"] = args.finetune_epochs
        r, _ = measure(model, name, data, fp32_acc, **options)
        epochs = options.get("epochs", m.finetune_epochs)
        row = {"method": name, "epochs": epochs, "lr": m.lr, "hwnn_accuracy": r.accuracy,
               "hwnn_loss_pts": r.accuracy_loss_pct, "hwnn_time_s": r.quantize_time_s}  # fmt: skip
        lq = larq["methods"].get(name)
        if lq is None:
            cells = ["not in Larq", "", f"{r.accuracy:.2%}", f"{r.accuracy_loss_pct:.2f}",
                     "not in Larq", "", "", f"{r.quantize_time_s:.0f} / -"]  # fmt: skip
        else:
            loss = 100 * (fp32_acc - lq["accuracy"])
            row.update(larq_accuracy=lq["accuracy"], larq_loss_pts=loss,
                       larq_start_accuracy=lq["start_accuracy"], larq_time_s=lq["train_s"],
                       hwnn_start_accuracy=starts[name], notes=lq["notes"])  # fmt: skip
            cells = [LARQ_NAME[name], f"{starts[name]:.2%} / {lq['start_accuracy']:.2%}",
                     f"{r.accuracy:.2%}", f"{r.accuracy_loss_pct:.2f}", f"{lq['accuracy']:.2%}",
                     f"{loss:.2f}", f"{loss - r.accuracy_loss_pct:+.2f}",
                     f"{r.quantize_time_s:.0f} / {lq['train_s']:.0f}"]  # fmt: skip
        print(f"| {name} | {epochs}, {m.lr:g} | " + " | ".join(cells) + " |", flush=True)
        rows.append(row)
    notes = sorted({n for r in rows for n in r.get("notes", [])})
    for n in notes:
        print(f"note: {n}")
    if args.json is not None:
        args.json.write_text(json.dumps(
            {"fp32_accuracy": fp32_acc, "larq_version": larq["larq_version"],
             "tf_version": larq["tf_version"], "rows": rows}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
