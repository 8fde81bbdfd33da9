"""Native kernels (``hwnn._core``) and their NumPy twins; ``HWNN_KERNELS`` picks one.

Every kernel takes ``path="auto"`` (or "scalar", "popcnt", "avx2", "avx512" to force an
instruction-set path this CPU has) and runs on ``get_threads()`` OpenMP threads
(``HWNN_THREADS``, default 1; ``set_threads``).
"""

from hwnn.kernels.backend import describe, use_native
from hwnn.kernels.binary_conv2d import (
    PackedConv,
    binary_conv2d,
    binary_conv2d_packed,
    pack_channels,
    pack_channels_reference,
)
from hwnn.kernels.binary_gemm import binary_matmul, binary_matmul_reference
from hwnn.kernels.bitpack import (
    Packed,
    binary_dot,
    binary_dot_reference,
    pack_signs,
    pack_signs_reference,
)
from hwnn.kernels.int8_gemm import int8_matmul, int8_matmul_reference
from hwnn.kernels.output_transform import (
    fold_threshold,
    scale_bias,
    sign_threshold,
    sign_threshold_reference,
)
from hwnn.kernels.ternary_gemm import (
    PackedTernary,
    pack_ternary,
    ternary_matmul,
    ternary_matmul_reference,
)
from hwnn.kernels.threads import get_threads, set_threads

__all__ = [
    "Packed",
    "PackedConv",
    "PackedTernary",
    "binary_conv2d",
    "binary_conv2d_packed",
    "binary_dot",
    "binary_dot_reference",
    "binary_matmul",
    "binary_matmul_reference",
    "describe",
    "fold_threshold",
    "get_threads",
    "int8_matmul",
    "int8_matmul_reference",
    "pack_channels",
    "pack_channels_reference",
    "pack_signs",
    "pack_signs_reference",
    "pack_ternary",
    "scale_bias",
    "set_threads",
    "sign_threshold",
    "sign_threshold_reference",
    "ternary_matmul",
    "ternary_matmul_reference",
    "use_native",
]
