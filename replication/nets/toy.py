"""Low-dimensional problems where the optimal discriminator and critic can be trained to
convergence and compared with closed forms: the WGAN paper's parallel lines (Example 1) and two
far-apart 1-D Gaussians (its Figure 2).

Discriminators and critics train in the book's one loop (`train.train`) with the generator
frozen, so the only difference between them is the loss function and its constraint.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from replication.nets.mlp2014 import Sampling
from replication.training.critic import clip_weights_, constant_critic_iters
from replication.training.loop import GAN, train
from replication.training.losses import (
    critic_wasserstein,
    discriminator_bce,
    generator_nonsaturating,
    generator_wasserstein,
    gradient_penalty,
    js_estimate,
)

KINDS = ("gan", "wgan", "wgan_gp")


class LineGenerator(Sampling, nn.Module):
    """G_theta(z) = (theta, z), z ~ U[0, 1]: Example 1's model family; theta is the parameter."""

    noise_dim = 1

    def __init__(self, theta: float) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor(float(theta)))

    def sample_noise(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return torch.rand(n, 1, device=device, generator=generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.theta.expand(z.shape[0], 1), z], dim=1)


class GaussianGenerator(Sampling, nn.Module):
    """G(z) = mean + std * z, z ~ N(0, 1), in one dimension."""

    noise_dim = 1

    def __init__(self, mean: float, std: float) -> None:
        super().__init__()
        self.mean = nn.Parameter(torch.tensor(float(mean)))
        self.std = nn.Parameter(torch.tensor(float(std)))

    def sample_noise(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return torch.randn(n, 1, device=device, generator=generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mean + self.std * z


class Mlp(nn.Module):
    """in -> (Linear, ReLU) x depth -> Linear -> one value per row."""

    def __init__(self, in_dim: int, hidden: int = 128, depth: int = 2) -> None:
        super().__init__()
        mods: list[nn.Module] = []
        width = in_dim
        for _ in range(depth):
            mods += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        mods.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*mods)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


@dataclass(frozen=True)
class CriticFit:
    """How one discriminator / critic is trained to (near) optimality on a toy problem."""

    kind: str  # gan | wgan | wgan_gp
    epochs: int = 60
    batch_size: int = 256
    lr: float = 1e-3
    clip: float = 0.01
    gp_weight: float = 10.0
    hidden: int = 128
    depth: int = 2

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")


def fit_critic(
    fit: CriticFit, real: torch.Tensor, generator: nn.Module, seed: int = 0
) -> nn.Module:
    """Train a fresh discriminator (kind gan) or critic against the frozen `generator`."""
    torch.manual_seed(seed)
    D = Mlp(real.shape[1], fit.hidden, fit.depth).to(real.device)
    if fit.kind == "wgan":
        clip_weights_(D, fit.clip)  # the released code clamps before the first critic step
        opt_d: torch.optim.Optimizer = torch.optim.RMSprop(D.parameters(), lr=fit.lr)
    elif fit.kind == "wgan_gp":
        opt_d = torch.optim.Adam(D.parameters(), lr=fit.lr, betas=(0.0, 0.9))
    else:
        opt_d = torch.optim.Adam(D.parameters(), lr=fit.lr, betas=(0.5, 0.999))
    opt_g = torch.optim.SGD(generator.parameters(), lr=0.0)  # never stepped: G is frozen
    gan = GAN(generator, D, opt_g, opt_d)
    train(
        gan,
        real,
        epochs=fit.epochs,
        batch_size=fit.batch_size,
        g_cost=generator_nonsaturating if fit.kind == "gan" else generator_wasserstein,
        d_cost=discriminator_bce if fit.kind == "gan" else critic_wasserstein,
        n_critic=constant_critic_iters(1),
        penalty=(
            (lambda d, r, f: gradient_penalty(d, r, f, fit.gp_weight))
            if fit.kind == "wgan_gp"
            else None
        ),
        train_generator=False,
        after_step=(lambda g: clip_weights_(g.discriminator, fit.clip))
        if fit.kind == "wgan"
        else None,
        progress=False,
    )
    return D


def estimate(
    kind: str, D: nn.Module, real: torch.Tensor, generator: nn.Module, seed: int = 1
) -> tuple[float, dict[str, float]]:
    """The divergence the trained D implies on fresh samples, and its gradient w.r.t. each
    generator parameter (D held fixed): JSD = log 2 - d_loss for a GAN discriminator,
    W = E f(x) - E f(G(z)) for a critic."""
    gen = torch.Generator(device=real.device).manual_seed(seed)
    fake = generator(generator.sample_noise(real.shape[0], real.device, gen))
    was = D.training
    D.eval()
    real_o, fake_o = D(real), D(fake)
    D.train(was)
    if kind == "gan":
        value = js_estimate(discriminator_bce(real_o, fake_o))
    else:
        value = -critic_wasserstein(real_o, fake_o)
    params = dict(generator.named_parameters())
    grads = torch.autograd.grad(value, list(params.values()))
    return float(value.detach()), {k: float(g) for k, g in zip(params, grads, strict=True)}


def lines_real(n: int, device: torch.device | str, seed: int) -> torch.Tensor:
    """n points of P0 = (0, U[0, 1])."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    return torch.cat([torch.zeros(n, 1), torch.rand(n, 1, generator=gen)], dim=1).to(device)


def gaussian_real(n: int, mean: float, std: float, device: torch.device | str, seed: int):
    gen = torch.Generator(device="cpu").manual_seed(seed)
    return (mean + std * torch.randn(n, 1, generator=gen)).to(device)
