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


# ops with MACs that hwnn does not lower yet: refused by name, never silently dropped
_UNMAPPED = ("ConvTranspose", "QLinearConv", "ConvInteger", "MatMulInteger", "QLinearMatMul",
             "Einsum", "DeformConv")


def is_onnx(path) -> bool:
    """Whether a model or topology argument names an ONNX file (by its suffix)."""
    return str(path).lower().endswith(".onnx")


def read_onnx(path: str | Path, weight: Format = FP32, act: Format = FP32,
              out: Format | None = None, batch: int = 1) -> Workload:
    """The MAC-carrying nodes of the ONNX model at ``path``; ``batch`` multiplies the
    model's own batch dimension (a model exported at batch 1, read with ``batch=8``, gives
    layers of batch 8), so one inference is one run of the graph as exported. A symbolic
    batch dimension (``dynamic_axes``) is read as 1."""
    if batch < 1:
        raise ConfigError(f"batch must be at least 1, got {batch}")
    graph = _load(Path(path))
    shapes = _shapes(graph)
    weights = {t.name for t in graph.initializer}
    fm = {"weight_format": weight, "act_format": act, "out_format": out or act}
    layers: list[Layer] = []
    for i, node in enumerate(graph.node):
        name = node.name or f"{node.op_type}_{i}"
        where = f"{path}: node {name!r}"
        if node.op_type in _UNMAPPED:
            raise DataError(f"{where}: {node.op_type} carries MACs that hwnn does not map yet "
                            "(Conv, Gemm and MatMul only); export the model in float with "
                            "plain Conv/Gemm/MatMul nodes")
        if node.op_type == "Conv":
            layers += _conv(node, name, _attrs(node), shapes, where, batch, fm)
        elif node.op_type in ("Gemm", "MatMul"):
            layers.append(_gemm(node, name, _attrs(node), shapes, weights, where, batch, fm))
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
    _pin_batch(model.graph)
    try:  # keeps the shapes the file states and fills in the rest
        model = onnx.shape_inference.infer_shapes(model)
    except Exception as e:  # noqa: BLE001 - inference errors come in several kinds
        raise DataError(f"{path}: ONNX shape inference failed ({e}); export the model "
                        "with static input shapes") from None
    return model.graph


def _pin_batch(graph) -> None:
    """A symbolic or unknown leading dimension of a graph input becomes 1 (one run)."""
    weights = {t.name for t in graph.initializer}
    for v in graph.input:
        dims = v.type.tensor_type.shape.dim
        if v.name not in weights and len(dims) > 1 and dims[0].dim_value <= 0:
            dims[0].dim_value = 1


def _shapes(graph) -> dict[str, list[int]]:
    infos = (*graph.value_info, *graph.input, *graph.output)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in infos}
    shapes.update({t.name: list(t.dims) for t in graph.initializer})
    return shapes


def _attrs(node) -> dict:
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _shape(node, i: int, shapes: dict, where: str) -> list[int]:
    s = shapes.get(node.input[i]) if i < len(node.input) else None
    if not s or any(d <= 0 for d in s):
        raise DataError(f"{where}: input {i} has no static shape; export the model with fixed "
                        "input sizes")
    return s


def _ints(attrs: dict, key: str, n: int, default: int, least: int, where: str) -> list[int]:
    v = attrs.get(key, [default] * n)
    if not isinstance(v, list) or len(v) != n or any(not isinstance(x, int) or x < least
                                                     for x in v):
        raise DataError(f"{where}: attribute {key}={v!r} is malformed: a 2-D convolution needs "
                        f"{n} integers of at least {least}")
    return v


