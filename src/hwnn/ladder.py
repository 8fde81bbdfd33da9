"""The deck's CPU speed-ups, measured: an optimization ladder from naive to near-BLAS.

The deck's CPU slides name what makes a network fast on a CPU: memory locality and caches,
loop unrolling, multiple accumulators (``c0 += a[i]*b[i]; c1 += ...``), SIMD, threads and
batched classification, plus the blocked binarized multiply of its Fig. 5. Each rung below is
one native C++ kernel (``csrc/ladder.cpp``) for the same product C = A B (float32, A [m, k],
B [k, n]) that changes one thing relative to the rung before it:

======== ============================================================================
rung     what changes
======== ============================================================================
naive    i-j-k: one dot product per output, walking B down a column (stride n)
loop_or. i-k-j: unit-stride inner loop over rows of B and C (locality)
blocked  i-k-j on tiles of B that stay in L2 (cache blocking)
unrolled a 4 x 8 tile of C in registers, rows c0..c3 as independent accumulators
avx2     packed panels + a 6 x 16 AVX2 FMA micro-kernel (Goto & van de Geijn 2008); B that
         fits in half of L2 (or A shorter than the micro-kernel) is read in place instead
avx512   the same with a 12 x 32 AVX-512 micro-kernel (on CPUs that have it)
threads  the widest SIMD rung with its row blocks spread over OpenMP threads
======== ============================================================================

Every rung is timed in the same run as NumPy's OpenBLAS ``sgemm`` pinned to the same thread
count, interleaved round by round so that load from other processes hits all of them alike,
and against this core's peak measured with an FMA-only loop. GFLOP/s count 2 flops
per multiply-add (DESIGN.md). The naive rung (and, at large sizes, the other scalar rungs) is
timed on a sub-block of the rows of C: every row of C costs the same in these loop nests,
so the rate of a row block is the rate of the whole product; ``measured_m`` and ``note`` say
when that happened.

Reference: K. Goto and R. van de Geijn, "Anatomy of High-Performance Matrix Multiplication",
ACM TOMS 34(3), 2008 (packing, the micro-kernel and the cache-block loop nest).
"""

from __future__ import annotations

import io
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from hwnn.errors import ConfigError, NativeUnavailableError
from hwnn.hw.workload import Layer
from hwnn.kernels import backend
from hwnn.kernels.bitpack import Packed
from hwnn.results import Section

SCALAR_RUNGS = ("naive", "loop_order", "blocked", "unrolled")
SIMD_RUNGS = ("avx2", "avx512")
RUNGS = (*SCALAR_RUNGS, *SIMD_RUNGS, "threads")

# Flops timed per call: the naive rung runs at well under 1 GFLOP/s, so it gets a row block of
# about 0.1 s; the other scalar rungs time whole products up to 1024^3 and row blocks beyond.
NAIVE_FLOP_BUDGET = 5e7
SCALAR_FLOP_BUDGET = 2.2e9
SCALAR_ROW_BLOCK = 64  # rows per cache block in rungs 3-4 (kBlockM in csrc/ladder.cpp)

MLP_LAYERS = (784, 128, 10)  # the study's default MLP on MNIST: 784-128-10
DEFAULT_BATCHES = (1, 4, 16, 64, 256)


@dataclass(frozen=True)
class GemmShape:
    """One GEMM to time: C [m, n] = A [m, k] B [k, n]."""

    name: str
    m: int
    n: int
    k: int


@dataclass(frozen=True)
class LadderRow:
    """One rung on one shape. ``gflops`` counts 2 flops per multiply-add (binary rows: 2 ops
    per 1-bit multiply-add). ``fraction_of_peak`` is against the FMA-loop peak of one core
    times ``threads`` (None for binary rows, whose ops are not FMAs). ``speedup_over_naive``
    compares with the naive rung on the same shape (single thread); ``ratio_to_openblas`` with
    NumPy's OpenBLAS sgemm on the same shape and thread count in the same run."""

    rung: str
    m: int
    n: int
    k: int
    threads: int
    gflops: float
    fraction_of_peak: float | None
    speedup_over_naive: float | None
    ratio_to_openblas: float | None
    shape: str = ""
    seconds: float = 0.0
    measured_m: int = 0
    latency_per_sample_s: float | None = None
    note: str = ""


