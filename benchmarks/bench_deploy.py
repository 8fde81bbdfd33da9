"""Deployed binarized and int8 networks against fp32 torch, ONNX Runtime and torch.ao.

    .venv/bin/python benchmarks/bench_deploy.py                  # MNIST MLP 784-256-256-10
    .venv/bin/python benchmarks/bench_deploy.py --threads 2      # every engine on 2 threads
    .venv/bin/python benchmarks/bench_deploy.py --dense --batches 1  # no zero input to skip
    .venv/bin/python benchmarks/bench_deploy.py --rivals none    # hwnn and torch only
    .venv/bin/python benchmarks/bench_deploy.py --model lenet5   # the deck's LeNet-5 CNN

Trains the fp32 MLP briefly on the real MNIST test-set split (/work/shared/data/mnist-t10k,
or --data digits), quantizes it to int8 and BNN, deploys both with ``hwnn.deploy`` and times
each engine at each batch size in one run (median of repeated calls after a warm-up; torch,
OpenBLAS and the native kernels all on ``--threads`` threads). Prints the ratios to fp32
torch; the issue-4 target is the binarized MLP at batch 1 >= 10x fp32 torch. The rivals
(``hwnn.deploy.rivals``: ONNX Runtime fp32, static and dynamic int8, torch.ao dynamic int8;
``pip install 'hwnn[rivals]'``) are timed the same way on the same thread count, and each
hwnn engine's predictions per second are printed over the fastest int8 rival's.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from hwnn.config import DataConfig, TrainConfig
from hwnn.data import load
from hwnn.deploy import rivals
from hwnn.deploy.bench import bench_models, speedups
from hwnn.deploy.rivals import RIVALS

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-t10k"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="mnist" if MNIST.exists() else "digits")
    ap.add_argument("--model", default="mlp", choices=("mlp", "lenet5"))
    ap.add_argument("--hidden", default="256,256")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,2,4,8,16,32,64,128,256")
    ap.add_argument("--methods", default="int8,bnn")
    ap.add_argument("--rivals", default="all", help="all, none or a list of " + ", ".join(RIVALS))
    ap.add_argument("--json", help="also write the points to this file")
    ap.add_argument("--dense", action="store_true",
                    help="test inputs + 0.05: no zero pixel, so the engines' batch-1 GEMV "
                    "cannot skip zero groups (accuracy is then on shifted images)")
    args = ap.parse_args()

    import torch

    from hwnn import models, quant
    from hwnn.train import fit

    ds = load(DataConfig(name=args.data, data_dir=MNIST if args.data == "mnist" else None))
    hidden = tuple(int(h) for h in args.hidden.split(","))
    net = models.build(args.model, ds.input_shape, ds.classes, 0, hidden)
    torch.set_num_threads(args.threads)
    fit(net, ds, TrainConfig(model=args.model, epochs=3, hidden=hidden, seed=0))
    net.eval()
    quantized = {m: quant.quantize(net, m, ds, epochs=1) for m in args.methods.split(",")}
    batches = tuple(int(b) for b in args.batches.split(","))
    x_test = ds.x_test + np.float32(0.05) if args.dense else ds.x_test
    built, skipped = rivals.build(rivals.parse(args.rivals), net, ds.x_train[:512], args.threads)
    for name, why in skipped.items():
        print(f"{name} not run: {why}")
    engines, points = bench_models(
        net, quantized, x_test, ds.y_test, batches, args.threads, rivals=built
    )
    shape = "LeNet-5" if args.model == "lenet5" else f"MLP {ds.input_shape} -> {hidden}"
    print(f"{shape} on {args.data}, {args.threads} thread(s)")
    for e in engines:
        print(
            f"  {e.engine:<12} accuracy {e.accuracy:.4f}  same argmax as torch "
            f"{e.agrees_with_torch:.2%}  weights {e.weight_bytes} B"
        )
    print(f"{'batch':>6}" + "".join(f"{e.engine:>22}" for e in engines))
    for b in batches:
        row = {p.engine: p for p in points if p.batch == b}
        cells = [row[e.engine] for e in engines]
        print(f"{b:>6}" + "".join(
            f"{p.predictions_per_s:>12.4g}/s {p.latency_per_sample_s * 1e6:>6.2f}us" for p in cells
        ))  # fmt: skip
    for b in batches:
        ratios = ", ".join(f"{k} {v:.2f}x" for k, v in speedups(points, b).items())
        print(f"batch {b:>3}: against fp32 torch: {ratios}")
    int8_rivals = [r.engine for r in built if r.method == "int8"]
    for b in batches if int8_rivals else ():
        at = {p.engine: p.predictions_per_s for p in points if p.batch == b}
        best = max(int8_rivals, key=at.get)
        ours = ", ".join(f"{e} {at[e] / at[best]:.2f}x" for e in at if e.startswith("engine-"))
        print(f"batch {b:>3}: against the fastest int8 rival ({best}): {ours}")
    if args.json:
        from hwnn.results import to_jsonable

        Path(args.json).write_text(json.dumps(to_jsonable({"engines": engines, "points": points})))


if __name__ == "__main__":
    main()
