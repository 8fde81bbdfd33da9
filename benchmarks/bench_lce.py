"""hwnn's BNN engine against Larq Compute Engine (LCE) on the same binarized network.

    .venv/bin/python benchmarks/bench_lce.py                  # MNIST MLP 784-256-256-10
    .venv/bin/python benchmarks/bench_lce.py --model lenet5   # LeNet-5
    .venv/bin/python benchmarks/bench_lce.py --batches 1,256 --json lce.json

Needs the Larq venv beside hwnn's (``INSTALL`` below). Trains the fp32 network and
quantizes it to BNN exactly as ``bench_deploy.py`` does (3 fp32 epochs, ``hwnn.quantize``
with 1 fine-tuning epoch), deploys it with ``hwnn.deploy``, and writes the BNN's weights and
the test images to an exchange ``.npz`` (``export_model``). ``lce_runner.py``, run in the
Larq venv, builds the same network in Larq from it (the layer mapping is in its docstring),
converts it with LCE's converter once per batch size and times LCE's interpreter. Timing
order: torch fp32 and the hwnn plan, then LCE, then torch and hwnn again; both hwnn runs are
printed and the ratio uses their mean. Every engine runs on ``--threads`` threads (1 by
default); each point is the median call time after a warm-up call (``time_call``).

LCE is timed in two forms and three interpreter settings (``--variants``, ``--configs``):

- ``dense``: the network as written, ``QuantDense`` layers. LCE 0.16 converts binary
  ``QuantDense`` to float ``FULLY_CONNECTED`` ops with +-1 float weights (its binary kernel,
  ``LceBconv2d``, serves convolutions only), so these layers do float arithmetic.
- ``conv1x1``: every dense layer as a 1x1 ``QuantConv2D`` on a 1x1 image, the same
  function, which LCE runs on ``LceBconv2d`` with bit-packed activations between layers.
- ``default`` / ``xnnpack`` / ``xnnpack+indirect``: LCE's interpreter as it comes, with
  TFLite's XNNPACK delegate for the float ops (the first layer), and with LCE's indirect
  BGEMM for binary convolutions too (``reference``, its reference bconv, on request). On
  x86 LCE has no optimized binary kernels (its interpreter's docstring: they target ARM v8;
  elsewhere it "will fall back on the reference kernels"): its BGEMM runs ruy's portable
  C++ path (the ``kStandardCpp`` kernel of LCE's ``core/bgemm/kernels.h``; the NEON kernels
  are built for ARM only). The ops printed are the converted model's; the interpreter does
  not say which kernel ran.
- "best LCE" (the ratio's denominator) is the fastest form and setting at each batch size
  among those whose test-set argmax agrees with hwnn's engine on >= 99% (``AGREE``).

Where the two engines differ (reported, not hidden; agreement is printed per form):

- sign(0) = +1 in both hwnn and Larq (``larq.math.sign``); LCE's converter folds batch
  norm into per-channel thresholds (binary outputs) or a float multiplier and bias (the
  last layer), as hwnn's compiler folds it into integer thresholds; float rounding at a
  threshold can flip a sign, so agreement can fall just short of 100%.
- The first layer reads 8-bit fixed-point input in hwnn (integer GEMM of pixel codes and
  weight signs); in LCE it is a float layer with +-1 weights after the same rounding (a
  ``Lambda`` in the Keras model: MUL, ROUND, MINIMUM, MAXIMUM, MUL ops).
- Binary convolutions are zero-padded in both (Larq ``pad_values=0``); MNIST LeNet-5's
  binary convolution has no padding at all. Where one is padded (LeNet-5 on the 8x8
  digits), LCE 0.16's optimized kernels on x86 give other argmaxes than hwnn and Larq on
  about half the images, and only its reference kernel (``lce_runner.py --configs
  reference``) agrees: the per-setting agreement below would show it.
- hwnn's Hardtanh before a binary layer is left out of the Larq model: sign(hardtanh(x)) =
  sign(x), and max pooling commutes with both.
- Timings include each engine's Python call: ``Plan.run`` and LCE's
  ``Interpreter.interpreter.predict`` (its low-level call on a whole batch; the public
  ``Interpreter.predict`` feeds one sample at a time).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MNIST = ROOT.parent / "shared" / "data" / "mnist-t10k"
LARQ_VENV = ROOT / ".venv-larq"
LARQ_PYTHON = LARQ_VENV / "bin" / "python"
LARQ_PACKAGES = (
    "tensorflow-cpu==2.16.2", "tf-keras==2.16.0", "larq==0.14.0", "larq-compute-engine==0.16.0"
)  # fmt: skip
INSTALL = f"python3.11 -m venv .venv-larq && .venv-larq/bin/pip install {' '.join(LARQ_PACKAGES)}"
RUNNER = Path(__file__).resolve().parent / "lce_runner.py"
AGREE = 0.99  # argmax agreement with hwnn's engine for an LCE setting to count as "best"


class LarqMissing(RuntimeError):
    pass


def larq_missing() -> str | None:
    """Why the Larq venv cannot run the comparison, or None when it can."""
    if not LARQ_PYTHON.is_file():
        return f"{LARQ_VENV} missing: run `{INSTALL}` in {ROOT}"
    probe = (
        "import importlib.util as u, sys; "
        "sys.exit(0 if all(u.find_spec(m) for m in ('larq', 'larq_compute_engine', "
        "'tensorflow', 'tf_keras')) else 1)"
    )
    if subprocess.run([str(LARQ_PYTHON), "-c", probe], check=False).returncode != 0:
        return (
            f"{LARQ_VENV} lacks larq, larq_compute_engine, tensorflow or tf_keras: run "
            f"`{LARQ_PYTHON.relative_to(ROOT)} -m pip install {' '.join(LARQ_PACKAGES)}`"
        )
    return None


def run_larq(script: Path, *args: str, timeout: float | None = None) -> None:
    """Runs ``script`` in the Larq venv; a failure exits with its last lines."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [str(LARQ_PYTHON), str(script), *args], env=env, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"{script.name} failed (exit {proc.returncode}):\n{tail}")


