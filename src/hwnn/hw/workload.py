"""Layer and Workload: one network's operations as the hardware models see them.

A Layer is one op (``gemm``, ``conv2d`` or ``depthwise``) with its shapes and operand
formats. Convolution lowers to GEMM by im2col, the SCALE-Sim convention:

    M = output pixels x batch,  K = kernel_h x kernel_w x in_channels,  N = out_channels

A depthwise layer is ``channels`` independent GEMMs of K = kernel_h x kernel_w and N = 1.
1 MAC = 1 multiply + 1 add = 2 ops (DESIGN.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from hwnn.errors import ConfigError
from hwnn.formats import FP32, Format

KINDS = ("gemm", "conv2d", "depthwise")


@dataclass(frozen=True)
class Layer:
    """One op. For ``gemm`` set m, k, n; for convolutions set the geometry fields."""

    name: str
    kind: str = "gemm"
    # gemm
    m: int = 0
    k: int = 0
    n: int = 0
    # convolution geometry (NCHW semantics; batch multiplies M)
    in_h: int = 1
    in_w: int = 1
    in_c: int = 1
    out_c: int = 1
    kernel_h: int = 1
    kernel_w: int = 1
    stride_h: int = 1
    stride_w: int = 1
    pad_h: int = 0
    pad_w: int = 0
    batch: int = 1
    weight_format: Format = FP32
    act_format: Format = FP32
    out_format: Format = FP32

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"layer {self.name!r}: kind {self.kind!r} unknown, use {KINDS}")
        if self.kind == "gemm":
            if min(self.m, self.k, self.n) <= 0:
                raise ConfigError(
                    f"layer {self.name!r}: GEMM sizes must be positive, got M={self.m} "
                    f"K={self.k} N={self.n}"
                )
            return
        if self.out_h <= 0 or self.out_w <= 0:
            raise ConfigError(
                f"layer {self.name!r}: a {self.kernel_h}x{self.kernel_w} kernel with padding "
                f"{self.pad_h},{self.pad_w} does not fit a {self.in_h}x{self.in_w} input"
            )
        sizes = (self.in_c, self.out_c, self.kernel_h, self.kernel_w, self.stride_h, self.stride_w)
        if min(sizes) <= 0 or self.batch <= 0:
            raise ConfigError(f"layer {self.name!r}: sizes, strides and batch must be positive")
        if self.kind == "depthwise" and self.out_c != self.in_c:
            raise ConfigError(
                f"layer {self.name!r}: depthwise needs out_c == in_c, "
                f"got {self.out_c} and {self.in_c}"
            )

    @property
    def out_h(self) -> int:
        return (self.in_h + 2 * self.pad_h - self.kernel_h) // self.stride_h + 1

    @property
    def out_w(self) -> int:
        return (self.in_w + 2 * self.pad_w - self.kernel_w) // self.stride_w + 1

    def gemm_dims(self) -> tuple[int, int, int]:
        """(M, K, N) of the lowered GEMM; for depthwise, of one channel's GEMM."""
        if self.kind == "gemm":
            return self.m, self.k, self.n
        m = self.out_h * self.out_w * self.batch
        if self.kind == "depthwise":
            return m, self.kernel_h * self.kernel_w, 1
        return m, self.kernel_h * self.kernel_w * self.in_c, self.out_c

    @property
    def groups(self) -> int:
        """Independent GEMMs the layer lowers to (channels for depthwise, else 1)."""
        return self.in_c if self.kind == "depthwise" else 1

    @property
    def macs(self) -> int:
        m, k, n = self.gemm_dims()
        return m * k * n * self.groups

    @property
    def weight_count(self) -> int:
        _, k, n = self.gemm_dims()
        return k * n * self.groups

    @property
    def input_count(self) -> int:
        if self.kind == "gemm":
            return self.m * self.k
        return self.batch * self.in_h * self.in_w * self.in_c

    @property
    def output_count(self) -> int:
        m, _, n = self.gemm_dims()
        return m * n * self.groups

    def with_formats(self, weight: Format, act: Format, out: Format | None = None) -> Layer:
        return replace(
            self, weight_format=weight, act_format=act, out_format=out or self.out_format
        )


@dataclass(frozen=True)
class Workload:
    """A network as a list of layers; ``batch`` is already folded into each layer's M."""

    name: str
    layers: tuple[Layer, ...] = field(default_factory=tuple)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    @property
    def ops(self) -> int:
        return 2 * self.macs
