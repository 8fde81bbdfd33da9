"""hwnn against Brevitas, method by method: accuracy of LeNet-5 on MNIST after each
reduced-precision method, quantized and fine-tuned by each tool from the same fp32 model.

Trains LeNet-5 in fp32 once on the 8,000/2,000 stratified split of the MNIST test files
(hwnn's loader and model, as ``bench_precision.py``), or loads ``--checkpoint``. Then, per
method, on one thread:

- hwnn: ``hwnn.quant.measure`` (``quantize`` with the method's paper recipe: calibration,
  then Adam fine-tuning for the method's epochs and learning rate, last third at lr/10).
- Brevitas (0.13.4): ``brevitas_twin.build_twin`` swaps each quantized layer for a
  ``brevitas.nn.QuantConv2d`` / ``QuantLinear`` with the closest Brevitas quantizers (the
  mapping, and where it is imperfect, is the table in ``brevitas_twin.py``), copies the
  same fp32 weights, calibrates with Brevitas's ``calibration_mode`` on the same 1,024
  images, and ``finetune_twin`` trains it with hwnn's exact schedule (same epochs,
  optimizer, learning rates, batch size 64, seeds, data order).

One row per method: each tool's accuracy, its loss in percentage points against the same
fp32 model, and its wall time for quantize + fine-tune (each figure includes hwnn's
per-epoch test evaluation, on both sides). With ``--repeats N`` every fine-tuned method is
fine-tuned N times by each tool (fine-tuning seeds seed..seed+N-1; same fp32 model, same
split) and the row shows the mean accuracy with its min-max, so that a gap between the
tools can be told from seed-to-seed noise. Methods Brevitas lacks (TTQ, stochastic
BinaryConnect, LogNet, weight sharing) get a row marked "not in Brevitas" with the hwnn
figures alone.

    .venv/bin/python benchmarks/bench_brevitas.py --checkpoint /tmp/lenet5_mnist.pt
    .venv/bin/python benchmarks/bench_brevitas.py --repeats 3 --save-checkpoint /tmp/l5.pt
    .venv/bin/python benchmarks/bench_brevitas.py --methods twn,bnn --epochs 2 --json out.json

``--epochs`` (alias ``--finetune-epochs``) overrides the fine-tuning epochs of every method
whose recipe fine-tunes (``fixed`` and ``int8`` stay post-training);
``--fp32-epochs`` sets the fp32 training (default 20, as bench_precision).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

import brevitas_twin as bt
from hwnn import checkpoint, models
from hwnn import data as datasets
from hwnn.config import TrainConfig
from hwnn.errors import ConfigError, HwnnError
from hwnn.quant import get, measure, names
from hwnn.results import to_jsonable
from hwnn.train import evaluate, fit

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist-t10k"
# every hwnn method but the float-cast baselines (fp16, bf16), which this comparison skips
DEFAULT_METHODS = [n for n in names() if n not in ("fp16", "bf16")]
HEADER = ("| method | hwnn acc | Brevitas acc | hwnn loss (pts) | Brevitas loss (pts) "
          "| hwnn s | Brevitas s | Brevitas weight / input quantizers | note |")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=MNIST)
    ap.add_argument("--fp32-epochs", type=int, default=20, help="fp32 training epochs")
    ap.add_argument("--epochs", "--finetune-epochs", dest="epochs", type=int,
                    help="fine-tuning epochs of every fine-tuned method (both tools)")
    ap.add_argument("--seed", type=int, default=0, help="data split, fp32 init, fine-tuning")
    ap.add_argument("--repeats", type=int, default=1,
                    help="fine-tune each method this many times (seeds seed, seed+1, ...)")
    ap.add_argument("--methods", default="", help="comma-separated hwnn names; default: all")
    ap.add_argument("--checkpoint", type=Path, help="load the fp32 LeNet-5 from this file")
    ap.add_argument("--save-checkpoint", type=Path, help="train fp32 and save it here")
    ap.add_argument("--json", type=Path, help="also write the results here")
    return ap.parse_args(argv)


def wanted_methods(spec: str) -> list[str]:
    """hwnn's canonical names for a comma-separated list (ConfigError on an unknown one)."""
    chosen = [bt.check_method(n) for n in spec.split(",") if n.strip()]
    return list(dict.fromkeys(chosen)) or DEFAULT_METHODS


def fp32_model(data, args) -> tuple[nn.Module, str]:
    """The fp32 LeNet-5 both tools start from: loaded, or trained once (and maybe saved)."""
    if args.checkpoint is not None:
        model, _ = checkpoint.load(args.checkpoint)  # DataError when missing or unreadable
        return model, f"loaded from {args.checkpoint}"
    model = models.build("lenet5", data.input_shape, data.classes, args.seed)
    start = time.perf_counter()
    fit(model, data, TrainConfig(model="lenet5", epochs=args.fp32_epochs, seed=args.seed))
    how = f"trained {args.fp32_epochs} epochs in {time.perf_counter() - start:.0f} s"
    if args.save_checkpoint is not None:
        spec = {"name": "lenet5", "input_shape": list(data.input_shape),
                "classes": data.classes, "seed": args.seed, "hidden": [128]}
        checkpoint.save(args.save_checkpoint, model, spec)
        how += f", saved to {args.save_checkpoint}"
    return model, how