@dataclass(frozen=True)
class LadderReport:
    """What ``hwnn bench ladder`` prints: the machine, its measured peak and every row."""

    cpu_model: str
    simd: str
    peak_gflops_per_core: float | None  # None without AVX2/AVX-512 (no FMA loop to time)
    openblas: str
    rows: list[LadderRow] = field(default_factory=list)
    cpu_count: int = 0
    load_average_1m: float | None = None  # at the end of the run: > cpu_count means contention


# ---------------------------------------------------------------- native entry points


def _core():
    core = backend.native_module()
    if core is None or not hasattr(core, "ladder_gemm"):
        raise NativeUnavailableError(
            f"the optimization ladder runs only on the native core: {backend.BUILD_HINT}"
        )
    return core


def available_rungs() -> list[str]:
    """The float rungs this CPU can run, slowest first (``threads`` needs a SIMD rung)."""
    core = _core()
    simd = [r for r in SIMD_RUNGS if core.ladder_simd_available(r)]
    return [*SCALAR_RUNGS, *simd, *(["threads"] if simd else [])]


def best_simd() -> str:
    """The widest SIMD rung here: "avx512", "avx2", or "" when the CPU has neither."""
    return str(_core().ladder_best_simd())


def _as_operand(x: object, name: str) -> np.ndarray:
    if (isinstance(x, np.ndarray) and x.dtype == np.float32 and x.ndim == 2 and x.size
            and x.flags.c_contiguous):
        return x  # the common case, checked cheaply: batch-1 calls take microseconds
    arr = np.asarray(x)
    if arr.ndim != 2 or 0 in arr.shape:
        raise ConfigError(f"{name} must be a non-empty 2-D matrix, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise ConfigError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float32)


LAYOUTS = ("auto", "packed", "in_place")


def gemm(a: object, b: object, rung: str, threads: int = 1, layout: str = "auto") -> np.ndarray:
    """C = A B in float32 with one rung of the ladder (``threads`` only for "threads").

    The "threads" rung runs the widest SIMD rung on ``threads`` OpenMP threads. ``layout``
    says how the SIMD rungs read B: "packed" into panels, "in_place" four rows of C at a time,
    or "auto": in place when B fits in half of L2 or A has fewer rows than the micro-kernel.
    """
    if rung not in RUNGS:
        raise ConfigError(f"unknown ladder rung {rung!r}: use one of {', '.join(RUNGS)}")
    if layout not in LAYOUTS:
        raise ConfigError(f"unknown layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    if not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads must be a positive integer, got {threads!r}")
    aa, bb = _as_operand(a, "a"), _as_operand(b, "b")
    if aa.shape[1] != bb.shape[0]:
        raise ConfigError(
            f"a is {aa.shape[0]}x{aa.shape[1]} and b is {bb.shape[0]}x{bb.shape[1]}: "
            "columns of a must equal rows of b"
        )
    core = _core()
    if rung in SIMD_RUNGS + ("threads",):
        isa = best_simd() if rung == "threads" else rung
        if not isa or not core.ladder_simd_available(isa):
            raise ConfigError(
                f"this CPU cannot run the {rung!r} rung; it runs {', '.join(available_rungs())}"
            )
        return core.ladder_gemm(aa, bb, isa, threads if rung == "threads" else 1, layout)
    return core.ladder_gemm(aa, bb, rung, 1)


def binary_matmul_fig5(a: Packed, w: Packed, threads: int = 1) -> np.ndarray:
    """sign(a) @ sign(w).T as int64 [M, N] with the deck's Fig. 5 kernel.

    ``a`` packs M rows and ``w`` packs N rows (a Linear layer's weight), both of true length
    K. Fig. 5 wants B word-major, B[p, j] = word p of column j, so ``w``'s words are
    transposed first. The kernel returns popcount(a_i XOR w_j) summed over words; the dot
    product of the +-1 vectors is K - 2 * that count (DESIGN.md bit-order contract).
    """
    for name, p in (("a", a), ("w", w)):
        if not isinstance(p, Packed):
            raise ConfigError(f"{name} must be a Packed (from pack_signs), got {type(p).__name__}")
    if a.k != w.k or a.words.shape[1] != w.words.shape[1]:
        raise ConfigError(f"operands have different K ({a.k} and {w.k}): pack rows of equal length")
    if not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"threads must be a positive integer, got {threads!r}")
    aw = np.ascontiguousarray(a.words, dtype=np.uint64)
    bt = np.ascontiguousarray(np.asarray(w.words, dtype=np.uint64).T)
    counts = _core().binary_gemm_fig5(aw, bt, threads)
    return a.k - 2 * counts.astype(np.int64)


