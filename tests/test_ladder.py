"""The optimization ladder: every rung equals the naive product; Fig. 5 equals the reference."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from hwnn import ladder
from hwnn.errors import ConfigError
from hwnn.kernels import backend, pack_signs
from hwnn.results import to_jsonable

core = backend.native_module()
pytestmark = pytest.mark.skipif(
    core is None or not hasattr(core, "ladder_gemm"), reason="native core not built"
)

# Awkward sizes: below, at and past every register tile (4x8, 6x16, 12x32) and cache block.
SHAPES = [
    (1, 1, 1),
    (3, 17, 33),
    (17, 3, 65),
    (33, 65, 3),
    (65, 100, 17),
    (100, 33, 129),
    (13, 200, 7),
    (130, 70, 300),
]


def _operands(m: int, n: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return (
        rng.standard_normal((m, k), dtype=np.float32),
        rng.standard_normal((k, n), dtype=np.float32),
    )


def _close(c: np.ndarray, ref: np.ndarray, k: int) -> None:
    # float32 sums of k products of unit-scale terms: error grows like k * eps.
    np.testing.assert_allclose(c, ref, rtol=1e-4, atol=2e-6 * k + 1e-5)


@pytest.mark.parametrize("m,n,k", SHAPES)
def test_naive_matches_float64(m, n, k):
    a, b = _operands(m, n, k)
    _close(ladder.gemm(a, b, "naive"), a.astype(np.float64) @ b, k)


@pytest.mark.parametrize("m,n,k", SHAPES)
def test_every_rung_equals_naive(m, n, k):
    a, b = _operands(m, n, k, seed=m + n + k)
    naive = ladder.gemm(a, b, "naive")
    for rung in ladder.available_rungs():
        for threads in (1, 2, 3) if rung == "threads" else (1,):
            for layout in ladder.LAYOUTS if rung not in ladder.SCALAR_RUNGS else ("auto",):
                c = ladder.gemm(a, b, rung, threads, layout)
                assert c.shape == (m, n) and c.dtype == np.float32, (rung, layout)
                _close(c, naive, k)


def test_rungs_cross_cache_blocks():
    # Past the rungs' cache blocks in every dimension (blocked: 64 x 64 x 1024; packed: kc 256).
    m, n, k = 140, 1100, 270
    a, b = _operands(m, n, k, seed=7)
    ref = a.astype(np.float64) @ b
    for rung in ladder.available_rungs():
        if rung != "naive":
            for layout in ("packed", "in_place"):
                _close(ladder.gemm(a, b, rung, 2, layout), ref, k)


def test_available_rungs_start_scalar_and_follow_the_cpu():
    rungs = ladder.available_rungs()
    assert rungs[:4] == list(ladder.SCALAR_RUNGS)
    features = core.cpu_features()
    assert ("avx2" in rungs) == (features["avx2"] and features["fma"])
    assert ("avx512" in rungs) == features["avx512f"]
    assert ("threads" in rungs) == bool(ladder.best_simd())


def test_force_scalar_hides_simd_rungs():
    code = (
        "from hwnn import ladder\n"
        "from hwnn.errors import ConfigError\n"
        "import numpy as np\n"
        "assert ladder.available_rungs() == list(ladder.SCALAR_RUNGS)\n"
        "try:\n"
        "    ladder.gemm(np.ones((2, 2)), np.ones((2, 2)), 'avx2')\n"
        "except ConfigError as e:\n"
        "    print('refused:', e)\n"
        "rows = ladder.run_ladder(sizes=(8,), shapes=[], threads=(1, 2), repeats=1,\n"
        "                         batches=(1,))\n"
        "assert all(r.fraction_of_peak is None for r in rows)\n"
        "assert {r.rung for r in rows} >= {'naive', 'unrolled', 'openblas', 'binary_fig5'}\n"
        "assert not {r.rung for r in rows} & {'avx2', 'avx512', 'threads'}\n"
    )
    env = {**os.environ, "HWNN_FORCE_SCALAR": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "cannot run the 'avx2' rung" in done.stdout


@pytest.mark.parametrize(
    "a,b,rung,threads,message",
    [
        (np.ones((2, 3)), np.ones((4, 2)), "naive", 1, "columns of a must equal rows of b"),
        (np.ones((2, 3)), np.ones((3, 2)), "fastest", 1, "unknown ladder rung"),
        (np.ones((2, 3)), np.ones((3, 2)), "transposed", 1, "unknown layout"),
        (np.ones((2, 3)), np.ones((3, 2)), "threads", 0, "threads must be a positive"),
        (np.ones(3), np.ones((3, 2)), "naive", 1, "2-D matrix"),
        (np.ones((0, 3)), np.ones((3, 2)), "naive", 1, "non-empty"),
        (np.array([["a"]]), np.ones((1, 1)), "naive", 1, "real numbers"),
    ],
)
def test_bad_input_is_a_config_error(a, b, rung, threads, message):
    with pytest.raises(ConfigError, match=message):
        if rung == "transposed":
            ladder.gemm(a, b, "naive", threads, layout=rung)
        else:
            ladder.gemm(a, b, rung, threads)


# ---------------------------------------------------------------- Fig. 5 binary kernel


def _signs(x: np.ndarray) -> np.ndarray:
    return np.where(x < 0, -1, 1).astype(np.int64)  # DESIGN.md: a set bit (x < 0) is -1


@pytest.mark.parametrize("m,n,k", [(1, 1, 1), (3, 5, 63), (4, 2, 64), (5, 3, 65), (17, 9, 130),
                                   (65, 66, 200), (70, 130, 4161)])
@pytest.mark.parametrize("threads", [1, 2])
def test_fig5_equals_sign_matmul(m, n, k, threads):
    rng = np.random.default_rng(k)
    x, w = rng.standard_normal((m, k)), rng.standard_normal((n, k))
    got = ladder.binary_matmul_fig5(pack_signs(x), pack_signs(w), threads)
    np.testing.assert_array_equal(got, _signs(x) @ _signs(w).T)


def test_fig5_counts_equal_the_bitwise_reference():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 2**64, size=(70, 67), dtype=np.uint64)
    b = rng.integers(0, 2**64, size=(67, 37), dtype=np.uint64)  # the figure's [k words, m]
    ref = core.binary_gemm_fig5_reference(a, b)
    np.testing.assert_array_equal(core.binary_gemm_fig5(a, b, 2), ref)
    xor = a[:, None, :] ^ b.T[None, :, :]
    np.testing.assert_array_equal(ref, np.bitwise_count(xor).sum(axis=2))


def test_fig5_rejects_mismatched_operands():
    a, w = pack_signs(np.ones((2, 70))), pack_signs(np.ones((3, 65)))
    with pytest.raises(ConfigError, match="different K"):
        ladder.binary_matmul_fig5(a, w)
    with pytest.raises(ConfigError, match="Packed"):
        ladder.binary_matmul_fig5(np.ones((2, 2)), w)


# ---------------------------------------------------------------- measurement


def test_peak_is_positive_and_rejects_unknown_isa():
    assert ladder.measure_peak_gflops(repeats=1, seconds=0.005) > 0
    with pytest.raises(ConfigError, match="FMA peak"):
        ladder.measure_peak_gflops("sse9")


def test_rows_to_time_sub_blocks_only_slow_rungs():
    big = ladder.GemmShape("2048^3", 2048, 2048, 2048)
    assert ladder._rows_to_time("naive", big) < 16
    rows = ladder._rows_to_time("blocked", big)
    assert rows % ladder.SCALAR_ROW_BLOCK == 0 and 64 <= rows < 2048
    assert ladder._rows_to_time("avx512", big) == 2048
    assert ladder._rows_to_time("blocked", ladder.GemmShape("1024^3", 1024, 1024, 1024)) == 1024


def _small_run(monkeypatch, **kwargs):
    monkeypatch.setattr(ladder, "NAIVE_FLOP_BUDGET", 2.0 * 9 * 9 * 4)  # naive times 4 rows
    return ladder.run_ladder(
        sizes=(9,), shapes=[ladder.GemmShape("tiny", 5, 7, 11)], threads=(1, 2), repeats=1,
        batches=(1, 3), peak_gflops=10.0, **kwargs,
    )


def test_run_ladder_rows(monkeypatch):
    rows = _small_run(monkeypatch)
    square = [r for r in rows if r.shape == "9^3"]
    rungs = {r.rung for r in square}
    assert set(ladder.available_rungs()) | {"openblas", "binary_fig5"} <= rungs
    naive = next(r for r in square if r.rung == "naive")
    assert naive.speedup_over_naive == pytest.approx(1.0)
    assert naive.measured_m == 4 and "rows 0..3" in naive.note
    for r in rows:
        assert r.gflops > 0 and r.ratio_to_openblas > 0
        if r.rung == "openblas":
            assert r.ratio_to_openblas == pytest.approx(1.0)
        if not r.rung.startswith("binary"):
            assert r.fraction_of_peak == pytest.approx(r.gflops / (10.0 * r.threads))
    assert {r.threads for r in square if r.rung == "threads"} == {2}
    batched = [r for r in rows if r.rung == "batched_classification"]
    assert [r.m for r in batched] == [1, 3]
    assert all(r.latency_per_sample_s == pytest.approx(r.seconds / r.m) for r in batched)
    keys = {"rung", "m", "n", "k", "threads", "gflops", "fraction_of_peak",
            "speedup_over_naive", "ratio_to_openblas"}
    assert keys <= set(to_jsonable(rows[0]))


def test_run_ladder_rejects_bad_settings():
    with pytest.raises(ConfigError, match="sizes"):
        ladder.run_ladder(sizes=(0,))
    with pytest.raises(ConfigError, match="threads"):
        ladder.run_ladder(sizes=(8,), threads=())
    with pytest.raises(ConfigError, match="repeats"):
        ladder.run_ladder(sizes=(8,), repeats=0)


def test_study_shapes_lower_convolutions_by_im2col():
    shapes = {s.name: s for s in ladder.study_shapes(batch=2)}
    assert (shapes["mlp.fc1"].m, shapes["mlp.fc1"].n, shapes["mlp.fc1"].k) == (2, 128, 784)
    conv1 = shapes["lenet5.conv1"]
    assert (conv1.m, conv1.n, conv1.k) == (2 * 28 * 28, 6, 25)
    conv2 = shapes["lenet5.conv2"]
    assert (conv2.m, conv2.n, conv2.k) == (2 * 10 * 10, 16, 150)


def test_classify_matches_numpy():
    weights = ladder._mlp_weights(seed=1)
    assert all(w.dtype == b.dtype == np.float32 for w, b in weights)
    x = np.random.default_rng(2).standard_normal((9, 784), dtype=np.float32)
    top = ladder.best_simd() or "unrolled"
    got = ladder.classify(x, weights, lambda a, b: ladder.gemm(a, b, top))
    np.testing.assert_array_equal(got, ladder.classify(x, weights, np.matmul))


def test_section_has_table_rows_and_svg_charts(monkeypatch):
    rows = _small_run(monkeypatch, binary=False)
    section = ladder.ladder_section(rows)
    assert section.key == "ladder" and section.data == rows
    assert len(section.charts) == 2
    assert all(c.lstrip().startswith("<svg") for c in section.charts)


def test_cli_json_and_bad_sizes(monkeypatch):
    from hwnn.commands import ladder as command

    monkeypatch.setattr(ladder, "measure_peak_gflops", lambda *a, **k: 10.0)
    app = typer.Typer()
    command.register(app)
    app.command("noop")(lambda: None)  # two commands, so typer keeps the "ladder" name
    runner = CliRunner()
    args = ["ladder", "--json", "--sizes", "8", "--threads", "1", "--repeats", "1",
            "--batches", "2", "--no-layers", "--no-binary"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["peak_gflops_per_core"] == 10.0
    assert report["cpu_count"] >= 1 and "load_average_1m" in report
    assert {r["rung"] for r in report["rows"]} >= {"naive", "openblas", "batched_classification"}
    bad = runner.invoke(app, ["ladder", "--sizes", "8,x"])
    assert bad.exit_code == 2 and "--sizes" in bad.output
