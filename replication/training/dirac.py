"""The Dirac-GAN (Mescheder, Geiger & Nowozin 2018, Sec. 2) trained from many starting points at
once: theta and psi are tensors with one entry per run, so every seed moves in one vector
operation (the toy is overhead-bound; a loop over seeds would pay the overhead per seed).

p_data = delta_0, G = delta_theta, D_psi(x) = psi x, V = f(psi theta) + f(0) (their convention:
G descends V, D ascends it). Variants, as their fields (theta', psi'):
    gan          (-psi f'(psi theta),  theta f'(psi theta)),   f'(t) = sigmoid(-t)
    nsgan        (-psi f'(-psi theta), theta f'(psi theta))     G ascends f(-psi theta)
    wgan_clip    (-psi, theta), psi clipped to [-c, c] after each D step
    wgan_gp      (-psi, theta - gp (|psi| - 1) sign psi)        D descends gp/2 (|psi| - 1)^2
    consensus    the gan field w = v - gamma grad(1/2 ||v||^2)
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from replication.metrics.game import f_prime

VARIANTS = ("gan", "nsgan", "wgan_clip", "wgan_gp", "consensus")
RULES = ("simultaneous", "alternating")


@dataclass(frozen=True)
class DiracGame:
    """One variant with its hyperparameters (those it uses)."""

    variant: str
    clip: float = 1.0  # wgan_clip: |psi| <= clip
    gp_weight: float = 1.0  # wgan_gp: weight of (|psi| - 1)^2 / 2 in D's cost
    consensus_weight: float = 1.0  # consensus: gamma

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown Dirac-GAN variant {self.variant!r}; known: {VARIANTS}")

    @property
    def kind(self) -> str:
        return "wgan" if self.variant.startswith("wgan") else "gan"

    def theta_dot(self, theta: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        if self.variant == "nsgan":
            return -psi * f_prime("gan", -psi * theta)
        return -psi * f_prime(self.kind, psi * theta)

    def psi_dot(self, theta: torch.Tensor, psi: torch.Tensor) -> torch.Tensor:
        out = theta * f_prime(self.kind, psi * theta)
        if self.variant == "wgan_gp":
            out = out - self.gp_weight * (psi.abs() - 1.0) * torch.sign(psi)
        return out

    def field(self, theta: torch.Tensor, psi: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The update direction (theta', psi') at every point, consensus term included."""
        if self.variant != "consensus":
            return self.theta_dot(theta, psi), self.psi_dot(theta, psi)
        outer = theta.requires_grad or psi.requires_grad  # differentiated again (a Jacobian)
        with torch.enable_grad():
            t = theta if outer else theta.detach().requires_grad_(True)
            p = psi if outer else psi.detach().requires_grad_(True)
            vt, vp = self.theta_dot(t, p), self.psi_dot(t, p)
            # the points are independent, so the sum's gradient is each point's own gradient
            half_sq = 0.5 * (vt * vt + vp * vp).sum()
            jt, jp = torch.autograd.grad(half_sq, (t, p), create_graph=outer)
        w = self.consensus_weight
        wt, wp = vt - w * jt, vp - w * jp
        return (wt, wp) if outer else (wt.detach(), wp.detach())

    def constrain(self, psi: torch.Tensor) -> torch.Tensor:
        return psi.clamp(-self.clip, self.clip) if self.variant == "wgan_clip" else psi


def trajectories(
    game: DiracGame, theta0: torch.Tensor, psi0: torch.Tensor, h: float, steps: int, rule: str
) -> torch.Tensor:
    """Gradient steps of size h from every (theta0[i], psi0[i]) at once; returns the path as
    a (steps + 1, 2, n) tensor. `alternating`: D's step first, then G's at D's new value (the
    order of Algorithm 1)."""
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    theta, psi = theta0.clone(), game.constrain(psi0.clone())
    path = [torch.stack([theta, psi])]
    for _ in range(steps):
        if rule == "simultaneous":
            dt, dp = game.field(theta, psi)
            theta, psi = theta + h * dt, game.constrain(psi + h * dp)
        else:
            psi = game.constrain(psi + h * game.field(theta, psi)[1])
            theta = theta + h * game.field(theta, psi)[0]
        path.append(torch.stack([theta, psi]))
    return torch.stack(path)


def growth_per_step(path: torch.Tensor) -> torch.Tensor:
    """Per run: (r_T / r_0)^(1/T), r the distance to the equilibrium (0, 0): the measured factor
    by which one step multiplies it (> 1 spirals out, < 1 converges, 1 a bounded orbit)."""
    r = path.norm(dim=1)
    steps = path.shape[0] - 1
    return (r[-1] / r[0]) ** (1.0 / steps)
