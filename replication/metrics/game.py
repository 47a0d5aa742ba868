"""Closed forms of the GAN game: Theorem 1 of Goodfellow et al. 2014 on 1-D densities, and the
Dirac-GAN of Mescheder, Geiger & Nowozin 2018 with its rates under simultaneous, alternating and
consensus steps (Mescheder, Nowozin & Geiger 2017).

Theorem 1 (2014): for fixed G the optimal discriminator is D*(x) = p_data / (p_data + p_g), and
C(G) = max_D V(G, D) = -log 4 + 2 JSD(p_data || p_g). Both are computed here by numerical
integration on a grid, so a trained D can be scored by the exact expectations of V.

Dirac-GAN (2018): p_data = delta_0, G = delta_theta, D_psi(x) = psi x; V = f(psi theta) + f(0)
with f(t) = -log(1 + exp(-t)) for the GAN and f(t) = t for the WGAN. G descends and D ascends
V: the gradient field is v = (-psi f'(psi theta), theta f'(psi theta)), whose Jacobian at the
equilibrium (0, 0) is [[0, -a], [a, 0]] with a = f'(0): eigenvalues +-i a.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

Density = Callable[[np.ndarray], np.ndarray]
LOG4 = math.log(4.0)


# -- Theorem 1 on the line -----------------------------------------------------------------------
@dataclass(frozen=True)
class Mixture1D:
    """A 1-D Gaussian mixture: weights (summing to 1), means, standard deviations."""

    weights: tuple[float, ...]
    means: tuple[float, ...]
    stds: tuple[float, ...]

    def __post_init__(self) -> None:
        if not (len(self.weights) == len(self.means) == len(self.stds) > 0):
            raise ValueError("weights, means and stds must have the same, non-zero length")
        if abs(sum(self.weights) - 1.0) > 1e-9 or min(self.weights) < 0:
            raise ValueError(f"weights must be >= 0 and sum to 1, got {self.weights}")
        if min(self.stds) <= 0:
            raise ValueError(f"stds must be positive, got {self.stds}")

    def pdf(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)[..., None]
        w, m, s = (np.asarray(v, dtype=float) for v in (self.weights, self.means, self.stds))
        return (w * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * math.sqrt(2 * math.pi))).sum(-1)

    def span(self, k: float = 8.0) -> tuple[float, float]:
        """An interval holding all but a negligible part of the mass (k standard deviations)."""
        return (
            min(m - k * s for m, s in zip(self.means, self.stds, strict=True)),
            max(m + k * s for m, s in zip(self.means, self.stds, strict=True)),
        )


def optimal_discriminator(p_data: np.ndarray, p_g: np.ndarray) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g) (Proposition 1); NaN where both densities vanish."""
    total = p_data + p_g
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, p_data / total, np.nan)


def _xlogy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x log y with 0 log 0 = 0."""
    out = np.zeros_like(x, dtype=float)
    mask = x > 0
    out[mask] = x[mask] * np.log(y[mask])
    return out


def jsd(p: np.ndarray, q: np.ndarray, x: np.ndarray) -> float:
    """JSD(p || q) = 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q)/2, by the trapezoid rule on
    the grid `x` (densities given on it); in nats, between 0 and log 2."""
    m = 0.5 * (p + q)
    integrand = 0.5 * (_xlogy(p, p) - _xlogy(p, m)) + 0.5 * (_xlogy(q, q) - _xlogy(q, m))
    return float(np.trapezoid(integrand, x))


def value(p_data: np.ndarray, p_g: np.ndarray, d: np.ndarray, x: np.ndarray) -> float:
    """V(D, G) = E_data log D(x) + E_g log(1 - D(x)) by integration, D given on the grid."""
    return float(np.trapezoid(_xlogy(p_data, d) + _xlogy(p_g, 1.0 - d), x))


def c_of_g(p_data: np.ndarray, p_g: np.ndarray, x: np.ndarray) -> float:
    """C(G) = -log 4 + 2 JSD(p_data || p_g) (Theorem 1)."""
    return -LOG4 + 2.0 * jsd(p_data, p_g, x)


# -- the Dirac-GAN ----------------------------------------------------------------------------
def f_prime(kind: str, t: torch.Tensor) -> torch.Tensor:
    """f'(t): sigmoid(-t) for the GAN's f(t) = -log(1 + exp(-t)); 1 for the WGAN's f(t) = t."""
    if kind == "gan":
        return torch.sigmoid(-t)
    if kind == "wgan":
        return torch.ones_like(t)
    raise KeyError(f"unknown Dirac-GAN f {kind!r}; known: gan, wgan")


F_PRIME_0 = {"gan": 0.5, "wgan": 1.0}


def jacobian_eigenvalues(a: float) -> np.ndarray:
    """Eigenvalues of the unregularised field's Jacobian [[0, -a], [a, 0]] at (0, 0): +-i a."""
    return np.array([1j * a, -1j * a])


def simultaneous_growth(h: float, a: float) -> float:
    """|1 +- i h a| = sqrt(1 + h^2 a^2): simultaneous steps of size h multiply the distance to
    the equilibrium by this per step (near it), an outward spiral for every h > 0."""
    return math.sqrt(1.0 + (h * a) ** 2)


def alternating_matrix(h: float, a: float) -> np.ndarray:
    """One alternating step (D first, then G with D's new value) of the linearised field."""
    d_step = np.array([[1.0, 0.0], [h * a, 1.0]])  # psi += h a theta
    g_step = np.array([[1.0, -h * a], [0.0, 1.0]])  # theta -= h a psi
    return g_step @ d_step


def alternating_growth(h: float, a: float) -> float:
    """Spectral radius of the alternating step: 1 (a bounded orbit, neither in nor out) for
    h a < 2; the determinant is 1, so the eigenvalues lie on the unit circle."""
    return float(np.abs(np.linalg.eigvals(alternating_matrix(h, a))).max())


def consensus_eigenvalues(a: float, gamma: float) -> np.ndarray:
    """Jacobian of v - gamma grad(1/2 ||v||^2) at (0, 0): J - gamma J^T J = J - gamma a^2 I,
    eigenvalues -gamma a^2 +- i a (negative real part for every gamma > 0)."""
    return np.array([-gamma * a * a + 1j * a, -gamma * a * a - 1j * a])


def consensus_growth(h: float, a: float, gamma: float) -> float:
    """|1 + h lambda| for the consensus eigenvalues: sqrt((1 - h gamma a^2)^2 + h^2 a^2); below
    1, i.e. convergent, when h (a^2 + gamma^2 a^4) < 2 gamma a^2."""
    return math.sqrt((1.0 - h * gamma * a * a) ** 2 + (h * a) ** 2)
