"""How much of a Parzen number is the estimator rather than the model: the sigma grid's
quantisation, and the draw of the samples that serve as centres.

The 2014 protocol picks sigma from `logspace(-1, 0, 10)`, steps of 29 %; around sigma ~ 0.17 the
validation curve changes by several nats between two grid points. `evaluate_fine_sigma` refines
the grid between the coarse optimum's neighbours (a sensitivity reported beside the protocol
number, never in its place). `sample_draw_spread` re-draws the centres with other seeds: the
spread of the estimator for one fixed generator, which the ± over test images does not contain.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import torch

from replication.metrics import parzen


def fine_sigma_grid(coarse: torch.Tensor, chosen: float, points: int = 41) -> torch.Tensor:
    """`points` log-spaced sigmas from the coarse neighbour below `chosen` to the one above
    (one coarse step beyond the grid at its ends). With an odd count on a log-spaced coarse grid
    the fine grid contains `chosen` itself, so its validation optimum is never worse."""
    if points < 3 or points % 2 == 0:
        raise ValueError(f"points must be odd and at least 3, got {points}")
    coarse = coarse.to(torch.float64)
    logs = torch.log(coarse)
    if logs.numel() < 2:
        raise ValueError("the coarse grid needs at least two sigmas")
    k = int(torch.argmin((logs - torch.log(torch.tensor(chosen, dtype=torch.float64))).abs()))
    step_lo = logs[k] - logs[k - 1] if k > 0 else logs[1] - logs[0]
    step_hi = logs[k + 1] - logs[k] if k + 1 < logs.numel() else logs[-1] - logs[-2]
    lo, hi = logs[k] - step_lo, logs[k] + step_hi
    if not torch.isclose(step_lo, step_hi, rtol=1e-6):  # not log-spaced: keep `chosen` exactly
        half = (points - 1) // 2
        left = torch.linspace(float(lo), float(logs[k]), half + 1, dtype=torch.float64)
        right = torch.linspace(float(logs[k]), float(hi), half + 1, dtype=torch.float64)[1:]
        return torch.exp(torch.cat([left, right]))
    grid = torch.exp(torch.linspace(float(lo), float(hi), points, dtype=torch.float64))
    grid[(points - 1) // 2] = coarse[k]  # exactly, not through exp(log(.)), which is 1-2 ulp off
    if k > 0:
        grid[0] = coarse[k - 1]
    if k + 1 < logs.numel():
        grid[-1] = coarse[k + 1]
    return grid


def evaluate_fine_sigma(
    centres: torch.Tensor,
    valid: torch.Tensor,
    test: torch.Tensor,
    coarse: torch.Tensor,
    points: int = 41,
) -> parzen.ParzenResult:
    """The protocol with sigma chosen on the same validation images over a fine grid around the
    coarse optimum; the test images are scored once, at that sigma."""
    chosen, _ = parzen.select_sigma(centres, valid, coarse)
    return parzen.evaluate(centres, valid, test, fine_sigma_grid(coarse, chosen, points))


def sample_draw_spread(
    draw: Callable[[int], torch.Tensor],
    seeds: list[int],
    valid: torch.Tensor,
    test: torch.Tensor,
    sigmas: torch.Tensor,
) -> pd.DataFrame:
    """The full protocol (sigma on `valid`, mean LL on `test`) once per centre draw
    `draw(seed)`: one row per seed with its sigma and test mean log-likelihood."""
    if len(set(seeds)) < 2:
        raise ValueError(f"a spread needs at least two distinct seeds, got {seeds}")
    rows = []
    for seed in seeds:
        res = parzen.evaluate(draw(seed), valid, test, sigmas)
        rows.append({"sample_seed": seed, "sigma": res.sigma, "test_ll": res.mean, "se": res.se})
    return pd.DataFrame(rows)
