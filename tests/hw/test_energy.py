"""Energy and area table: Horowitz's numbers, scaling rules, MAC pricing by format, loading."""

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwnn.errors import ConfigError, HwnnError
from hwnn.formats import (
    BF16,
    FP16,
    FP32,
    INT8,
    Binary,
    Codebook,
    Fixed,
    Int,
    Log2,
    Ternary,
)
from hwnn.hw.energy import (
    EnergyTable,
    breakdown_pj,
    default_table,
    dram_access_energy_pj,
    mac_area_um2,
    mac_cost,
    mac_energy_pj,
    sram_access_energy_pj,
    sram_area_um2,
)


def test_default_table_is_the_decks_horowitz_table():
    t = default_table()
    expected = {
        "add.int8": (0.03, 36), "add.int16": (0.05, 67), "add.int32": (0.1, 137),
        "add.fp16": (0.4, 1360), "add.fp32": (0.9, 4184), "mult.int8": (0.2, 282),
        "mult.int32": (3.1, 3495), "mult.fp16": (1.1, 1640), "mult.fp32": (3.7, 7700),
    }
    assert {k: (c.energy_pj, c.area_um2) for k, c in t.ops.items()} == expected
    assert all("Horowitz" in c.source for c in t.ops.values())
    assert t.sram.energy_pj == 5 and t.sram.buffer_bytes == 8192 and t.sram.bits == 32
    assert t.dram.energy_pj == 640 and t.dram.bits == 32
    assert t.technology_nm == 45


def test_int8_multiply_is_about_6x_cheaper_than_fp16():
    ratio = mac_cost(FP16, FP16).energy_pj_parts["multiply"] / mac_cost(
        INT8, INT8
    ).energy_pj_parts["multiply"]
    assert ratio == pytest.approx(5.5)  # 1.1 / 0.2: the deck's "about 6x"
    # and fp32 vs int8 MAC with int32 accumulation: (3.7 + 0.9) / (0.2 + 0.1)
    assert mac_energy_pj(FP32, FP32) / mac_energy_pj(INT8, INT8) == pytest.approx(4.6 / 0.3)


def test_mac_by_format_hand_computed():
    assert mac_energy_pj(FP32, FP32) == pytest.approx(3.7 + 0.9)
    assert mac_energy_pj(FP16, FP16) == pytest.approx(1.1 + 0.4)
    assert mac_energy_pj(BF16, BF16) == pytest.approx(1.1 + 0.4)  # priced as fp16
    assert mac_energy_pj(INT8, INT8) == pytest.approx(0.2 + 0.1)
    assert mac_energy_pj(INT8, INT8, acc_bits=16) == pytest.approx(0.2 + 0.05)
    assert mac_energy_pj(Fixed(8, 4), Fixed(8, 2)) == pytest.approx(0.3)
    assert mac_energy_pj(Int(32), Int(32)) == pytest.approx(3.1 + 0.1)
    # weight-only int8 with fp32 activations: dequantize, fp32 multiply and add
    assert mac_energy_pj(INT8, FP32) == pytest.approx(4.6)
    # binary / ternary weights with float activations: no multiply, fp32 add only
    assert mac_energy_pj(Binary(), FP32) == pytest.approx(0.9)
    assert mac_energy_pj(Ternary(), FP32) == pytest.approx(0.9)
    assert mac_energy_pj(Binary(), INT8) == pytest.approx(0.1)
    # BNN / XNOR-Net: XNOR + popcount share, one 1-bit gate each at 0.03 / 8 pJ
    assert mac_energy_pj(Binary(), Binary()) == pytest.approx(2 * 0.03 / 8)
    assert mac_energy_pj(Ternary(), Ternary()) == pytest.approx(4 * 0.03 / 8)
    # LogNet: a shift of the 8-bit activation (~ an 8-bit add) + int32 accumulate
    assert mac_energy_pj(Log2(4), INT8) == pytest.approx(0.03 + 0.1)
    # log2 weights x fp32: add 4 to the 8-bit exponent... priced as an 8-bit add + fp32 add
    assert mac_energy_pj(Log2(4), FP32) == pytest.approx(0.03 + 0.9)


def test_codebook_is_lookup_plus_multiply():
    c = mac_cost(Codebook(16), Int(16))
    lookup = 5 * (16 / 32) * math.sqrt(16 * 2 / 8192)  # 16 centroids of 16 bits = 32 bytes
    assert c.energy_pj_parts["lookup"] == pytest.approx(lookup)
    mult16 = 0.2 * 2 ** (math.log(15.5) / math.log(4))  # log-log between 8b and 32b
    assert c.energy_pj_parts["multiply"] == pytest.approx(mult16)
    assert c.energy_pj_parts["accumulate"] == pytest.approx(0.1)
    assert "lookup" in c.rule


def test_every_format_pair_has_a_positive_price():
    fmts = [FP32, FP16, BF16, INT8, Int(4), Fixed(16, 8), Ternary(), Binary(), Log2(5),
            Codebook(4)]
    for w in fmts:
        for a in fmts:
            c = mac_cost(w, a)
            assert c.energy_pj > 0 and c.area_um2 > 0, (w, a)


def test_lower_precision_costs_less_energy_and_area():
    order = [FP32, FP16, INT8, Int(4), Binary()]
    e = [mac_energy_pj(f, f) for f in order]
    a = [mac_area_um2(f, f) for f in order]
    assert e == sorted(e, reverse=True)
    assert a == sorted(a, reverse=True)


