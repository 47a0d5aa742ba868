"""Small MLPs with a leading seed dimension: S independent networks held as one module, so all
seeds of a toy experiment train at once through the one loop.

Every weight is shaped [S, in, out] and every bias [S, 1, out]; a layer is one `torch.baddbmm`
over the seeds. Data outside the module are [batch, S, features] (rows first, as the loop
slices and concatenates them); the discriminator returns [batch, S]. Seed s of a module is
initialised from its own generator (`seed + s`), and `seed_module(s)` gives it back as an
ordinary `nn.Sequential`, the reference the tests compare gradients against.

Toy architectures named in the chapter's config: the unrolled-GAN demo's (Metz et al. 2016,
poolio/unrolled_gan: G two ReLU layers of 128 from a 256-d Gaussian, D one ReLU layer of 128 on
x / 4) and PacGAN's (G four ReLU layers of 400, D three maxout layers of 200 units x 5 pieces).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from replication.nets.mlp2014 import Sampling

ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh, "identity": lambda h: h}
INITS = ("torch", "normal", "orthogonal")


def _init_weight(w: torch.Tensor, kind: str, scale: float, gen: torch.Generator) -> None:
    """Fill one seed's weight [in, out] like `nn.Linear` ("torch"), N(0, scale^2) ("normal",
    PacGAN's IsotropicGaussian(0.02)) or orthogonal with gain `scale` (the unrolled demo's 0.8)."""
    fan_in = w.shape[0]
    if kind == "torch":
        bound = 1 / math.sqrt(fan_in)
        w.uniform_(-bound, bound, generator=gen)
    elif kind == "normal":
        w.normal_(0.0, scale, generator=gen)
    elif kind == "orthogonal":
        a = torch.randn(max(w.shape), min(w.shape), generator=gen)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r))
        w.copy_(scale * (q if w.shape[0] >= w.shape[1] else q.T))
    else:
        raise ValueError(f"unknown init {kind!r}; known: {INITS}")


class BatchedLinear(nn.Module):
    """S linear maps; with `pieces` > 1 a maxout layer (the max over `pieces` linear maps)."""

    def __init__(
        self,
        seeds: int,
        in_dim: int,
        out_dim: int,
        seed: int,
        pieces: int = 1,
        init: str = "torch",
        scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.pieces, self.out_dim = pieces, out_dim
        width = out_dim * pieces
        self.weight = nn.Parameter(torch.empty(seeds, in_dim, width))
        self.bias = nn.Parameter(torch.zeros(seeds, 1, width))
        with torch.no_grad():
            for s in range(seeds):
                gen = torch.Generator().manual_seed(seed + s)
                _init_weight(self.weight[s], init, scale, gen)
                if init == "torch":
                    bound = 1 / math.sqrt(in_dim)
                    self.bias[s].uniform_(-bound, bound, generator=gen)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """h [S, B, in] -> [S, B, out]."""
        out = torch.baddbmm(self.bias, h, self.weight)
        if self.pieces > 1:
            out = out.unflatten(-1, (self.out_dim, self.pieces)).amax(-1)
        return out


class Maxout(nn.Module):
    """The max over `pieces` consecutive outputs of a linear map (a seed's reference layer)."""

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h.unflatten(-1, (-1, self.pieces)).amax(-1)


class BatchedMlp(nn.Module):
    """in -> (Linear or maxout, activation) x len(hidden) -> Linear -> out, for S seeds at once.
    `in_scale` multiplies the input (the unrolled demo's D sees x / 4)."""

    def __init__(
        self,
        seeds: int,
        in_dim: int,
        hidden: tuple[int, ...],
        out_dim: int,
        seed: int,
        activation: str = "relu",
        pieces: int = 1,
        init: str = "torch",
        init_scale: float = 1.0,
        in_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; known: {list(ACTIVATIONS)}")
        if seeds < 1:
            raise ValueError(f"seeds must be at least 1, got {seeds}")
        self.seeds, self.activation, self.in_scale = seeds, activation, in_scale
        dims = (in_dim, *hidden, out_dim)
        self.layers = nn.ModuleList(
            BatchedLinear(
                seeds,
                dims[i],
                dims[i + 1],
                seed=seed + 1000 * i,
                pieces=pieces if i < len(hidden) else 1,
                init=init,
                scale=init_scale,
            )
            for i in range(len(dims) - 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, S, in] -> [B, S, out]."""
        if x.dim() != 3 or x.shape[1] != self.seeds:
            raise ValueError(f"expected [batch, {self.seeds} seeds, features], got {list(x.shape)}")
        h = x.transpose(0, 1) * self.in_scale
        act = ACTIVATIONS[self.activation]
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1 and layer.pieces == 1:
                h = act(h)
        return h.transpose(0, 1)

    def seed_module(self, s: int) -> nn.Sequential:
        """Seed s as an ordinary network with copies of its parameters."""
        mods: list[nn.Module] = []
        if self.in_scale != 1.0:
            mods.append(_Scale(self.in_scale))
        for i, layer in enumerate(self.layers):
            w = layer.weight[s].detach()
            lin = nn.Linear(w.shape[0], w.shape[1])
            with torch.no_grad():
                lin.weight.copy_(w.T)
                lin.bias.copy_(layer.bias[s, 0].detach())
            mods.append(lin)
            if layer.pieces > 1:
                mods.append(Maxout(layer.pieces))
            elif i < len(self.layers) - 1:
                mods.append(_Activation(self.activation))
        return nn.Sequential(*mods)


class _Scale(nn.Module):
    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.c


class _Activation(nn.Module):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ACTIVATIONS[self.name](x)


class BatchedGenerator(Sampling, nn.Module):
    """S generators z -> x with z ~ N(0, I) of `noise_dim`; noise and samples are [n, S, d]."""

    def __init__(
        self,
        seeds: int,
        noise_dim: int,
        hidden: tuple[int, ...],
        out_dim: int = 2,
        seed: int = 0,
        **mlp: Any,
    ) -> None:
        super().__init__()
        self.seeds, self.noise_dim = seeds, noise_dim
        self.net = BatchedMlp(seeds, noise_dim, hidden, out_dim, seed, **mlp)

    def sample_noise(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return torch.randn(n, self.seeds, self.noise_dim, device=device, generator=generator)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class BatchedDiscriminator(nn.Module):
    """S discriminators x -> one logit (or critic value) per row and seed: [B, S, d] -> [B, S]."""

    def __init__(
        self, seeds: int, in_dim: int, hidden: tuple[int, ...], seed: int = 0, **mlp: Any
    ) -> None:
        super().__init__()
        self.seeds = seeds
        self.net = BatchedMlp(seeds, in_dim, hidden, 1, seed, **mlp)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)