# ---------------------------------------------------------------- export to the Larq side


class NotInLarq(ValueError):
    """A quantizer with no Larq equivalent (the message names it)."""


def larq_quantizers(layer) -> tuple[str | None, str | None, list | None, list[str]]:
    """(input quantizer, kernel quantizer, fixed-point input [bits, frac], notes) of a layer.

    The names are the ones ``lce_runner._quantizer`` knows; see the table there."""
    from hwnn.quant import base, binary, fixed_point, ternary
    from hwnn.quant.layers import QuantConv2d, QuantLinear

    if not isinstance(layer, (QuantLinear, QuantConv2d)):
        return None, None, None, []
    wq, aq = layer.weight_quantizer, layer.act_quantizer
    notes: list[str] = []
    kernel = {
        base.FloatWeight: None, binary.BNNWeight: "ste_sign",
        binary.BinaryConnectWeight: "ste_sign_noclip", binary.BWNWeight: "magnitude_aware_sign",
        ternary.TWNWeight: "ste_tern_twn",
    }  # fmt: skip
    if type(wq) not in kernel or getattr(wq, "stochastic", False):
        what = "stochastic BinaryConnect" if getattr(wq, "stochastic", False) else type(wq).__name__
        raise NotInLarq(f"{what} weights have no Larq quantizer")
    if type(wq) is ternary.TWNWeight:
        notes.append("Larq's SteTern keeps no alpha: weights are -1, 0, +1")
    fixed = None
    if isinstance(aq, binary.XNORAct):
        act = "ste_sign"
        notes.append("Larq has no XNOR-Net input scale K: binary inputs unscaled")
    elif isinstance(aq, binary.SignAct):
        act = "ste_sign"
    elif isinstance(aq, base.FloatAct):
        act = None
    elif isinstance(aq, fixed_point.FixedPointAct):
        act, fixed = None, [int(aq.bits), int(aq.frac)]
    else:
        raise NotInLarq(f"{type(aq).__name__} activations have no Larq quantizer")
    return act, kernel[type(wq)], fixed, notes


def _atoms(module):
    from torch import nn

    leaf = (nn.Linear, nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d, nn.ReLU, nn.Hardtanh,
            nn.MaxPool2d, nn.Flatten, nn.Dropout, nn.Identity)  # fmt: skip
    if isinstance(module, leaf):
        if not isinstance(module, (nn.Dropout, nn.Identity)):
            yield module
        return
    children = list(module.children())
    if not children:
        raise NotInLarq(f"cannot export a {type(module).__name__} layer")
    for child in children:
        yield from _atoms(child)


def _input_shapes(model, atoms, x) -> dict[int, tuple]:
    import torch

    shapes: dict[int, tuple] = {}
    hooks = [a.register_forward_hook(lambda m, i, o: shapes.__setitem__(id(m), tuple(i[0].shape)))
             for a in atoms]  # fmt: skip
    with torch.no_grad():
        model.eval()(torch.from_numpy(np.ascontiguousarray(x[:1])))
    for h in hooks:
        h.remove()
    return shapes


