"""The Larq side of the Larq / LCE comparison: runs in the Larq venv, never in hwnn's.

    .venv-larq/bin/python benchmarks/lce_runner.py lce --npz net.npz --out lce.json

``bench_lce.py`` (hwnn's venv) writes the exchange file ``net.npz``: a JSON ``spec`` of the
network (layer order, shapes, Larq quantizer names) and its arrays (hwnn's trained shadow
weights, batch-norm statistics, test images NCHW). This module rebuilds the same network
in Larq (``build_model``), converts it with LCE's converter and times LCE's interpreter.
``larq_runner.py`` reuses ``build_model`` to fine-tune with Larq.

How hwnn's layers map to Larq's (the exporter in ``bench_lce.py`` decides; this side obeys):

| hwnn (torch) | Larq / Keras |
|---|---|
| ``Linear`` (weight ``[out, in]``) | ``QuantDense`` (kernel ``[in, out]`` = W.T) |
| ``Conv2d`` (``[out, in, kh, kw]``, pad p) | ``QuantConv2D`` (``[kh, kw, in, out]``) |
| padding (k-1)/2 / 0 | ``"same"`` with ``pad_values=0`` / ``"valid"`` |
| ``SignAct`` / ``BNNWeight`` | ``ste_sign`` (sign(0) = +1 in both) |
| ``BinaryConnectWeight`` | ``SteSign(clip_value=None)`` (straight-through without cancellation) |
| ``BWNWeight`` | ``magnitude_aware_sign`` (mean abs W per output channel, as BWN's alpha) |
| ``TWNWeight`` | ``SteTern(ternary_weight_networks=True)`` (Larq keeps no alpha: +-1, 0) |
| ``XNORAct`` | ``ste_sign`` (Larq has no input scale K) |
| ``FixedPointAct(b)``, first layer | ``Lambda``: clip(round(x 2^f), -2^(b-1), 2^(b-1)-1) 2^-f |
| clip to [-1, 1] after each step | ``kernel_constraint=weight_clip(1)`` |
| ``BatchNorm`` (eps 1e-5, momentum 0.1) | ``BatchNormalization(epsilon=eps, momentum=0.9)`` |
| bias, then batch norm | no bias; the bias is folded into the moving mean |
| ``Flatten`` of NCHW | ``Flatten`` of NHWC; the next kernel's rows are permuted to match |

``dense_as_conv=True`` writes every dense layer as a 1x1 ``QuantConv2D`` on a 1x1 image:
the same function, but LCE 0.16 converts binary ``QuantDense`` layers to float
``FULLY_CONNECTED`` ops (+-1 float weights) and only binary convolutions to its
``LceBconv2d`` kernel, so the 1x1 form is the one that runs on LCE's binary kernels.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # Larq 0.14 needs Keras 2 (tf_keras)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402


def _imports():
    try:
        import larq as lq
        import tensorflow as tf
    except ImportError as err:  # pragma: no cover - only outside the Larq venv
        sys.exit(f"lce_runner.py needs the Larq venv ({err}): run it with .venv-larq/bin/python")
    tf.get_logger().setLevel("ERROR")
    return tf, lq


def load(npz: Path) -> tuple[dict, dict]:
    """(spec, arrays) from the exchange file written by ``bench_lce.export_model``."""
    if not npz.is_file():
        sys.exit(f"{npz}: no such exchange file (bench_lce.py / bench_larq.py write it)")
    with np.load(npz, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    spec = json.loads(str(arrays.pop("spec")))
    return spec, arrays


def to_nhwc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if x.ndim == 4 else x


def _quantizer(lq, name):
    if name is None:
        return None
    if name == "ste_sign":
        return lq.quantizers.SteSign()
    if name == "ste_sign_noclip":
        return lq.quantizers.SteSign(clip_value=None)
    if name == "magnitude_aware_sign":
        return lq.quantizers.MagnitudeAwareSign()
    if name == "ste_tern_twn":
        return lq.quantizers.SteTern(ternary_weight_networks=True)
    raise ValueError(f"unknown quantizer {name!r} in the exchange file")


def _fixed_point(bits: int, frac: int):
    lo, hi, scale = float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1), float(2.0**frac)

    def q(t):
        import tensorflow as tf

        return tf.clip_by_value(tf.round(t * scale), lo, hi) / scale  # half to even, as torch

    return q


def build_model(spec: dict, arrays: dict, batch_size: int | None = None,
                dense_as_conv: bool = False):
    """The Keras (Larq) model of ``spec`` with hwnn's weights loaded; NHWC input."""
    tf, lq = _imports()
    layers = tf.keras.layers
    c, h, w = spec["input_shape"]
    inp = tf.keras.Input((h, w, c), batch_size=batch_size)
    x = inp
    for i, op in enumerate(spec["ops"]):
        kind = op["op"]
        if kind == "flatten":
            x = layers.Flatten()(x)
        elif kind in ("dense", "conv"):
            if op.get("input_fixed"):
                x = layers.Lambda(_fixed_point(*op["input_fixed"]))(x)
            kw = {
                "input_quantizer": _quantizer(lq, op["input_q"]),
                "kernel_quantizer": _quantizer(lq, op["kernel_q"]),
                "kernel_constraint": (
                    lq.constraints.WeightClip(op["clip"]) if op.get("clip") else None
                ),
                "use_bias": op["bias"] is not None,
                "name": f"{kind}{i}",
            }
            kernel = arrays[op["kernel"]]
            if kind == "dense" and dense_as_conv:
                if len(x.shape) == 2:
                    x = layers.Reshape((1, 1, x.shape[-1]))(x)
                layer = lq.layers.QuantConv2D(op["units"], 1, pad_values=0.0, **kw)
                kernel = kernel.reshape(1, 1, *kernel.shape)
            elif kind == "dense":
                layer = lq.layers.QuantDense(op["units"], **kw)
            else:
                layer = lq.layers.QuantConv2D(
                    op["filters"], op["kernel_size"], strides=op["stride"],
                    padding=op["padding"], pad_values=0.0, **kw,
                )  # fmt: skip
            x = layer(x)
            layer.set_weights([kernel] + ([arrays[op["bias"]]] if op["bias"] else []))
        elif kind == "bn":
            bn = layers.BatchNormalization(epsilon=op["eps"], momentum=0.9, name=f"bn{i}")
            x = bn(x)
            bn.set_weights([arrays[op[k]] for k in ("gamma", "beta", "mean", "var")])
        elif kind == "relu":
            x = layers.ReLU()(x)
        elif kind == "hardtanh":
            lo, hi = op["range"]
            x = layers.Lambda(lambda t, lo=lo, hi=hi: tf.clip_by_value(t, lo, hi))(x)
        elif kind == "maxpool":
            x = layers.MaxPool2D(op["k"])(x)
        else:
            raise ValueError(f"unknown op {kind!r} in the exchange file")
    if len(x.shape) == 4:  # dense layers written as 1x1 convolutions
        x = layers.Flatten()(x)
    return tf.keras.Model(inp, x)


