"""The fused native runner repeats the NumPy steps exactly: ties, saturation, both signs."""

import numpy as np
import pytest

from hwnn.deploy import steps as S
from hwnn.kernels import backend

pytestmark = pytest.mark.skipif(backend.native_module() is None, reason="hwnn._core is not built")


def _unfused(steps, x):
    v = x
    for s in steps:
        v = s.run(v)
    return v


@pytest.mark.parametrize(
    "quantize",
    [S.QuantizeFixed(8, 2), S.QuantizeFixed(4, 0), S.QuantizeInt8(np.float32(0.5), True),
     S.QuantizeInt8(np.float32(0.5), False)],
)  # fmt: skip
def test_quantize_and_gemm_match_numpy_steps(quantize):
    from hwnn.deploy.fuse import NativeSegment

    rng = np.random.default_rng(0)
    k = 37  # not a multiple of the 16-wide SIMD loop: the scalar tail runs too
    ties = np.array([0.125, 0.375, -0.125, -0.375, 0.25, 1e9, -1e9, 63.9, -64.2, 200.0])
    x = np.concatenate([ties, rng.normal(0, 30, size=3 * k - ties.size)]).astype(np.float32)
    x = x.reshape(3, k)
    o = 150  # ten 16-channel panels: the batch-1 VNNI GEMV takes 8 at a time, then 2
    w = rng.integers(-127, 128, size=(o, k), dtype=np.int8)
    steps = [
        quantize,
        S.IntLinear(w),
        S.Dequantize(np.linspace(0.5, 2, o).astype(np.float32), np.arange(o, dtype=np.float32)),
    ]
    seg = NativeSegment(steps)
    np.testing.assert_array_equal(seg.run(x), _unfused(steps, x))
    for i in range(3):  # batch 1 takes the GEMV path
        np.testing.assert_array_equal(seg.run(x[i : i + 1]), _unfused(steps, x[i : i + 1]))
    assert len(seg.runner) == 3


@pytest.mark.parametrize("zeros", [0.0, 0.3, 0.9, 1.0])
@pytest.mark.parametrize(
    "quantize", [S.QuantizeFixed(8, 7), S.QuantizeInt8(np.float32(1 / 255), False)]
)
@pytest.mark.parametrize("k", [1, 5, 37, 784])
def test_sparse_non_negative_gemv_is_exact(quantize, zeros, k):
    """Batch 1 with non-negative codes skips zero groups (or runs dense): same result."""
    from hwnn.deploy.fuse import NativeSegment

    rng = np.random.default_rng(k)
    x = rng.uniform(0, 1, size=(1, k)).astype(np.float32)
    x[rng.uniform(size=x.shape) < zeros] = 0.0
    o = 150
    w = rng.integers(-127, 128, size=(o, k), dtype=np.int8)
    steps = [quantize, S.IntLinear(w), S.Dequantize(np.ones(o, np.float32), None)]
    np.testing.assert_array_equal(NativeSegment(steps).run(x), _unfused(steps, x))


@pytest.mark.parametrize("rows", [2, 9, 33])
@pytest.mark.parametrize("k", [4, 37, 784])
@pytest.mark.parametrize("low", [-1.0, 0.0])  # int8 codes with and without negatives
def test_batched_int_layer_on_prepacked_panels_is_exact(rows, k, low):
    """Two rows and up run the packed VPDPBUSD tiles on the build-time panels: row tiles of
    8 and their edges, 48-column tiles and their edges, the +128 offset only with negatives."""
    from hwnn.deploy.fuse import NativeSegment

    rng = np.random.default_rng(rows * k)
    x = rng.uniform(low, 1, size=(rows, k)).astype(np.float32)
    o = 150
    w = rng.integers(-128, 128, size=(o, k), dtype=np.int8)
    steps = [S.QuantizeInt8(np.float32(1 / 127), True), S.IntLinear(w),
             S.Dequantize(np.ones(o, np.float32), None)]  # fmt: skip
    np.testing.assert_array_equal(NativeSegment(steps).run(x), _unfused(steps, x))


