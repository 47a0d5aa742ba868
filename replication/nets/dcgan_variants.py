"""The mode-collapse chapter's image networks beyond the WGAN chapter's DCGAN pair
(`wgan2017.ConvGenerator`, `ConvCritic`), built from it:

- a critic with Salimans et al.'s minibatch layer between its last hidden layer and its output
  (2016, Sec. 3.2; the layer of their code, openai/improved-gan nn.py `MinibatchLayer`:
  100 kernels of 5 dimensions in the CIFAR-10 model, theta ~ N(0, 0.05));
- a conditional pair (Mirza & Osindero 2014): G(z, y) with the one-hot label y appended to z,
  and D(x, y) with y tiled as extra input channels and appended to the features before the
  output (as DCGAN-tensorflow's conditional MNIST model, `conv_cond_concat`). A sample carries
  its label, [pixels + classes], so the training loop hands D the pair as it hands D a row;
- EBGAN's discriminator (Zhao et al. 2017): a convolutional autoencoder whose energy is the
  per-row mean squared reconstruction error, strided convs down and transposed convs up, with
  `ConvCritic`'s and `ConvGenerator`'s layers;
- a generator whose batch norms are virtual batch norms (Salimans et al. 2016, Sec. 3.5; the
  layer of `batched.virtual_batch_norm`, statistics per channel as their imagenet code's VBN).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from replication.nets.batched import virtual_batch_norm
from replication.nets.minibatch_features import minibatch_features
from replication.nets.wgan2017 import SIDE, ConvCritic, ConvGenerator


class MinibatchConvCritic(nn.Module):
    """`ConvCritic`'s body, then Salimans et al.'s minibatch features o(x) beside the hidden
    features h(x), then one linear output on [h, o]. o compares a row only with the rows of the
    same call, so real and fake minibatches must pass separately (the stabilised rule does)."""

    def __init__(
        self, dim: int = 64, channels: int = 1, kernels: int = 100, kernel_dim: int = 5
    ) -> None:
        super().__init__()
        self.body = ConvCritic(dim, channels).net[:-1]
        width = 2 * dim * 49
        self.kernels, self.kernel_dim = kernels, kernel_dim
        self.mb_T = nn.Linear(width, kernels * kernel_dim, bias=False)
        nn.init.normal_(self.mb_T.weight, 0.0, 0.05)
        self.out = nn.Linear(width + kernels, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        m = self.mb_T(h).unflatten(-1, (self.kernels, self.kernel_dim))
        o = minibatch_features(m.unsqueeze(0)).squeeze(0)  # one "seed" of the batched layer
        return self.out(torch.cat([h, o], -1)).squeeze(1)


class ConditionalConvGenerator(ConvGenerator):
    """G(z, y): `ConvGenerator` on [z, one-hot y]; its noise draws y uniformly over the classes
    and its output carries y, [channels * 784 + classes]."""

    def __init__(
        self,
        noise_dim: int = 100,
        dim: int = 64,
        classes: int = 10,
        batchnorm: bool = True,
        channels: int = 1,
    ) -> None:
        super().__init__(noise_dim + classes, dim, batchnorm, channels)
        self.latent_dim, self.classes = noise_dim, classes

    def noise_for(
        self, labels: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """[z, one-hot labels] for the given labels [n] (on their device)."""
        z = torch.randn(len(labels), self.latent_dim, device=labels.device, generator=generator)
        return torch.cat([z, F.one_hot(labels, self.classes).to(z.dtype)], 1)

    def sample_noise(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        y = torch.randint(self.classes, (n,), device=device, generator=generator)
        return self.noise_for(y, generator)

    def forward(self, zy: torch.Tensor) -> torch.Tensor:
        return torch.cat([super().forward(zy), zy[:, self.latent_dim :]], 1)


class ConditionalConvCritic(nn.Module):
    """D(x, y) on rows [channels * 784 + classes]: y as `classes` constant input planes beside
    the image, and again beside the last hidden features; `ConvCritic`'s layers otherwise."""

    def __init__(self, dim: int = 64, classes: int = 10, channels: int = 1) -> None:
        super().__init__()
        self.channels, self.classes = channels, classes
        self.body = ConvCritic(dim, channels + classes).net[1:-1]  # without its Unflatten
        self.out = nn.Linear(2 * dim * 49 + classes, 1)

    def _split(self, xy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        pixels = self.channels * SIDE * SIDE
        if xy.shape[1] != pixels + self.classes:
            raise ValueError(
                f"rows must be [{pixels} pixels + {self.classes} label], got {xy.shape[1]}"
            )
        return xy[:, :pixels], xy[:, pixels:]

    def features(self, xy: torch.Tensor) -> torch.Tensor:
        x, y = self._split(xy)
        planes = y[:, :, None, None].expand(-1, -1, SIDE, SIDE)
        image = x.view(len(x), self.channels, SIDE, SIDE)
        return torch.cat([self.body(torch.cat([image, planes], 1)), y], 1)

    def forward(self, xy: torch.Tensor) -> torch.Tensor:
        return self.out(self.features(xy)).squeeze(1)


class ConvAutoencoder(nn.Module):
    """EBGAN's autoencoder discriminator on images, [B, channels * 784] -> energies [B]: the
    mean squared error of each row's reconstruction. Encoder: `ConvCritic`'s two strided 4 x 4
    convs (d, then 2d channels at 7 x 7), the second linear: its output is the code, what the
    pulling-away term compares (`features`; a ReLU code would make the codes of dead units
    parallel, as in `batched.BatchedAutoencoder`). Decoder: `ConvGenerator`'s two transposed
    convs from the code back to 28 x 28, ReLU between, a linear output (as the toys'
    autoencoder: a sigmoid output, saturated, left D stuck reconstructing every image as black
    in our trials). All convolutional, strided convs down and transposed convs up, as Zhao et
    al.'s image autoencoders (our reading of their LSUN and CelebA setup, whose text this project
    has not checked), with the DCGAN pair's two layers each side."""

    def __init__(self, dim: int = 64, channels: int = 1) -> None:
        super().__init__()
        self.channels = channels
        self.encoder = nn.Sequential(
            nn.Unflatten(1, (channels, SIDE, SIDE)),
            nn.Conv2d(channels, dim, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv2d(dim, 2 * dim, 4, stride=2, padding=1),
        )
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(2 * dim, dim, 4, stride=2, padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(dim, channels, 4, stride=2, padding=1),
            nn.Flatten(),
        )

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The code, flattened [B, 2d * 49]."""
        return self.encoder(x).flatten(1)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.reconstruct(x) - x) ** 2).mean(1)


class VirtualBatchNorm(nn.Module):
    """Virtual batch norm of `features` channels, with a gain and a shift per channel (their
    code's gamma ~ N(1, 0.02), beta = 0: drawn by `dcgan_init_`). Called on [n_ref + B, features] or
    [n_ref + B, features, H, W], the first n_ref rows the reference batch's activations."""

    def __init__(self, features: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        # ones here, N(1, 0.02) from `dcgan_init_` where a batch norm's scale is drawn, so a VBN
        # generator draws the same random numbers as the batch-norm one and starts from its weights
        self.gain = nn.Parameter(torch.ones(features))
        self.shift = nn.Parameter(torch.zeros(features))

    def dcgan_init_(self) -> None:
        """Batch norm's DCGAN initialisation, at batch norm's place in `wgan2017.dcgan_init_`."""
        nn.init.normal_(self.gain, 1.0, 0.02)
        nn.init.zeros_(self.shift)

    def forward(self, h: torch.Tensor, n_ref: int) -> torch.Tensor:
        spatial = tuple(range(3, h.dim() + 1))  # after the seed and row dims added below
        out = virtual_batch_norm(h.unsqueeze(0), n_ref, self.eps, spatial).squeeze(0)
        shape = (-1,) + (1,) * (h.dim() - 2)
        return out * self.gain.view(shape) + self.shift.view(shape)


class VbnConvGenerator(ConvGenerator):
    """`ConvGenerator` with virtual batch norms where it has batch norms. The reference noise
    [n_ref, noise_dim] is drawn once and kept (a buffer); every call runs it through the
    network ahead of the rows asked for, so each layer's statistics are the reference's (with
    each row itself): a row's output does not depend on the other rows of its batch."""

    def __init__(
        self, noise_dim: int, dim: int, reference: torch.Tensor, channels: int = 1
    ) -> None:
        super().__init__(noise_dim, dim, batchnorm=False, channels=channels)
        if reference.dim() != 2 or reference.shape[1] != noise_dim or len(reference) < 2:
            raise ValueError(
                f"reference must be [n >= 2, {noise_dim}] noise, got {list(reference.shape)}"
            )
        self.register_buffer("reference", reference.clone())
        self.fc[1] = VirtualBatchNorm(2 * dim * 49)  # the Identity slots of batchnorm=False
        self.up[3] = VirtualBatchNorm(dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        n_ref = len(self.reference)
        h = torch.cat([self.reference, z])
        for layer in (*self.fc, *self.up):
            h = layer(h, n_ref) if isinstance(layer, VirtualBatchNorm) else layer(h)
        return torch.sigmoid(h[n_ref:].flatten(1))
