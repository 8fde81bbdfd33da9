"""Energy and area of operations and memory accesses: the deck's "Cost of Operations".

The default table is Horowitz's 45 nm table (ISSCC 2014) as printed in the seed deck
(``tables/horowitz45.json``; every constant there carries its source):

| operation | energy (pJ) | area (um^2) |
|---|---|---|
| 8b / 16b / 32b add | 0.03 / 0.05 / 0.1 | 36 / 67 / 137 |
| 16b / 32b FP add | 0.4 / 0.9 | 1360 / 4184 |
| 8b / 32b multiply | 0.2 / 3.1 | 282 / 3495 |
| 16b / 32b FP multiply | 1.1 / 3.7 | 1640 / 7700 |
| 32b SRAM read (8 KB) | 5 | |
| 32b DRAM read | 640 | |

Energy of a layer (DESIGN.md): ``E = sum(ops x energy per op) + sum(accesses x energy per
access)``, split by part ("compute", each SRAM level, "dram").

Scaling rules (each stated with its reason):

- Integer widths missing from the table are interpolated log-log between the nearest
  entries, and extrapolated with the textbook exponents: a ripple adder grows linearly
  with width (energy ~ bits), an array multiplier with the product of its operand widths
  (energy ~ bits_w x bits_a). The table itself agrees: 8b -> 32b multiply is 0.2 -> 3.1 pJ,
  exponent log(15.5)/log(4) = 1.98; 8b -> 32b add is 0.03 -> 0.1 pJ, exponent 0.87.
  An ``a x b``-bit multiply is priced as a sqrt(a*b)-bit square one (same a*b).
- SRAM read energy grows as the square root of capacity (longer bit and word lines):
  ``E(bits, S) = E_ref x (bits / 32) x (S / 8 KB) ** 0.5``. Source: Horowitz ISSCC 2014,
  64-bit cache reads of 10 / 20 / 100 pJ from 8 KB / 32 KB / 1 MB (4x size -> 2x energy;
  128x size -> 10x, sqrt(128) = 11.3). The exponent is a field of the table.
- DRAM energy is per bit: 640 pJ / 32 bits = 20 pJ per bit, 160 pJ per byte.

How a MAC (one multiply + one accumulate) is priced from its operands' formats:

| weights x activations | multiply part | accumulate part |
|---|---|---|
| int/fixed a x b | int multiply at sqrt(a*b) bits | int add at ``acc_bits`` (32: int8 |
| | | inference accumulates in int32, Jacob 2018; TPU v1, Jouppi 2017) |
| float x float / int | float multiply at the wider float (int operand dequantized) | float add |
| float x log2 | int add of the float's exponent bits (x 2^e adds e to the exponent) | float add |
| binary/ternary x int / float | none: the weight selects +x, -x (or 0) | add at acc / float width |
| binary x binary | XNOR, 1 bit (Rastegari 2016) | popcount share: 1 full adder per bit |
| ternary x binary/ternary | two bit planes: 2 x (XNOR + popcount) (Alemdar 2017) | |
| log2 x int | shift of the int operand (LogNet, Lee 2017) | int add at ``acc_bits`` |
| log2 x log2 | int add of the exponents, then a shift to decode | int add at ``acc_bits`` |
| codebook x any | lookup of the centroid (SRAM read from a k-entry table), then the | |
| | MAC of the decoded centroid (in the activation's format, Int(16) as in | |
| | EIE (Han 2016) when the activation is not int/float) | |

Two assumptions without a Horowitz entry, stated where used: one 1-bit logic gate
(XNOR) or one full adder of a popcount tree costs ``add.int8 / 8`` (the per-bit energy of
the narrowest adder in the table), and a barrel shift over a small exponent range costs
about one adder of the same width (both are ~width gates per stage). bf16 is priced as
fp16 (its 8-bit mantissa multiplier is smaller, so this is an upper bound).
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hwnn.errors import ConfigError
from hwnn.formats import Binary, Codebook, Fixed, Float, Format, Int, Log2, Ternary

SCHEMA = "hwnn.energy-table/1"
DEFAULT_ACC_BITS = 32
# extrapolation exponents outside the table's widths: adder ~ bits, multiplier ~ bits^2
_WIDTH_EXPONENT = {"add": 1.0, "mult": 2.0}
_FLOAT_EXPONENT_BITS = {"fp32": 8, "fp16": 5, "bf16": 8}


@dataclass(frozen=True)
class Cost:
    """One table entry: energy of one operation, its area, and where the numbers come from."""

    energy_pj: float
    area_um2: float | None
    source: str


@dataclass(frozen=True)
class SramSpec:
    """SRAM read energy ``energy_pj`` for a ``bits``-wide read from a ``buffer_bytes`` array."""

    energy_pj: float
    bits: int
    buffer_bytes: int
    exponent: float
    source: str
    scaling_source: str
    area_um2_per_bit: float | None = None
    area_source: str = ""


@dataclass(frozen=True)
class DramSpec:
    energy_pj: float
    bits: int
    source: str


@dataclass(frozen=True)
class MacCost:
    """One MAC's energy and area, split into parts ("multiply", "accumulate", "lookup")."""

    energy_pj_parts: dict[str, float]
    area_um2_parts: dict[str, float]
    rule: str

    @property
    def energy_pj(self) -> float:
        return float(sum(self.energy_pj_parts.values()))

    @property
    def area_um2(self) -> float:
        return float(sum(self.area_um2_parts.values()))


