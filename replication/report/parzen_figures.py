"""Figures of the two Parzen chapters (Table 1, MNIST and TFD columns)."""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import torch
from matplotlib.figure import Figure

from replication.chapters.parzen_mnist import ParzenMnistConfig
from replication.chapters.parzen_mnist import sample_seed as mnist_sample_seed
from replication.chapters.parzen_tfd import ParzenTfdConfig
from replication.chapters.parzen_tfd import sample_seed as tfd_sample_seed
from replication.datasets.faces import SIDE, FaceFolds
from replication.datasets.mnist import MnistSplits
from replication.metrics.nearest import nearest
from replication.metrics.parzen import ParzenResult
from replication.report.figures import sample_grid
from replication.report.published import ADVERSARIAL_MNIST
from replication.training.state import GAN

# --------------------------------------------------------------------------- MNIST


def curves_figure(history: pd.DataFrame, ours: ParzenResult, epoch: int) -> Figure:
    """Left the scored epochs against the published value, right the sigma curve of the
    selected epoch: where the chosen checkpoint and sigma come from."""
    pub = ADVERSARIAL_MNIST.published
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    h = history.dropna(subset=["valid_ll"]) if "valid_ll" in history else history.iloc[:0]
    ax1.plot(h.epoch, h.valid_ll, marker=".", label="validation (1,000 images; selects)")
    if "test_ll" in h:
        ax1.plot(h.epoch, h.test_ll, marker=".", alpha=0.6, label="test (for the record)")
    ax1.axhline(pub, color="grey", ls="--", lw=1, label=f"published {pub:.0f} (test)")
    ax1.axvline(epoch, color="k", lw=0.8, ls=":", label=f"selected epoch {epoch}")
    ax1.set(
        xlabel="epoch", ylabel="Parzen log-likelihood (nats)", title="Log-likelihood over training"
    )
    ax1.legend(fontsize=8)
    ax2.semilogx(ours.sigmas, ours.valid_mean_ll, marker="o")
    ax2.axvline(ours.sigma, color="k", lw=0.8, ls=":", label=f"chosen sigma = {ours.sigma:.3f}")
    ax2.set(
        xlabel="sigma",
        ylabel="mean validation log-likelihood (nats)",
        title=f"Sigma selection (epoch {epoch})",
    )
    ax2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def nearest_neighbour_figure(
    gan: GAN, cfg: ParzenMnistConfig, mnist: MnistSplits, n: int = 30
) -> Figure:
    """As the paper's Figure 2: samples, each beside its nearest training image."""
    s = gan.generator.sample(n, mnist.train.device, seed=mnist_sample_seed(cfg) + 1)
    nn = mnist.train[nearest(s, mnist.train)[1]]
    pairs = torch.stack([s, nn], dim=1).reshape(2 * n, -1)
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.imshow(sample_grid(pairs, nrow=10), cmap="gray")
    ax.set_title("Samples (odd columns) and their nearest training images (even columns)")
    ax.axis("off")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- TFD


def sigma_figure(per_fold: pd.DataFrame, sigmas: torch.Tensor) -> Figure:
    """Each TFD fold's validation curve over the sigma grid, its chosen sigma circled."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    s = sigmas.numpy()
    for r in per_fold.itertuples():
        (line,) = ax.semilogx(s, r.valid_mean_ll_per_sigma, marker=".", label=f"fold {r.fold}")
        ax.plot([r.sigma], [r.valid_ll_at_sigma], "o", ms=9, mfc="none", color=line.get_color())
    ax.set(
        xlabel="σ",
        ylabel="mean validation log-likelihood (nats)",
        title="σ selection per fold (circle: chosen σ)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def tfd_samples_figure(
    run: dict[str, Any],
    cfg: ParzenTfdConfig,
    faces: FaceFolds,
    device: torch.device,
    per_row: int = 10,
) -> Figure:
    """Per generator one row of samples, under it one row of its real training images."""
    rows = []
    for name, g in run["generators"].items():
        fold = int(name.removeprefix("fold"))
        s = g.sample(per_row, device, seed=tfd_sample_seed(cfg, fold) + 1).cpu()
        real = faces.x(faces.generator_split, fold)
        pick = torch.linspace(0, real.shape[0] - 1, per_row).long()
        rows += [s, real[pick]]
    grid = sample_grid(torch.cat(rows), side=SIDE, nrow=per_row)
    fig, ax = plt.subplots(figsize=(per_row * 0.9, len(rows) * 0.95))
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1)
    ax.set_title("Per generator: samples (upper row), its training images (lower row)")
    ax.axis("off")
    fig.tight_layout()
    return fig


def history_figure(history: pd.DataFrame) -> Figure:
    """Mean D(x) and D(G(z)) per epoch of both TFD stages: did D separate anything?"""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    for (gen, stage), h in history.groupby(["generator", "stage"], sort=False):
        x = h.epoch + (
            0 if stage == "pretrain" else history.query("stage == 'pretrain'").epoch.max()
        )
        style = "-" if stage == "pretrain" else "--"
        axes[0].plot(x, h.d_real, style, label=f"{gen} {stage}")
        axes[1].plot(x, h.d_fake, style, label=f"{gen} {stage}")
    axes[0].set(xlabel="epoch (stage 2 after stage 1)", ylabel="mean D(x)", title="D on data")
    axes[1].set(xlabel="epoch (stage 2 after stage 1)", ylabel="mean D(G(z))", title="D on samples")
    axes[1].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig
