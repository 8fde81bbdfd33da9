"""The deck's "Summary of Reduced Precision" table, reproduced for LeNet-5 on MNIST.

Trains LeNet-5 in fp32 on the 8,000/2,000 stratified split of the MNIST test files (or
loads it from ``--checkpoint`` when that file exists), applies every method of
``hwnn.quant`` with its paper's recipe, and prints one row per method: bits, accuracy,
loss against fp32 in percentage points beside the issue's target and the deck's ImageNet
figure, model size and compression, and the time each method took. CPU only, one thread.

    .venv/bin/python benchmarks/bench_precision.py                  # the whole table
    .venv/bin/python benchmarks/bench_precision.py --methods twn,bnn --checkpoint /tmp/l5.pt

Targets (issue 3), loss in points against the same fp32 model: dynamic fixed point 0.5;
TWN, TTQ, BWN, LogNet, weight sharing 1.0; BinaryConnect, XNOR-Net 2.0; BNN 3.0.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from hwnn import checkpoint, models
from hwnn import data as datasets
from hwnn.config import TrainConfig
from hwnn.quant import measure, methods
from hwnn.results import to_jsonable
from hwnn.train import evaluate, fit

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-t10k"
TARGETS = {
    "fixed": 0.5, "fixed_ft": 0.5, "twn": 1.0, "ttq": 1.0, "bwn": 1.0, "lognet": 1.0,
    "weight_sharing": 1.0, "binaryconnect": 2.0, "binaryconnect_stoch": 2.0, "xnor": 2.0,
    "bnn": 3.0,
}


def fp32_model(data, epochs: int, seed: int, path: Path | None):
    if path is not None and path.is_file():
        model, _ = checkpoint.load(path)
        return model, 0.0
    model = models.build("lenet5", data.input_shape, data.classes, seed)
    start = time.perf_counter()
    fit(model, data, TrainConfig(model="lenet5", epochs=epochs, seed=seed))
    elapsed = time.perf_counter() - start
    if path is not None:
        spec = {"name": "lenet5", "input_shape": list(data.input_shape),
                "classes": data.classes, "seed": seed, "hidden": [128]}
        checkpoint.save(path, model, spec)
    return model, elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=MNIST)
    ap.add_argument("--epochs", type=int, default=20, help="fp32 training epochs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--methods", default="", help="comma-separated; default: all")
    ap.add_argument("--checkpoint", type=Path, help="fp32 model cache (loaded if present)")
    ap.add_argument("--finetune-epochs", type=int, help="override every method's epochs")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    torch.set_num_threads(1)

    data = datasets.load("mnist", data_dir=args.data_dir, seed=args.seed)
    model, train_s = fp32_model(data, args.epochs, args.seed, args.checkpoint)
    fp32_acc = evaluate(model, data.x_test, data.y_test)
    print(f"LeNet-5 fp32 on MNIST ({data.split}): {fp32_acc:.2%}"
          + (f", trained {args.epochs} epochs in {train_s:.0f} s" if train_s else ", loaded"))
    wanted = [n for n in args.methods.split(",") if n] or [m.name for m in methods()]
    header = ("| method | weights | acts | accuracy | loss (pts) | target | deck ImageNet loss "
              "| bytes | ratio | time (s) | met |")
    print(header)
    print("|" + "---|" * 11)
    results = []
    for name in wanted:
        options = {"seed": args.seed}
        if args.finetune_epochs is not None:
            options["epochs"] = args.finetune_epochs
        r, _ = measure(model, name, data, fp32_acc, **options)
        results.append(r)
        target = TARGETS.get(r.method)
        met = "" if target is None else ("yes" if r.accuracy_loss_pct <= target else "NO")
        deck = "" if r.deck_accuracy_loss_pct is None else f"{r.deck_accuracy_loss_pct:g}"
        print(f"| {r.method} | {r.precision} | {r.activation_bits} | {r.accuracy:.2%} | "
              f"{r.accuracy_loss_pct:.2f} | {'' if target is None else target} | {deck} | "
              f"{r.model_bytes} | {r.compression_ratio:.1f} | {r.quantize_time_s:.0f} | {met} |",
              flush=True)
    if args.json is not None:
        args.json.write_text(json.dumps(
            {"fp32_accuracy": fp32_acc, "results": to_jsonable(results)}, indent=2))


if __name__ == "__main__":
    main()
