"""Small plotting helpers shared by chapters."""

from __future__ import annotations

import numpy as np
import torch
from torchvision.utils import make_grid


def sample_grid(images: torch.Tensor, side: int = 28, nrow: int = 10) -> np.ndarray:
    """Rows of flat images -> one grey image grid (values in [0, 1]) for imshow."""
    x = images.detach().float().cpu().reshape(-1, 1, side, images.shape[1] // side)
    return make_grid(x, nrow=nrow, padding=2, pad_value=1.0)[0].numpy()
