"""An ONNX model's convolutions and matrix products as a hwnn ``Workload``.

Accelerator researchers arrive with ONNX files (ZigZag and Timeloop front ends read them),
so the hardware models take them directly: ``read_onnx("resnet18.onnx")`` gives one
``Layer`` per Conv, Gemm or 2-D MatMul node, in graph order, with the operand formats asked
for. Only shapes are read: weights may sit in an external-data file that is not there
(ZigZag ships its ResNet-18 that way). Elementwise and pooling nodes (Relu, Add,
MaxPool, BatchNormalization, ...) carry no MACs and are skipped, as ZigZag skips them.
Asymmetric padding (TensorFlow's SAME at stride 2) becomes the symmetric padding with the
same output size: MACs and the im2col shape are exact, the padded input one row wider.

The `onnx` package parses the protobuf; hwnn only maps nodes to layers. Supported, with a
message naming the node otherwise: NCHW Conv without dilation, ``group`` 1 or depthwise
(``group`` = channels = filters), ``pads`` or ``auto_pad`` (SAME_UPPER, SAME_LOWER, VALID);
Gemm of a [M, K] input (``transA`` and ``transB`` as ONNX defines them); MatMul of two 2-D
operands.
"""

from __future__ import annotations

from pathlib import Path

from hwnn.errors import ConfigError, DataError
from hwnn.formats import FP32, Format
from hwnn.hw.workload import Layer, Workload

_INSTALL = "pip install onnx (or pip install 'hwnn[rivals]')"


def read_onnx(path: str | Path, weight: Format = FP32, act: Format = FP32,
              out: Format | None = None, batch: int = 1) -> Workload:
    """The MAC-carrying nodes of the ONNX model at ``path``; ``batch`` multiplies the
    model's own batch dimension (a model exported at batch 1, read with ``batch=8``, gives
    layers of batch 8), so one inference is one run of the graph as exported."""
    if batch < 1:
        raise ConfigError(f"batch must be at least 1, got {batch}")
    graph = _load(Path(path))
    shapes = _shapes(graph)
    fm = {"weight_format": weight, "act_format": act, "out_format": out or act}
    layers = []
    for i, node in enumerate(graph.node):
        name = node.name or f"{node.op_type}_{i}"
        attrs = _attrs(node)
        where = f"{path}: node {name!r}"
        if node.op_type == "Conv":
            layers.append(_conv(node, name, attrs, shapes, where, batch, fm))
        elif node.op_type in ("Gemm", "MatMul"):
            layers.append(_gemm(node, name, attrs, shapes, where, batch, fm))
    if not layers:
        raise DataError(f"{path}: no Conv, Gemm or MatMul node; nothing to map onto hardware")
    return Workload(Path(path).stem, tuple(layers))


def _load(path: Path):
    try:
        import onnx
    except ImportError:
        raise ConfigError(f"reading ONNX models needs the onnx package: {_INSTALL}") from None
    if not path.is_file():
        raise DataError(f"ONNX file {path} not found; give the path of an .onnx model")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as e:  # noqa: BLE001 - onnx raises several kinds on a corrupt file
        raise DataError(f"{path} is not a readable ONNX model ({type(e).__name__}: {e})") from None
    if not model.graph.node:
        raise DataError(f"{path}: the ONNX graph has no nodes")
    if not model.graph.value_info:
        try:
            model = onnx.shape_inference.infer_shapes(model)
        except Exception as e:  # noqa: BLE001 - inference errors come in several kinds
            raise DataError(f"{path}: ONNX shape inference failed ({e}); export the model "
                            "with static input shapes") from None
    return model.graph


def _shapes(graph) -> dict[str, list[int]]:
    infos = (*graph.value_info, *graph.input, *graph.output)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in infos}
    shapes.update({t.name: list(t.dims) for t in graph.initializer})
    return shapes


