"""The Larq side of ``bench_larq.py``: fine-tunes each exported network with Larq.

    .venv-larq/bin/python benchmarks/larq_runner.py --data data.npz --out larq.json a.npz ...

Each method file is an exchange ``.npz`` from ``bench_lce.export_model``: the network as
hwnn's ``quantize(..., epochs=0)`` leaves it just before fine-tuning (batch norm inserted
and initialised, shadow weights rescaled where the recipe does), with its Larq quantizer
names, plus ``spec["train"]``: hwnn's fine-tuning budget for the method. ``build_model``
(``lce_runner.py``) rebuilds it in Larq; this module then trains it as ``hwnn.quant``'s
``_finetune`` does:

- Adam (epsilon 1e-8 as torch's) at the method's learning rate for the first
  epochs - epochs // 3 epochs, then a fresh Adam at a tenth of it for the rest;
- mini-batches of 64 from the 8,000 training images, reshuffled every epoch;
- cross-entropy on the logits; shadow weights clipped after every step where the method
  clips (Larq's ``weight_clip`` constraint); batch-norm momentum 0.1 in torch's terms.

It reports the accuracy on the 2,000 test images before and after fine-tuning and the time
the fine-tuning took, on one thread (TensorFlow's intra- and inter-op pools set to 1).
A file without ``train`` (the fp32 model) is only evaluated: its accuracy must equal
torch's, which checks the weight exchange.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from lce_runner import _imports, build_model, load, to_nhwc


def finetune(model, x, y, epochs: int, lr: float, batch_size: int, seed: int) -> float:
    """hwnn's schedule on a Keras model; returns the seconds the fitting took."""
    tf, _ = _imports()
    late = epochs // 3
    phases = [(n, rate) for n, rate in ((epochs - late, lr), (late, lr / 10)) if n > 0]
    start = time.perf_counter()
    for i, (n, rate) in enumerate(phases):
        tf.keras.utils.set_random_seed(seed + i)
        model.compile(
            optimizer=tf.keras.optimizers.Adam(rate, epsilon=1e-8),
            loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        model.fit(x, y, batch_size=batch_size, epochs=n, shuffle=True, verbose=0)
    return time.perf_counter() - start


def accuracy(model, x, y) -> float:
    return float((model.predict(x, batch_size=512, verbose=0).argmax(1) == y).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="x_train, y_train, x_test, y_test")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("methods", type=Path, nargs="+", help="exchange files, one per method")
    args = ap.parse_args()
    tf, lq = _imports()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    if not args.data.is_file():
        sys.exit(f"{args.data}: no such data file (bench_larq.py writes it)")
    with np.load(args.data) as f:
        x_tr, y_tr = to_nhwc(f["x_train"]), f["y_train"]
        x_te, y_te = to_nhwc(f["x_test"]), f["y_test"]
    from importlib.metadata import version

    results = {"larq_version": version("larq"),
               "tf_version": tf.__version__, "methods": {}}  # fmt: skip
    for path in args.methods:
        spec, arrays = load(path)
        model = build_model(spec, arrays)
        row = {"start_accuracy": accuracy(model, x_te, y_te), "notes": spec["notes"]}
        train = spec.get("train")
        if train:
            row["train_s"] = finetune(model, x_tr, y_tr, train["epochs"], train["lr"],
                                      train["batch_size"], train["seed"])  # fmt: skip
        row["accuracy"] = accuracy(model, x_te, y_te)
        results["methods"][spec["name"]] = row
        print(f"{spec['name']}: {row}", flush=True)
        tf.keras.backend.clear_session()
    args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
