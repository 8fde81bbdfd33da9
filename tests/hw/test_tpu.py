"""TPU v1 against the ISCA 2017 paper: peak, ridge, the six apps' roofline predictions."""

import pytest

from hwnn.errors import ConfigError
from hwnn.formats import FP32, INT8, Binary, Int
from hwnn.hw import tpu
from hwnn.hw.workload import Layer, Workload


def test_peak_and_ridge():
    c = tpu.TPUConfig()
    assert c.peak_ops_per_s / 1e12 == pytest.approx(92, rel=0.005)  # 91.75 TOPS
    assert c.ridge_macs_per_weight_byte == pytest.approx(1350, rel=0.01)
    assert tpu.tpu_v1().roofline().ridge_ops_per_byte == pytest.approx(2 * 1349.27, rel=1e-4)


PREDICTED_TOPS = {  # min(91.75, 2 x I x 34 GB/s), I from the paper's Table 1
    "MLP0": 13.6, "MLP1": 11.42, "LSTM0": 4.35, "LSTM1": 6.53, "CNN0": 91.75, "CNN1": 91.75,
}


@pytest.mark.parametrize("app", tpu.PAPER_APPS, ids=lambda a: a.name)
def test_six_apps_roofline_predictions(app):
    predicted = tpu.paper_roofline_tops(app)
    assert predicted == pytest.approx(PREDICTED_TOPS[app.name], rel=0.005)
    # the roofline is an upper bound on what the paper measured
    assert app.measured_tops <= predicted
    # the device model on a stand-in workload of that intensity lands on the roofline
    w = tpu.paper_app_workload(app)
    est = tpu.tpu_v1().estimate(w, app.batch)
    attained = 2 * w.macs / est.latency_s / 1e12
    assert attained == pytest.approx(predicted, rel=0.01)
    expected_bound = "memory" if app.macs_per_weight_byte < 1349 else "compute"
    assert {e.bound for e in est.layers} == {expected_bound}


def test_mapped_cycles_hand_computed():
    # M=10 rows through a 256x256 int8 tile: the deck's "10 x 256 times 256 x 256 takes 10
    # cycles", plus the 256 + 256 fill and drain; the 64 KiB of weights take 1318 cycles
    # to stream at 34 GB/s, so this small layer is memory-bound.
    layer = Layer("l", m=10, k=256, n=256, weight_format=INT8, act_format=INT8)
    (e,) = tpu.tpu_v1().run(Workload("w", (layer,)))
    assert e.cycles == pytest.approx(65536 / 34e9 * 700e6)
    assert e.bound == "memory"
    big = Layer("b", m=4096, k=512, n=300, weight_format=INT8, act_format=INT8)
    (e,) = tpu.tpu_v1().run(Workload("w", (big,)))
    assert e.cycles == 2 * 2 * 4096 + 512  # ceil(512/256) x ceil(300/256) x M + fill/drain
    assert e.utilization == pytest.approx(4096 * 512 * 300 / (e.cycles * 65536))


def test_formats_float_is_infeasible_int16_slower():
    dev = tpu.tpu_v1()
    f = dev.run(Workload("w", (Layer("f", m=8, k=8, n=8, weight_format=FP32,
                                     act_format=FP32),)))[0]
    assert not f.feasible and "quantize to int8" in f.reason
    base = Layer("x", m=4096, k=1024, n=1024, weight_format=INT8, act_format=INT8)
    t8 = dev.run(Workload("w", (base,)))[0].cycles
    t816 = dev.run(Workload("w", (base.with_formats(INT8, Int(16)),)))[0].cycles
    t16 = dev.run(Workload("w", (base.with_formats(Int(16), Int(16)),)))[0].cycles
    tb = dev.run(Workload("w", (base.with_formats(Binary(), Binary()),)))[0].cycles
    assert t816 == pytest.approx(2 * t8, rel=0.01) and t16 == pytest.approx(4 * t8, rel=0.01)
    assert tb == t8  # narrower formats gain nothing on 8-bit MACs


def test_energy_is_40_watts_busy():
    app = tpu.PAPER_APPS[0]
    est = tpu.tpu_v1().estimate(tpu.paper_app_workload(app), app.batch)
    assert est.energy_pj == pytest.approx(40.0 * est.latency_s * 1e12, rel=1e-9)
    assert {"compute", "unified_buffer", "accumulators", "dram"} <= set(est.energy_by_part_pj())


def test_backend_choice():
    with pytest.raises(ConfigError):
        tpu.TPU(backend="magic")


def test_systolic_backend_same_interface_same_scale():
    layer = Layer("l", m=4096, k=512, n=512, weight_format=INT8, act_format=INT8)
    w = Workload("w", (layer,))
    (sim,) = tpu.tpu_v1("systolic").run(w)
    (roof,) = tpu.tpu_v1().run(w)
    assert sim.macs == roof.macs and sim.feasible and roof.bound == "compute"
    # 4 weight tiles; SCALE-Sim's ws folds (2 x 256 + 256 + M - 2 cycles) do not overlap
    # weight loading, the double-buffered TPU does: the simulator is slower, not by 2x
    assert roof.cycles <= sim.cycles <= 1.5 * roof.cycles
    assert sum(sim.energy_pj.values()) == pytest.approx(40.0 * sim.latency_s * 1e12)
