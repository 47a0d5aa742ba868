"""Stacked MNIST's mode metrics, as PacGAN's code computes VEEGAN's two measures (fjxmlzn/PacGAN,
stacked_MNIST_experiments/VEEGAN_experiment/model.py, `log_metrics`), and a conditional
generator's accuracy.

Each channel of a sample is classified by a pretrained MNIST classifier; the digit triple is the
sample's mode (of 1,000). `modes` is the number of distinct triples among the samples (PacGAN
scores 26,000, `num_test_sample`); `kl` is KL(p || uniform over 1,000) of the histogram p of the
samples' modes, sum over p > 0 of p log(1000 p) = log 1000 - H(p) (the code's `JSD().KLD(p, q)`
with q uniform). PacGAN's Table 2 calls it the reverse KL: the generated distribution comes first.

A pure numeric core (`mode_counts`, `stacked_scores`, `conditional_accuracy`) under a thin layer
that classifies images (`channel_digits`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from replication.datasets.stacked_mnist import CHANNELS, N_MODES, channels_of, mode_ids
from replication.metrics.modes import reverse_kl_to_uniform

PACGAN_EVAL_SAMPLES = 26_000  # PacGAN VEEGAN_experiment/config.py: num_test_sample


@dataclass(frozen=True)
class StackedScores:
    """`modes` covered (of 1,000), `kl` of their histogram to uniform, the histogram itself."""

    modes: int
    kl: float
    counts: tuple[int, ...]


def mode_counts(modes: torch.Tensor, n_modes: int = N_MODES) -> torch.Tensor:
    """Histogram [n_modes] of mode ids [n]."""
    if modes.dim() != 1:
        raise ValueError(f"mode ids must be 1-D, got {list(modes.shape)}")
    if modes.numel() == 0:
        raise ValueError("no samples to count")
    if int(modes.min()) < 0 or int(modes.max()) >= n_modes:
        raise ValueError(f"mode ids must lie in [0, {n_modes})")
    return torch.bincount(modes.long().cpu(), minlength=n_modes)


def stacked_scores(digits: torch.Tensor) -> StackedScores:
    """Modes covered and KL(p || uniform) from the classified digit triples [n, 3]."""
    counts = mode_counts(mode_ids(digits))
    return StackedScores(
        modes=int((counts > 0).sum()),
        kl=reverse_kl_to_uniform(counts),
        counts=tuple(int(c) for c in counts),
    )


@torch.no_grad()
def predict_digits(
    classify: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, batch: int = 2000
) -> torch.Tensor:
    """argmax of `classify`'s logits for rows [n, 784], in batches; a module is put in eval
    mode for the call (dropout off) and given back as it was."""
    was = getattr(classify, "training", None)
    if was is not None:
        classify.eval()  # type: ignore[attr-defined]
    out = torch.cat(
        [classify(images[i : i + batch]).argmax(1) for i in range(0, len(images), batch)]
    )
    if was:
        classify.train()  # type: ignore[attr-defined]
    return out


def channel_digits(
    classify: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor
) -> torch.Tensor:
    """The classifier's digit for each channel of stacked rows [n, 3 * 784] -> [n, 3]."""
    ch = channels_of(images)
    return torch.stack([predict_digits(classify, ch[:, c]) for c in range(CHANNELS)], 1)


def conditional_accuracy(predicted: torch.Tensor, asked: torch.Tensor, classes: int = 10) -> dict:
    """A conditional generator's accuracy: the fraction of samples classified as the label
    they were generated for, overall and per label (NaN for a label never asked for)."""
    if predicted.shape != asked.shape or predicted.dim() != 1:
        raise ValueError(f"predicted {list(predicted.shape)} and asked {list(asked.shape)}")
    if predicted.numel() == 0:
        raise ValueError("no samples")
    hit = (predicted == asked).double()
    per = [float(hit[asked == c].mean()) if bool((asked == c).any()) else float("nan")
           for c in range(classes)]  # fmt: skip
    return {"accuracy": float(hit.mean()), "per_label": per}