@dataclass(frozen=True)
class EnergyTable:
    """Energy and area per operation and per memory access, for one technology."""

    name: str
    technology_nm: float
    source: str
    ops: dict[str, Cost]
    sram: SramSpec
    dram: DramSpec
    origin: str = field(default="", compare=False)

    # ---- loading -------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> EnergyTable:
        """Reads a table from a JSON file (format: ``tables/horowitz45.json``)."""
        p = Path(path)
        if not p.is_file():
            raise ConfigError(
                f"energy table {str(p)!r} not found: give the path of a JSON file shaped like "
                "hwnn/hw/tables/horowitz45.json"
            )
        try:
            raw = json.loads(p.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(
                f"energy table {str(p)!r} is not valid JSON ({e}); fix the file"
            ) from None
        return cls.from_dict(raw, origin=str(p))

    @classmethod
    def from_dict(cls, raw: Any, origin: str = "<dict>") -> EnergyTable:
        if not isinstance(raw, dict):
            raise ConfigError(f"energy table {origin}: expected a JSON object at the top level")
        if raw.get("schema", SCHEMA) != SCHEMA:
            raise ConfigError(
                f"energy table {origin}: schema {raw.get('schema')!r} unknown, use {SCHEMA!r}"
            )
        name = _field(raw, "name", str, origin)
        tech = _number(raw, "technology_nm", origin)
        source = _field(raw, "source", str, origin)
        ops_raw = _field(raw, "ops", dict, origin)
        ops = {key: _cost(key, entry, origin) for key, entry in ops_raw.items()}
        for required in ("add.int8", "add.fp32", "mult.int8", "mult.fp32"):
            if required not in ops:
                raise ConfigError(
                    f"energy table {origin}: ops must include {required!r} (have {sorted(ops)})"
                )
        s = _field(raw, "sram", dict, origin)
        where = f"{origin} sram"
        sram = SramSpec(
            energy_pj=_number(s, "energy_pj", where),
            bits=int(_number(s, "bits", where)),
            buffer_bytes=int(_number(s, "buffer_bytes", where)),
            exponent=_number(s, "exponent", where, positive=False),
            source=_field(s, "source", str, where),
            scaling_source=_field(s, "scaling_source", str, where),
            area_um2_per_bit=(
                _number(s, "area_um2_per_bit", where) if "area_um2_per_bit" in s else None
            ),
            area_source=str(s.get("area_source", "")),
        )
        if sram.area_um2_per_bit is not None and not sram.area_source:
            raise ConfigError(f"energy table {where}: area_um2_per_bit needs an area_source")
        d = _field(raw, "dram", dict, origin)
        where = f"{origin} dram"
        dram = DramSpec(
            energy_pj=_number(d, "energy_pj", where),
            bits=int(_number(d, "bits", where)),
            source=_field(d, "source", str, where),
        )
        return cls(name, tech, source, ops, sram, dram, origin=origin)

    def to_dict(self) -> dict:
        ops = {
            k: {"energy_pj": c.energy_pj, "area_um2": c.area_um2, "source": c.source}
            for k, c in self.ops.items()
        }
        for entry in ops.values():
            if entry["area_um2"] is None:
                del entry["area_um2"]
        s = self.sram
        sram = {
            "energy_pj": s.energy_pj, "bits": s.bits, "buffer_bytes": s.buffer_bytes,
            "exponent": s.exponent, "source": s.source, "scaling_source": s.scaling_source,
        }
        if s.area_um2_per_bit is not None:
            sram.update(area_um2_per_bit=s.area_um2_per_bit, area_source=s.area_source)
        return {
            "schema": SCHEMA, "name": self.name, "technology_nm": self.technology_nm,
            "source": self.source, "ops": ops, "sram": sram,
            "dram": {"energy_pj": self.dram.energy_pj, "bits": self.dram.bits,
                     "source": self.dram.source},
        }

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return p

    # ---- single operations ---------------------------------------------------------------

    def int_op(self, kind: str, bits: float) -> tuple[float, float]:
        """(energy_pj, area_um2) of a ``bits``-wide integer ``kind`` ("add" or "mult").

        Log-log interpolation between the table's widths; outside them, extrapolation with
        exponent 1 (add) or 2 (mult) from the nearest entry.
        """
        if kind not in _WIDTH_EXPONENT:
            raise ConfigError(f"operation kind {kind!r} unknown, use 'add' or 'mult'")
        if bits <= 0:
            raise ConfigError(f"an integer {kind} needs a positive width, got {bits}")
        points = sorted(
            (int(k.split(".int")[1]), c) for k, c in self.ops.items() if k.startswith(f"{kind}.int")
        )
        exp = _WIDTH_EXPONENT[kind]
        lo = [p for p in points if p[0] <= bits]
        hi = [p for p in points if p[0] >= bits]
        if lo and hi:
            (b0, c0), (b1, c1) = lo[-1], hi[0]
            if b0 == b1:
                return c0.energy_pj, _area(c0)
            t = math.log(bits / b0) / math.log(b1 / b0)
            return _loglerp(c0.energy_pj, c1.energy_pj, t), _loglerp(_area(c0), _area(c1), t)
        b0, c0 = (lo[-1] if lo else hi[0])
        scale = (bits / b0) ** exp
        return c0.energy_pj * scale, _area(c0) * scale

    def float_op(self, kind: str, fmt: Float) -> tuple[float, float]:
        """(energy_pj, area_um2) of a float ``kind``; bf16 is priced as fp16 (an upper bound)."""
        key = f"{kind}.{'fp16' if fmt.width in (16, 'bf16') else 'fp32'}"
        if key not in self.ops:  # a table without fp16 entries: fall back to fp32
            key = f"{kind}.fp32"
        c = self.ops[key]
        return c.energy_pj, _area(c)

    @property
    def bit_op(self) -> tuple[float, float]:
        """One 1-bit gate or full adder: ``add.int8 / 8`` (per-bit energy of the narrowest add)."""
        e, a = self.int_op("add", 8)
        return e / 8, a / 8


def _area(c: Cost) -> float:
    return float("nan") if c.area_um2 is None else c.area_um2


def _loglerp(a: float, b: float, t: float) -> float:
    if not (a > 0 and b > 0):
        return a + (b - a) * t
    return math.exp(math.log(a) + (math.log(b) - math.log(a)) * t)


def _field(raw: dict, key: str, kind: type, origin: str) -> Any:
    if key not in raw:
        raise ConfigError(f"energy table {origin}: missing field {key!r}; add it")
    if not isinstance(raw[key], kind):
        raise ConfigError(
            f"energy table {origin}: field {key!r} must be a {kind.__name__}, got {raw[key]!r}"
        )
    return raw[key]


def _number(raw: dict, key: str, origin: str, positive: bool = True) -> float:
    if key not in raw:
        raise ConfigError(f"energy table {origin}: missing field {key!r}; add it")
    v = raw[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ConfigError(f"energy table {origin}: {key!r} must be a number, got {v!r}")
    if positive and v <= 0:
        raise ConfigError(f"energy table {origin}: {key!r} must be positive, got {v!r}")
    return float(v)


def _cost(key: str, entry: Any, origin: str) -> Cost:
    where = f"{origin} ops[{key!r}]"
    kind, _, fmt = key.partition(".")
    valid_fmt = fmt in ("fp16", "fp32") or (fmt.startswith("int") and fmt[3:].isdigit())
    if kind not in _WIDTH_EXPONENT or not valid_fmt:
        raise ConfigError(
            f"energy table {origin}: op {key!r} unknown; keys look like 'add.int8', "
            "'mult.int32', 'add.fp16', 'mult.fp32'"
        )
    if not isinstance(entry, dict):
        raise ConfigError(f"energy table {where}: expected an object with energy_pj and source")
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ConfigError(f"energy table {where}: every constant needs a 'source'; add one")
    area = _number(entry, "area_um2", where) if entry.get("area_um2") is not None else None
    return Cost(_number(entry, "energy_pj", where), area, source)


@functools.lru_cache(maxsize=1)
def default_table() -> EnergyTable:
    """Horowitz 45 nm (ISSCC 2014), the deck's table."""
    ref = resources.files("hwnn.hw").joinpath("tables/horowitz45.json")
    return EnergyTable.from_dict(json.loads(ref.read_text()), origin="horowitz45.json")


def table_or_default(table: EnergyTable | str | Path | None) -> EnergyTable:
    """``None`` -> the default table; a path -> loaded; a table -> itself."""
    if table is None:
        return default_table()
    if isinstance(table, EnergyTable):
        return table
    return EnergyTable.load(table)


# ---- memory ------------------------------------------------------------------------------


def sram_access_energy_pj(
    bits: float, buffer_bytes: float, table: EnergyTable | None = None
) -> float:
    """Energy to read ``bits`` from an SRAM of ``buffer_bytes``.

    ``E = E_ref x (bits / bits_ref) x (buffer_bytes / bytes_ref) ** exponent``; with the
    default table 5 pJ per 32 bits from 8 KB, exponent 0.5 (Horowitz ISSCC 2014).
    """
    t = table_or_default(table)
    if buffer_bytes <= 0:
        raise ConfigError(f"an SRAM buffer needs a positive size, got {buffer_bytes} bytes")
    if bits < 0:
        raise ConfigError(f"cannot read a negative number of bits ({bits})")
    s = t.sram
    return s.energy_pj * (bits / s.bits) * (buffer_bytes / s.buffer_bytes) ** s.exponent


def sram_area_um2(buffer_bytes: float, table: EnergyTable | None = None) -> float:
    """Area of an SRAM of ``buffer_bytes`` (bit cell / array efficiency, see the table)."""
    t = table_or_default(table)
    if t.sram.area_um2_per_bit is None:
        raise ConfigError(f"energy table {t.name!r} has no SRAM area (sram.area_um2_per_bit)")
    return buffer_bytes * 8 * t.sram.area_um2_per_bit


def dram_access_energy_pj(bits: float, table: EnergyTable | None = None) -> float:
    """Energy to move ``bits`` to or from DRAM: 640 pJ per 32 bits by default (20 pJ/bit)."""
    t = table_or_default(table)
    if bits < 0:
        raise ConfigError(f"cannot read a negative number of bits ({bits})")
    return t.dram.energy_pj * bits / t.dram.bits


# ---- MACs --------------------------------------------------------------------------------


def _family(fmt: Format) -> str:
    if isinstance(fmt, Float):
        return "float"
    if isinstance(fmt, (Int, Fixed)):
        return "int"
    if isinstance(fmt, Binary):
        return "binary"
    if isinstance(fmt, Ternary):
        return "ternary"
    if isinstance(fmt, Log2):
        return "log2"
    if isinstance(fmt, Codebook):
        return "codebook"
    raise ConfigError(f"cannot price format {fmt!r}: use a format from hwnn.formats")


def _float_key(fmt: Float) -> str:
    return "bf16" if fmt.width == "bf16" else f"fp{fmt.width}"


def _wider_float(a: Format, b: Format) -> Float:
    floats = [f for f in (a, b) if isinstance(f, Float)]
    return max(floats, key=lambda f: f.bits)


def _accumulate(t: EnergyTable, a: Format, b: Format, acc_bits: int) -> tuple[float, float]:
    if isinstance(a, Float) or isinstance(b, Float):
        return t.float_op("add", _wider_float(a, b))
    return t.int_op("add", acc_bits)


def mac_cost(
    weight_format: Format,
    act_format: Format,
    table: EnergyTable | None = None,
    acc_bits: int = DEFAULT_ACC_BITS,
) -> MacCost:
    """Energy and area of one multiply-accumulate with these operand formats (module doc)."""
    t = table_or_default(table)
    w, a = weight_format, act_format
    fw, fa = _family(w), _family(a)
    if "codebook" in (fw, fa):
        return _codebook_mac(t, w, a, acc_bits)
    pair = {fw, fa}
    add_e, add_a = _accumulate(t, w, a, acc_bits)
    if pair <= {"int"}:
        width = math.sqrt(w.bits * a.bits)
        e, ar = t.int_op("mult", width)
        return MacCost(
            {"multiply": e, "accumulate": add_e}, {"multiply": ar, "accumulate": add_a},
            f"int{w.bits} x int{a.bits} multiply + int{acc_bits} add",
        )
    if "float" in pair and pair <= {"float", "int"}:
        f = _wider_float(w, a)
        e, ar = t.float_op("mult", f)
        return MacCost(
            {"multiply": e, "accumulate": add_e}, {"multiply": ar, "accumulate": add_a},
            f"{_float_key(f)} multiply + add",
        )
    if pair <= {"binary"}:
        return _bitplane_mac(t, 1)
    if pair <= {"binary", "ternary"}:
        return _bitplane_mac(t, 2)
    if pair & {"binary", "ternary"} and pair & {"int", "float"}:
        return MacCost(
            {"accumulate": add_e}, {"accumulate": add_a},
            "sign select (no multiply) + add",
        )
    if "log2" in pair:
        return _log_mac(t, w, a, fw, fa, acc_bits, (add_e, add_a))
    raise ConfigError(f"no pricing rule for {w.name} weights x {a.name} activations")


def _bitplane_mac(t: EnergyTable, planes: int) -> MacCost:
    bit_e, bit_a = t.bit_op
    return MacCost(
        {"multiply": planes * bit_e, "accumulate": planes * bit_e},
        {"multiply": planes * bit_a, "accumulate": planes * bit_a},
        f"{planes} bit plane(s): XNOR + popcount share",
    )


def _log_mac(
    t: EnergyTable, w: Format, a: Format, fw: str, fa: str, acc_bits: int,
    acc: tuple[float, float],
) -> MacCost:
    log_fmt, other = (w, a) if fw == "log2" else (a, w)
    fo = fa if fw == "log2" else fw
    add_e, add_a = acc
    if fo == "float":
        assert isinstance(other, Float)
        e, ar = t.int_op("add", _FLOAT_EXPONENT_BITS[_float_key(other)])
        rule = "exponent add + float add"
    elif fo == "int":
        e, ar = t.int_op("add", other.bits)  # a barrel shift ~ one adder of that width
        rule = f"shift int{other.bits} + int{acc_bits} add"
    elif fo == "log2":
        e1, a1 = t.int_op("add", max(log_fmt.bits, other.bits))
        e2, a2 = t.int_op("add", acc_bits)
        e, ar = e1 + e2, a1 + a2
        rule = f"exponent add + shift + int{acc_bits} add"
    else:  # binary / ternary activation: decode 2^e by a shift, the sign selects
        e, ar = t.int_op("add", acc_bits)
        rule = f"shift + sign select + int{acc_bits} add"
    return MacCost(
        {"multiply": e, "accumulate": add_e}, {"multiply": ar, "accumulate": add_a}, rule
    )


def _centroid_format(other: Format) -> Format:
    if isinstance(other, (Float, Int, Fixed)):
        return other
    return Int(16)  # EIE stores shared weights as 16-bit fixed point (Han et al., ISCA 2016)


def _codebook_mac(t: EnergyTable, w: Format, a: Format, acc_bits: int) -> MacCost:
    lookup_e = lookup_a = 0.0
    decoded = []
    for fmt, other in ((w, a), (a, w)):
        if isinstance(fmt, Codebook):
            c = _centroid_format(other)
            lookup_e += sram_access_energy_pj(c.bits, fmt.k * c.bits / 8, t)
            if t.sram.area_um2_per_bit is not None:
                lookup_a += fmt.k * c.bits * t.sram.area_um2_per_bit
            decoded.append(c)
        else:
            decoded.append(fmt)
    inner = mac_cost(decoded[0], decoded[1], t, acc_bits)
    return MacCost(
        {"lookup": lookup_e, **inner.energy_pj_parts},
        {"lookup": lookup_a, **inner.area_um2_parts},
        f"codebook lookup + {inner.rule}",
    )


def mac_energy_pj(
    weight_format: Format,
    act_format: Format,
    table: EnergyTable | None = None,
    acc_bits: int = DEFAULT_ACC_BITS,
) -> float:
    """Energy of one MAC in picojoules (see ``mac_cost`` for the parts)."""
    return mac_cost(weight_format, act_format, table, acc_bits).energy_pj


def mac_area_um2(
    weight_format: Format,
    act_format: Format,
    table: EnergyTable | None = None,
    acc_bits: int = DEFAULT_ACC_BITS,
) -> float:
    """Area of one MAC unit in um^2 (multiplier + accumulator adder, from the table)."""
    return mac_cost(weight_format, act_format, table, acc_bits).area_um2


def breakdown_pj(
    macs: float,
    weight_format: Format,
    act_format: Format,
    sram_traffic: dict[str, tuple[float, float]] | None = None,
    dram_bytes: float = 0.0,
    table: EnergyTable | None = None,
    acc_bits: int = DEFAULT_ACC_BITS,
) -> dict[str, float]:
    """``E = sum(ops x energy per op) + sum(accesses x energy per access)``, by part.

    ``sram_traffic`` maps a level name to ``(bytes_read_or_written, buffer_bytes)``; the
    result has "compute", one key per SRAM level, and "dram" (when any DRAM bytes move).
    """
    t = table_or_default(table)
    out = {"compute": macs * mac_energy_pj(weight_format, act_format, t, acc_bits)}
    for level, (nbytes, size) in (sram_traffic or {}).items():
        out[level] = sram_access_energy_pj(8 * nbytes, size, t)
    if dram_bytes:
        out["dram"] = dram_access_energy_pj(8 * dram_bytes, t)
    return out
