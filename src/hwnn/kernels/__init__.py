"""Native kernels (``hwnn._core``) and their NumPy twins; ``HWNN_KERNELS`` picks one."""

from hwnn.kernels.backend import describe, use_native
from hwnn.kernels.bitpack import (
    Packed,
    binary_dot,
    binary_dot_reference,
    pack_signs,
    pack_signs_reference,
)

__all__ = [
    "Packed",
    "binary_dot",
    "binary_dot_reference",
    "describe",
    "pack_signs",
    "pack_signs_reference",
    "use_native",
]
