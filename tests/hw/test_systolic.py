"""The fast systolic model: invariants, hwnn's own layers, file parsing and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwnn.errors import DataError, HwnnError
from hwnn.formats import INT8
from hwnn.hw.scalesim_io import read_config, read_report, read_topology, write_config, write_reports
from hwnn.hw.systolic import (
    ArrayConfig,
    LayerSpec,
    SystolicArray,
    compute_stats,
    cycles_only,
    scalesim_layer,
    simulate_layer,
    spec_from_layer,
)
from hwnn.hw.systolic_folds import FoldPlan, gemm_geometry
from hwnn.hw.workload import Layer, Workload

DATA = Path(__file__).parent / "data"

dims = st.integers(min_value=1, max_value=40)
arr = st.integers(min_value=1, max_value=12)
flows = st.sampled_from(["os", "ws", "is"])


@settings(max_examples=60, deadline=None)
@given(m=dims, k=dims, n=dims, rows=arr, cols=arr, df=flows)
def test_cycles_at_least_macs_over_pes_and_utils_at_most_100(m, k, n, rows, cols, df):
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=df, ifmap_sram_kb=1, filter_sram_kb=1,
                      ofmap_sram_kb=1)
    spec = LayerSpec("g", gemm_geometry(m, k, n))
    rep = simulate_layer(spec, cfg, convention="hwnn")
    c = cycles_only(spec, cfg, "hwnn")
    assert c.cycles == rep.total_cycles
    assert c.cycles * rows * cols >= m * k * n  # hwnn counts cycles; SCALE-Sim counts one less
    assert 0 < c.overall_util_pct <= 100 + 1e-9
    assert rep.total_cycles * rows * cols >= m * k * n
    assert 0 < rep.mapping_efficiency_pct <= 100 + 1e-9
    assert 0 < rep.compute_util_pct <= 100 + 1e-9
    assert rep.sram_filter[2] >= k * n and rep.sram_ifmap[2] >= m * k
    assert rep.dram_filter[2] >= k * n  # every weight comes from DRAM at least once


@settings(max_examples=40, deadline=None)
@given(m=dims, k=dims, n=dims, rows=arr, cols=arr, df=flows)
def test_memory_model_agrees_with_closed_form_cycles(m, k, n, rows, cols, df):
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=df)
    spec = LayerSpec("g", gemm_geometry(m, k, n))
    if cycles_only(spec, cfg, "hwnn").cycles == 1:
        with pytest.raises(HwnnError, match="single cycle"):
            simulate_layer(spec, cfg)
        return
    assert simulate_layer(spec, cfg).total_cycles == cycles_only(spec, cfg).cycles


def test_fold_arithmetic_matches_docstring():
    p = FoldPlan("ws", 8, 4, m=100, k=20, n=10)
    assert (p.row_folds, p.col_folds) == (3, 3)
    assert p.fold_cycles == 2 * 8 + 4 + 100 - 2
    st_ = compute_stats(p)
    assert sum(g.count for g in st_.fold_groups) == 9
    assert all(g.cycles == g.stream_cycles + g.fill_drain_cycles for g in st_.fold_groups)
    q = FoldPlan("os", 8, 4, m=100, k=20, n=10)
    assert q.fold_cycles == 20 + 8 + 4 - 2


def test_hwnn_layer_with_padding_batch_and_depthwise():
    conv = Layer("c", "conv2d", in_h=8, in_w=8, in_c=3, out_c=6, kernel_h=3, kernel_w=3,
                 pad_h=1, pad_w=1, batch=2, weight_format=INT8, act_format=INT8)
    spec = spec_from_layer(conv)
    assert (spec.geom.m, spec.geom.k, spec.geom.n) == conv.gemm_dims()
    assert spec.macs == conv.macs
    cfg = ArrayConfig(rows=4, cols=4, dataflow="ws")
    rep = simulate_layer(spec, cfg, convention="hwnn")
    assert rep.macs == conv.macs
    assert set(rep.energy_pj) >= {"compute", "sram_ifmap", "sram_filter", "sram_ofmap", "dram"}
    dw = Layer("d", "depthwise", in_h=8, in_w=8, in_c=5, out_c=5, kernel_h=3, kernel_w=3)
    one = Layer("d1", "conv2d", in_h=8, in_w=8, in_c=1, out_c=1, kernel_h=3, kernel_w=3)
    r_dw = simulate_layer(spec_from_layer(dw), cfg, convention="hwnn")
    r_one = simulate_layer(spec_from_layer(one), cfg, convention="hwnn")
    assert r_dw.macs == dw.macs == 5 * one.macs
    assert r_dw.total_cycles == 5 * r_one.total_cycles


def test_conventions_differ_only_where_documented():
    spec = LayerSpec("g", gemm_geometry(20, 9, 7))
    cfg = ArrayConfig(rows=4, cols=4, dataflow="os")
    a = simulate_layer(spec, cfg, convention="scalesim")
    b = simulate_layer(spec, cfg, convention="hwnn")
    assert b.total_cycles == a.total_cycles + 1
    assert b.sram_ofmap[2] == 20 * 7 < a.sram_ofmap[2]  # no (rows + cols) per fold
    assert a.mapping_efficiency_pct == b.mapping_efficiency_pct


def test_device_runs_a_workload():
    wl = Workload("w", (Layer("fc", m=4, k=30, n=10),
                        Layer("c", "conv2d", in_h=6, in_w=6, in_c=2, out_c=3, kernel_h=3,
                              kernel_w=3)))
    dev = SystolicArray(ArrayConfig(rows=8, cols=8, dataflow="ws", freq_hz=1e8))
    est = dev.run(wl)
    assert [e.layer for e in est] == ["fc", "c"]
    assert all(e.cycles > 0 and 0 < e.utilization <= 1 for e in est)
    assert est[0].latency_s == pytest.approx(est[0].cycles / 1e8)
    fast = SystolicArray(dev.cfg, memory=False).run(wl)
    assert [e.cycles for e in fast] == [e.cycles for e in est]


def test_reports_round_trip(tmp_path):
    specs = read_topology(DATA / "small_conv.csv")
    assert len(specs) == 5 + 2  # DPc5 expands into one layer per channel
    reps = [simulate_layer(s, ArrayConfig(rows=4, cols=4, dataflow="is"), i)
            for i, s in enumerate(specs)]
    paths = write_reports(reps, tmp_path)
    rows = read_report(paths[0])
    assert [r[2] for r in rows] == [r.total_cycles for r in reps]
    assert paths[0].read_text().splitlines()[1].endswith(",")


def test_config_round_trip(tmp_path):
    cfg = ArrayConfig(rows=7, cols=9, dataflow="is", ifmap_sram_kb=3, run_name="x")
    back = read_config(write_config(cfg, tmp_path / "a.cfg"))
    assert back == cfg


@pytest.mark.parametrize(
    "text,needle",
    [
        ("h\nc1, 10, 10, 3, 3, 3, x, 1,\n", ":2: field 7 (num filter) is 'x'"),
        ("h\nc1, 10, 10, 3, 3,\n", ":2: missing field 6 (channels)"),
        ("h\n\nc1, 2, 2, 3, 3, 1, 1, 1,\n", ":3: filter 3x3 is larger"),
        ("h\nc1, 10, 10, 3, 3, 3, 0, 1,\n", "must be positive"),
        ("h\n", "no layers"),
    ],
)
def test_malformed_topology_names_file_line_field(tmp_path, text, needle):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(DataError) as e:
        read_topology(p)
    assert str(p) in str(e.value) and needle in str(e.value)


def test_malformed_configs(tmp_path):
    p = tmp_path / "bad.cfg"
    p.write_text("[architecture_presets]\nArrayHeight: 4\nArrayWidth: four\nDataflow: ws\n")
    with pytest.raises(DataError, match=r"bad.cfg:3: arraywidth = 'four'"):
        read_config(p)
    p.write_text("[architecture_presets]\nArrayHeight: 4\nArrayWidth: 4\nDataflow: xs\n")
    with pytest.raises(DataError, match="dataflow 'xs' unknown"):
        read_config(p)
    p.write_text("not a config")
    with pytest.raises(DataError, match="not a valid .cfg"):
        read_config(p)
    with pytest.raises(DataError, match="cannot read"):
        read_config(tmp_path / "missing.cfg")


def test_tiny_srams_are_rejected_with_a_reason():
    with pytest.raises(HwnnError, match="under 100 bytes"):
        from hwnn.hw.systolic_memory import ReadEstimator

        ReadEstimator(50, "ifmap")


def test_simulate_command_logic(tmp_path):
    from hwnn.commands.simulate import run_simulate

    cfg = write_config(ArrayConfig(rows=4, cols=4, dataflow="ws", run_name="x"), tmp_path / "a.cfg")
    res = run_simulate(DATA / "odd_gemm.csv", cfg, tmp_path / "out", gemm=True)
    assert res.convention == "scalesim" and len(res.layers) == 5
    assert sorted(p.split("/")[-1] for p in res.report_files) == sorted(
        ["COMPUTE_REPORT.csv", "BANDWIDTH_REPORT.csv", "DETAILED_ACCESS_REPORT.csv"])
    seen = []
    m = run_simulate(model="mlp", input_shape="1,8,8", batch=4,
                     on_layer=lambda d, t: seen.append((d, t)))
    assert m.device == "tpu-v1" and m.convention == "hwnn" and seen[-1] == (2, 2)
    assert m.total_macs == 4 * (64 * 128 + 128 * 10)
    with pytest.raises(HwnnError, match="either --topology"):
        run_simulate()
    with pytest.raises(HwnnError, match="needs --config"):
        run_simulate(DATA / "odd_gemm.csv")
    with pytest.raises(HwnnError, match="unknown"):
        run_simulate(model="mlp", device="tpu-v9")
    with pytest.raises(HwnnError, match="input-shape"):
        run_simulate(model="mlp", input_shape="1,x")


@pytest.mark.parametrize("df", ["ws", "os", "is"])
def test_user_bandwidth_mode_is_a_real_double_buffer(df):
    spec = LayerSpec("g", gemm_geometry(300, 200, 150))
    base = ArrayConfig(rows=16, cols=16, dataflow=df, bandwidth_mode="USER", ifmap_sram_kb=8,
                       filter_sram_kb=8, ofmap_sram_kb=8)
    compute = cycles_only(spec, base, "hwnn").cycles
    cycles = []
    for bw in (0.5, 4, 64, 4096):
        r = simulate_layer(spec, base.with_(dram_bw_words=bw), convention="hwnn")
        assert r.total_cycles == compute + r.stall_cycles
        assert r.dram_filter[2] >= 200 * 150 and r.dram_ofmap[2] == 300 * 150
        cycles.append(r.total_cycles)
    assert cycles == sorted(cycles, reverse=True)  # more bandwidth, never slower
    assert cycles[0] > 10 * compute  # starved: memory bound
    assert cycles[-1] < 1.05 * compute  # ample: compute bound (last write-back only)


@pytest.mark.parametrize("df", ["ws", "os", "is"])
def test_user_mode_fetches_a_resident_operand_once(df):
    """A 3x3 convolution's im2col tiles repeat each input word up to nine times; with the
    ifmap and filter resident in half their SRAMs, DRAM reads are their distinct words."""
    spec = scalesim_layer("c", 30, 30, 3, 3, 64, 64, 1)
    cfg = ArrayConfig(rows=32, cols=32, dataflow=df, bandwidth_mode="USER", ifmap_sram_kb=1024,
                      filter_sram_kb=1024, ofmap_sram_kb=1024, dram_bw_words=8)
    r = simulate_layer(spec, cfg, convention="hwnn")
    assert r.dram_ifmap[2] == 30 * 30 * 64  # not the 28 x 28 x 576 im2col entries
    assert r.dram_filter[2] == 3 * 3 * 64 * 64
    small = simulate_layer(spec, cfg.with_(ifmap_sram_kb=16), convention="hwnn")
    assert small.dram_ifmap[2] > r.dram_ifmap[2]  # not resident: tiles refetched
    assert small.total_cycles >= r.total_cycles


@pytest.mark.parametrize("df", ["ws", "os", "is"])
def test_user_mode_charges_each_tile_its_new_ifmap_words(df):
    """Each fold's first ifmap tile loads exactly its addresses not loaded before
    (brute force: the set of im2col addresses of every tile so far)."""
    from hwnn.hw.systolic_folds import Operands
    from hwnn.hw.systolic_user import _new_ifmap_words, _tile_ifmap_index, _tile_keys

    g = scalesim_layer("c", 13, 11, 3, 3, 5, 7, 2).geom
    plan = FoldPlan(df, 4, 3, g.m, g.k, g.n)
    ops = Operands(g, (0, 10_000_000, 20_000_000))
    seen, loaded, keys = np.zeros(g.ifmap_elems, dtype=bool), set(), set()
    for _, fr, fc in plan.fold_order():
        key = _tile_keys(plan, fr, fc)["ifmap"]
        if key in keys:
            continue
        keys.add(key)
        ms, ks = _tile_ifmap_index(plan, fr, fc)
        tile = set(ops.ifmap(ms[:, None], ks[None, :]).ravel().tolist()) - {-1}
        assert _new_ifmap_words(plan, ops, fr, fc, seen) == len(tile - loaded)
        loaded |= tile
    assert len(loaded) == ops.distinct("ifmap") == int(seen.sum())


def _estimator_state(rd):
    return rd.epoch_end_rows, rd.count, rd.elems, rd.epoch_start, rd.first_row, rd.last_row


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40), st.integers(1, 6), st.integers(0, 2**31))
def test_counted_repeats_equal_the_address_arithmetic(period, groups, seed):
    """feed_repeat_unique (request counts only) ends the same epochs as feed_repeat with
    each request's previous occurrence one period earlier, and as the sorted-set feed."""
    from hwnn.hw.systolic_memory import ReadEstimator

    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 5, size=period)  # requests per demand row in one group
    rows = np.arange(period, dtype=np.int64)
    addrs = rng.permutation(int(counts.sum())) + 1000  # distinct within a group
    size = int(rng.integers(2, 6)) * 100  # E = 50 x size // 100 requests per epoch
    counted, explicit, byset = (ReadEstimator(size, "filter") for _ in range(3))
    for g in range(groups):
        grows = rows + g * 1000
        if g == 0:
            counted.feed_unique(grows, counts)
            explicit.feed_unique(grows, counts)
        else:
            counted.feed_repeat_unique(grows, counts, int(counts.sum()))
            idx = explicit.elems + np.arange(int(counts.sum()))
            explicit.feed_repeat(np.repeat(grows, counts), idx - int(counts.sum()))
        byset.feed(np.repeat(grows, counts), addrs)
    assert _estimator_state(counted) == _estimator_state(explicit)
    assert _estimator_state(counted)[:3] == _estimator_state(byset)[:3]
