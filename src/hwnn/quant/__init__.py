"""Reduced precision: every method of the deck's table (see ``registry.py``).

``quantize(model, "twn", data=...)`` returns a new model; ``methods()`` lists the methods
with their precision. Quantized layers (``QuantLinear``, ``QuantConv2d``) keep float shadow
weights and expose ``weight_format``, ``act_format`` and ``quantized_weight()``.

Each method's forward-rule function lives in its module (``hwnn.quant.fixed_point.fixed_point``,
``hwnn.quant.ternary.twn``, ...) and in ``get(name).function``; ``fixed_point`` is not
re-exported here so that ``hwnn.quant.fixed_point`` stays the module.
"""

from hwnn.quant.base import (
    ActQuantizer,
    FloatAct,
    FloatWeight,
    QuantizedWeight,
    WeightQuantizer,
)
from hwnn.quant.baselines import (
    FloatCastAct,
    FloatCastWeight,
    Int8Act,
    Int8Weight,
    float_cast,
    int8_per_channel,
)
from hwnn.quant.binary import (
    BinaryConnectWeight,
    BNNWeight,
    BWNWeight,
    SignAct,
    XNORAct,
    binary_connect,
    bnn_sign,
    bwn,
    xnor_input_scale,
)
from hwnn.quant.fixed_point import FixedPointAct, FixedPointWeight
from hwnn.quant.layers import QuantConv2d, QuantLinear, quant_layers
from hwnn.quant.lognet import LogAct, LogWeight, log_quantize
from hwnn.quant.registry import Method, get, methods, names
from hwnn.quant.summary import (
    LayerPrecision,
    PrecisionResult,
    distinct_weights,
    fp32_bytes,
    layer_precision,
    measure,
    model_bytes,
)
from hwnn.quant.ternary import TTQWeight, TWNWeight, ttq, twn
from hwnn.quant.transform import quantize
from hwnn.quant.weight_sharing import CodebookWeight, kmeans_1d, share_weights

__all__ = [
    "ActQuantizer", "BNNWeight", "BWNWeight", "BinaryConnectWeight", "CodebookWeight",
    "FixedPointAct", "FixedPointWeight", "FloatAct", "FloatCastAct", "FloatCastWeight",
    "FloatWeight", "Int8Act", "Int8Weight", "LayerPrecision", "LogAct", "LogWeight", "Method",
    "PrecisionResult", "QuantConv2d", "QuantLinear", "QuantizedWeight", "SignAct",
    "TTQWeight", "TWNWeight", "WeightQuantizer", "XNORAct", "binary_connect", "bnn_sign",
    "bwn", "distinct_weights", "float_cast", "fp32_bytes", "get",
    "int8_per_channel", "kmeans_1d", "layer_precision", "log_quantize", "measure", "methods",
    "model_bytes", "names", "quant_layers", "quantize", "share_weights", "ttq", "twn",
    "xnor_input_scale",
]