def _attrs(node) -> dict:
    out = {}
    for a in node.attribute:
        if a.ints:
            out[a.name] = list(a.ints)
        elif a.s:
            out[a.name] = a.s.decode()
        else:
            out[a.name] = a.i
    return out


def _shape(node, i: int, shapes: dict, where: str) -> list[int]:
    s = shapes.get(node.input[i]) if i < len(node.input) else None
    if not s or any(d <= 0 for d in s):
        raise DataError(f"{where}: input {i} has no static shape; export the model with fixed "
                        "input sizes (a named batch dimension counts as unknown)")
    return s


def _conv(node, name: str, attrs: dict, shapes: dict, where: str, batch: int, fm: dict) -> Layer:
    x, w = _shape(node, 0, shapes, where), _shape(node, 1, shapes, where)
    if len(x) != 4 or len(w) != 4:
        raise DataError(f"{where}: only 2-D convolutions (NCHW input, OIHW weights) are "
                        f"supported, got input {x} and weights {w}")
    b, c, h, wd = x
    o, _, kh, kw = w
    strides = attrs.get("strides", [1, 1])
    if any(d != 1 for d in attrs.get("dilations", [1, 1])):
        raise DataError(f"{where}: dilated convolutions are not supported")
    group = attrs.get("group", 1) or 1
    if group not in (1, c) or (group == c > 1 and o != c):
        raise DataError(f"{where}: grouped convolution (group {group} of {c} channels, {o} "
                        "filters) is not supported; only group 1 or depthwise")
    ph, pw = _pads(attrs, (h, wd), (kh, kw), strides, where)
    kind = "depthwise" if group == c > 1 else "conv2d"
    return Layer(name, kind, in_h=h, in_w=wd, in_c=c, out_c=o,
                 kernel_h=kh, kernel_w=kw, stride_h=strides[0], stride_w=strides[1],
                 pad_h=ph, pad_w=pw, batch=b * batch, **fm)


def _pads(attrs: dict, size: tuple, kernel: tuple, strides: list, where: str) -> tuple:
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", "VALID", ""):
        pads = [0, 0, 0, 0] if auto == "VALID" else attrs.get("pads", [0, 0, 0, 0])
    else:  # SAME_*: output = ceil(input / stride), the padding split as evenly as it goes
        spans = zip(size, kernel, strides, strict=True)
        total = [max(0, (-(-n // s) - 1) * s + k - n) for n, k, s in spans]
        pads = [total[0] // 2, total[1] // 2, total[0] - total[0] // 2, total[1] - total[1] // 2]
    return tuple(_symmetric(pads[d], pads[d + 2], size[d], kernel[d], strides[d], where)
                 for d in (0, 1))


def _symmetric(before: int, after: int, n: int, k: int, s: int, where: str) -> int:
    """One pad for both sides giving the same output size (so the same MACs and im2col
    shape; the extra zero row or column only widens the padded input), else an error."""
    out = (n + before + after - k) // s + 1
    for p in (max(before, after), min(before, after)):
        if (n + 2 * p - k) // s + 1 == out:
            return p
    raise DataError(f"{where}: padding {before} before and {after} after gives an output no "
                    "symmetric padding gives; hwnn's layers pad both sides alike")


def _gemm(node, name: str, attrs: dict, shapes: dict, where: str, batch: int, fm: dict) -> Layer:
    a, w = _shape(node, 0, shapes, where), _shape(node, 1, shapes, where)
    if len(a) != 2 or len(w) != 2:
        raise DataError(f"{where}: only 2-D matrix products are supported, got {a} x {w}")
    m, k = (a[1], a[0]) if attrs.get("transA", 0) else (a[0], a[1])
    kw, n = (w[1], w[0]) if attrs.get("transB", 0) else (w[0], w[1])
    if k != kw:
        raise DataError(f"{where}: inner sizes differ ({a} x {w})")
    return Layer(name, m=m * batch, k=k, n=n, **fm)
