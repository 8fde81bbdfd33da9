"""Weight sharing (Han, Mao & Dally, "Deep Compression", ICLR 2016, sec. 3).

Per layer, the n weights are clustered into k = 2^B shared values by 1-D k-means, and each
weight stores only its B-bit cluster index:

    min over C, I of  sum_ij (W_ij - C_{I_ij})^2        (Lloyd's algorithm, eq. 1)
    init: C_1..C_k linearly spaced over [min W, max W]  (the paper's best initialisation)
    forward: W_ij = C_{I_ij}
    backward: dL/dC_k = sum_{ij : I_ij = k} dL/dW_ij   (eq. 3, "summed gradients of members")

The indices are fixed after clustering; fine-tuning moves the centroids only (autograd of
the gather ``C[I]`` gives exactly eq. 3). The float shadow weights are kept, frozen. The
deck's row: 8-bit conv and 4-bit fc indices, 16-bit activations (here dynamic fixed point,
``fixed_point.FixedPointAct(16)``), every layer. Deep Compression's pruning and Huffman
stages are not part of this row.
"""

from __future__ import annotations

import torch
from torch import nn

from hwnn.formats import Codebook
from hwnn.quant.base import QuantizedWeight, WeightQuantizer

KMEANS_ITERATIONS = 100


def kmeans_1d(x: torch.Tensor, k: int, iterations: int = KMEANS_ITERATIONS):
    """(centroids [k'], index [n]) of 1-D k-means with linear init; k' = min(k, n).

    In one dimension every cluster is a contiguous run of the sorted values, so each
    Lloyd iteration is a search of the k-1 midpoints and a difference of prefix sums:
    O(k log n) after one sort. Empty clusters keep their centroid. Deterministic.
    """
    flat = x.detach().flatten().to(torch.float64)
    k = max(1, min(k, flat.numel()))
    values, _ = torch.sort(flat)
    prefix = torch.cat([values.new_zeros(1), torch.cumsum(values, 0)])
    centroids = torch.linspace(float(values[0]), float(values[-1]), k, dtype=torch.float64)
    edges = None
    for _ in range(iterations):
        centroids, _ = torch.sort(centroids)
        mids = (centroids[1:] + centroids[:-1]) / 2
        cut = torch.searchsorted(values, mids, right=True)
        new_edges = torch.cat([cut.new_zeros(1), cut, cut.new_full((1,), values.numel())])
        if edges is not None and torch.equal(new_edges, edges):
            break
        edges = new_edges
        counts = (edges[1:] - edges[:-1]).to(torch.float64)
        sums = prefix[edges[1:]] - prefix[edges[:-1]]
        centroids = torch.where(counts > 0, sums / counts.clamp(min=1), centroids)
    centroids, _ = torch.sort(centroids)
    index = torch.bucketize(flat, (centroids[1:] + centroids[:-1]) / 2)
    return centroids.to(x.dtype), index.view(x.shape)


def share_weights(w: torch.Tensor, bits: int) -> torch.Tensor:
    """W replaced by its nearest of 2^bits k-means centroids (no gradient: a one-off)."""
    centroids, index = kmeans_1d(w, 2**bits)
    return centroids[index]


class CodebookWeight(WeightQuantizer):
    """One layer's shared centroids (learned) and fixed indices."""

    def __init__(self, w: torch.Tensor, bits: int) -> None:
        super().__init__()
        self.bits = bits
        centroids, index = kmeans_1d(w, 2**bits)
        self.centroids = nn.Parameter(centroids)
        self.register_buffer("index", index)

    @property
    def format(self) -> Codebook:
        return Codebook(self.centroids.numel())

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return self.centroids[self.index]

    @torch.no_grad()
    def export(self, w: torch.Tensor) -> QuantizedWeight:
        return QuantizedWeight(
            values=self.centroids[self.index].clone(), format=self.format,
            codes=self.index.clone(), codebook=self.centroids.detach().clone(),
        )
