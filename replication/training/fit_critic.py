"""Discriminators and critics trained to (near) optimality against a frozen generator on the toy
problems, and the divergence each then implies.

They train in the book's one loop with the generator frozen, each with its registered objective,
so the only difference between them is the objective: its costs, constraint or penalty.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from replication.nets.toy import Mlp
from replication.training import objectives
from replication.training.loop import train
from replication.training.state import GAN


@dataclass(frozen=True)
class CriticFit:
    """How one discriminator / critic is trained on a toy problem: the registered objective, its
    optimiser's lr, the hyperparameters to override, the network's size."""

    objective: str  # a name in the objective registry: gan | wgan | wgan_gp | ...
    epochs: int = 60
    batch_size: int = 256
    lr: float = 1e-3
    clip: float = 0.01
    gp_weight: float = 10.0
    hidden: int = 128
    depth: int = 2

    def __post_init__(self) -> None:
        objectives.get(self.objective)  # an unknown name fails here, before any compute

    def resolved(self) -> objectives.Objective:
        """The registered objective with this fit's hyperparameters (those it has)."""
        return objectives.get(self.objective).tuned(clip=self.clip, gp_weight=self.gp_weight)


def fit_critic(
    fit: CriticFit, real: torch.Tensor, generator: nn.Module, seed: int = 0
) -> nn.Module:
    """Train a fresh discriminator or critic against the frozen `generator`."""
    objective = fit.resolved()
    torch.manual_seed(seed)
    D = Mlp(real.shape[1], fit.hidden, fit.depth).to(real.device)
    objective.prepare_critic(D)  # WGAN: the released code clamps before the first critic step
    opt_d = objective.optimiser(D.parameters(), fit.lr)
    opt_g = torch.optim.SGD(generator.parameters(), lr=0.0)  # never stepped: G is frozen
    gan = GAN(generator, D, opt_g, opt_d)
    train(
        gan,
        real,
        objective,
        epochs=fit.epochs,
        batch_size=fit.batch_size,
        train_generator=False,
        progress=False,
    )
    return D


def estimate(
    objective: str, D: nn.Module, real: torch.Tensor, generator: nn.Module, seed: int = 1
) -> tuple[float, dict[str, float]]:
    """The divergence the trained D implies on fresh samples (the objective's `divergence`:
    JSD = log 2 - d_loss for a GAN discriminator, W = E f(x) - E f(G(z)) for a critic), and its
    gradient w.r.t. each generator parameter (D held fixed)."""
    divergence = objectives.get(objective).divergence
    if divergence is None:
        raise ValueError(f"objective {objective!r} names no divergence its D estimates")
    gen = torch.Generator(device=real.device).manual_seed(seed)
    fake = generator(generator.sample_noise(real.shape[0], real.device, gen))
    was = D.training
    D.eval()
    real_o, fake_o = D(real), D(fake)
    D.train(was)
    value = divergence(real_o, fake_o)
    params = dict(generator.named_parameters())
    grads = torch.autograd.grad(value, list(params.values()))
    return float(value.detach()), {k: float(g) for k, g in zip(params, grads, strict=True)}
