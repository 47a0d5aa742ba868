"""Networks of the low-dimensional problems where the optimal discriminator and critic can be
trained to convergence and compared with closed forms: the WGAN paper's parallel lines
(Example 1) and two far-apart 1-D Gaussians (its Figure 2). Their data are in
`datasets.toy`, their training in `training.fit_critic`.
"""

from __future__ import annotations

import torch
from torch import nn

from replication.nets.mlp2014 import Sampling


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


class ShiftedGaussian(Sampling, nn.Module):
    """G(z) = mean + std * z, z ~ N(0, 1), in one dimension (not `tfd2014.GaussianGenerator`,
    the TFD generator with a Gaussian noise input)."""

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


class Mixture1DGenerator(Sampling, nn.Module):
    """A fixed 1-D Gaussian mixture as a generator: z = (u, e), u ~ U[0, 1] picks the
    component by its weight, e ~ N(0, 1) places the point; x = mean_k + std_k e. A p_g with a
    closed-form density, for Theorem 1 of Goodfellow et al. 2014 (the discriminator trains
    against it frozen; `means` is a parameter only so that an optimiser can hold it)."""

    noise_dim = 2

    def __init__(
        self, weights: tuple[float, ...], means: tuple[float, ...], stds: tuple[float, ...]
    ) -> None:
        super().__init__()
        self.register_buffer("edges", torch.cumsum(torch.tensor(weights), 0)[:-1].contiguous())
        self.means = nn.Parameter(torch.tensor(means))
        self.register_buffer("stds", torch.tensor(stds))

    def sample_noise(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return torch.cat(
            [
                torch.rand(n, 1, device=device, generator=generator),
                torch.randn(n, 1, device=device, generator=generator),
            ],
            dim=1,
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        k = torch.bucketize(z[:, 0].contiguous(), self.edges)
        return (self.means[k] + self.stds[k] * z[:, 1]).unsqueeze(1)