# ---------------------------------------------------------------- timing


@dataclass
class _Job:
    """One thing to time: ``fn`` computes ``flops`` (on ``rows`` rows of C); ``blas`` pins
    NumPy's BLAS to that many threads around each sample (outside the timed region)."""

    rung: str
    threads: int
    rows: int
    flops: float
    fn: Callable[[], object]
    blas: int | None = None
    seconds: float = 0.0

    @property
    def gflops(self) -> float:
        return self.flops / self.seconds / 1e9


def _time_interleaved(jobs: Sequence[_Job], repeats: int, min_sample_s: float = 0.02) -> None:
    """Sets each job's ``seconds``: the median over ``repeats`` rounds, where every round times
    every job once. Interleaving spreads each job's samples over the whole measurement, so
    load from other processes hits all rungs alike and their ratios stay fair.

    One untimed warm-up call per job first (page faults, thread pools); calls shorter than
    ``min_sample_s`` are repeated inside a sample so timer resolution does not dominate.
    """
    inner = []
    for job in jobs:
        with _blas(job.blas):
            t0 = time.perf_counter()
            job.fn()
            once = time.perf_counter() - t0
        inner.append(max(1, int(min_sample_s / max(once, 1e-7))))
    samples: list[list[float]] = [[] for _ in jobs]
    for _ in range(repeats):
        for job, n, out in zip(jobs, inner, samples, strict=True):
            with _blas(job.blas):
                t0 = time.perf_counter()
                for _ in range(n):
                    job.fn()
                out.append((time.perf_counter() - t0) / n)
    for job, out in zip(jobs, samples, strict=True):
        job.seconds = statistics.median(out)


def _blas(threads: int | None):
    return nullcontext() if threads is None else blas_threads(threads)


@contextmanager
def blas_threads(n: int) -> Iterator[bool]:
    """Pins NumPy's BLAS to ``n`` threads (threadpoolctl); yields False when it cannot, in
    which case the caller should have set OPENBLAS_NUM_THREADS before importing NumPy."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield False
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield True


def openblas_info() -> str:
    """Which BLAS NumPy calls here, e.g. "openblas 0.3.31 (SkylakeX)"."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "numpy BLAS (threadpoolctl not installed)"
    np.ones((2, 2)) @ np.ones((2, 2))  # make sure NumPy's BLAS is loaded
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    # SciPy or torch may load a BLAS of their own; NumPy's lives beside numpy.
    blas.sort(key=lambda i: "numpy" not in str(i.get("filepath", "")))
    if not blas:
        return "numpy BLAS (not found by threadpoolctl)"
    info = blas[0]
    return f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture') or '?'})"


def measure_peak_gflops(isa: str | None = None, repeats: int = 5, seconds: float = 0.05) -> float:
    """One core's float32 peak in GFLOP/s: the fastest of ``repeats`` runs of an FMA-only loop
    (12 independent chains, no memory traffic; 1 FMA = 2 flops) with ``isa`` ("avx2",
    "avx512"; default the widest this CPU has). The fastest, not the median: other processes
    can only slow a loop down, so the best run is the closest to what the core can do.
    Raises ConfigError without AVX2/AVX-512."""
    core = _core()
    isa = isa or best_simd()
    if not isa or not core.ladder_simd_available(isa):
        raise ConfigError(f"cannot measure an FMA peak with {isa or 'no SIMD'} on this CPU")
    lanes = 16 if isa == "avx512" else 8
    probe = core.ladder_fma_peak(isa, 100_000)
    iterations = max(10_000, int(seconds * probe * 1e9 / (2 * lanes * 12)))
    return max(core.ladder_fma_peak(isa, iterations) for _ in range(repeats))


def _peak_or_none() -> float | None:
    """The FMA-loop peak, or None on a CPU (or HWNN_FORCE_SCALAR=1) without AVX2/AVX-512."""
    return measure_peak_gflops() if best_simd() else None


def _random(shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape, dtype=np.float32)


def _rows_to_time(rung: str, s: GemmShape) -> int:
    """Rows of C timed for a rung: all of them except where that would take seconds."""
    per_row = 2.0 * s.n * s.k
    if rung == "naive":
        return max(1, min(s.m, int(NAIVE_FLOP_BUDGET / per_row)))
    if rung in SCALAR_RUNGS and s.m * per_row > SCALAR_FLOP_BUDGET:
        rows = int(SCALAR_FLOP_BUDGET / per_row) // SCALAR_ROW_BLOCK * SCALAR_ROW_BLOCK
        return max(min(s.m, SCALAR_ROW_BLOCK), min(s.m, rows))
    return s.m


