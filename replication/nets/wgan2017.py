"""Small image GANs for the WGAN chapter: a DCGAN-style generator (batch norm optional), the
WGAN paper's MLP generator, and a convolutional critic without batch norm (WGAN-GP forbids it,
and one critic architecture serves GAN, WGAN and WGAN-GP alike).

Images are flat rows of 784 values in [0, 1], as `data.MnistSplits` holds them; the conv
generator ends in a sigmoid, the MLP generator (as released) in a linear layer, unbounded.
"""

from __future__ import annotations

import torch
from torch import nn

from replication.nets.mlp2014 import Sampling

SIDE = 28


def dcgan_init_(module: nn.Module) -> None:
    """The WGAN code's weights_init: conv weights N(0, 0.02), batch-norm scales N(1, 0.02) and
    shifts 0, and any layer's own `dcgan_init_` in its place (the WGAN chapter's nets and the
    mode-collapse chapter's image nets use it)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
        elif hasattr(m, "dcgan_init_"):  # a layer that says how (nets.dcgan_variants' VBN)
            m.dcgan_init_()


class _GaussianNoise(Sampling):
    noise_dim: int

    def sample_noise(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """z ~ N(0, I), as DCGAN and the WGAN code draw it."""
        return torch.randn(n, self.noise_dim, device=device, generator=generator)


class ConvGenerator(_GaussianNoise, nn.Module):
    """z -> linear to 2d x 7 x 7 -> up 14 x 14 (d channels) -> up 28 x 28 -> sigmoid.

    `channels` > 1 gives colour images (Stacked MNIST: 3), flat and channel-major."""

    def __init__(
        self, noise_dim: int = 100, dim: int = 64, batchnorm: bool = True, channels: int = 1
    ) -> None:
        super().__init__()
        self.noise_dim, self.dim, self.channels = noise_dim, dim, channels

        def norm(c: int, two_d: bool) -> nn.Module:
            if not batchnorm:
                return nn.Identity()
            return nn.BatchNorm2d(c) if two_d else nn.BatchNorm1d(c)

        self.fc = nn.Sequential(nn.Linear(noise_dim, 2 * dim * 49), norm(2 * dim * 49, False))
        self.up = nn.Sequential(
            nn.ReLU(),
            nn.Unflatten(1, (2 * dim, 7, 7)),
            nn.ConvTranspose2d(2 * dim, dim, 4, stride=2, padding=1),
            norm(dim, True),
            nn.ReLU(),
            nn.ConvTranspose2d(dim, channels, 4, stride=2, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.up(self.fc(z)).flatten(1))


class MlpGenerator(_GaussianNoise, nn.Module):
    """The WGAN paper's MLP generator ("4-layer ReLU-MLP with 512 hidden units", its Fig. 7) as
    the released code builds it (`models/mlp.py`, MLP_G): four linear layers, ReLU after the
    first three, a linear output and no batch norm. No output squashing either: the released
    code fits data in [-1, 1], ours is in [0, 1], an affine change the last layer absorbs."""

    def __init__(
        self, noise_dim: int = 100, hidden: int = 512, layers: int = 3, out_dim: int = SIDE * SIDE
    ) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        mods: list[nn.Module] = []
        width = noise_dim
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        mods.append(nn.Linear(width, out_dim))
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class ConvCritic(nn.Module):
    """28 x 28 -> conv 14 x 14 (d) -> conv 7 x 7 (2d) -> linear -> one unbounded value.

    A logit for the GAN, the critic f(x) for WGAN: the loss decides which it is. `channels` as
    the generator's.
    """

    def __init__(self, dim: int = 64, channels: int = 1) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Unflatten(1, (channels, SIDE, SIDE)),
            nn.Conv2d(channels, dim, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(dim, 2 * dim, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Flatten(),
            nn.Linear(2 * dim * 49, 1),
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last hidden layer, flattened [B, 2d * 49]: what feature matching matches."""
        return self.net[:-1](x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


GENERATORS = {
    "dcgan": lambda nz, dim: ConvGenerator(nz, dim, batchnorm=True),
    "dcgan_nobn": lambda nz, dim: ConvGenerator(nz, dim, batchnorm=False),
    "mlp": lambda nz, dim: MlpGenerator(nz),
}