@pytest.mark.parametrize("rows, hidden, out", [(1, 65, 9), (4, 65, 9), (9, 600, 30), (33, 64, 25)])
def test_binary_chain_matches_numpy_steps(rows, hidden, out):
    """Batch 1 runs the binary GEMV; two rows and up the packed tiles on the build-time
    panels: 8-row tiles and their edges, 24-column tiles and their edges, K of 1 to 10 words."""
    from hwnn.deploy.fuse import NativeSegment

    rng = np.random.default_rng(1)
    x = rng.normal(size=(rows, 70)).astype(np.float32)
    w0 = rng.integers(-127, 128, size=(hidden, 70), dtype=np.int8)
    w1 = rng.choice([-1.0, 1.0], size=(out, hidden)).astype(np.float32)
    steps = [
        S.QuantizeFixed(8, 4), S.IntLinear(w0),
        S.Threshold(rng.integers(-300, 300, hidden).astype(np.int32),
                    rng.integers(0, 2, hidden).astype(np.uint8)),
        S.SignLinear(w1), S.Dequantize(np.ones(out, np.float32), None),
        S.BatchNorm(rng.normal(size=out).astype(np.float32),
                    rng.normal(size=out).astype(np.float32)),
        S.Hardtanh(-1.0, 1.0), S.ReLU(),
    ]  # fmt: skip
    np.testing.assert_array_equal(NativeSegment(steps).run(x), _unfused(steps, x))


def test_mismatched_ops_are_a_clear_error():
    from hwnn.deploy.fuse import NativeSegment

    seg = NativeSegment([S.QuantizeFixed(8, 2), S.IntLinear(np.ones((2, 3), np.int8)),
                         S.Dequantize(np.ones(2, np.float32), None)])  # fmt: skip
    with pytest.raises(ValueError, match="input width"):
        seg.run(np.ones((1, 4), np.float32))


