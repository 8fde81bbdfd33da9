"""Step mode against the fast model; frames; the TPU v1 preset and the study section."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwnn.errors import ConfigError
from hwnn.hw.presets_tpu import TPU_V1, tpu_section
from hwnn.hw.systolic import ArrayConfig, LayerSpec, cycles_only, tpu_v1
from hwnn.hw.systolic_folds import gemm_geometry
from hwnn.hw.systolic_step import render_gif, render_png, render_svg, render_text, run_ws
from hwnn.hw.workload import Layer, Workload

small = st.integers(min_value=1, max_value=7)


@settings(max_examples=40, deadline=None)
@given(t=small, k=small, n=small, rows=st.integers(1, 4), cols=st.integers(1, 4),
       seed=st.integers(0, 1000))
def test_step_mode_equals_matmul_and_fast_cycle_count(t, k, n, rows, cols, seed):
    rng = np.random.default_rng(seed)
    a = rng.integers(-9, 10, (t, k))
    w = rng.integers(-9, 10, (k, n))
    res = run_ws(a, w, rows, cols, keep_frames=False)
    assert np.array_equal(res.result, a @ w)
    cfg = ArrayConfig(rows=rows, cols=cols, dataflow="ws")
    fast = cycles_only(LayerSpec("g", gemm_geometry(t, k, n)), cfg, "hwnn")
    assert res.cycles == fast.cycles


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


def test_step_mode_refuses_bad_shapes_and_huge_frame_counts():
    with pytest.raises(ConfigError, match="matching K"):
        run_ws(np.ones((2, 3)), np.ones((2, 2)), 2, 2)
    with pytest.raises(ConfigError, match="too many frames"):
        run_ws(np.ones((200, 200)), np.ones((200, 200)), 2, 2)


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
    assert len(sec.charts) == 2 and all(c.startswith("<svg") for c in sec.charts)
