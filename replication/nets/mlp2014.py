"""The networks of Goodfellow et al. 2014, MNIST (`mnist.yaml` of goodfeli/adversarial).

The discriminator returns logits: every loss is written on logits, so no log(sigmoid) underflows.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class Maxout(nn.Module):
    """Linear to units*pieces, then the max over each unit's pieces (Goodfellow et al. 2013)."""

    def __init__(self, in_features: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(in_features, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(dim=2)


class Sampling:
    """`sample` for any generator module that defines `sample_noise(n, device, generator)`."""

    @torch.no_grad()
    def sample(
        self, n: int, device: torch.device | str, seed: int | None = None, batch: int = 2000
    ) -> torch.Tensor:
        """n samples (sigmoid means). A `seed` draws from a private generator, so evaluating
        never shifts the training run's random stream."""
        gen = None
        if seed is not None:
            gen = torch.Generator(device=device)
            gen.manual_seed(seed)
        was = self.training
        self.eval()
        out = torch.cat(
            [self(self.sample_noise(min(batch, n - i), device, gen)) for i in range(0, n, batch)]
        )
        self.train(was)
        return out


class Generator(Sampling, nn.Module):
    """z -> ReLU -> ReLU -> sigmoid; outputs the sigmoid means (what the paper's Parzen used)."""

    NOISES = ("uniform", "gaussian")

    def __init__(
        self, noise_dim: int = 100, hidden: int = 1200, out_dim: int = 784, noise: str = "uniform"
    ) -> None:
        super().__init__()
        if noise not in self.NOISES:
            raise ValueError(f"noise must be one of {self.NOISES}, got {noise!r}")
        self.noise_dim, self.noise = noise_dim, noise
        self.net = nn.Sequential(
            nn.Linear(noise_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.net(z))

    def sample_noise(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Uniform on [-sqrt(3), sqrt(3)] (mnist.yaml's `noise: uniform`) or N(0, 1) (the
        adversarial Generator's default when the yaml names none): both unit variance."""
        if self.noise == "gaussian":
            return torch.randn(n, self.noise_dim, device=device, generator=generator)
        s = math.sqrt(3.0)
        return torch.empty(n, self.noise_dim, device=device).uniform_(-s, s, generator=generator)


class Discriminator(nn.Module):
    """Maxout, maxout, linear -> logit, with the paper's dropout on each layer's input.

    pylearn2's dropout keeps an input with probability p and scales kept inputs by a fixed
    factor (1.25 for pixels, 2 elsewhere): the same as inverted dropout for these values.
    """

    def __init__(
        self,
        in_dim: int = 784,
        units: int = 240,
        pieces: int = 5,
        input_keep: float = 0.8,
        hidden_keep: float = 0.5,
    ) -> None:
        super().__init__()
        self.drop_in = nn.Dropout(1.0 - input_keep) if input_keep < 1 else nn.Identity()
        self.h0 = Maxout(in_dim, units, pieces)
        self.drop0 = nn.Dropout(1.0 - hidden_keep) if hidden_keep < 1 else nn.Identity()
        self.h1 = Maxout(units, units, pieces)
        self.drop1 = nn.Dropout(1.0 - hidden_keep) if hidden_keep < 1 else nn.Identity()
        self.out = nn.Linear(units, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.h0(self.drop_in(x))
        h = self.h1(self.drop0(h))
        return self.out(self.drop1(h)).squeeze(1)


def init_uniform_(module: nn.Module, irange: float) -> None:
    """pylearn2's `irange`: weights U(-irange, irange), biases zero."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.uniform_(m.weight, -irange, irange)
            nn.init.zeros_(m.bias)


def init_output_bias_from_marginals_(
    gen: Generator, train: torch.Tensor, eps: float = 1e-7
) -> None:
    """pylearn2's init_sigmoid_bias_from_marginals: bias = logit(mean pixel), mean clipped to
    [eps, 1-eps] so that always-black border pixels get a finite bias (pylearn2's
    init_sigmoid_bias_from_array clips at 1e-7: logit -16.1 for a pixel that is never on)."""
    p = train.mean(dim=0).clamp(eps, 1 - eps)
    with torch.no_grad():
        gen.net[-1].bias.copy_(torch.log(p) - torch.log1p(-p))