def test_any_float_array_runs_like_a_contiguous_float32_one():
    """The runner flattens rows and converts dtype and order itself (no NumPy call on the
    batch-1 path): float64, transposed, image-shaped and list inputs give the same logits."""
    from hwnn.deploy.fuse import NativeSegment
    from hwnn.deploy.plan import Plan

    rng = np.random.default_rng(3)
    w = rng.integers(-127, 128, size=(5, 12), dtype=np.int8)
    steps = [S.QuantizeFixed(8, 4), S.IntLinear(w), S.Dequantize(np.ones(5, np.float32), None)]
    plan = Plan([NativeSegment(steps)], "int8", "int8", 0)
    x = rng.normal(0, 2, size=(4, 12)).astype(np.float32)
    want = _unfused(steps, x)
    for form in (x.astype(np.float64), np.asfortranarray(x), x.reshape(4, 1, 3, 4), x.tolist()):
        np.testing.assert_array_equal(plan.run(form), want)
        np.testing.assert_array_equal(plan.predict(form), want.argmax(1))
    np.testing.assert_array_equal(plan.run(x[:0]), want[:0])
    for form in (x.tolist(), x.astype(">f4"), x.astype(">f8")):  # to the segment directly
        np.testing.assert_array_equal(plan.steps[0].run(form), want)
    with pytest.raises(ValueError, match="rows"):
        plan.run(x[0])


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize(
    "c, hw, k, stride, pad, pool",
    [(1, (28, 28), 5, 1, 2, 2), (3, (9, 7), 3, 2, 1, 3), (2, (6, 6), 1, 1, 0, 2),
     (4, (5, 8), 5, 1, 0, 1), (2, (12, 11), 9, 1, 4, 2), (3, (10, 9), 8, 3, 2, 1)],
)  # fmt: skip
def test_conv_block_matches_numpy_steps(signed, c, hw, k, stride, pad, pool):
    """Quantize, int8 convolution (an implicit GEMM on the image up to 8 wide, im2col + GEMM
    beyond), dequantize to NCHW, ReLU, max pool, flatten and a fully connected layer,
    natively: bit-identical to the NumPy steps, for batch 1 and 5, with and without negative
    codes (the +128 offset)."""
    from hwnn.deploy.fuse import NativeSegment

    rng = np.random.default_rng(c * 100 + k)
    o = 6
    w = rng.integers(-128, 128, size=(o, c * k * k), dtype=np.int8)
    ho = (hw[0] + 2 * pad - k) // stride + 1
    wo = (hw[1] + 2 * pad - k) // stride + 1
    flat = o * (ho // pool) * (wo // pool)
    w2 = rng.integers(-128, 128, size=(7, flat), dtype=np.int8)
    scale, bias = rng.uniform(0.5, 2, o).astype(np.float32), rng.normal(size=o).astype(np.float32)
    steps = [
        S.QuantizeInt8(np.float32(1 / 50), signed), S.IntConv(w, k, k, stride, pad),
        S.Dequantize(scale, bias),
        S.ReLU(), S.MaxPool(pool), S.Flatten(), S.QuantizeInt8(np.float32(0.25), True),
        S.IntLinear(w2), S.Dequantize(np.ones(7, np.float32), None),
    ]  # fmt: skip
    seg = NativeSegment(steps)
    for n in (1, 5):
        x = rng.normal(0.3, 1, size=(n, c, *hw)).astype(np.float32)
        np.testing.assert_array_equal(seg.run(x), _unfused(steps, x))


def test_conv_to_a_single_pixel_at_batch_one():
    """A convolution whose output is one pixel: its one patch row takes the batch-1 GEMV."""
    from hwnn.deploy.fuse import NativeSegment

    rng = np.random.default_rng(5)
    w = rng.integers(-128, 128, size=(20, 3 * 25), dtype=np.int8)
    steps = [S.QuantizeInt8(np.float32(0.05), True), S.IntConv(w, 5, 5, 1, 0),
             S.Dequantize(np.ones(20, np.float32), None), S.Flatten()]  # fmt: skip
    for low in (-1.0, 0.0):
        x = rng.uniform(low, 1, size=(1, 3, 5, 5)).astype(np.float32)
        np.testing.assert_array_equal(NativeSegment(steps).run(x), _unfused(steps, x))


def test_conv_segment_can_hand_back_images():
    """A segment that ends before the Flatten returns NCHW floats, like the NumPy steps."""
    from hwnn.deploy.fuse import NativeSegment

    rng = np.random.default_rng(3)
    w = rng.integers(-128, 128, size=(4, 2 * 9), dtype=np.int8)
    steps = [S.QuantizeInt8(np.float32(0.1), True), S.IntConv(w, 3, 3, 1, 1),
             S.Dequantize(np.ones(4, np.float32), None), S.MaxPool(2)]  # fmt: skip
    x = rng.normal(size=(2, 2, 6, 5)).astype(np.float32)
    got = NativeSegment(steps).run(x)
    assert got.shape == (2, 4, 3, 2)
    np.testing.assert_array_equal(got, _unfused(steps, x))


def test_conv_ops_that_do_not_chain_are_clear_errors():
    from hwnn.deploy.fuse import NativeSegment

    w = np.ones((4, 2 * 9), dtype=np.int8)
    seg = NativeSegment([S.QuantizeInt8(np.float32(0.1), True), S.IntConv(w, 3, 3, 1, 0),
                         S.Dequantize(np.ones(4, np.float32), None)])  # fmt: skip
    with pytest.raises(ValueError, match="int_conv needs images with the weights' channels"):
        seg.run(np.zeros((1, 3, 6, 6), np.float32))
    with pytest.raises(ValueError, match="kernel is larger than the padded image"):
        seg.run(np.zeros((1, 2, 2, 6), np.float32))
    pool = NativeSegment([S.QuantizeInt8(np.float32(0.1), True), S.IntConv(w, 3, 3, 1, 0),
                          S.Dequantize(np.ones(4, np.float32), None), S.MaxPool(5)])  # fmt: skip
    with pytest.raises(ValueError, match="window is larger than the image"):
        pool.run(np.zeros((1, 2, 5, 5), np.float32))


@pytest.mark.parametrize("c1, pad, pool, c2", [(6, 0, 2, 5), (70, 1, 3, 5), (3, 2, 1, 70)])
def test_binary_conv_chain_matches_numpy_steps(c1, pad, pool, c2):
    """A BNN's image part natively: int8 first convolution, threshold to NHWC signs, max pool
    of signs, binary convolution (one or two channel words, with padding), threshold, flatten
    of signs (one or two words per pixel) into torch's order, binary FC layer."""
    from hwnn.deploy.fuse import NativeSegment
    from hwnn.kernels.binary_conv2d import pack_channels

    rng = np.random.default_rng(c1)
    w0 = rng.integers(-127, 128, size=(c1, 2 * 9), dtype=np.int8)
    wc = pack_channels(rng.choice([-1.0, 1.0], size=(c2, c1, 3, 3)).astype(np.float32))
    n, h, w = 3, 11, 10
    h1, w1 = h // pool, w // pool
    h2, w2 = h1 + 2 * pad - 2, w1 + 2 * pad - 2
    wl = rng.choice([-1.0, 1.0], size=(4, c2 * h2 * w2)).astype(np.float32)

    def threshold(o):
        return S.Threshold(rng.integers(-40, 40, o).astype(np.int32),
                           rng.integers(0, 2, o).astype(np.uint8))  # fmt: skip

    steps = [
        S.QuantizeFixed(8, 3), S.IntConv(w0, 3, 3, 1, 1), threshold(c1), S.MaxPool(pool),
        S.SignConv(wc, 1, pad), threshold(c2), S.Flatten(), S.SignLinear(wl),
        S.Dequantize(np.ones(4, np.float32), None),
    ]  # fmt: skip
    seg = NativeSegment(steps)
    for rows in (1, n):
        x = rng.normal(size=(rows, 2, h, w)).astype(np.float32)
        np.testing.assert_array_equal(seg.run(x), _unfused(steps, x))


@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize(
    "scale", [1 / 255, 0.1, 0.5, 3.7e-3, 7.0, 1e-30, 1e30, 2.0**-126, 1.5e-39]
)
def test_quantize_by_reciprocal_is_exact(scale, signed):
    """The native quantize multiplies by 1 / scale and divides only near half-integers: its
    codes equal NumPy's round(x / scale) for values at and around every tie."""
    from hwnn.deploy.fuse import NativeSegment

    rng = np.random.default_rng(7)
    s = np.float32(scale)
    k = np.arange(-140, 270, dtype=np.float32)
    near_ties = np.concatenate([(k + np.float32(0.5)) * s, k * s, rng.normal(0, 60, 410) * s])
    up, down = np.nextafter(near_ties, np.inf), np.nextafter(near_ties, -np.inf)
    x = np.concatenate([near_ties, up, down])
    x = np.pad(x.astype(np.float32), (0, -x.size % 48)).reshape(-1, 48)
    steps = [S.QuantizeInt8(s, signed), S.IntLinear(np.eye(48, dtype=np.int8)),
             S.Dequantize(np.ones(48, np.float32), None)]  # fmt: skip
    np.testing.assert_array_equal(NativeSegment(steps).run(x), _unfused(steps, x))


@pytest.mark.parametrize("o", [1, 6, 16, 17, 40])
@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("pool, hw", [(2, (8, 8)), (3, (7, 11)), (2, (5, 3))])
def test_dequantize_relu_pool_of_images_is_bit_exact(o, relu, bias, pool, hw):
    """The pooled dequantize (16 channels of a pixel per vector on AVX-512) against the NumPy
    steps, bit for bit: any channel count, scales of both signs, floor-mode windows."""
    from hwnn.deploy.fuse import NativeSegment

    rng = np.random.default_rng(o * 10 + pool)
    w = rng.integers(-128, 128, size=(o, 3 * 3), dtype=np.int8)
    scale = rng.uniform(-2, 2, o).astype(np.float32)
    b = rng.normal(size=o).astype(np.float32) if bias else None
    steps = [S.QuantizeInt8(np.float32(1 / 50), True), S.IntConv(w, 3, 3, 1, 1),
             S.Dequantize(scale, b), *([S.ReLU()] if relu else []), S.MaxPool(pool)]  # fmt: skip
    x = rng.normal(0, 3, size=(3, 1, *hw)).astype(np.float32)
    x[0, 0, :2] = 0.0  # zero accumulators: -0.0 under a negative scale
    got, want = NativeSegment(steps).run(x), _unfused(steps, x)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got.view(np.uint32), want.astype(np.float32).view(np.uint32))