def test_integer_widths_interpolate_and_extrapolate():
    t = default_table()
    assert t.int_op("mult", 8) == (0.2, 282)
    e16, _ = t.int_op("mult", 16)
    assert 0.2 < e16 < 3.1
    assert t.int_op("mult", 4)[0] == pytest.approx(0.2 / 4)  # multiplier ~ bits^2
    assert t.int_op("add", 4)[0] == pytest.approx(0.015)  # adder ~ bits
    assert t.int_op("add", 64)[0] == pytest.approx(0.2)
    with pytest.raises(ConfigError):
        t.int_op("mult", 0)
    with pytest.raises(ConfigError):
        t.int_op("divide", 8)


def test_sram_scales_with_square_root_of_size():
    assert sram_access_energy_pj(32, 8192) == pytest.approx(5.0)
    assert sram_access_energy_pj(64, 8192) == pytest.approx(10.0)
    # Horowitz: 8 KB -> 32 KB doubles the energy; 8 KB -> 1 MB about 10x (sqrt: 11.3x)
    assert sram_access_energy_pj(32, 32 * 1024) == pytest.approx(10.0)
    assert sram_access_energy_pj(64, 1 << 20) / 10 == pytest.approx(math.sqrt(128))
    with pytest.raises(ConfigError):
        sram_access_energy_pj(32, 0)


def test_dram_is_per_bit_and_sram_area():
    assert dram_access_energy_pj(32) == 640
    assert dram_access_energy_pj(8) == 160  # one byte
    assert sram_area_um2(1024) == pytest.approx(8192 * 0.346 / 0.7, rel=1e-3)


def test_breakdown_of_one_small_layer_hand_computed():
    # A 4x3 int8 weight matrix times one int8 vector: 12 MACs, weights (12 B) and input
    # (4 B) read once from an 8 KB SRAM, output (3 int32 = 12 B) written back, and the
    # weights fetched from DRAM once.
    parts = breakdown_pj(
        macs=12, weight_format=INT8, act_format=INT8,
        sram_traffic={"sram": (12 + 4 + 12, 8192)}, dram_bytes=12,
    )
    assert parts["compute"] == pytest.approx(12 * (0.2 + 0.1))  # 3.6 pJ
    assert parts["sram"] == pytest.approx(28 * 8 / 32 * 5)  # 35 pJ
    assert parts["dram"] == pytest.approx(12 * 8 / 32 * 640)  # 1920 pJ
    assert sum(parts.values()) == pytest.approx(3.6 + 35 + 1920)


def test_round_trip_and_load_from_file(tmp_path):
    t = default_table()
    p = t.save(tmp_path / "t.json")
    loaded = EnergyTable.load(p)
    assert loaded == t
    raw = json.loads(p.read_text())
    raw["ops"]["mult.int8"]["energy_pj"] = 0.1
    raw["name"] = "cheaper"
    (tmp_path / "c.json").write_text(json.dumps(raw))
    cheap = EnergyTable.load(tmp_path / "c.json")
    assert mac_energy_pj(INT8, INT8, cheap) == pytest.approx(0.2)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.pop("ops"), "missing field 'ops'"),
        (lambda r: r["ops"]["add.int8"].pop("source"), "needs a 'source'"),
        (lambda r: r["ops"]["add.int8"].update(energy_pj=-1), "must be positive"),
        (lambda r: r["ops"]["add.int8"].update(energy_pj="x"), "must be a number"),
        (lambda r: r["ops"].update({"divide.int8": {"energy_pj": 1, "source": "s"}}), "unknown"),
        (lambda r: r["ops"].pop("mult.fp32"), "must include 'mult.fp32'"),
        (lambda r: r["sram"].pop("scaling_source"), "scaling_source"),
        (lambda r: r.update(schema="other/9"), "schema"),
    ],
)
def test_bad_tables_get_clear_errors(tmp_path, mutate, message):
    raw = default_table().to_dict()
    mutate(raw)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=message):
        EnergyTable.load(p)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(HwnnError, match="not found"):
        EnergyTable.load(tmp_path / "nope.json")
    (tmp_path / "broken.json").write_text("{ not json")
    with pytest.raises(HwnnError, match="not valid JSON"):
        EnergyTable.load(tmp_path / "broken.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(HwnnError, match="JSON object"):
        EnergyTable.load(tmp_path / "list.json")


POOL = [FP32, FP16, BF16, INT8, Int(4), Int(16), Fixed(12, 4), Ternary(), Binary(), Log2(4),
        Log2(6)]


@given(st.sampled_from(POOL), st.sampled_from(POOL))
def test_mac_price_does_not_depend_on_operand_order(w, a):
    assert mac_energy_pj(w, a) == pytest.approx(mac_energy_pj(a, w))
    assert mac_area_um2(w, a) == pytest.approx(mac_area_um2(a, w))


@given(st.floats(1, 64), st.floats(1, 64))
def test_integer_ops_grow_with_width(b1, b2):
    t = default_table()
    lo, hi = sorted((b1, b2))
    for kind in ("add", "mult"):
        assert t.int_op(kind, lo)[0] <= t.int_op(kind, hi)[0] + 1e-12


@given(st.integers(1, 1 << 30), st.integers(1, 1 << 30), st.integers(0, 4096))
def test_sram_grows_with_size_and_is_linear_in_bits(s1, s2, bits):
    lo, hi = sorted((s1, s2))
    assert sram_access_energy_pj(bits, lo) <= sram_access_energy_pj(bits, hi)
    assert sram_access_energy_pj(2 * bits, lo) == pytest.approx(2 * sram_access_energy_pj(bits, lo))
