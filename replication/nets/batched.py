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

from replication.nets.minibatch_features import minibatch_features
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


def virtual_batch_norm(
    h: torch.Tensor, n_ref: int, eps: float = 1e-5, pooled: tuple[int, ...] = ()
) -> torch.Tensor:
    """Salimans et al. 2016, Sec. 3.5, as their code's VBN: rows [S, n_ref + B, ...], the first
    n_ref the reference batch. Reference rows are normalised by the reference's statistics; each
    other row by the statistics of the reference together with itself (weight 1 / (n_ref + 1)),
    so no row depends on the other rows of its minibatch. `pooled` names further dims whose
    positions share statistics, a conv layer's spatial dims (their imagenet code's VBN: the
    reference's mean over batch and positions, a row's own over its positions)."""
    ref = h[:, :n_ref]
    ref_dims = (1, *pooled)
    ref_mean, ref_sq = ref.mean(ref_dims, keepdim=True), (ref**2).mean(ref_dims, keepdim=True)
    w = 1.0 / (n_ref + 1)
    x = h[:, n_ref:]
    x_mean, x_sq = x, x**2
    if pooled:
        x_mean, x_sq = x.mean(pooled, keepdim=True), x_sq.mean(pooled, keepdim=True)
    mean = (1 - w) * ref_mean + w * x_mean
    sq = (1 - w) * ref_sq + w * x_sq
    out_ref = (ref - ref_mean) / torch.sqrt(ref_sq - ref_mean**2 + eps)
    out_x = (x - mean) / torch.sqrt(sq - mean**2 + eps)
    return torch.cat([out_ref, out_x], dim=1)


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
        vbn_reference: torch.Tensor | None = None,
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
        self.vbn = vbn_reference is not None
        if vbn_reference is not None:  # Salimans et al. Sec. 3.5: a batch fixed once, [n, S, in]
            self.register_buffer("vbn_reference", vbn_reference.clone())
            self.vbn_gain = nn.Parameter(torch.ones(len(hidden), seeds, 1, max(hidden, default=1)))
            self.vbn_bias = nn.Parameter(torch.zeros(len(hidden), seeds, 1, max(hidden, default=1)))

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[1] != self.seeds:
            raise ValueError(f"expected [batch, {self.seeds} seeds, features], got {list(x.shape)}")

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer's activations, [B, S, width] (feature matching's f)."""
        self._check(x)
        h = x.transpose(0, 1) * self.in_scale
        n_ref = 0
        if self.vbn:
            n_ref = self.vbn_reference.shape[0]
            h = torch.cat([self.vbn_reference.transpose(0, 1) * self.in_scale, h], dim=1)
        act = ACTIVATIONS[self.activation]
        for i, layer in enumerate(self.layers[:-1]):
            h = layer(h)
            if self.vbn:
                width = h.shape[-1]
                h = virtual_batch_norm(h, n_ref) * self.vbn_gain[i, ..., :width]
                h = h + self.vbn_bias[i, ..., :width]
            if layer.pieces == 1:
                h = act(h)
        return h[:, n_ref:].transpose(0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, S, in] -> [B, S, out]."""
        return self.head(self.hidden(x))

    def head(self, h: torch.Tensor) -> torch.Tensor:
        """The output layer on hidden activations [B, S, width]."""
        return self.layers[-1](h.transpose(0, 1)).transpose(0, 1)

    def seed_module(self, s: int) -> nn.Sequential:
        """Seed s as an ordinary network with copies of its parameters."""
        if self.vbn:
            raise ValueError("a VBN network has no plain per-seed form")
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
    """S discriminators x -> one logit (or critic value) per row and seed: [B, S, d] -> [B, S].
    `minibatch` = (K kernels, C dims) adds Salimans et al.'s minibatch layer between the last
    hidden layer and the output; its features see only the rows of the same call."""

    def __init__(
        self,
        seeds: int,
        in_dim: int,
        hidden: tuple[int, ...],
        seed: int = 0,
        minibatch: tuple[int, int] | None = None,
        **mlp: Any,
    ) -> None:
        super().__init__()
        self.seeds, self.minibatch = seeds, minibatch
        self.net = BatchedMlp(seeds, in_dim, hidden, 1, seed, **mlp)
        if minibatch is not None:
            k, c = minibatch
            width = hidden[-1]
            self.mb_T = BatchedLinear(seeds, width, k * c, seed + 77, init="normal", scale=0.05)
            self.mb_out = BatchedLinear(seeds, width + k, 1, seed + 78)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer, [B, S, width]: what feature matching matches."""
        return self.net.hidden(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.net.hidden(x)
        if self.minibatch is None:
            return self.net.head(h).squeeze(-1)
        hs = h.transpose(0, 1)  # [S, B, width]
        m = self.mb_T(hs).unflatten(-1, self.minibatch)
        o = minibatch_features(m)
        return self.mb_out(torch.cat([hs, o], -1)).squeeze(-1).transpose(0, 1)


class BatchedAutoencoder(nn.Module):
    """EBGAN's discriminator (Zhao et al. 2017): an autoencoder whose energy is the mean squared
    reconstruction error per row, [B, S, d] -> [B, S]. The encoder maps x through `encoder`
    hidden layers to a linear code of width `code`, the decoder the code through `decoder`
    hidden layers back to d; `features` is the code, what the pulling-away term compares (a
    ReLU code would be degenerate there: dead units make every pair of codes parallel).
    `in_scale` applies to the encoder's input only; the energy compares with x itself."""

    def __init__(
        self,
        seeds: int,
        in_dim: int,
        encoder: tuple[int, ...],
        code: int,
        decoder: tuple[int, ...],
        seed: int = 0,
        **mlp: Any,
    ) -> None:
        super().__init__()
        self.seeds = seeds
        self.encoder = BatchedMlp(seeds, in_dim, encoder, code, seed, **mlp)
        dec = {k: v for k, v in mlp.items() if k != "in_scale"}
        self.decoder = BatchedMlp(seeds, code, decoder, in_dim, seed + 500, **dec)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The encoder's code, [B, S, code]."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.decoder(self.encoder(x)) - x) ** 2).mean(-1)

    def seed_module(self, s: int) -> nn.Sequential:
        """Seed s's autoencoder (encoder then decoder) as an ordinary network."""
        return nn.Sequential(self.encoder.seed_module(s), self.decoder.seed_module(s))


class ConditionalGenerator(BatchedGenerator):
    """Mirza & Osindero 2014: G(z, y) with y a one-hot label drawn uniformly; a sample carries
    its label, [n, S, d + classes], so the discriminator receives (x, y) as its input."""

    def __init__(
        self,
        seeds: int,
        noise_dim: int,
        hidden: tuple[int, ...],
        classes: int,
        out_dim: int = 2,
        seed: int = 0,
        **mlp: Any,
    ) -> None:
        nn.Module.__init__(self)
        self.seeds, self.noise_dim, self.classes = seeds, noise_dim, classes
        self.net = BatchedMlp(seeds, noise_dim + classes, hidden, out_dim, seed, **mlp)

    def sample_noise(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        z = torch.randn(n, self.seeds, self.noise_dim, device=device, generator=generator)
        y = torch.randint(self.classes, (n, self.seeds), device=device, generator=generator)
        return torch.cat([z, nn.functional.one_hot(y, self.classes).to(z.dtype)], -1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.net(z), z[..., self.noise_dim :]], -1)