def export_model(model, x_sample: np.ndarray) -> tuple[dict, dict]:
    """(spec, arrays): a sequential (quantized) torch model as the Larq side rebuilds it.

    Weights are the float shadow weights (Larq's quantizers binarize them as hwnn's do);
    a compute layer's bias is folded into a batch norm that follows it."""
    from torch import nn

    from hwnn.quant import get

    method = getattr(model, "quant_method", "fp32")
    clip = get(method).clip if method != "fp32" else None
    atoms = list(_atoms(model))
    shapes = _input_shapes(model, atoms, x_sample)
    ops: list[dict] = []
    arrays: dict[str, np.ndarray] = {}
    notes: set[str] = set()
    chw = None  # (C, H, W) of the last flattened image: the next dense kernel is permuted
    i = 0
    while i < len(atoms):
        m = atoms[i]
        nxt = atoms[i + 1] if i + 1 < len(atoms) else None
        k = f"a{i}_"
        if isinstance(m, nn.Flatten):
            s = shapes[id(m)]
            chw = s[1:] if len(s) == 4 else None
            ops.append({"op": "flatten"})
        elif isinstance(m, (nn.Linear, nn.Conv2d)):
            act, kern, fixed, why = larq_quantizers(m)
            notes.update(why)
            w = m.weight.detach().numpy().astype(np.float32)
            bias = None if m.bias is None else m.bias.detach().numpy().astype(np.float64)
            op = {"input_q": act, "kernel_q": kern, "input_fixed": fixed,
                  "clip": clip if kern is not None else None}  # fmt: skip
            if isinstance(m, nn.Linear):
                if chw is not None and int(np.prod(chw)) == w.shape[1]:
                    n = w.shape[0]  # torch flattens C,H,W; Keras flattens H,W,C
                    w = w.reshape(n, *chw).transpose(0, 2, 3, 1).reshape(n, -1)
                chw = None
                op.update(op="dense", units=w.shape[0])
                arrays[k + "kernel"] = np.ascontiguousarray(w.T)
            else:
                kh, kw = m.kernel_size
                pad, stride = m.padding, m.stride
                if kh != kw or pad[0] != pad[1] or stride[0] != stride[1] or m.groups != 1:
                    raise NotInLarq("only square, ungrouped convolutions are exported")
                if pad[0] == 0:
                    padding = "valid"
                elif stride[0] == 1 and kh % 2 == 1 and pad[0] == (kh - 1) // 2:
                    padding = "same"
                else:
                    raise NotInLarq(f"padding {pad[0]} of a {kh}x{kh} conv: not valid or same")
                op.update(op="conv", filters=w.shape[0], kernel_size=kh, stride=stride[0],
                          padding=padding)  # fmt: skip
                arrays[k + "kernel"] = np.ascontiguousarray(w.transpose(2, 3, 1, 0))
            op["kernel"] = k + "kernel"
            op["bias"] = None
            if bias is not None and isinstance(nxt, (nn.BatchNorm1d, nn.BatchNorm2d)):
                arrays[k + "fold"] = bias  # BN(z + b) = BN with moving mean - b, on z
            elif bias is not None:
                op["bias"] = k + "bias"
                arrays[k + "bias"] = bias.astype(np.float32)
            ops.append(op)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            mean = m.running_mean.detach().numpy().astype(np.float64)
            prev_fold = f"a{i - 1}_fold"
            if prev_fold in arrays:
                mean = mean - arrays.pop(prev_fold)
            arrays[k + "gamma"] = m.weight.detach().numpy().astype(np.float32)
            arrays[k + "beta"] = m.bias.detach().numpy().astype(np.float32)
            arrays[k + "mean"] = mean.astype(np.float32)
            arrays[k + "var"] = m.running_var.detach().numpy().astype(np.float32)
            ops.append({"op": "bn", "eps": float(m.eps), "gamma": k + "gamma", "beta": k + "beta",
                        "mean": k + "mean", "var": k + "var"})  # fmt: skip
        elif isinstance(m, nn.ReLU):
            ops.append({"op": "relu"})
        elif isinstance(m, nn.Hardtanh):
            j = i + 1
            while j < len(atoms) and isinstance(atoms[j], (nn.MaxPool2d, nn.Flatten)):
                j += 1
            feeds_sign = j < len(atoms) and larq_quantizers(atoms[j])[0] == "ste_sign"
            if not feeds_sign:
                ops.append({"op": "hardtanh", "range": [float(m.min_val), float(m.max_val)]})
        elif isinstance(m, nn.MaxPool2d):
            kk = m.kernel_size if isinstance(m.kernel_size, int) else m.kernel_size[0]
            ss = m.stride if isinstance(m.stride, int) else m.stride[0]
            if kk != ss or m.padding not in (0, (0, 0)):
                raise NotInLarq("only k x k max pooling with stride k is exported")
            ops.append({"op": "maxpool", "k": int(kk)})
        i += 1
    spec = {"method": method, "input_shape": list(x_sample.shape[1:]), "ops": ops,
            "notes": sorted(notes)}  # fmt: skip
    return spec, arrays


