"""Invariants of every quantizer's forward rule and surrogate gradient (Hypothesis)."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hwnn.formats import Fixed, Log2
from hwnn.quant import binary, fixed_point, lognet, ternary, weight_sharing
from hwnn.quant.ste import hard_sign, round_ste, sign_ste

FAST = settings(max_examples=40, deadline=None)
finite = st.floats(-8, 8, allow_nan=False, width=32)


def tensors(min_side=1, max_side=12, elements=finite):
    shape = st.tuples(st.integers(min_side, max_side), st.integers(min_side, max_side))
    return arrays(np.float32, shape, elements=elements).map(torch.from_numpy)


# ---- surrogate gradients ----------------------------------------------------------------


@FAST
@given(tensors())
def test_sign_ste_cancels_gradient_outside_unit_interval(x):
    x = x.clone().requires_grad_(True)
    q = sign_ste(x, cancel=True)
    assert set(q.unique().tolist()) <= {-1.0, 1.0}
    q.sum().backward()
    assert torch.equal(x.grad, (x.detach().abs() <= 1).float())


@FAST
@given(tensors())
def test_sign_ste_without_cancellation_is_identity(x):
    x = x.clone().requires_grad_(True)
    (sign_ste(x, cancel=False) * 3).sum().backward()
    assert torch.equal(x.grad, torch.full_like(x, 3.0))


def test_sign_of_zero_is_plus_one():
    assert hard_sign(torch.tensor([0.0, -0.0, 1e-30, -1e-30])).tolist() == [1, 1, 1, -1]


def test_round_ste_rounds_and_passes_gradient():
    x = torch.tensor([0.4, 0.6, -1.5], requires_grad=True)
    q = round_ste(x)
    assert q.tolist() == [0.0, 1.0, -2.0]
    q.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


# ---- dynamic fixed point ----------------------------------------------------------------


@FAST
@given(tensors(), st.integers(2, 16))
def test_fixed_point_values_on_grid_and_in_range(x, bits):
    fmt = fixed_point.dynamic_format(float(x.abs().max()), bits)
    q = fixed_point.fixed_point(x, bits)
    k = q / fmt.step
    assert torch.equal(k, torch.round(k))
    assert float(q.min()) >= fmt.min_value and float(q.max()) <= fmt.max_value
    # the dynamic range covers the largest magnitude up to one step (Ristretto's il rule)
    inside = x.abs() <= fmt.max_value
    assert torch.all((q - x)[inside].abs() <= fmt.step / 2 + 1e-6)


@pytest.mark.parametrize("max_abs,bits,frac", [(1.0, 8, 7), (0.9, 8, 7), (0.4, 8, 8), (3.0, 8, 5),
                                               (0.1, 10, 12), (0.0, 8, 7)])
def test_ristretto_integer_length(max_abs, bits, frac):
    assert fixed_point.dynamic_format(max_abs, bits) == Fixed(bits, frac)


def test_fixed_point_saturates_and_has_straight_through_gradient():
    x = torch.tensor([10.0, -10.0, 0.3], requires_grad=True)
    q = fixed_point.fixed_point(x, bits=4, frac=2)
    assert q.tolist() == [1.75, -2.0, 0.25]
    q.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 1.0]


def test_fixed_point_weight_export_reconstructs_values():
    w = torch.randn(5, 7)
    fq = fixed_point.FixedPointWeight(8)
    qw = fq.export(w)
    assert torch.equal(qw.codes.float() * qw.scale, qw.values)
    assert qw.format == Fixed(8, int(fq.frac))
    assert int(qw.codes.min()) >= -128 and int(qw.codes.max()) <= 127


# ---- ternary ----------------------------------------------------------------------------


@FAST
@given(tensors(min_side=2))
def test_twn_at_most_three_values_with_mean_scale(w):
    q = ternary.twn(w)
    values = set(q.unique().tolist())
    assert len(values) <= 3
    delta = 0.7 * w.abs().mean()
    above = w.abs() > delta
    if above.any():
        alpha = float(w.abs()[above].mean())
        assert values <= {-alpha, 0.0, alpha}
        assert torch.equal(q != 0, above)


def test_twn_gradient_is_straight_through():
    w = torch.randn(6, 6, requires_grad=True)
    (ternary.twn(w) * 2).sum().backward()
    assert torch.equal(w.grad, torch.full_like(w, 2.0))


@FAST
@given(tensors(min_side=2), st.floats(0.1, 2.0), st.floats(0.1, 2.0))
def test_ttq_values_and_gradients(w, wp0, wn0):
    w = w.clone().requires_grad_(True)
    wp = torch.tensor(wp0, requires_grad=True)
    wn = torch.tensor(wn0, requires_grad=True)
    q = ternary.ttq(w, wp, wn)
    delta = 0.05 * w.detach().abs().max()
    pos, neg = w.detach() > delta, w.detach() < -delta
    expected = torch.where(pos, wp.detach(), torch.where(neg, -wn.detach(), torch.zeros(())))
    assert torch.allclose(q, expected, atol=1e-6)
    g = torch.randn_like(w)
    (q * g).sum().backward()
    # dL/dWp = sum of upstream gradients over the positive set, dL/dWn = -sum over negatives
    assert torch.allclose(wp.grad, g[pos].sum(), atol=1e-5)
    assert torch.allclose(wn.grad, -g[neg].sum(), atol=1e-5)
    scale = torch.where(pos, wp.detach(), torch.where(neg, wn.detach(), torch.ones(())))
    assert torch.allclose(w.grad, scale * g, atol=1e-5)


def test_ttq_export_matches_forward():
    w = torch.randn(8, 4)
    tq = ternary.TTQWeight(w)
    qw = tq.export(w)
    assert torch.equal(qw.values, tq(w).detach())
    assert set(qw.codes.unique().tolist()) <= {-1, 0, 1}
    assert float(qw.scale) > 0 and float(qw.scale_neg) > 0


# ---- binary -----------------------------------------------------------------------------


@FAST
@given(tensors())
def test_binary_connect_is_plus_minus_one(w):
    assert set(binary.binary_connect(w).unique().tolist()) <= {-1.0, 1.0}


def test_stochastic_binary_connect_follows_hard_sigmoid():
    torch.manual_seed(0)
    w = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0]).repeat(20000, 1)
    mean = binary.binary_connect(w, stochastic=True).mean(dim=0)
    p = torch.clamp((w[0] + 1) / 2, 0, 1)
    # E[w_b] = 2p - 1; 20000 draws give a standard error below 0.007
    assert torch.allclose(mean, 2 * p - 1, atol=0.03)


@FAST
@given(tensors(min_side=1))
def test_bwn_two_values_per_output_channel(w):
    q = binary.bwn(w)
    alpha = w.abs().mean(dim=1)
    for row, a in zip(q, alpha, strict=True):
        assert set(row.unique().tolist()) <= {-float(a), float(a)}


def test_bwn_gradient_through_scale_and_sign():
    # dL/dW_i = g_i * (alpha * 1[|W_i| <= 1] + sign(W_i) * sum_j g_j sign(W_j) / n)
    w = torch.tensor([[0.5, -2.0, 0.25, -0.1]], requires_grad=True)
    g = torch.tensor([[1.0, 2.0, -1.0, 0.5]])
    (binary.bwn(w) * g).sum().backward()
    wd = w.detach()
    alpha = wd.abs().mean()
    s = torch.sign(wd)
    expected = g * alpha * (wd.abs() <= 1) + s * (g * s).sum() / wd.numel()
    assert torch.allclose(w.grad, expected, atol=1e-6)


def test_xnor_input_scale_linear_and_conv():
    x = torch.randn(3, 10)
    layer = torch.nn.Linear(10, 4)
    assert torch.allclose(binary.xnor_input_scale(x, layer), x.abs().mean(1, keepdim=True))
    conv = torch.nn.Conv2d(3, 5, 3, padding=1)
    xi = torch.randn(2, 3, 6, 6)
    k = binary.xnor_input_scale(xi, conv)
    assert k.shape == (2, 1, 6, 6)
    # the centre pixel's K: mean over channels and its full 3x3 window
    assert torch.allclose(k[0, 0, 2, 3], xi[0, :, 1:4, 2:5].abs().mean(), atol=1e-6)


# ---- LogNet -----------------------------------------------------------------------------


@FAST
@given(tensors(), st.integers(2, 6), st.integers(-6, 3))
def test_log_quantize_signed_powers_of_two_in_range(x, bits, fsr):
    q = lognet.log_quantize(x, bits, fsr)
    fmt = Log2(bits, fsr)
    for v in q.unique().tolist():
        if v != 0:
            e = math.log2(abs(v))
            assert e == round(e) and round(e) in fmt.exponents
    assert torch.all((q == 0) | (torch.sign(q) == torch.sign(x)))


def test_log_quantize_rounds_in_log_domain_and_zeroes_below_range():
    x = torch.tensor([0.7, 0.3, -3.0, 100.0, 1e-4, 0.0])
    # 4 bits, FSR 1: exponents -5..1
    assert lognet.log_quantize(x, 4, 1).tolist() == [0.5, 0.25, -2.0, 2.0, 0.0, 0.0]


def test_log_quantize_straight_through():
    x = torch.tensor([0.7, -0.3], requires_grad=True)
    lognet.log_quantize(x, 4, 0).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


# ---- weight sharing ---------------------------------------------------------------------


@FAST
@given(tensors(min_side=2, max_side=20), st.integers(1, 5))
def test_weight_sharing_at_most_2_to_bits_values(w, bits):
    q = weight_sharing.share_weights(w, bits)
    assert q.unique().numel() <= 2**bits


@FAST
@given(tensors(min_side=2, max_side=20), st.integers(1, 4))
def test_kmeans_assigns_every_weight_to_its_nearest_centroid(w, bits):
    centroids, index = weight_sharing.kmeans_1d(w, 2**bits)
    dist = (w.reshape(-1, 1) - centroids.reshape(1, -1)).abs()
    chosen = dist.gather(1, index.reshape(-1, 1)).squeeze(1)
    assert torch.all(chosen <= dist.min(dim=1).values + 1e-6)


def test_codebook_centroid_gradient_is_sum_of_member_gradients():
    torch.manual_seed(0)
    w = torch.randn(6, 5)
    cb = weight_sharing.CodebookWeight(w, bits=2)
    g = torch.randn_like(w)
    (cb(w) * g).sum().backward()
    expected = torch.zeros(cb.centroids.numel()).index_add_(0, cb.index.flatten(), g.flatten())
    assert torch.allclose(cb.centroids.grad, expected, atol=1e-6)
    qw = cb.export(w)
    assert torch.equal(qw.codebook[qw.codes], qw.values)


def test_binary_connect_gradients_are_straight_through_both_forms():
    for stochastic in (False, True):
        w = torch.tensor([-3.0, -0.2, 0.4, 2.0], requires_grad=True)
        (binary.binary_connect(w, stochastic) * 5).sum().backward()
        assert w.grad.tolist() == [5.0] * 4  # no cancellation: clipping bounds w instead


def test_bnn_activation_sign_cancels_outside_unit_interval():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0], requires_grad=True)
    act = binary.SignAct()
    q = act(x)
    assert q.tolist() == [-1.0, -1.0, 1.0, 1.0, 1.0]
    q.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]