def _conv(node, name: str, attrs: dict, shapes: dict, where: str, batch: int,
          fm: dict) -> list[Layer]:
    """One layer (dense or depthwise), or one per group for a grouped convolution."""
    x, w = _shape(node, 0, shapes, where), _shape(node, 1, shapes, where)
    if len(x) != 4 or len(w) != 4:
        raise DataError(f"{where}: only 2-D convolutions (NCHW input, OIHW weights) are "
                        f"supported, got input {x} and weights {w}")
    b, c, h, wd = x
    o, cg, kh, kw = w
    strides = _ints(attrs, "strides", 2, 1, 1, where)
    if _ints(attrs, "dilations", 2, 1, 1, where) != [1, 1]:
        raise DataError(f"{where}: dilated convolutions are not supported")
    group = attrs.get("group", 1) or 1
    if not isinstance(group, int) or group < 1 or c % group or o % group or cg * group != c:
        raise DataError(f"{where}: weights {w} with group {group} do not fit {c} input "
                        "channels (ONNX: weights [filters, channels / group, kh, kw])")
    ph, pw = _pads(attrs, (h, wd), (kh, kw), strides, where)
    geo = {"in_h": h, "in_w": wd, "kernel_h": kh, "kernel_w": kw, "stride_h": strides[0],
           "stride_w": strides[1], "pad_h": ph, "pad_w": pw, "batch": b * batch, **fm}
    if group == 1:
        return [Layer(name, "conv2d", in_c=c, out_c=o, **geo)]
    if group == c == o:
        return [Layer(name, "depthwise", in_c=c, out_c=o, **geo)]
    # grouped (ResNeXt, AlexNet's two towers, depthwise with a multiplier): independent
    # convolutions of c/g channels into o/g filters, run one after another
    return [Layer(f"{name}/g{j}", "conv2d", in_c=c // group, out_c=o // group, **geo)
            for j in range(group)]


def _pads(attrs: dict, size: tuple, kernel: tuple, strides: list, where: str) -> tuple:
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", "VALID", ""):
        pads = [0, 0, 0, 0] if auto == "VALID" else _ints(attrs, "pads", 4, 0, 0, where)
    else:  # SAME_*: output = ceil(input / stride), the padding split as evenly as it goes
        spans = zip(size, kernel, strides, strict=True)
        total = [max(0, (-(-n // s) - 1) * s + k - n) for n, k, s in spans]
        pads = [total[0] // 2, total[1] // 2, total[0] - total[0] // 2, total[1] - total[1] // 2]
    return tuple(_symmetric(pads[d], pads[d + 2], size[d], kernel[d], strides[d], where)
                 for d in (0, 1))


def _symmetric(before: int, after: int, n: int, k: int, s: int, where: str) -> int:
    """One pad for both sides giving the same output size (so the same MACs and im2col
    shape; an extra zero row or column only widens the padded input), else an error."""
    out = (n + before + after - k) // s + 1
    if out < 1:
        raise DataError(f"{where}: a {k}-wide kernel does not fit the input of {n} padded "
                        f"{before} + {after}")
    mean = before + after
    for p in (max(before, after), (mean + 1) // 2, mean // 2, min(before, after)):
        if (n + 2 * p - k) // s + 1 == out:
            return p
    raise DataError(f"{where}: padding {before} before and {after} after gives an output no "
                    "symmetric padding gives; hwnn's layers pad both sides alike")


def _gemm(node, name: str, attrs: dict, shapes: dict, weights: set, where: str, batch: int,
          fm: dict) -> Layer:
    a, w = _shape(node, 0, shapes, where), _shape(node, 1, shapes, where)
    if len(a) != 2 or len(w) != 2:
        raise DataError(f"{where}: only 2-D matrix products are supported, got {a} x {w}")
    m, k = (a[1], a[0]) if attrs.get("transA", 0) else (a[0], a[1])
    kw, n = (w[1], w[0]) if attrs.get("transB", 0) else (w[0], w[1])
    if k != kw:
        raise DataError(f"{where}: inner sizes differ ({a} x {w})")
    if node.op_type == "MatMul" and node.input[0] in weights and node.input[1] not in weights:
        m, n = n, m  # W @ x: the weights are the left operand, so (W x)^T = x^T W^T
    return Layer(name, m=m * batch, k=k, n=n, **fm)