def finetune_epochs(method: str, override: int | None) -> int:
    """The method's recipe epochs, or ``--epochs`` for methods whose recipe fine-tunes
    (post-training methods stay post-training)."""
    recipe = get(method).finetune_epochs
    return recipe if override is None or recipe == 0 else override


def run_hwnn(model, method: str, data, fp32_acc: float, args, seed: int) -> dict:
    """hwnn's quantize + fine-tune (``measure``): accuracy and wall time."""
    epochs = finetune_epochs(method, args.epochs)
    r, _ = measure(model, method, data, fp32_acc, seed=seed, epochs=epochs)
    return {"accuracy": r.accuracy, "time_s": r.quantize_time_s}


def run_brevitas(model, method: str, data, args, seed: int) -> dict:
    """The Brevitas twin: build + calibrate + fine-tune with hwnn's schedule, then test."""
    start = time.perf_counter()
    twin = bt.build_twin(model, method, data, seed=seed)
    bt.finetune_twin(twin, method, data, finetune_epochs(method, args.epochs), seed=seed)
    elapsed = time.perf_counter() - start
    return {"accuracy": evaluate(twin, data.x_test, data.y_test), "time_s": elapsed}


def summarize(runs: list[dict], fp32_acc: float) -> dict:
    """Mean accuracy, loss in points against fp32 and time over the runs, with the spread."""
    accs = [r["accuracy"] for r in runs]
    mean = sum(accs) / len(accs)
    return {"accuracy": mean, "min": min(accs), "max": max(accs), "runs": accs,
            "loss_pts": 100.0 * (fp32_acc - mean),
            "time_s": sum(r["time_s"] for r in runs) / len(runs)}


def compare(model, method: str, data, fp32_acc: float, args) -> dict:
    """One row: both tools on one method (hwnn alone where Brevitas lacks it).

    Fine-tuned methods run ``--repeats`` times, fine-tuning seeds seed, seed+1, ... (the
    fp32 model and the data split stay fixed); post-training methods run once.
    """
    spec = bt.twin_spec(method)
    seeds = range(args.seed, args.seed + (args.repeats if get(method).finetune_epochs else 1))
    row = {"method": method, "seeds": list(seeds)}
    row["hwnn"] = summarize([run_hwnn(model, method, data, fp32_acc, args, s) for s in seeds],
                            fp32_acc)
    if spec is None:
        row["brevitas"] = None
        row["note"] = "not in Brevitas: " + bt.NOT_IN_BREVITAS.get(method, "not mapped here")
        row["brevitas_quantizers"] = ""
    else:
        row["brevitas"] = summarize([run_brevitas(model, method, data, args, s) for s in seeds],
                                    fp32_acc)
        row["note"] = spec.note
        row["brevitas_quantizers"] = f"{spec.weight_label} / {spec.act_label}"
    return row


def _acc(side: dict | None) -> str:
    if side is None:
        return "not in Brevitas"
    if len(side["runs"]) == 1:
        return f"{side['accuracy']:.2%}"
    return f"{side['accuracy']:.2%} ({100 * side['min']:.2f}-{100 * side['max']:.2f})"


def format_row(row: dict) -> str:
    """A Markdown row; with repeats, accuracy is the mean (min-max over the seeds)."""
    h, b = row["hwnn"], row["brevitas"]

    def cell(side, key, fmt):
        return "not in Brevitas" if side is None else format(side[key], fmt)

    return (f"| {row['method']} | {_acc(h)} | {_acc(b)} | "
            f"{h['loss_pts']:.2f} | {cell(b, 'loss_pts', '.2f')} | {h['time_s']:.0f} | "
            f"{cell(b, 'time_s', '.0f')} | {row['brevitas_quantizers']} | {row['note']} |")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(1)
    try:
        if args.repeats < 1:
            raise ConfigError(f"--repeats must be >= 1, got {args.repeats}")
        brevitas = bt.brevitas()
        methods = wanted_methods(args.methods)
        data = datasets.load("mnist", data_dir=args.data_dir, seed=args.seed)
        model, how = fp32_model(data, args)
        fp32_acc = evaluate(model, data.x_test, data.y_test)
        print(f"LeNet-5 fp32 on MNIST ({data.split}): {fp32_acc:.2%}, {how}; "
              f"brevitas {brevitas.__version__}, torch {torch.__version__}, 1 thread")
        print(HEADER)
        print("|" + "---|" * 9)
        rows = []
        for method in methods:
            rows.append(compare(model, method, data, fp32_acc, args))
            print(format_row(rows[-1]), flush=True)
    except HwnnError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json is not None:
        args.json.write_text(json.dumps(to_jsonable({
            "fp32_accuracy": fp32_acc, "split": data.split, "brevitas": brevitas.__version__,
            "torch": torch.__version__, "fine_tune_epochs_override": args.epochs,
            "repeats": args.repeats,
            "rows": rows}), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