# ---------------------------------------------------------------- the ladder


def _float_jobs(
    s: GemmShape, rungs: Sequence[str], threads: Sequence[int]
) -> list[_Job]:
    a, b = _random((s.m, s.k), 1), _random((s.k, s.n), 2)
    jobs = []
    for rung in rungs:
        for t in threads if rung == "threads" else (1,):
            if rung == "threads" and t == 1:
                continue  # one thread is the SIMD rung itself
            rows = _rows_to_time(rung, s)
            fn = partial(gemm, a[:rows], b, rung, t)
            jobs.append(_Job(rung, t, rows, 2.0 * rows * s.n * s.k, fn))
    for t in threads:
        jobs.append(_Job("openblas", t, s.m, 2.0 * s.m * s.n * s.k, partial(np.matmul, a, b), t))
    return jobs


def _binary_jobs(s: GemmShape) -> list[_Job]:
    """The deck's Fig. 5 kernel (and hwnn's optimized binary GEMM when it is built, on one
    thread like Fig. 5) on the same m, n, k, with k counted in bits."""
    from hwnn.kernels import pack_signs

    a, w = pack_signs(_random((s.m, s.k), 3)), pack_signs(_random((s.n, s.k), 4))
    flops = 2.0 * s.m * s.n * s.k
    jobs = [_Job("binary_fig5", 1, s.m, flops, partial(binary_matmul_fig5, a, w))]
    try:  # hwnn.kernels' optimized binary GEMM, when this build has it
        from hwnn.kernels.binary_gemm import binary_matmul
    except ImportError:
        return jobs
    return [*jobs, _Job("binary_optimized", 1, s.m, flops, partial(binary_matmul, a, w))]


@contextmanager
def _one_kernel_thread() -> Iterator[None]:
    """hwnn.kernels' thread count pinned to 1 for the binary rows, restored afterwards."""
    try:
        from hwnn.kernels.threads import get_threads, set_threads
    except ImportError:
        yield
        return
    before = get_threads()
    set_threads(1)
    try:
        yield
    finally:
        set_threads(before)


def _rows_for_shape(
    s: GemmShape, timed: list[_Job], peak: float | None, label: str
) -> list[LadderRow]:
    naive = next((x.gflops for x in timed if x.rung == "naive"), None)
    blas = {x.threads: x.gflops for x in timed if x.rung == "openblas"}
    rows = []
    for x in timed:
        binary = x.rung.startswith("binary")
        note = ""
        if x.rows < s.m:
            note = f"timed on rows 0..{x.rows - 1} of C ({x.rows} of {s.m}); rate extrapolated"
        if binary:
            note = "binary ops (1-bit multiply-add = 2 ops), k in bits; vs fp32 OpenBLAS"
        rows.append(
            LadderRow(
                rung=x.rung, m=s.m, n=s.n, k=s.k, threads=x.threads, gflops=x.gflops,
                fraction_of_peak=None if binary or not peak else x.gflops / (peak * x.threads),
                speedup_over_naive=x.gflops / naive if naive else None,
                ratio_to_openblas=x.gflops / blas[x.threads] if x.threads in blas else None,
                shape=label, seconds=x.seconds, measured_m=x.rows, note=note,
            )
        )
    return rows


def study_shapes(batch: int = 64) -> list[GemmShape]:
    """The GEMMs of the study's networks at ``batch``: the 784-128-10 MLP and LeNet-5 on
    28 x 28 MNIST, convolutions lowered by im2col (hwnn.hw.workload)."""
    layers = [
        Layer("mlp.fc1", m=batch, k=MLP_LAYERS[0], n=MLP_LAYERS[1]),
        Layer("mlp.fc2", m=batch, k=MLP_LAYERS[1], n=MLP_LAYERS[2]),
        Layer("lenet5.conv1", kind="conv2d", in_h=28, in_w=28, in_c=1, out_c=6, kernel_h=5,
              kernel_w=5, pad_h=2, pad_w=2, batch=batch),
        Layer("lenet5.conv2", kind="conv2d", in_h=14, in_w=14, in_c=6, out_c=16, kernel_h=5,
              kernel_w=5, batch=batch),
        Layer("lenet5.fc1", m=batch, k=400, n=120),
    ]
    return [GemmShape(ly.name, *_mnk(ly)) for ly in layers]


