"""Stacked MNIST: three MNIST digits drawn independently and stacked as the colour channels of
one 28 x 28 image, so 10^3 = 1,000 modes (Metz et al. 2017, Sec. 3.3; VEEGAN and PacGAN Table 2).

Pinned to PacGAN's code for VEEGAN's setup (fjxmlzn/PacGAN, stacked_MNIST_experiments/
VEEGAN_experiment/model.py, `load_mnist`): the pool is all 70,000 MNIST images (training and
test files), and each channel of each training image picks a pool image uniformly at random,
with replacement (`np.random.randint(0, 70000, size=(n, 3))`); its config draws n = 128,000.
A row's mode is 100 d_0 + 10 d_1 + d_2, where d_c is the digit of channel c. Rows are flat and
channel-major, [3 * 784] in [0, 1], as `MnistSplits` holds single images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from replication.datasets.mnist import MnistSplits

CHANNELS = 3
PIXELS = 28 * 28
N_MODES = 10**CHANNELS
PACGAN_TRAIN_IMAGES = 128_000  # PacGAN VEEGAN_experiment/config.py: num_training_sample


def mode_ids(digits: torch.Tensor) -> torch.Tensor:
    """Digit triples [n, 3] (channel 0 first) -> mode ids 100 d_0 + 10 d_1 + d_2 in [0, 1000)."""
    if digits.dim() != 2 or digits.shape[1] != CHANNELS:
        raise ValueError(f"digits must be [n, {CHANNELS}], got {list(digits.shape)}")
    if digits.numel() and (int(digits.min()) < 0 or int(digits.max()) > 9):
        raise ValueError("digits must lie in 0..9")
    return digits[:, 0] * 100 + digits[:, 1] * 10 + digits[:, 2]


@dataclass(frozen=True)
class StackedMnist:
    """Stacked images [n, 3 * 784] and the digit of each channel [n, 3]."""

    images: torch.Tensor
    digits: torch.Tensor

    @property
    def modes(self) -> torch.Tensor:
        return mode_ids(self.digits)


def pool(mnist: MnistSplits) -> tuple[torch.Tensor, torch.Tensor]:
    """All 70,000 images and labels (PacGAN stacks from the training and test files together;
    our splits hold the training file as train + valid)."""
    images = torch.cat([mnist.train, mnist.valid, mnist.test])
    labels = torch.cat([mnist.train_labels, mnist.valid_labels, mnist.test_labels])
    return images, labels


def stack(images: torch.Tensor, labels: torch.Tensor, n: int, seed: int) -> StackedMnist:
    """`n` stacked images whose channels are pool images drawn independently and uniformly,
    with replacement, from a private generator seeded with `seed` (on the pool's device)."""
    if images.dim() != 2 or images.shape[1] != PIXELS:
        raise ValueError(f"pool images must be [m, {PIXELS}], got {list(images.shape)}")
    if labels.shape != images.shape[:1]:
        raise ValueError(f"labels {list(labels.shape)} do not match images {list(images.shape)}")
    if n < 1 or len(images) == 0:
        raise ValueError(f"need n >= 1 and a non-empty pool, got n={n}, pool {len(images)}")
    gen = torch.Generator().manual_seed(seed)
    idx = torch.randint(len(images), (n, CHANNELS), generator=gen).to(images.device)
    return StackedMnist(images[idx].reshape(n, CHANNELS * PIXELS), labels[idx])


def channels_of(images: torch.Tensor) -> torch.Tensor:
    """Flat stacked rows [n, 3 * 784] -> their channels [n, 3, 784] (a view)."""
    if images.dim() != 2 or images.shape[1] != CHANNELS * PIXELS:
        raise ValueError(
            f"stacked images must be [n, {CHANNELS * PIXELS}], got {list(images.shape)}"
        )
    return images.view(len(images), CHANNELS, PIXELS)
