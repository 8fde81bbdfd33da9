"""Step mode (ws, os, is) against the fast model; frames; the TPU v1 preset and the study
section."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwnn.errors import ConfigError
from hwnn.hw.presets_tpu import TPU_V1, tpu_section
from hwnn.hw.systolic import ArrayConfig, LayerSpec, cycles_only, tpu_v1
from hwnn.hw.systolic_folds import FoldPlan, gemm_geometry
from hwnn.hw.systolic_step import (
    PHASES,
    render_gif,
    render_png,
    render_svg,
    render_text,
    run,
    run_is,
    run_os,
    run_ws,
)
from hwnn.hw.workload import Layer, Workload

small = st.integers(min_value=1, max_value=7)


DATAFLOWS = ("ws", "os", "is")


def _fast_cycles(dataflow, m, k, n, rows, cols):
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow=dataflow)
    return cycles_only(LayerSpec("g", gemm_geometry(m, k, n)), cfg, "hwnn").cycles


def _check_against_fast_model(dataflow, m, k, n, rows, cols, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(-9, 10, (m, k))
    w = rng.integers(-9, 10, (k, n))
    res = run(dataflow, a, w, rows, cols, keep_frames=False)
    assert np.array_equal(res.result, a @ w), (dataflow, m, k, n, rows, cols)
    assert res.cycles == _fast_cycles(dataflow, m, k, n, rows, cols)
    assert res.cycles == FoldPlan(dataflow, rows, cols, m, k, n).total_rows


# (m, k, n, rows, cols): 1x1 arrays, 1-row and 1-column arrays, non-square, K = 1, N = 1,
# M = 1, and shapes with several folds along both array dimensions for every dataflow
AWKWARD = [
    (1, 1, 1, 1, 1), (3, 4, 5, 1, 1), (5, 3, 4, 1, 4), (5, 3, 4, 4, 1), (4, 1, 5, 3, 2),
    (1, 6, 1, 2, 3), (7, 5, 6, 2, 3), (6, 7, 5, 3, 2), (9, 8, 7, 2, 2), (2, 3, 9, 5, 1),
    (8, 1, 1, 3, 3), (1, 1, 8, 2, 5), (10, 9, 11, 4, 3), (3, 3, 3, 7, 7),
]


@pytest.mark.parametrize("dataflow", DATAFLOWS)
@pytest.mark.parametrize("shape", AWKWARD, ids=lambda s: "x".join(map(str, s)))
def test_awkward_shapes_equal_matmul_and_fast_cycle_count(dataflow, shape):
    _check_against_fast_model(dataflow, *shape)


@settings(max_examples=30, deadline=None)
@given(dataflow=st.sampled_from(DATAFLOWS), m=small, k=small, n=small,
       rows=st.integers(1, 4), cols=st.integers(1, 4), seed=st.integers(0, 1000))
def test_step_mode_equals_matmul_and_fast_cycle_count(dataflow, m, k, n, rows, cols, seed):
    _check_against_fast_model(dataflow, m, k, n, rows, cols, seed)


def test_float_operands_and_named_entry_points():
    a = np.array([[0.5, -1.25, 2.0]])
    w = np.array([[1.0, 2.0], [0.5, -4.0], [0.25, 1.0]])
    for fn in (run_ws, run_os, run_is):
        res = fn(a, w, 2, 2)
        assert np.array_equal(res.result, a @ w)
        assert {f.dataflow for f in res.frames} == {res.dataflow}


def _expected_phases(dataflow, m, k, n, rows, cols):
    """Phase of every cycle from the schedule's formulas (module docstring)."""
    plan = FoldPlan(dataflow, rows, cols, m, k, n)
    names = PHASES[dataflow]
    T = plan.sr_sc_t[2]
    out = []
    for _, fr, fc in plan.fold_order():
        ru, cu = plan.used(fr, fc)
        for tau in range(plan.fold_cycles):
            if dataflow == "os":  # operands still entering the edges, then the wavefront empties
                out.append(names[0] if tau < T - 1 + max(ru, cu) else names[1])
            elif tau < rows:
                out.append(names[0])
            else:  # the last streamed value enters row ru - 1 at cycle rows + T - 1 + ru - 1
                out.append(names[1] if tau < rows + T + ru - 1 else names[2])
    return out


