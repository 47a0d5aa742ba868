"""Tests of the blockwise distances, nearest neighbours and k-means behind the Parzen estimator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from replication.metrics import nearest as nn
from replication.metrics.nearest import kmeans_centres, nearest

# --------------------------------------------------------------------------- memory bound


@pytest.mark.parametrize(
    ("n", "m", "d", "budget", "batch_size"),
    [
        (10_000, 10_000, 784, 256 * 2**20, None),
        (10_000, 1_000_000, 784, 256 * 2**20, None),
        (10, 1_000_000, 784, 256 * 2**20, None),
        (50_000, 10_000, 784, 64 * 2**20, 100_000),
        (7, 3, 2, 200, None),
        (1000, 1000, 1, 2**20, 3),
    ],
)
def test_block_shape_respects_the_budget(n, m, d, budget, batch_size):
    rows, cols = nn.block_shape(n, m, d, budget, batch_size)
    assert 1 <= rows <= min(n, batch_size or n) and 1 <= cols <= m
    assert nn.block_bytes(rows, cols, d) <= budget
    if m == 1_000_000:
        assert cols < m  # the centres had to be chunked
        assert rows >= min(n, 256)  # but batches stay big enough for an efficient matmul


def test_nearest_is_the_brute_force_minimum_in_any_batch():
    gen = torch.Generator().manual_seed(0)
    points, train = torch.rand(37, 20, generator=gen), torch.rand(101, 20, generator=gen)
    brute = torch.stack([((train - p) ** 2).sum(1).sqrt().min() for p in points])
    brute_idx = torch.stack([((train - p) ** 2).sum(1).argmin() for p in points])
    for budget in (2**12, 2**16, 2**28):  # from one-row blocks with chunked refs to one block
        dist, idx = nearest(points, train, max_batch_bytes=budget)
        assert torch.allclose(dist, brute, atol=1e-5)
        assert torch.equal(idx, brute_idx)


# --------------------------------------------------------------------------- k-means


def _blobs(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    means = np.array([[0.0, 0.0, 0.0], [10.0, 0.0, 0.0], [0.0, 10.0, 0.0], [0.0, 0.0, 10.0]])
    x = np.concatenate([m + 0.1 * rng.standard_normal((50, 3)) for m in means])
    return x[rng.permutation(len(x))], means


def _sorted_rows(a: np.ndarray) -> np.ndarray:
    return a[np.lexsort(a.T[::-1])]


def test_kmeans_recovers_separated_blobs():
    x, means = _blobs()
    for seed in range(3):
        centres = kmeans_centres(x, 4, init="k-means++", seed=seed, max_batch_bytes=4000)
        assert centres.shape == (4, 3) and centres.dtype == torch.float64
        np.testing.assert_allclose(_sorted_rows(centres.numpy()), _sorted_rows(means), atol=0.05)


def test_kmeans_is_deterministic_for_a_seed():
    x, _ = _blobs(1)
    xt = torch.from_numpy(x).float()
    for init in ("random", "k-means++"):
        a = kmeans_centres(xt, 6, seed=3, init=init, iters=5)
        b = kmeans_centres(xt, 6, seed=3, init=init, iters=5, batch_size=17)
        assert a.dtype == torch.float32
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)


def test_kmeans_reseeds_empty_clusters():
    # only three distinct points: a random init nearly always duplicates one, leaving a cluster
    # empty; re-seeding at the farthest point must still find all three
    x = np.repeat(np.array([[0.0, 0.0], [5.0, 5.0], [10.0, 0.0]]), 10, axis=0)
    for seed in range(5):
        centres = kmeans_centres(x, 3, seed=seed, iters=10)
        np.testing.assert_allclose(_sorted_rows(centres.numpy()), _sorted_rows(x[::10]), atol=0)


def test_kmeans_bad_arguments():
    x = np.zeros((5, 2))
    with pytest.raises(ValueError, match="only n=5"):
        kmeans_centres(x, 6)
    with pytest.raises(ValueError, match="positive"):
        kmeans_centres(x, 0)
    with pytest.raises(ValueError, match="init"):
        kmeans_centres(x, 2, init="bogus")


# --------------------------------------------------------------------------- CUDA, where present


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_kmeans_stays_on_the_device():
    rng = np.random.default_rng(9)
    x = rng.random((300, 50))
    centres = kmeans_centres(torch.from_numpy(x).cuda(), 5, iters=3)
    assert centres.device.type == "cuda"
