"""PacGAN's mode metrics for mixtures of Gaussians (Lin et al. 2018, Sec. 5.1; the code's
`MetricLogger`, synthetic_data_experiments/PacGAN/pacgan/extensions.py in fjxmlzn/PacGAN).

Each sample goes to its nearest centre, measured in standard deviations (the code divides the
squared offset by the variance); it is *high quality* if that distance is below 3 (`dis_thre=3`,
strict `<`). A mode is *covered* if at least one high-quality sample went to it. The *reverse KL*
is KL(p || uniform) of the histogram p of the high-quality samples over the modes, which is
log K - H(p) (the code logs H(p) as "entropy of coverage"); it is undefined (NaN here) when no
sample is of high quality. The paper scores 2,500 samples (`num_log_figure_sample`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

HQ_THRESHOLD_STD = 3.0  # PacGAN MetricLogger(dis_thre=3)
N_EVAL_SAMPLES = 2500  # PacGAN config: num_log_figure_sample


@dataclass(frozen=True)
class ModeScores:
    """One generator's scores: `modes` covered, fraction `hq` of high-quality samples, `rkl`,
    and the histogram `counts` of high-quality samples per mode."""

    modes: int
    hq: float
    rkl: float
    counts: tuple[int, ...]


def mode_histogram(
    samples: torch.Tensor, centres: torch.Tensor, std: float, threshold: float = HQ_THRESHOLD_STD
) -> torch.Tensor:
    """Counts of high-quality samples per mode. `samples` [n, 2] (or [n, d]), `centres` [K, d]."""
    if samples.dim() != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"samples must be [n, {centres.shape[1]}] like the centres, got {list(samples.shape)}"
        )
    dist = torch.cdist(samples.double(), centres.double()) / std  # in standard deviations
    nearest, which = dist.min(dim=1)
    hq = nearest < threshold
    return torch.bincount(which[hq], minlength=centres.shape[0])


def reverse_kl_to_uniform(counts: torch.Tensor) -> float:
    """KL(p || uniform) of the histogram `counts` (log K - entropy); NaN when it is empty."""
    total = float(counts.sum())
    if total == 0:
        return math.nan
    p = counts.double() / total
    nz = p[p > 0]
    return float((nz * torch.log(nz * counts.numel())).sum())


def mode_scores(
    samples: torch.Tensor, centres: torch.Tensor, std: float, threshold: float = HQ_THRESHOLD_STD
) -> ModeScores:
    """PacGAN's three numbers for one set of samples [n, d]."""
    counts = mode_histogram(samples, centres, std, threshold)
    return ModeScores(
        modes=int((counts > 0).sum()),
        hq=float(counts.sum()) / samples.shape[0],
        rkl=reverse_kl_to_uniform(counts),
        counts=tuple(int(c) for c in counts),
    )


def mode_scores_per_seed(
    samples: torch.Tensor, centres: torch.Tensor, std: float, threshold: float = HQ_THRESHOLD_STD
) -> list[ModeScores]:
    """Scores of each seed of a batched generator's samples [n, S, d]."""
    if samples.dim() != 3:
        raise ValueError(f"batched samples must be [n, seeds, d], got {list(samples.shape)}")
    return [mode_scores(samples[:, s], centres, std, threshold) for s in range(samples.shape[1])]


def label_accuracy(
    samples: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor, std: float
) -> float:
    """A conditional generator's accuracy: the fraction of samples [n, d] that are of high
    quality at the mode their label [n] asked for."""
    dist = torch.cdist(samples.double(), centres.double()) / std
    nearest, which = dist.min(dim=1)
    return float(((nearest < HQ_THRESHOLD_STD) & (which == labels)).double().mean())
