"""Tests of the Parzen-window estimator against NumPy/SciPy oracles and closed forms."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from scipy.stats import gaussian_kde, multivariate_normal

from replication.metrics import nearest as nn
from replication.metrics import parzen
from replication.metrics.parzen import (
    ParzenResult,
    default_sigma_grid,
    evaluate,
    log_likelihood,
    numpy_reference_log_likelihood,
    select_sigma,
)


def _mnist_like(rng: np.random.Generator, n: int, protos: np.ndarray) -> np.ndarray:
    """Sparse images in [0, 1] around a few binary prototypes, like MNIST digits."""
    x = protos[rng.integers(0, len(protos), n)] + 0.35 * rng.standard_normal((n, protos.shape[1]))
    x = np.clip(x, 0.0, 1.0)
    x[x < 0.25] = 0.0
    return x


# --------------------------------------------------------------------------- against the oracle


def test_matches_numpy_reference_with_batches_and_centre_chunks():
    rng = np.random.default_rng(0)
    x, c = rng.random((37, 6)), rng.random((53, 6))
    sigmas = [0.05, 0.2, 1.0]
    ref = np.stack([numpy_reference_log_likelihood(x, c, s) for s in sigmas])

    small = 4000  # bytes: forces both several point batches and several centre chunks
    rows, cols = nn.block_shape(37, 53, 6, small, batch_size=5)
    assert rows == 5 and 1 < cols < 53 and 53 % cols != 0
    for kwargs in ({}, {"batch_size": 5, "max_batch_bytes": small}, {"max_batch_bytes": small}):
        out = log_likelihood(x, c, sigmas, **kwargs)
        assert out.shape == (3, 37) and out.dtype == torch.float64 and out.device.type == "cpu"
        np.testing.assert_allclose(out.numpy(), ref, rtol=0, atol=1e-6)


def test_scalar_sigma_gives_vector_and_tensor_inputs_work():
    rng = np.random.default_rng(1)
    x, c = rng.random((9, 3)), rng.random((11, 3))
    ref = numpy_reference_log_likelihood(x, c, 0.3)
    for sigma in (0.3, np.float64(0.3), torch.tensor(0.3)):
        out = log_likelihood(torch.from_numpy(x).float(), torch.from_numpy(c), sigma, device="cpu")
        assert out.shape == (9,) and out.dtype == torch.float64
        np.testing.assert_allclose(out.numpy(), ref, rtol=0, atol=1e-5)  # float32 points
    assert log_likelihood(x, c, [0.3]).shape == (1, 9)


# --------------------------------------------------------------------------- closed forms


def test_single_centre_is_the_gaussian_density():
    rng = np.random.default_rng(2)
    mu, x = rng.standard_normal(5), rng.standard_normal((20, 5))
    for sigma in (0.1, 0.7, 3.0):
        expected = multivariate_normal(mean=mu, cov=sigma**2 * np.eye(5)).logpdf(x)
        out = log_likelihood(x, mu[None, :], sigma)
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-8)


def test_identical_centres_equal_one_centre():
    rng = np.random.default_rng(3)
    mu, x = rng.random(8), rng.random((15, 8))
    one = log_likelihood(x, mu[None, :], [0.1, 0.5])
    many = log_likelihood(x, np.tile(mu, (40, 1)), [0.1, 0.5], max_batch_bytes=8000)
    np.testing.assert_allclose(many.numpy(), one.numpy(), rtol=0, atol=1e-9)


def test_one_dimensional_case_matches_scipy_gaussian_kde():
    rng = np.random.default_rng(4)
    data, x = rng.normal(1.0, 2.0, 300), rng.normal(1.0, 2.0, 50)
    sigma = 0.4
    kde = gaussian_kde(data, bw_method=sigma / data.std(ddof=1))  # kernel std = sigma
    out = log_likelihood(x[:, None], data[:, None], sigma)
    np.testing.assert_allclose(out.numpy(), kde.logpdf(x), rtol=0, atol=1e-9)


def test_tiny_sigma_far_points_stay_finite():
    # every kernel term underflows in float64; the nearest-centre shift keeps the answer exact
    x, c = np.array([[0.0], [100.0]]), np.array([[1.0], [3.0]])
    out = log_likelihood(x, c, 0.01)
    expected = -(1.0**2) / (2 * 0.01**2) - math.log(2) - math.log(0.01 * math.sqrt(2 * math.pi))
    assert torch.isfinite(out).all()
    assert out[0].item() == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------------------- float32 accuracy


def test_float32_mnist_like_sigma_0_1_within_documented_tolerance():
    rng = np.random.default_rng(5)
    protos = (rng.random((10, 784)) < 0.2).astype(np.float64)
    x, c = _mnist_like(rng, 100, protos), _mnist_like(rng, 400, protos)
    x32, c32 = x.astype(np.float32), c.astype(np.float32)
    out = log_likelihood(torch.from_numpy(x32), torch.from_numpy(c32), 0.1).numpy()
    # exact float64 arithmetic on the float32-rounded data
    np.testing.assert_allclose(
        out, numpy_reference_log_likelihood(x32, c32, 0.1), rtol=0, atol=1e-8
    )
    # and the rounding of the inputs themselves costs < 1e-3 nats (about 3e-5 measured)
    np.testing.assert_allclose(out, numpy_reference_log_likelihood(x, c, 0.1), rtol=0, atol=1e-3)


# --------------------------------------------------------------------------- protocol


def test_default_sigma_grid_is_the_papers():
    grid = default_sigma_grid()
    assert grid.dtype == torch.float64
    np.testing.assert_array_equal(grid.numpy(), np.logspace(-1, 0, 10))


def test_select_sigma_is_the_brute_force_argmax():
    rng = np.random.default_rng(6)
    c, v = rng.random((60, 4)), rng.random((25, 4))
    grid = default_sigma_grid().tolist()
    brute = [numpy_reference_log_likelihood(v, c, s).mean() for s in grid]
    sigma, means = select_sigma(c, v, grid)
    assert means.dtype == torch.float64 and means.shape == (10,)
    np.testing.assert_allclose(means.numpy(), brute, rtol=0, atol=1e-9)
    assert sigma == grid[int(np.argmax(brute))]
    assert 0 < int(np.argmax(brute)) < 9  # an interior optimum, so the choice means something
    # ties go to the first maximum
    assert select_sigma(c, v, [grid[3], sigma, sigma])[0] == sigma


def test_evaluate_scores_test_points_at_the_selected_sigma():
    rng = np.random.default_rng(7)
    c, v, t = rng.random((80, 3)), rng.random((30, 3)), rng.random((41, 3))
    res = evaluate(c, v, t, batch_size=7)
    assert isinstance(res, ParzenResult)
    assert res.sigma == select_sigma(c, v)[0]
    ll = numpy_reference_log_likelihood(t, c, res.sigma)
    assert res.mean == pytest.approx(ll.mean(), abs=1e-9)
    assert res.se == pytest.approx(ll.std() / math.sqrt(41), rel=1e-9)
    assert (res.n_centres, res.n_test) == (80, 41)
    assert res.sigmas == pytest.approx(np.logspace(-1, 0, 10).tolist())
    assert (
        len(res.valid_mean_ll) == 10
        and max(res.valid_mean_ll) == res.valid_mean_ll[res.sigmas.index(res.sigma)]
    )
    d = res.as_dict()
    assert d["mean"] == res.mean and set(d) == {f.name for f in dataclasses.fields(res)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.mean = 0.0  # type: ignore[misc]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("points", "centres", "sigmas", "match"),
    [
        (np.zeros((3, 4)), np.zeros((5, 3)), 0.1, "dimension"),
        (np.zeros((3, 4)), np.zeros((5, 4)), 0.0, "> 0"),
        (np.zeros((3, 4)), np.zeros((5, 4)), [0.1, -1.0], "> 0"),
        (np.zeros((3, 4)), np.zeros((5, 4)), float("nan"), "finite"),
        (np.zeros((3, 4)), np.zeros((5, 4)), [], "empty"),
        (np.array([[0.0, np.nan]]), np.zeros((5, 2)), 0.1, "points contains NaN"),
        (np.zeros((3, 2)), np.array([[np.inf, 0.0]]), 0.1, "centres contains NaN or inf"),
        (np.zeros(4), np.zeros((5, 4)), 0.1, "points must be 2-D"),
        (np.zeros((3, 4)), np.zeros((0, 4)), 0.1, "centres must be non-empty"),
    ],
)
def test_bad_inputs_raise_clear_errors(points, centres, sigmas, match):
    with pytest.raises(ValueError, match=match):
        log_likelihood(points, centres, sigmas)


def test_bad_batch_arguments_raise():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match="batch_size"):
        log_likelihood(x, x, 0.1, batch_size=0)
    with pytest.raises(ValueError, match="max_batch_bytes"):
        log_likelihood(x, x, 0.1, max_batch_bytes=16)


# --------------------------------------------------------------------------- memory bound


def test_blocks_used_by_log_likelihood_respect_budget_and_cover_every_pair(monkeypatch):
    rng = np.random.default_rng(8)
    x, c = rng.random((29, 5)), rng.random((41, 5))
    budget = 3000
    seen = []
    original = parzen.distance_blocks  # the name log_likelihood looks up

    def recording(*args, **kwargs):
        for r0, r1, c0, block in original(*args, **kwargs):
            seen.append((r0, r1, c0, c0 + block.shape[1]))
            assert nn.block_bytes(*block.shape, 5) <= budget
            yield r0, r1, c0, block

    monkeypatch.setattr(parzen, "distance_blocks", recording)
    out = log_likelihood(x, c, [0.1, 0.4], batch_size=6, max_batch_bytes=budget)
    covered = np.zeros((29, 41), dtype=int)
    for r0, r1, c0, c1 in seen:
        covered[r0:r1, c0:c1] += 1
    assert (covered == 1).all()
    assert len({s[0] for s in seen}) > 1 and len({s[2] for s in seen}) > 1
    ref = np.stack([numpy_reference_log_likelihood(x, c, s) for s in (0.1, 0.4)])
    np.testing.assert_allclose(out.numpy(), ref, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- CUDA, where present


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu():
    rng = np.random.default_rng(9)
    x, c = rng.random((300, 50)), rng.random((700, 50))
    cpu = log_likelihood(x, c, [0.1, 0.5])
    gpu = log_likelihood(x, torch.from_numpy(c).cuda(), [0.1, 0.5], max_batch_bytes=2**18)
    assert gpu.device.type == "cpu"
    torch.testing.assert_close(gpu, cpu, rtol=0, atol=1e-9)
