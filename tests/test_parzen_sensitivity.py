"""The sigma-grid and sample-draw sensitivities of the Parzen estimator, on cases with known
answers."""

from __future__ import annotations

import math

import pytest
import torch

from replication.metrics import parzen
from replication.metrics.parzen_sensitivity import (
    evaluate_fine_sigma,
    fine_sigma_grid,
    sample_draw_spread,
)

COARSE = torch.logspace(-1, 0, 10, dtype=torch.float64)


def test_fine_grid_spans_the_neighbours_and_contains_the_choice():
    chosen = float(COARSE[3])
    fine = fine_sigma_grid(COARSE, chosen, points=41)
    assert fine.numel() == 41
    torch.testing.assert_close(fine[0], COARSE[2])
    torch.testing.assert_close(fine[-1], COARSE[4])
    assert fine[20] == COARSE[3] and fine[0] == COARSE[2]  # exactly: "never worse" holds
    for k in range(10):  # every choice, every odd size: the chosen sigma is in the fine grid
        for points in (3, 5, 41):
            assert COARSE[k] in fine_sigma_grid(COARSE, float(COARSE[k]), points)
    # at the grid's end it reaches one coarse step beyond
    top = fine_sigma_grid(COARSE, float(COARSE[-1]), points=5)
    assert top[-1].item() == pytest.approx(10 ** (1 / 9), rel=1e-9)
    with pytest.raises(ValueError, match="odd"):
        fine_sigma_grid(COARSE, chosen, points=4)


def test_fine_sigma_finds_the_optimum_between_coarse_points():
    """1-D: centres at 0, points from N(0, s^2); the mean LL of a Gaussian kernel centred at 0
    is maximised at sigma = s. Put s between two coarse grid points."""
    s = math.sqrt(float(COARSE[4] * COARSE[5]))  # geometric middle: the worst case for the grid
    gen = torch.Generator().manual_seed(0)
    valid = s * torch.randn(20000, 1, generator=gen, dtype=torch.float64)
    test = s * torch.randn(20000, 1, generator=gen, dtype=torch.float64)
    centres = torch.zeros(1, 1, dtype=torch.float64)
    coarse = parzen.evaluate(centres, valid, test, COARSE)
    fine = evaluate_fine_sigma(centres, valid, test, COARSE, points=41)
    assert fine.sigma == pytest.approx(s, rel=0.03)
    assert max(fine.valid_mean_ll) >= max(coarse.valid_mean_ll)
    assert fine.mean > coarse.mean


def test_sample_draw_spread_is_zero_for_one_draw_and_positive_for_many():
    gen = torch.Generator().manual_seed(1)
    valid = torch.rand(50, 4, generator=gen, dtype=torch.float64)
    test = torch.rand(50, 4, generator=gen, dtype=torch.float64)

    def draw(seed: int) -> torch.Tensor:
        return torch.rand(30, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)

    same = sample_draw_spread(lambda seed: draw(0), [0, 1, 2], valid, test, COARSE)
    assert same.test_ll.std() == 0
    spread = sample_draw_spread(draw, [0, 1, 2, 3, 4], valid, test, COARSE)
    assert list(spread.sample_seed) == [0, 1, 2, 3, 4] and spread.test_ll.std() > 0
    with pytest.raises(ValueError, match="two distinct seeds"):
        sample_draw_spread(draw, [3, 3], valid, test, COARSE)