@pytest.mark.parametrize("relu", [True, False])
@pytest.mark.parametrize("signed", [True, False])
@pytest.mark.parametrize("bias", [True, False])
def test_hidden_layer_requantize_is_bit_exact(relu, signed, bias):
    """Dequantize, ReLU and the next quantize in one native pass (no floats stored between):
    the same codes as the NumPy steps, ties at half-integers included (scale 0.5 against a
    quantizer step of 1: every odd accumulator is a tie, rounded to even)."""
    from hwnn.deploy.fuse import NativeSegment

    rng = np.random.default_rng(int(relu) * 4 + int(signed) * 2 + int(bias))
    k, o, o2 = 29, 37, 5  # 37 outputs: two full 16-lane blocks and a masked tail
    w = rng.integers(-127, 128, size=(o, k), dtype=np.int8)
    w2 = rng.integers(-127, 128, size=(o2, o), dtype=np.int8)
    b = rng.integers(-20, 20, size=o).astype(np.float32) + 0.5 if bias else None
    for step in (np.float32(1.0), np.float32(0.7), np.float32(3e-3)):
        steps = [S.QuantizeInt8(np.float32(0.25), True), S.IntLinear(w),
                 S.Dequantize(np.full(o, 0.5, np.float32), b), *([S.ReLU()] if relu else []),
                 S.QuantizeInt8(step, signed), S.IntLinear(w2),
                 S.Dequantize(np.ones(o2, np.float32), None)]  # fmt: skip
        x = rng.normal(0, 4, size=(6, k)).astype(np.float32)
        np.testing.assert_array_equal(NativeSegment(steps).run(x), _unfused(steps, x))


