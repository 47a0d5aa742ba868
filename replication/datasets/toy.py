"""Samples of the WGAN paper's low-dimensional problems: its parallel lines (Example 1) and the
1-D Gaussians of its Figure 2. Drawn on the CPU from their own seed: the same points on any
device."""

from __future__ import annotations

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
