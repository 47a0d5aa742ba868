"""The TFD networks of the 2014 code (`tfd_pretrain/pretrain.yaml`, `train.yaml` of
goodfeli/adversarial): a Gaussian-noise generator trained in two stages, and the max column norm.

Stage 1 (pretrain.yaml): z ~ N(0, I_100) -> ReLU 8000 -> sigmoid 8000 -> sigmoid 2304.
Stage 2 (train.yaml, `adversarial.add_layers`): a new block z -> ReLU 8000 -> sigmoid 100 is put
in front of *all* the pretrained layers, and the pair trains again with a fresh discriminator.
The discriminator (maxout 1200 x 5, twice, then one sigmoid unit, with MNIST's dropout) is
`models.Discriminator` with other sizes.
"""

from __future__ import annotations

import torch
from torch import nn

from replication.nets.mlp2014 import Generator


class GaussianGenerator(Generator):
    """`net` maps z ~ N(0, I) to logits; the output is their sigmoid (adversarial.Generator with
    its default noise="gaussian"). Reuses `Generator.sample` and its private-seed sampling."""

    def __init__(self, net: nn.Sequential, noise_dim: int) -> None:
        nn.Module.__init__(self)
        self.noise_dim = noise_dim
        self.net = net

    def sample_noise(
        self, n: int, device: torch.device | str, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return torch.randn(n, self.noise_dim, device=device, generator=generator)


def _uniform_(layer: nn.Linear, irange: float, bias: float = 0.0) -> None:
    nn.init.uniform_(layer.weight, -irange, irange)
    nn.init.constant_(layer.bias, bias)


def sparse_init_(layer: nn.Linear, k: int, gen: torch.Generator | None = None) -> None:
    """pylearn2's `sparse_init`: each unit gets k distinct inputs with N(0, 1) weights (stdev 1),
    the rest 0."""
    out_f, in_f = layer.weight.shape
    k = min(k, in_f)
    with torch.no_grad():
        idx = torch.rand(out_f, in_f, generator=gen).argsort(dim=1)[:, :k]
        w = torch.zeros(out_f, in_f)
        w.scatter_(1, idx, torch.randn(out_f, k, generator=gen))
        layer.weight.copy_(w)


def pretrain_generator(
    noise_dim: int,
    hidden: int,
    out_dim: int,
    irange: float,
    h1_bias: float,
    out_sparse_init: int,
) -> GaussianGenerator:
    """pretrain.yaml: h0 ReLU (irange), h1 sigmoid (irange, init_bias), y sigmoid (sparse_init;
    its bias is set from the data marginals by the caller)."""
    h0, h1, y = nn.Linear(noise_dim, hidden), nn.Linear(hidden, hidden), nn.Linear(hidden, out_dim)
    _uniform_(h0, irange)
    _uniform_(h1, irange, h1_bias)
    sparse_init_(y, out_sparse_init)
    nn.init.zeros_(y.bias)
    return GaussianGenerator(nn.Sequential(h0, nn.ReLU(), h1, nn.Sigmoid(), y), noise_dim)


def stacked_generator(
    pretrained: GaussianGenerator, hidden: int, irange: float, h1_bias: float
) -> GaussianGenerator:
    """train.yaml: z -> ReLU `hidden` -> sigmoid (pretrained.noise_dim) -> every pretrained layer.

    The new block's output replaces the pretrained generator's Gaussian input, so the new noise
    has the same dimension (100 -> 8000 -> 100 in the code)."""
    d = pretrained.noise_dim
    h0, h1 = nn.Linear(d, hidden), nn.Linear(hidden, d)
    _uniform_(h0, irange)
    _uniform_(h1, irange, h1_bias)
    net = nn.Sequential(h0, nn.ReLU(), h1, nn.Sigmoid(), *pretrained.net)
    return GaussianGenerator(net, d)


@torch.no_grad()
def max_col_norm_(module: nn.Module, max_norm: float) -> None:
    """pylearn2's `max_col_norm` (MaxL2FilterNorm, axis 0) on every linear map in `module`.

    pylearn2 stores W as [inputs, units] and caps each column, i.e. the weights into one unit
    (for maxout: one piece), at L2 norm `max_norm`: W *= clip(norm, 0, max) / max(1e-7, norm).
    torch stores [units, inputs], so the same vectors are the rows. Biases are not touched.
    """
    for m in module.modules():
        if isinstance(m, nn.Linear):
            w = m.weight
            norms = w.norm(dim=1, keepdim=True)
            w.mul_(norms.clamp(max=max_norm) / norms.clamp(min=1e-7))


class MaxColNorm:
    """`after_step` hook for `train.train`: the constraint after every update, as pylearn2
    applied it inside each SGD update (every layer of both TFD nets has max_col_norm 1.9365)."""

    def __init__(self, max_norm: float) -> None:
        self.max_norm = max_norm

    def __call__(self, gan) -> None:  # noqa: ANN001 - train.GAN
        max_col_norm_(gan.generator, self.max_norm)
        max_col_norm_(gan.discriminator, self.max_norm)