@pytest.mark.parametrize("signed", [True, False])
def test_nan_quantizes_to_the_lowest_code_at_every_position(signed):
    """NumPy leaves a NaN's integer code undefined; the runner gives the lowest code, in the
    16-wide vector body and in the scalar tail alike (20 values: one vector and a tail)."""
    from hwnn.deploy.fuse import NativeSegment

    n = 20
    steps = [S.QuantizeInt8(np.float32(1), signed), S.IntLinear(np.eye(n, dtype=np.int8)),
             S.Dequantize(np.ones(n, np.float32), None)]  # fmt: skip
    got = NativeSegment(steps).run(np.full((2, n), np.nan, np.float32))
    np.testing.assert_array_equal(got, np.full((2, n), -128.0 if signed else 0.0, np.float32))


def test_signed_zeros_follow_numpy():
    """np.maximum gives +0.0 for ReLU(-0.0) and the second operand on a tie (+0.0 against
    -0.0): the native ReLU (alone or after a convolution's dequantize) and max pool too."""
    from hwnn.deploy.fuse import NativeSegment

    def bits(a):
        return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)

    # a zero accumulator times a negative scale is -0.0
    steps = [S.QuantizeInt8(np.float32(1), False), S.IntConv(np.ones((2, 1), np.int8), 1, 1, 1, 0),
             S.Dequantize(np.array([-1.0, 1.0], np.float32), None), S.ReLU()]  # fmt: skip
    x = np.zeros((2, 1, 3, 4), np.float32)
    np.testing.assert_array_equal(bits(NativeSegment(steps).run(x)), bits(_unfused(steps, x)))
    pool = steps[:3] + [S.MaxPool(2)]  # planes of -0.0 and of +0.0 through the pool
    x = np.zeros((1, 1, 4, 4), np.float32)
    np.testing.assert_array_equal(bits(NativeSegment(pool).run(x)), bits(_unfused(pool, x)))
    flat = [S.QuantizeInt8(np.float32(1), False), S.IntLinear(np.ones((3, 4), np.int8)),
            S.Dequantize(np.array([-1.0, 1.0, -2.0], np.float32), None), S.ReLU()]  # fmt: skip
    x = np.zeros((2, 4), np.float32)
    np.testing.assert_array_equal(bits(NativeSegment(flat).run(x)), bits(_unfused(flat, x)))

