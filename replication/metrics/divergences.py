"""Closed forms for the WGAN paper's Example 1 (parallel lines).

P0 = (0, U[0,1]) and P_theta = (theta, U[0,1]) in R^2 have disjoint supports for theta != 0, so
every divergence that compares densities pointwise jumps at theta = 0, while W1 moves smoothly.
JSD is the standard one, with the 1/2 factors: JSD = 1/2 KL(P0 || M) + 1/2 KL(P_theta || M),
M = (P0 + P_theta)/2, which is log 2 for disjoint supports (the paper's text omits the 1/2s and
writes JS = log 2 all the same).
"""

from __future__ import annotations

import math

import numpy as np


def parallel_lines(theta: np.ndarray | float) -> dict[str, np.ndarray]:
    """W1, JSD, KL(P0 || P_theta), KL(P_theta || P0) and total variation, per theta."""
    t = np.asarray(theta, dtype=float)
    apart = t != 0
    return {
        "w1": np.abs(t),
        "js": np.where(apart, math.log(2.0), 0.0),
        "kl": np.where(apart, np.inf, 0.0),
        "kl_reverse": np.where(apart, np.inf, 0.0),
        "tv": np.where(apart, 1.0, 0.0),
    }


def parallel_lines_grad(theta: np.ndarray | float) -> dict[str, np.ndarray]:
    """d/dtheta of W1 and JSD where they are differentiable (theta != 0)."""
    t = np.asarray(theta, dtype=float)
    return {"w1": np.sign(t), "js": np.zeros_like(t)}


def gaussian_w1_equal_variance(mean_a: float, mean_b: float) -> float:
    """W1 between two Gaussians of equal variance: the distance between their means."""
    return abs(mean_a - mean_b)
