"""Number formats: bit widths, ranges, names and parsing."""

import pytest

from hwnn.formats import (
    BF16,
    FP16,
    FP32,
    INT8,
    Binary,
    Codebook,
    Fixed,
    Float,
    Int,
    Log2,
    Ternary,
    parse,
)


def test_bits_of_every_format():
    assert [f.bits for f in (FP32, FP16, BF16, INT8, Ternary(), Binary())] == [32, 16, 16, 8, 2, 1]
    assert Fixed(8, 3).bits == 8 and Log2(5, 0).bits == 5
    assert Codebook(16).bits == 4 and Codebook(150).bits == 8 and Codebook(1).bits == 1


def test_fixed_point_grid_and_range():
    f = Fixed(8, 4)
    assert f.step == 1 / 16
    assert f.min_value == -8.0 and f.max_value == 127 / 16


def test_log2_exponents_below_full_scale_range():
    # 4 bits: a sign bit and 3 bits for 7 exponents plus zero
    assert list(Log2(4, 0).exponents) == [-6, -5, -4, -3, -2, -1, 0]
    assert list(Log2(2, 3).exponents) == [3]


@pytest.mark.parametrize(
    "fmt", [FP32, FP16, BF16, INT8, Int(4, signed=False), Fixed(8, 5), Ternary(), Binary(),
            Codebook(16)]
)
def test_parse_round_trips_names(fmt):
    assert parse(fmt.name) == fmt and str(fmt) == fmt.name


def test_log2_parse_keeps_width():
    assert parse("log4").bits == 4


@pytest.mark.parametrize("bad", ["fp8", "int", "fixedx", "nonsense", "log1"])
def test_parse_rejects_unknown_names(bad):
    with pytest.raises(ValueError):
        parse(bad)


@pytest.mark.parametrize("ctor", [lambda: Float(8), lambda: Fixed(0), lambda: Int(65),
                                  lambda: Log2(1), lambda: Codebook(0)])
def test_impossible_formats_are_rejected(ctor):
    with pytest.raises(ValueError):
        ctor()


def test_floats_are_floats():
    assert FP32.is_float and BF16.is_float and not INT8.is_float and not Binary().is_float
