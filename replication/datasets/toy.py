"""Samples of the low-dimensional problems: the WGAN paper's parallel lines (Example 1) and the
1-D Gaussians of its Figure 2; the mode-collapse benchmarks (PacGAN's ring of 8 and grid of 25
Gaussians). Drawn on the CPU from their own seed: the same points on any device."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def lines_real(n: int, device: torch.device | str, seed: int) -> torch.Tensor:
    """n points of P0 = (0, U[0, 1])."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    return torch.cat([torch.zeros(n, 1), torch.rand(n, 1, generator=gen)], dim=1).to(device)


def gaussian_real(
    n: int, mean: float, std: float, device: torch.device | str, seed: int
) -> torch.Tensor:
    """n points of N(mean, std^2), one column."""
    gen = torch.Generator(device="cpu").manual_seed(seed)
    return (mean + std * torch.randn(n, 1, generator=gen)).to(device)


# -- the mode-collapse benchmarks: mixtures of isotropic 2-D Gaussians ---------------------------
PACGAN_RING = (
    "PacGAN code, synthetic_data_experiments/2DRing_GAN&PacGAN/config.py (fjxmlzn/PacGAN): "
    "MEANS = [cos(id * 2 pi / 8), sin(id * 2 pi / 8)] for id in range(8), std 0.01"
)
PACGAN_GRID = (
    "PacGAN code, synthetic_data_experiments/2DGrid_GAN&PacGAN/config.py (fjxmlzn/PacGAN): "
    "MEANS = product(range(-4, 5, 2), range(-4, 5, 2)), std 0.05"
)


@dataclass(frozen=True)
class Mixture:
    """An equal-weight mixture of isotropic Gaussians in the plane: the modes a generator must
    cover. `centres` is a tuple of (x, y); every mode has the same `std`."""

    name: str
    centres: tuple[tuple[float, float], ...]
    std: float
    source: str

    def __post_init__(self) -> None:
        if len(set(self.centres)) != len(self.centres):
            raise ValueError(f"{self.name}: two centres coincide; each mode must be distinct")
        if self.std <= 0:
            raise ValueError(f"{self.name}: std must be positive, got {self.std}")

    @property
    def n_modes(self) -> int:
        return len(self.centres)

    def centre_tensor(self, device: torch.device | str = "cpu") -> torch.Tensor:
        return torch.tensor(self.centres, dtype=torch.float32, device=device)

    def sample(
        self,
        n: int,
        device: torch.device | str,
        seed: int,
        seeds: int | None = None,
        labelled: bool = False,
    ) -> torch.Tensor:
        """n points, [n, 2]; with `seeds` = S, [n, S, 2], column s drawn from seed `seed + s`
        (each seed of a batched experiment gets its own data). `labelled` appends the one-hot
        mode of each point (a conditional GAN's y): [..., 2 + n_modes]. Drawn on the CPU."""
        cols = [self._draw(n, seed + s, labelled) for s in range(seeds or 1)]
        out = torch.stack(cols, dim=1) if seeds else cols[0]
        return out.to(device)

    def _draw(self, n: int, seed: int, labelled: bool) -> torch.Tensor:
        gen = torch.Generator(device="cpu").manual_seed(seed)
        which = torch.randint(self.n_modes, (n,), generator=gen)
        x = self.centre_tensor()[which] + self.std * torch.randn(n, 2, generator=gen)
        if not labelled:
            return x
        return torch.cat([x, torch.nn.functional.one_hot(which, self.n_modes).float()], 1)


def ring(n_modes: int = 8, radius: float = 1.0, std: float = 0.01) -> Mixture:
    """Modes at angles 2 pi k / n_modes, k = 0..n_modes-1. The unrolled-GAN demo and the code
    copied from it use `linspace(0, 2 pi, 8)`, whose endpoint repeats the first angle: 7
    distinct modes, one with twice the weight. Here there are n_modes distinct ones."""
    angles = [2 * math.pi * k / n_modes for k in range(n_modes)]
    centres = tuple((radius * math.cos(a), radius * math.sin(a)) for a in angles)
    return Mixture(f"ring{n_modes}", centres, std, PACGAN_RING)


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
    """side x side modes on {-(side-1), ..., side-1} * spacing / 2 (5 x 5: {-4, -2, 0, 2, 4})."""
    half = (side - 1) / 2
    axis = [spacing * (i - half) for i in range(side)]
    centres = tuple((x, y) for x in axis for y in axis)
    return Mixture(f"grid{side * side}", centres, std, PACGAN_GRID)


RING8 = ring()
GRID25 = grid()
MIXTURES = {"ring": RING8, "grid": GRID25}