def _mnk(layer: Layer) -> tuple[int, int, int]:
    m, k, n = layer.gemm_dims()
    return m, n, k


def _check_run_args(sizes: Sequence[int], threads: Sequence[int], repeats: int,
                    batches: Sequence[int]) -> None:
    for name, values in (("sizes", sizes), ("threads", threads), ("batches", batches)):
        if any(not isinstance(v, (int, np.integer)) or v < 1 for v in values):
            raise ConfigError(f"{name} must be positive integers, got {list(values)}")
    if not threads:
        raise ConfigError("threads must name at least one thread count, e.g. (1, 2)")
    if not isinstance(repeats, int) or repeats < 1:
        raise ConfigError(f"repeats must be a positive integer, got {repeats!r}")


def run_ladder(
    sizes: Sequence[int] = (256, 512, 1024, 2048),
    shapes: Sequence[GemmShape] | None = None,
    threads: Sequence[int] = (1, 2),
    repeats: int = 5,
    batches: Sequence[int] = DEFAULT_BATCHES,
    binary: bool = True,
    peak_gflops: float | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[LadderRow]:
    """Times every rung on square sizes and on ``shapes`` (default ``study_shapes()``), then the
    batched-classification rung; returns one LadderRow per rung, shape and thread count.

    Rows with rung "openblas" are NumPy's sgemm in the same run; "binary_fig5" (and
    "binary_optimized" when built) run the binary kernels on the square sizes;
    "batched_classification" rows carry ``latency_per_sample_s``. ``progress(done, total,
    label)`` is called after each shape.
    """
    _check_run_args(sizes, threads, repeats, batches)
    rungs = available_rungs()
    peak = peak_gflops or _peak_or_none()
    plan = [(GemmShape(f"{n}^3", n, n, n), binary) for n in sizes]
    plan += [(s, False) for s in (study_shapes() if shapes is None else shapes)]
    total = len(plan) + (1 if batches else 0)
    rows: list[LadderRow] = []
    for done, (s, with_binary) in enumerate(plan, 1):
        jobs = _float_jobs(s, rungs, threads) + (_binary_jobs(s) if with_binary else [])
        with _one_kernel_thread():
            _time_interleaved(jobs, repeats)
        rows += _rows_for_shape(s, jobs, peak, s.name)
        if progress:
            progress(done, total, s.name)
    if batches:
        rows += run_batched(batches, repeats=repeats, peak_gflops=peak)
        if progress:
            progress(total, total, "batched classification")
    return rows


# ---------------------------------------------------------------- batched classification


def _mlp_weights(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    dims = MLP_LAYERS
    return [  # float32 throughout, so OpenBLAS runs sgemm like the rungs
        ((rng.standard_normal((i, o)) / np.sqrt(i)).astype(np.float32), np.zeros(o, np.float32))
        for i, o in zip(dims[:-1], dims[1:], strict=True)
    ]


def classify(x: np.ndarray, weights: list[tuple[np.ndarray, np.ndarray]],
             matmul: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """Class indices of an MLP forward pass (Linear + ReLU, last layer linear) with ``matmul``."""
    h = x
    for i, (w, bias) in enumerate(weights):
        h = matmul(h, w) + bias
        if i < len(weights) - 1:
            np.maximum(h, 0.0, out=h)
    return np.argmax(h, axis=1)


def run_batched(
    batches: Sequence[int] = DEFAULT_BATCHES, repeats: int = 5, peak_gflops: float | None = None
) -> list[LadderRow]:
    """The deck's batched classification: the study's 784-128-10 MLP classifying ``batch``
    inputs per call with the widest single-thread SIMD rung, against OpenBLAS and the naive
    rung; latency per sample falls as the batch grows because each weight loaded from memory
    serves ``batch`` inputs instead of one (GEMV becomes GEMM). m = batch, k = 784, n = 128
    name the first, dominant layer; gflops count both layers."""
    _check_run_args((1,), (1,), repeats, batches)
    peak = peak_gflops or _peak_or_none()
    top = (best_simd() or "unrolled")
    weights = _mlp_weights()
    macs = sum(w.shape[0] * w.shape[1] for w, _ in weights)
    engines: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
        "naive": lambda x, w: gemm(x, w, "naive"),
        top: lambda x, w: gemm(x, w, top),
        "openblas": np.matmul,
    }
    rows = []
    for batch in batches:
        x = _random((batch, MLP_LAYERS[0]), 5)
        jobs = [_Job(name, 1, batch, 0.0, partial(classify, x, weights, f), 1)
                for name, f in engines.items()]
        _time_interleaved(jobs, repeats)
        secs = {job.rung: job.seconds for job in jobs}
        flops = 2.0 * batch * macs
        g = {name: flops / sec / 1e9 for name, sec in secs.items()}
        for name in (top, "openblas"):
            rows.append(LadderRow(
                rung="batched_classification" if name == top else "batched_openblas",
                m=batch, n=MLP_LAYERS[1], k=MLP_LAYERS[0], threads=1, gflops=g[name],
                fraction_of_peak=g[name] / peak if peak else None,
                speedup_over_naive=g[name] / g["naive"],
                ratio_to_openblas=g[name] / g["openblas"], shape=f"mlp batch {batch}",
                seconds=secs[name], measured_m=batch, latency_per_sample_s=secs[name] / batch,
                note=f"MLP 784-128-10 forward: {name} GEMMs + bias + ReLU + argmax per batch",
            ))
    return rows


def ladder_report(**kwargs: object) -> LadderReport:
    """``run_ladder(**kwargs)`` with the machine it ran on: what the CLI prints."""
    from hwnn.system import cpu_model

    peak = _peak_or_none()
    rows = run_ladder(peak_gflops=peak, **kwargs)  # type: ignore[arg-type]
    return LadderReport(
        cpu_model(), best_simd(), peak, openblas_info(), rows, os.cpu_count() or 0, load_average()
    )


def load_average() -> float | None:
    """The 1-minute load average (None where the OS has none): timings on a machine whose
    load exceeds its core count are slowed by other processes."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


# ---------------------------------------------------------------- report section


def ladder_section(rows: Sequence[LadderRow]) -> Section:
    """The study report's ladder: the rows as a table and two charts (GFLOP/s per rung and
    size against OpenBLAS; latency per sample against batch size)."""
    charts = [c for c in (_rung_chart(rows), _batch_chart(rows)) if c]
    return Section(
        "ladder",
        "CPU optimization ladder (the deck's CPU speed-ups, measured)",
        list(rows),
        "C = A B in float32, one native kernel per rung, each timed (median) in the same run "
        "as NumPy's OpenBLAS sgemm on the same thread count. fraction_of_peak is against an "
        "FMA-only loop on this core. Rows with a note were timed on a block of rows of C.",
        charts,
    )


def _svg(fig: object) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    import matplotlib.pyplot as plt

    plt.close(fig)  # type: ignore[arg-type]
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _rung_chart(rows: Sequence[LadderRow]) -> str:
    square = [r for r in rows if r.shape.endswith("^3") and not r.rung.startswith("binary")]
    if not square:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(f"{r.rung}" + (f" x{r.threads}" if r.threads > 1 else "")
                                for r in square))
    sizes = list(dict.fromkeys(r.shape for r in square))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(sizes)
    for i, size in enumerate(sizes):
        by = {f"{r.rung}" + (f" x{r.threads}" if r.threads > 1 else ""): r.gflops
              for r in square if r.shape == size}
        xs = [j + i * width for j in range(len(labels))]
        ax.bar(xs, [by.get(label, 0.0) for label in labels], width, label=size)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(labels))], labels, rotation=30)
    peaks = [r.gflops / r.fraction_of_peak / r.threads for r in square if r.fraction_of_peak]
    if peaks:  # the FMA-loop peak the rows were divided by
        ax.axhline(peaks[0], color="k", linestyle="--", linewidth=1, label="1-core FMA peak")
    ax.set_yscale("log")
    ax.set_ylabel("GFLOP/s (2 flops per FMA)")
    ax.set_title("Optimization ladder: C = A B, float32")
    ax.legend(fontsize=7)
    return _svg(fig)


def _batch_chart(rows: Sequence[LadderRow]) -> str:
    batched = [r for r in rows if r.latency_per_sample_s is not None]
    if not batched:
        return ""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4))
    for rung in dict.fromkeys(r.rung for r in batched):
        pts = sorted((r.m, r.latency_per_sample_s) for r in batched if r.rung == rung)
        ax.plot([p[0] for p in pts], [p[1] * 1e6 for p in pts], marker="o", label=rung)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("latency per sample (us)")
    ax.set_title("Batched classification, MLP 784-128-10")
    ax.legend(fontsize=7)
    return _svg(fig)