def write_exchange(path: Path, spec: dict, arrays: dict, **data: np.ndarray) -> None:
    np.savez(path, spec=np.array(json.dumps(spec)), **arrays, **data)


# ---------------------------------------------------------------- the benchmark


def _time_hwnn(net, plan, x, batches, threads, min_time_s) -> tuple[dict, dict]:
    from hwnn.deploy.bench import measure_plan
    from hwnn.throughput import measure_torch

    torch_pts = measure_torch(net, x, tuple(batches), threads, min_time_s)
    plan_pts = measure_plan(plan, x, batches, threads, min_time_s)
    return ({p.batch: p.latency_per_batch_s for p in torch_pts},
            {p.batch: p.latency_per_batch_s for p in plan_pts})  # fmt: skip


def _us(seconds: float, batch: int) -> str:
    return f"{seconds / batch * 1e6:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="mnist" if MNIST.exists() else "digits")
    ap.add_argument("--model", default="mlp", choices=("mlp", "lenet5"))
    ap.add_argument("--hidden", default="256,256")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,2,4,8,16,32,64,128,256")
    ap.add_argument("--min-time", type=float, default=0.2, help="seconds per timed point")
    ap.add_argument("--variants", default="dense,conv1x1", help="LCE forms: dense, conv1x1")
    ap.add_argument("--configs", default="default,xnnpack,xnnpack+indirect",
                    help="LCE interpreter settings: default, xnnpack, xnnpack+indirect, "
                    "reference (lce_runner.CONFIGS)")  # fmt: skip
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    try:
        batches = [int(b) for b in args.batches.split(",")]
        hidden = tuple(int(h) for h in args.hidden.split(","))
    except ValueError:
        sys.exit(f"--batches and --hidden take comma-separated integers, got "
                 f"{args.batches!r} and {args.hidden!r}")  # fmt: skip
    if not batches or min(batches) < 1 or args.threads < 1:
        sys.exit("batch sizes and --threads must be positive integers")
    unknown = set(args.variants.split(",")) - {"dense", "conv1x1"}
    if unknown:
        sys.exit(f"--variants: unknown {', '.join(sorted(unknown))}; choose dense, conv1x1")
    configs = {"default", "xnnpack", "xnnpack+indirect", "reference"}
    unknown = set(args.configs.split(",")) - configs
    if unknown:
        sys.exit(f"--configs: unknown {', '.join(sorted(unknown))}; choose of "
                 f"{', '.join(sorted(configs))}")  # fmt: skip
    why = larq_missing()
    if why:
        sys.exit(why)

    import torch

    import hwnn.deploy
    from hwnn import models, quant
    from hwnn.config import DataConfig, TrainConfig
    from hwnn.data import load
    from hwnn.errors import HwnnError
    from hwnn.train import fit

    try:
        ds = load(DataConfig(name=args.data, data_dir=MNIST if args.data == "mnist" else None))
    except HwnnError as err:
        sys.exit(f"cannot load {args.data}: {err}")
    torch.set_num_threads(args.threads)
    net = models.build(args.model, ds.input_shape, ds.classes, 0, hidden)
    fit(net, ds, TrainConfig(model=args.model, epochs=3, hidden=hidden, seed=0))
    net.eval()
    bnn = quant.quantize(net, "bnn", ds, epochs=1)
    plan = hwnn.deploy(bnn)
    spec, arrays = export_model(bnn, ds.x_test)

    with tempfile.TemporaryDirectory() as tmp:
        npz, out = Path(tmp) / "bnn.npz", Path(tmp) / "lce.json"
        write_exchange(npz, spec, arrays, x_test=ds.x_test)
        t_torch_a, t_hwnn_a = _time_hwnn(net, plan, ds.x_test, batches, args.threads,
                                         args.min_time)  # fmt: skip
        try:
            run_larq(RUNNER, "lce", "--npz", str(npz), "--out", str(out), "--batches",
                     ",".join(map(str, batches)), "--threads", str(args.threads),
                     "--min-time", str(args.min_time), "--variants", args.variants,
                     "--configs", args.configs)  # fmt: skip
        except RuntimeError as err:
            sys.exit(str(err))
        lce = json.loads(out.read_text())
        t_torch_b, t_hwnn_b = _time_hwnn(net, plan, ds.x_test, batches, args.threads,
                                         args.min_time)  # fmt: skip

    ours = plan.predict(ds.x_test)
    with torch.no_grad():
        fake = bnn(torch.from_numpy(ds.x_test)).argmax(1).numpy()
        fp32 = net(torch.from_numpy(ds.x_test)).argmax(1).numpy()
    shape = "LeNet-5" if args.model == "lenet5" else f"MLP {ds.input_shape} -> {hidden}"
    print(f"BNN {shape} on {args.data} ({ds.split}), {args.threads} thread(s); "
          f"LCE {lce['lce_version']}, TF {lce['tf_version']}")  # fmt: skip
    print(f"  torch fp32        accuracy {(fp32 == ds.y_test).mean():.4f}")
    print(f"  hwnn BNN engine   accuracy {(ours == ds.y_test).mean():.4f}  "
          f"same argmax as hwnn's torch BNN {(ours == fake).mean():.2%}; "
          f"plan weights {plan.weight_bytes} B")  # fmt: skip
    results = {"model": args.model, "data": args.data, "threads": args.threads,
               "hwnn_accuracy": float((ours == ds.y_test).mean()),
               "hwnn_weight_bytes": plan.weight_bytes,
               "lce_version": lce["lce_version"], "tf_version": lce["tf_version"],
               "notes": spec["notes"], "batches": batches, "variants": {}}  # fmt: skip
    for name, v in lce["variants"].items():
        keras = np.asarray(v["keras_logits"]).argmax(1)
        ops = ", ".join(f"{o} x{v['ops'].count(o)}" for o in dict.fromkeys(v["ops"]))
        print(f"  LCE {name}: {v['flatbuffer_bytes']} B flatbuffer; the Larq/Keras model "
              f"(TF, float) has hwnn's argmax on {(keras == ours).mean():.2%}; ops: {ops}")
        results["variants"][name] = {"ops": v["ops"], "points": v["points"], "configs": {},
                                     "flatbuffer_bytes": v["flatbuffer_bytes"]}
        for config, logits in v["logits"].items():
            pred = np.asarray(logits).argmax(1)
            acc, agree = float((pred == ds.y_test).mean()), float((pred == ours).mean())
            print(f"    {config:<17} accuracy {acc:.4f}  same argmax as hwnn's engine {agree:.2%}")
            results["variants"][name]["configs"][config] = {
                "accuracy": acc, "agrees_with_hwnn": agree}  # fmt: skip
    for n in spec["notes"]:
        print(f"  note: {n}")
    cols = [(v, c) for v in lce["variants"] for c in lce["variants"][v]["points"]]
    # "best LCE" only among settings that predict as hwnn does (a wrong kernel is not fast)
    trusted = [f"{v} {c}" for v, c in cols
               if results["variants"][v]["configs"][c]["agrees_with_hwnn"] >= AGREE]  # fmt: skip
    if len(trusted) < len(cols):
        print(f"  'best LCE' leaves out settings below {AGREE:.0%} agreement with hwnn"
              + ("" if trusted else " (none reach it: all settings compared)"))  # fmt: skip
    print("\nus per sample (median call / batch); hwnn A and B: before and after LCE")
    head = ["batch", "torch A", "torch B", "hwnn A", "hwnn B"] + [f"LCE {v} {c}" for v, c in cols]
    head += ["best LCE", "hwnn pred/s", "LCE pred/s", "hwnn/LCE"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    rows = []
    for b in batches:
        lce_t = {f"{v} {c}": lce["variants"][v]["points"][c][str(b)] for v, c in cols}
        best = min(trusted or lce_t, key=lce_t.get)
        ours_t = (t_hwnn_a[b] + t_hwnn_b[b]) / 2
        ratio = lce_t[best] / ours_t  # hwnn's predictions/s over LCE's
        cells = [str(b), _us(t_torch_a[b], b), _us(t_torch_b[b], b), _us(t_hwnn_a[b], b),
                 _us(t_hwnn_b[b], b)] + [_us(lce_t[f"{v} {c}"], b) for v, c in cols]  # fmt: skip
        cells += [best, f"{b / ours_t:.4g}", f"{b / lce_t[best]:.4g}", f"{ratio:.2f}x"]
        print("| " + " | ".join(cells) + " |")
        rows.append({"batch": b, "torch_s": [t_torch_a[b], t_torch_b[b]],
                     "hwnn_s": [t_hwnn_a[b], t_hwnn_b[b]], "lce_s": lce_t, "best_lce": best,
                     "hwnn_over_lce": ratio})  # fmt: skip
    results["rows"] = rows
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
