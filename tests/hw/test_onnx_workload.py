"""ONNX models as workloads: node mapping, padding rules, errors, and the simulate CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hwnn.cli import app
from hwnn.errors import DataError
from hwnn.formats import INT8, Binary
from hwnn.hw.onnx_workload import read_onnx

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


def _save(tmp_path, nodes, x_shape, inits, name="m.onnx"):
    """A graph of ``nodes`` on input ``x``; ``inits`` maps initializer names to shapes."""
    tensors = [helper.make_tensor(k, TensorProto.FLOAT, s, [0.0] * _size(s))
               for k, s in inits.items()]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        initializer=tensors)
    path = tmp_path / name
    onnx.save(helper.make_model(graph), str(path))
    return path


def _size(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def _small_cnn(tmp_path):
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "dw"], ["c2"], name="dw", group=8, strides=[2, 2],
                         auto_pad="SAME_UPPER"),
        helper.make_node("Flatten", ["c2"], ["f"]),
        helper.make_node("Gemm", ["f", "fc"], ["y"], name="fc", transB=1),
    ]
    inits = {"w1": [8, 3, 3, 3], "dw": [8, 1, 3, 3], "fc": [10, 8 * 8 * 8]}
    return _save(tmp_path, nodes, [2, 3, 16, 16], inits)


def test_nodes_map_to_layers_with_their_macs(tmp_path):
    wl = read_onnx(_small_cnn(tmp_path), INT8, INT8, batch=3)
    conv, dw, fc = wl.layers
    assert [x.name for x in wl.layers] == ["conv1", "dw", "fc"]  # Relu, Flatten skipped
    assert (conv.kind, conv.out_h, conv.out_w, conv.batch) == ("conv2d", 16, 16, 6)
    assert conv.macs == 6 * 16 * 16 * 27 * 8
    assert (dw.kind, dw.out_h, dw.pad_h, dw.stride_h) == ("depthwise", 8, 1, 2)  # SAME: 0, 1
    assert dw.macs == 6 * 8 * 8 * 9 * 8
    assert (fc.m, fc.k, fc.n) == (6, 512, 10)  # transB: weights stored [N, K]
    assert fc.weight_format == INT8 and wl.name == "m"


def test_matmul_and_formats(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w"], ["y"])]
    wl = read_onnx(_save(tmp_path, nodes, [4, 7], {"w": [7, 5]}), Binary(), INT8)
    (layer,) = wl.layers
    assert (layer.m, layer.k, layer.n, layer.name) == (4, 7, 5, "MatMul_0")
    assert layer.weight_format == Binary() and layer.act_format == INT8


@pytest.mark.parametrize("node, inits, match", [
    (helper.make_node("Conv", ["x", "w"], ["y"], pads=[0, 0, 1, 1]), {"w": [4, 3, 2, 2]},
     "symmetric padding"),  # an even kernel, padded on one side only
    (helper.make_node("Conv", ["x", "w"], ["y"], dilations=[2, 2]), {"w": [4, 3, 3, 3]},
     "dilated"),
    (helper.make_node("Conv", ["x", "w"], ["y"], group=2), {"w": [4, 1, 3, 3]}, "do not fit"),
    (helper.make_node("Conv", ["x", "w"], ["y"]), {"w": [4, 5, 3, 3]}, "do not fit"),
    (helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1]), {"w": [4, 3, 3, 3]},
     "pads=.* is malformed"),
    (helper.make_node("Conv", ["x", "w"], ["y"], strides=[0, 0]), {"w": [4, 3, 3, 3]},
     "strides=.* is malformed"),
    (helper.make_node("ConvTranspose", ["x", "w"], ["y"]), {"w": [3, 4, 3, 3]},
     "ConvTranspose carries MACs"),
    (helper.make_node("Relu", ["x"], ["y"]), {}, "no Conv, Gemm or MatMul"),
])
def test_unsupported_graphs_are_named(tmp_path, node, inits, match):
    with pytest.raises(DataError, match=match):
        read_onnx(_save(tmp_path, [node], [1, 3, 8, 8], inits))


def test_grouped_and_multiplier_convolutions_split_into_groups(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="g", group=2)]
    wl = read_onnx(_save(tmp_path, nodes, [1, 4, 8, 8], {"w": [6, 2, 3, 3]}))
    assert [x.name for x in wl.layers] == ["g/g0", "g/g1"]
    assert {(x.in_c, x.out_c) for x in wl.layers} == {(2, 3)}
    assert wl.macs == 6 * 6 * 6 * (2 * 3 * 3)  # every filter sees c / group channels
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="dm", group=3)]
    wl = read_onnx(_save(tmp_path, nodes, [1, 3, 8, 8], {"w": [6, 1, 3, 3]}, "dm.onnx"))
    assert len(wl.layers) == 3 and wl.macs == 6 * 6 * 6 * 9  # depthwise, multiplier 2


def test_asymmetric_pads_with_a_symmetric_twin(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], pads=[0, 0, 2, 2])]
    (layer,) = read_onnx(_save(tmp_path, nodes, [1, 3, 8, 8], {"w": [4, 3, 3, 3]})).layers
    assert (layer.pad_h, layer.out_h, layer.out_w) == (1, 8, 8)


def test_matmul_with_the_weights_on_the_left(tmp_path):
    nodes = [helper.make_node("MatMul", ["w", "x"], ["y"])]
    (layer,) = read_onnx(_save(tmp_path, nodes, [7, 1], {"w": [5, 7]}), batch=8).layers
    assert (layer.m, layer.k, layer.n) == (8, 7, 5)  # (W x)^T = x^T W^T, batch on x's side


def test_shapes_are_inferred_where_the_file_states_only_some(tmp_path):
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="a", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r"]),
             helper.make_node("Conv", ["r", "w2"], ["y"], name="b")]
    inits = {"w1": [4, 3, 3, 3], "w2": [2, 4, 3, 3]}
    path = _save(tmp_path, nodes, [1, 3, 8, 8], inits)
    model = onnx.load(str(path))
    model.graph.value_info.append(
        helper.make_tensor_value_info("c1", TensorProto.FLOAT, [1, 4, 8, 8]))
    onnx.save(model, str(path))
    assert [x.out_h for x in read_onnx(path).layers] == [8, 6]


def test_unknown_batch_and_bad_files(tmp_path):
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    (layer,) = read_onnx(_save(tmp_path, [node], ["n", 7], {"w": [7, 5]})).layers
    assert layer.m == 1  # a symbolic batch (dynamic_axes) is one run
    with pytest.raises(DataError, match="no static shape"):
        read_onnx(_save(tmp_path, [node], [4, "k"], {"w": [7, 5]}, "k.onnx"))
    with pytest.raises(DataError, match="not found"):
        read_onnx(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not protobuf \xff\xff")
    with pytest.raises(DataError, match="not a readable ONNX model"):
        read_onnx(bad)


def test_simulate_cli_reads_onnx(tmp_path):
    path = _small_cnn(tmp_path)
    r = CliRunner().invoke(app, ["simulate", "--model", str(path), "--formats", "int8",
                                 "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert [x["name"] for x in res["layers"]] == ["conv1", "dw", "fc"]
    assert res["total_macs"] == sum(x.macs for x in read_onnx(path).layers)
    bad = CliRunner().invoke(app, ["simulate", "--model", str(path), "--formats", "int9x"])
    assert bad.exit_code == 2 and "--formats" in bad.output
    ignored = CliRunner().invoke(app, ["simulate", "--model", "mlp", "--formats", "int4"])
    assert ignored.exit_code == 2 and "applies to ONNX models" in ignored.output


def test_estimate_cli_reads_onnx_at_a_format(tmp_path):
    path = _small_cnn(tmp_path)
    r = CliRunner().invoke(app, ["estimate", "--model", str(path), "--method", "INT8",
                                 "--device", "tpu-v1", "--batch", "4", "--json"])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    assert res["macs_per_inference"] == read_onnx(path).macs  # one run of the graph as exported
    assert {x["weight_format"] for x in res["layers"]} == {"int8"}
    assert res["latency_s"] > 0 and res["energy_per_inference_pj"] > 0
    bad = CliRunner().invoke(app, ["estimate", "--model", str(path), "--method", "bnn"])
    assert bad.exit_code == 2 and "needs a trained model" in bad.output