def lce_ops(flatbuffer: bytes) -> list[str]:
    """The operator of every node in the converted model, in order (TFLite's analyzer)."""
    tf, _ = _imports()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        tf.lite.experimental.Analyzer.analyze(model_content=flatbuffer)
    ops = []
    for line in buf.getvalue().splitlines():
        line = line.strip()
        if line.startswith("Op#"):
            ops.append(line.split(" ", 1)[1].split("(", 1)[0])
    return ops


def time_call(fn, min_time_s: float = 0.2, min_repeats: int = 5) -> float:
    """Median seconds per call after one warm-up call: hwnn.throughput.time_call's rule,
    copied because this file runs in the Larq venv, which has neither hwnn nor torch."""
    fn()
    times: list[float] = []
    spent = 0.0
    while len(times) < min_repeats or spent < min_time_s:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        times.append(dt)
        spent += dt
        if len(times) >= 10_000:
            break
    return statistics.median(times)


def batch_of(x: np.ndarray, batch: int) -> np.ndarray:
    reps = -(-batch // len(x))
    return np.ascontiguousarray(np.concatenate([x] * reps)[:batch] if reps > 1 else x[:batch])


# LCE interpreter settings timed: (label, Interpreter keyword arguments)
CONFIGS = {
    "default": {},  # LCE's own bconv kernel choice (optimized BGEMM through ruy)
    "xnnpack": {"use_xnnpack": True},  # plus TFLite's XNNPACK delegate for the float ops
    "xnnpack+indirect": {"use_xnnpack": True, "use_indirect_bgemm": True},  # + indirect BGEMM
    "reference": {"use_reference_bconv": True},  # LCE's reference bconv (not timed by default)
}
TIMED = ("default", "xnnpack", "xnnpack+indirect")
VARIANTS = {"dense": False, "conv1x1": True}  # dense layers as written / as 1x1 convolutions


def run_lce(spec, arrays, batches, threads, min_time_s, variants, configs,
            keras_logits: bool = True) -> dict:
    """Converts per variant and batch size, times each interpreter config and predicts the
    test set with it (one sample per call); returns a JSON-ready dict."""
    import larq_compute_engine as lce

    x = to_nhwc(arrays["x_test"])
    out = {"lce_version": lce.__version__, "variants": {}}
    import tensorflow as tf

    out["tf_version"] = tf.__version__
    for variant in variants:
        conv = VARIANTS[variant]
        v = {"points": {c: {} for c in configs}}
        fb1 = None
        for b in batches:
            fb = lce.convert_keras_model(build_model(spec, arrays, b, dense_as_conv=conv))
            fb1 = fb if b == 1 else fb1
            if b == batches[0]:
                v["ops"] = lce_ops(fb)
                v["flatbuffer_bytes"] = len(fb)
            xb = batch_of(x, b)
            for c in configs:
                it = lce.testing.Interpreter(fb, num_threads=threads, **CONFIGS[c])
                v["points"][c][b] = time_call(
                    lambda it=it, xb=xb: it.interpreter.predict([xb]), min_time_s
                )
            tf.keras.backend.clear_session()
        if fb1 is None:
            fb1 = lce.convert_keras_model(build_model(spec, arrays, 1, dense_as_conv=conv))
        v["logits"] = {}
        for c in configs:
            logits = lce.testing.Interpreter(fb1, num_threads=threads, **CONFIGS[c]).predict(x)
            v["logits"][c] = logits.astype(np.float32).tolist()
        if keras_logits:
            keras = build_model(spec, arrays, None, dense_as_conv=conv)
            v["keras_logits"] = keras.predict(x, batch_size=256, verbose=0).tolist()
        out["variants"][variant] = v
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("lce", help="convert with LCE and time its interpreter")
    p.add_argument("--npz", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--batches", default="1,2,4,8,16,32,64,128,256")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--min-time", type=float, default=0.2)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--no-keras", action="store_true", help="skip the Larq/Keras float logits")
    p.add_argument("--configs", default=",".join(TIMED), help=f"of {', '.join(CONFIGS)}")
    args = ap.parse_args()
    spec, arrays = load(args.npz)
    batches = [int(b) for b in args.batches.split(",")]
    variants = [v for v in args.variants.split(",") if v]
    configs = [c for c in args.configs.split(",") if c]
    bad = [v for v in variants if v not in VARIANTS] + [c for c in configs if c not in CONFIGS]
    if bad:
        sys.exit(f"unknown {bad}: variants are {list(VARIANTS)}, configs {list(CONFIGS)}")
    result = run_lce(spec, arrays, batches, args.threads, args.min_time, variants, configs,
                     not args.no_keras)
    args.out.write_text(json.dumps(result))


if __name__ == "__main__":
    main()
