"""The mode-collapse benchmarks (PacGAN's ring and grid) and PacGAN's mode metrics, against
hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from replication.datasets.toy import GRID25, RING8, Mixture, ring
from replication.metrics.modes import (
    mode_histogram,
    mode_scores,
    mode_scores_per_seed,
    reverse_kl_to_uniform,
)

TWO = torch.tensor([[0.0, 0.0], [10.0, 0.0]])


def test_ring_has_eight_distinct_modes_at_pacgans_radius_and_std():
    c = RING8.centre_tensor()
    assert RING8.n_modes == 8 and RING8.std == 0.01
    assert torch.allclose(c.norm(dim=1), torch.ones(8))
    assert torch.allclose(c[0], torch.tensor([1.0, 0.0]))  # PacGAN: (cos 0, sin 0)
    gaps = (c - c.roll(1, 0)).norm(dim=1)  # neighbours 45 degrees apart: 2 sin(pi / 8)
    assert torch.allclose(gaps, torch.full((8,), 2 * math.sin(math.pi / 8)), atol=1e-6)


def test_the_copied_linspace_ring_has_only_seven_distinct_modes():
    thetas = torch.linspace(0, 2 * math.pi, 8, dtype=torch.float64)  # the unrolled demo's bug
    pts = {(round(math.sin(t), 9), round(math.cos(t), 9)) for t in thetas.tolist()}
    assert len(pts) == 7
    with pytest.raises(ValueError, match="coincide"):
        Mixture("bug", tuple(sorted(pts)) + (next(iter(pts)),), 0.01, "test")
    assert len(set(ring(8).centres)) == 8


def test_grid_is_five_by_five_on_minus_four_to_four_with_std_005():
    assert GRID25.std == 0.05 and GRID25.n_modes == 25
    axis = (-4.0, -2.0, 0.0, 2.0, 4.0)
    assert set(GRID25.centres) == {(x, y) for x in axis for y in axis}


def test_samples_are_seeded_and_batched_columns_are_their_own_seeds():
    a = RING8.sample(100, "cpu", seed=3)
    assert torch.equal(a, RING8.sample(100, "cpu", seed=3)) and a.shape == (100, 2)
    b = RING8.sample(100, "cpu", seed=3, seeds=4)
    assert b.shape == (100, 4, 2) and torch.equal(b[:, 0], a)
    assert torch.equal(b[:, 2], RING8.sample(100, "cpu", seed=5))


def test_hand_computed_histogram_modes_hq_and_reverse_kl():
    samples = torch.tensor([[0.5, 0.0], [2.9, 0.0], [3.0, 0.0], [10.0, 2.0], [5.0, 5.0]])
    counts = mode_histogram(samples, TWO, std=1.0)
    assert counts.tolist() == [2, 1]  # (3, 0) is exactly 3 std away: not below the threshold
    s = mode_scores(samples, TWO, std=1.0)
    assert (s.modes, s.hq, s.counts) == (2, 0.6, (2, 1))
    expected = 2 / 3 * math.log(2 / 3 * 2) + 1 / 3 * math.log(1 / 3 * 2)  # KL(p || 1/2, 1/2)
    assert s.rkl == pytest.approx(expected) and s.rkl == pytest.approx(0.0566330, abs=1e-6)
    # the same points with std 2: (3, 0) and (5, 5)? 3.0 / 2 < 3 is hq; |(5,5)| / 2 = 3.54 is not
    assert mode_histogram(samples, TWO, std=2.0).tolist() == [3, 1]


def test_reverse_kl_extremes():
    assert reverse_kl_to_uniform(torch.tensor([5, 5, 5, 5])) == pytest.approx(0.0)
    assert reverse_kl_to_uniform(torch.tensor([7, 0, 0, 0, 0, 0, 0, 0])) == pytest.approx(
        math.log(8)
    )
    assert math.isnan(reverse_kl_to_uniform(torch.zeros(8, dtype=torch.long)))
    far = mode_scores(torch.full((4, 2), 100.0), TWO, std=1.0)
    assert far.modes == 0 and far.hq == 0.0 and math.isnan(far.rkl)


def test_true_samples_score_all_modes_and_the_gaussian_hq_rate():
    """For a 2-D isotropic Gaussian P(|x - mu| < 3 sd) = 1 - exp(-9/2) = 0.98889."""
    for mix in (RING8, GRID25):
        s = mode_scores(mix.sample(20000, "cpu", seed=0), mix.centre_tensor(), mix.std)
        assert s.modes == mix.n_modes
        assert s.hq == pytest.approx(1 - math.exp(-4.5), abs=0.004)
        assert s.rkl < 0.01


def test_per_seed_scores_of_a_collapsed_and_a_full_seed():
    full = RING8.sample(800, "cpu", seed=1)
    collapsed = RING8.centre_tensor()[torch.zeros(800, dtype=torch.long)]
    scores = mode_scores_per_seed(torch.stack([full, collapsed], 1), RING8.centre_tensor(), 0.01)
    assert [s.modes for s in scores] == [8, 1]
    assert scores[1].rkl == pytest.approx(math.log(8))
    with pytest.raises(ValueError, match="seeds"):
        mode_scores_per_seed(full, RING8.centre_tensor(), 0.01)
