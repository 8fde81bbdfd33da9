"""Number formats: how one value is represented, and how many bits it takes.

Hardware models price an operation by the formats of its operands, and the precision
study reports model size from them. Every format is a frozen dataclass with ``bits``
(storage bits per value) and a short ``name`` used in tables and JSON.

| format | values | paper |
|---|---|---|
| ``Float(32)``, ``Float(16)``, ``Float("bf16")`` | IEEE binary32 / binary16, bfloat16 | IEEE 754 |
| ``Fixed(bits, frac)`` | k * 2^-frac, k a signed ``bits``-bit integer | Ristretto (Gysel 2016) |
| ``Int(bits)`` | signed integers with a separate scale | Jacob et al. 2018 |
| ``Ternary()`` | {-a, 0, +a} | TWN (Li 2016), TTQ (Zhu 2017) |
| ``Binary()`` | {-a, +a} | BinaryConnect, BNN, XNOR-Net |
| ``Log2(bits, fsr)`` | 0 or +-2^e, e in (fsr - 2^(bits-1), fsr] | LogNet (Lee 2017) |
| ``Codebook(k)`` | one of k shared values, log2(k)-bit index | Deep Compression (Han 2016) |
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    """Base of every format; ``bits`` is the storage width of one value."""

    @property
    def bits(self) -> int:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    @property
    def name(self) -> str:  # pragma: no cover
        raise NotImplementedError

    @property
    def is_float(self) -> bool:
        return False

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Float(Format):
    """IEEE float or bfloat16. ``width`` is 32, 16 or ``"bf16"``."""

    width: int | str = 32

    def __post_init__(self) -> None:
        if self.width not in (32, 16, "bf16"):
            raise ValueError(f"Float width must be 32, 16 or 'bf16', got {self.width!r}")

    @property
    def bits(self) -> int:
        return 16 if self.width == "bf16" else int(self.width)

    @property
    def name(self) -> str:
        return "bf16" if self.width == "bf16" else f"fp{self.width}"

    @property
    def is_float(self) -> bool:
        return True


@dataclass(frozen=True)
class Fixed(Format):
    """Dynamic fixed point: a ``total``-bit signed integer times 2^-``frac``.

    "Dynamic" because ``frac`` (the fractional length) is chosen per layer and per data
    type from the observed range (Gysel et al., "Ristretto", 2016). Representable
    values: k * 2^-frac for k in [-2^(total-1), 2^(total-1) - 1].
    """

    total: int
    frac: int = 0

    def __post_init__(self) -> None:
        if not 1 <= self.total <= 64:
            raise ValueError(f"Fixed bits must be in 1..64, got {self.total}")

    @property
    def bits(self) -> int:
        return self.total

    @property
    def step(self) -> float:
        return 2.0 ** -self.frac

    @property
    def min_value(self) -> float:
        return -(2 ** (self.total - 1)) * self.step

    @property
    def max_value(self) -> float:
        return (2 ** (self.total - 1) - 1) * self.step

    @property
    def name(self) -> str:
        return f"fixed{self.total}.{self.frac}"


@dataclass(frozen=True)
class Int(Format):
    """Signed (or unsigned) integer of ``width`` bits, used with a separate float scale."""

    width: int = 8
    signed: bool = True

    def __post_init__(self) -> None:
        if not 1 <= self.width <= 64:
            raise ValueError(f"Int bits must be in 1..64, got {self.width}")

    @property
    def bits(self) -> int:
        return self.width

    @property
    def name(self) -> str:
        return f"{'int' if self.signed else 'uint'}{self.width}"


@dataclass(frozen=True)
class Ternary(Format):
    """Three levels {-a, 0, +a} (or {-Wn, 0, +Wp} in TTQ), stored in 2 bits."""

    @property
    def bits(self) -> int:
        return 2

    @property
    def name(self) -> str:
        return "ternary"


@dataclass(frozen=True)
class Binary(Format):
    """Two levels {-a, +a}, one bit: a set bit is -1 (DESIGN.md bit order)."""

    @property
    def bits(self) -> int:
        return 1

    @property
    def name(self) -> str:
        return "binary"


@dataclass(frozen=True)
class Log2(Format):
    """Sign and exponent: 0 or +-2^e with e in (fsr - 2^(bits-1) + 1 .. fsr).

    One bit is the sign; the other ``bits - 1`` index 2^(bits-1) - 1 exponents below
    the full-scale range ``fsr`` plus one code for zero (Lee et al., "LogNet", 2017;
    Miyashita et al. 2016).
    """

    width: int = 4
    fsr: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.width <= 16:
            raise ValueError(f"Log2 bits must be in 2..16, got {self.width}")

    @property
    def bits(self) -> int:
        return self.width

    @property
    def exponents(self) -> range:
        count = 2 ** (self.width - 1) - 1
        return range(self.fsr - count + 1, self.fsr + 1)

    @property
    def name(self) -> str:
        return f"log{self.width}"


@dataclass(frozen=True)
class Codebook(Format):
    """Weight sharing: each value is an index into ``k`` shared centroids (Han et al. 2016)."""

    k: int = 16

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ValueError(f"Codebook needs at least one entry, got k={self.k}")

    @property
    def bits(self) -> int:
        return max(1, math.ceil(math.log2(self.k)))

    @property
    def name(self) -> str:
        return f"codebook{self.k}"


FP32 = Float(32)
FP16 = Float(16)
BF16 = Float("bf16")
INT8 = Int(8)


def parse(text: str) -> Format:
    """Reads a format name as printed by ``Format.name`` (``"int8"``, ``"fixed8.4"``, ...)."""
    t = text.strip().lower()
    simple = {"fp32": FP32, "fp16": FP16, "bf16": BF16, "ternary": Ternary(), "binary": Binary()}
    if t in simple:
        return simple[t]
    try:
        if t.startswith("fixed"):
            total, _, frac = t[5:].partition(".")
            return Fixed(int(total), int(frac or 0))
        if t.startswith("uint"):
            return Int(int(t[4:]), signed=False)
        if t.startswith("int"):
            return Int(int(t[3:]))
        if t.startswith("log"):
            return Log2(int(t[3:]))
        if t.startswith("codebook"):
            return Codebook(int(t[8:]))
    except ValueError as err:
        raise ValueError(f"cannot read format {text!r}: {err}") from None
    raise ValueError(
        f"unknown format {text!r}: use fp32, fp16, bf16, fixedB.F, intB, uintB, ternary, "
        "binary, logB or codebookK"
    )
