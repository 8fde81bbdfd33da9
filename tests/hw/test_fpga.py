"""FINN-style FPGA model: folding, resources, pipelining, FINN's SFC on the ZC706."""

import pytest

from hwnn.formats import FP32, INT8, Binary
from hwnn.hw import fpga
from hwnn.hw.workload import Layer, Workload


def test_finn_sfc_on_zc706_within_2x_of_finn():
    dev = fpga.zc706()
    est = dev.estimate(fpga.finn_sfc())
    assert est.feasible
    ratio = est.throughput_per_s / fpga.FINN_SFC_MAX_FPS
    assert 0.5 <= ratio <= 2.0
    # FINN reports 0.31 us latency for SFC-max
    assert 0.31e-6 / 2 <= est.latency_s <= 0.31e-6 * 2
    f = dev.fold(fpga.finn_sfc())
    assert f.luts <= 0.9 * fpga.ZC706.luts and f.dsps == 0  # binary runs on LUTs
    # the pipeline is balanced: every layer within the interval
    assert max(m.cycles for m in f.layers) == f.interval_cycles


def test_folding_formula_and_pipeline():
    layer = Layer("l", m=1, k=100, n=30, weight_format=Binary(), act_format=Binary())
    opts = fpga._LayerOptions(layer)
    i = int(((opts.pe == 8) & (opts.simd == 25)).nonzero()[0][0])
    assert opts.cycles[i] == 4 * 4  # ceil(30/8) x ceil(100/25)
    est = fpga.zc706().estimate(fpga.finn_sfc())
    assert est.pipelined
    assert est.throughput_per_s == pytest.approx(1 / max(e.latency_s for e in est.layers))
    assert est.latency_s == pytest.approx(sum(e.latency_s for e in est.layers))


def test_wider_formats_use_dsps_and_run_slower():
    dims = (784, 256, 256, 256, 10)

    def mlp(f):
        return Workload("m", tuple(Layer(f"fc{i}", m=1, k=dims[i], n=dims[i + 1],
                                         weight_format=f, act_format=f) for i in range(4)))

    dev = fpga.zc706()
    tb = dev.estimate(mlp(Binary())).throughput_per_s
    t8 = dev.estimate(mlp(INT8)).throughput_per_s
    t32 = dev.estimate(mlp(FP32)).throughput_per_s
    assert tb > 10 * t8 > 10 * t32
    assert dev.fold(mlp(INT8)).dsps > 0


def test_network_too_big_is_infeasible_with_reason():
    huge = Workload("huge", (Layer("fc", m=1, k=8192, n=8192, weight_format=FP32,
                                   act_format=FP32),))
    est = fpga.zc706().estimate(huge)
    assert not est.feasible
    assert "BRAM18" in est.reasons[0] and "does not fit zc706" in est.reasons[0]


def test_tiny_network_is_replicated():
    tiny = Workload("t", (Layer("fc", m=1, k=16, n=4, weight_format=Binary(),
                                act_format=Binary()),))
    f = fpga.zc706().fold(tiny)
    assert f.replicas > 1
    est = fpga.zc706().estimate(tiny)
    assert est.copies == f.replicas
    one = est.layers[0].latency_s  # latency of a frame is not shortened by copies
    assert one == pytest.approx(f.interval_cycles / fpga.ZC706.clock_hz)
    assert est.throughput_per_s == pytest.approx(f.replicas / one)