@pytest.mark.parametrize("dataflow", DATAFLOWS)
def test_every_frame_names_its_phase(dataflow):
    m, k, n, rows, cols = 5, 4, 3, 3, 2  # several folds, partial last folds
    a = np.arange(m * k).reshape(m, k)
    w = np.arange(k * n).reshape(k, n) - 5
    res = run(dataflow, a, w, rows, cols)
    assert [f.phase for f in res.frames] == _expected_phases(dataflow, m, k, n, rows, cols)
    assert set(PHASES[dataflow]) == {f.phase for f in res.frames}
    assert [f.cycle for f in res.frames] == list(range(res.cycles))
    emitted = sorted((mm, nn) for f in res.frames for mm, nn, _ in f.outputs)
    per_output = {"os": 1, "ws": -(-k // rows), "is": -(-k // rows)}[dataflow]
    assert emitted == sorted([(i, j) for i in range(m) for j in range(n)] * per_output)


def test_phase_names_per_dataflow():
    assert PHASES == {
        "ws": ("load weights", "stream inputs", "drain"),
        "os": ("stream operands", "drain outputs"),
        "is": ("load inputs", "stream weights", "drain"),
    }


def test_frames_show_loading_then_streaming(tmp_path):
    a = np.array([[1, 2], [3, 4]])
    w = np.array([[5, 6], [7, 8]])
    res = run_ws(a, w, 2, 2)
    assert [f.phase for f in res.frames[:2]] == ["load weights"] * 2
    assert np.array_equal(res.frames[1].weights, w)  # weights in place after 2 cycles
    first_out = next(f for f in res.frames if f.outputs)
    assert first_out.outputs[0] == (0, 0, 19.0)  # 1*5 + 2*7 leaves the bottom first
    text = render_text(first_out)
    assert "y[0,0]=19" in text and "w=7" in text
    assert render_svg(first_out).startswith("<svg")
    assert render_png(first_out, tmp_path / "f.png").stat().st_size > 1000
    gif = render_gif(res.frames, tmp_path / "a.gif")
    assert gif.read_bytes()[:6] == b"GIF89a"


def test_os_frames_accumulate_in_place(tmp_path):
    a = np.array([[1, 2], [3, 4]])
    w = np.array([[5, 6], [7, 8]])
    res = run_os(a, w, 2, 2)
    assert res.cycles == 2 + 2 + 2 - 2
    f0, f1 = res.frames[:2]
    assert f0.phase == "stream operands" and f0.inputs[0, 0] == 1 and f0.weights[0, 0] == 5
    # operands move: A right, W down; PE(0, 0) now adds 2 * 7 to its 1 * 5
    assert f1.inputs[0, 1] == 1 and f1.weights[1, 0] == 5
    assert f1.psums[0, 0] == 19 and f1.outputs == ((0, 0, 19.0),)
    assert np.array_equal(res.frames[-1].stationary, a @ w)  # every accumulator final
    assert res.frames[-1].phase == "drain outputs" and res.frames[-1].outputs == ((1, 1, 50.0),)
    text = render_text(f1)
    assert "acc=19" in text and "os:" in text and "y[0,0]=19" in text
    assert render_svg(f1).startswith("<svg")
    assert render_gif(res.frames, tmp_path / "os.gif").read_bytes()[:6] == b"GIF89a"


def test_is_frames_hold_inputs_and_stream_weights(tmp_path):
    a = np.array([[1, 2], [3, 4]])
    w = np.array([[5, 6], [7, 8]])
    res = run_is(a, w, 2, 2)
    assert [f.phase for f in res.frames[:2]] == ["load inputs"] * 2
    # PE(i, j) holds A[j, i] (A transposed: K down the rows, M across the columns)
    assert np.array_equal(res.frames[1].inputs, a.T)
    assert np.array_equal(res.frames[1].stationary, a.T)
    f2 = res.frames[2]
    assert f2.phase == "stream weights" and f2.weights[0, 0] == 5 and f2.psums[0, 0] == 5
    first_out = next(f for f in res.frames if f.outputs)
    assert first_out.outputs[0] == (0, 0, 19.0)
    assert res.frames[-1].phase == "drain"
    text = render_text(first_out)
    assert "is: x held" in text and "x=2" in text
    assert render_png(first_out, tmp_path / "is.png").stat().st_size > 1000


def test_step_mode_refuses_bad_input():
    with pytest.raises(ConfigError, match="matching K"):
        run_ws(np.ones((2, 3)), np.ones((2, 2)), 2, 2)
    with pytest.raises(ConfigError, match="matching K"):
        run("os", np.ones(3), np.ones((3, 2)), 2, 2)
    with pytest.raises(ConfigError, match="too many frames"):
        run_ws(np.ones((200, 200)), np.ones((200, 200)), 2, 2)
    for df in DATAFLOWS:
        with pytest.raises(ConfigError, match="at least 1x1, got 0x2"):
            run(df, np.ones((2, 2)), np.ones((2, 2)), 0, 2)
        with pytest.raises(ConfigError, match="at least 1x1, got 2x-1"):
            run(df, np.ones((2, 2)), np.ones((2, 2)), 2, -1)
        with pytest.raises(ConfigError, match="must not be empty"):
            run(df, np.ones((0, 2)), np.ones((2, 2)), 2, 2)
    with pytest.raises(ConfigError, match="dataflow 'rs' unknown; use one of ws, os, is"):
        run("rs", np.ones((2, 2)), np.ones((2, 2)), 2, 2)
    with pytest.raises(ConfigError, match="real numbers"):
        run("ws", np.array([["a"]]), np.ones((1, 1)), 1, 1)


def test_tpu_v1_preset_numbers():
    assert TPU_V1.peak_tops == pytest.approx(91.75, abs=0.01)  # "92 TOPS"
    assert TPU_V1.ridge_macs_per_weight_byte == pytest.approx(1350, rel=0.01)
    cfg = TPU_V1.array_config()
    assert (cfg.rows, cfg.cols, cfg.dataflow) == (256, 256, "ws")
    assert cfg.ifmap_sram_kb == 24 * 1024 and cfg.ofmap_sram_kb == 4 * 1024
    assert cfg.filter_sram_kb == 4 * 64  # four 256x256-byte weight tiles
    dev = tpu_v1()
    est = dev.run(Workload("w", (Layer("fc", m=256, k=256, n=256),)))
    # one full fold: 2*256 + 256 + 256 - 2 cycles, at 700 MHz
    assert est[0].cycles == 1022
    assert est[0].latency_s == pytest.approx(1022 / 700e6)


def test_tpu_section_for_the_study():
    wl = Workload("tiny", (Layer("c", "conv2d", in_h=6, in_w=6, in_c=1, out_c=4, kernel_h=3,
                                 kernel_w=3), Layer("fc", m=1, k=64, n=10)))
    sec = tpu_section(wl)
    assert sec.key == "tpu" and [r.layer for r in sec.data] == ["c", "fc"]
    assert all(0 < r.overall_util_pct <= 100 and r.dram_bytes > 0 for r in sec.data)
    # the per-layer chart, then one cycle of a 3x3 array in each dataflow
    assert len(sec.charts) == 4 and all(c.startswith("<svg") for c in sec.charts)
    assert all(f"{d} cycle" in c for d, c in zip(("ws", "os", "is"), sec.charts[1:], strict=True))
