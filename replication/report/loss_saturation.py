"""The loss-saturation chapter in words and figures: the closed forms, the training reading."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from replication.chapters.loss_saturation import COSTS, LossSaturationConfig
from replication.report.figures import sample_grid
from replication.training.losses import LABELS
from replication.training.state import GAN


def closed_form_figure(
    curves: pd.DataFrame, cfg: LossSaturationConfig, measured: pd.DataFrame | None = None
) -> Figure:
    """The three costs and their logit-gradients in closed form, the measured batch over them."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name in COSTS:
        ax1.plot(curves.d_of_g, curves[f"cost_{name}"], label=LABELS[name])
        ax2.plot(curves.d_of_g, curves[f"grad_{name}"], label=LABELS[name])
    ax1.set(
        xlabel="D(G(z))",
        ylabel="$J^{(G)}$",
        ylim=(cfg.y_min, cfg.y_max),
        xlim=(0, 1),
        title="Generator cost (closed form)",
    )
    ax2.set(
        xlabel="D(G(z))",
        ylabel=r"$\partial J^{(G)} / \partial\, \mathrm{logit}\, D$",
        ylim=(-2.0, 0.1),
        xlim=(0, 1),
        title="Gradient the generator receives",
    )
    if measured is not None:
        for name in COSTS:
            ax2.scatter(measured.d_of_g, measured[f"logit_grad_{name}"], s=4, alpha=0.4)
        ax2.axvspan(
            measured.d_of_g.min(),
            measured.d_of_g.max(),
            color="grey",
            alpha=0.15,
            label="D(G(z)) of the measured batch",
        )
    ax1.legend(loc="lower left")
    ax2.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def training_findings(
    outcome: pd.DataFrame, start_d_of_g: float, start_grad: pd.Series, cfg: LossSaturationConfig
) -> str:
    """The section's reading, from the numbers: did the minimax generator stay where its cost is
    flat (D(G(z)) below `d_pretrain_target`, the line we called "confidently rejected") while the
    non-saturating one left? The Parzen LL is reported beside it, with its known bias said."""
    line = cfg.d_pretrain_target
    mm, ns = outcome.loc["minimax"], outcome.loc["nonsaturating"]
    d_mm, d_ns = float(mm["final mean D(G(z))"]), float(ns["final mean D(G(z))"])
    epochs = int(mm["epochs"])
    text = (
        f"**After {epochs} epoch{'s' if epochs != 1 else ''}** from D(G(z)) = "
        f"{start_d_of_g:.2g}: the minimax generator's "
        f"mean D(G(z)) is {d_mm:.2g} and its gradient norm on the probe batch "
        f"{float(mm['final probe grad norm']):.2g} (at the start {start_grad['minimax']:.2g}); "
        f"the non-saturating generator's D(G(z)) is {d_ns:.2g}, gradient norm "
        f"{float(ns['final probe grad norm']):.2g} (at the start "
        f"{start_grad['nonsaturating']:.2g}). "
    )
    if d_mm < line <= d_ns:
        text += (
            f"The minimax generator never left the region below {line:.0%} where its cost is "
            "flat, while the non-saturating one did: the tutorial's figure, on real networks."
        )
    elif d_mm < line:
        text += (
            f"Neither generator has left the region below {line:.0%} yet, so this budget does "
            "not separate the two costs in training (the gradient measurement above still does)."
        )
    else:
        text += (
            f"The minimax generator did leave the region below {line:.0%}: in this run its small "
            "gradient was enough, and the figure's prediction for training is not borne out."
        )
    ll_mm = float(mm["validation Parzen LL (nats)"])
    ll_ns = float(ns["validation Parzen LL (nats)"])
    text += f" Validation Parzen LL: minimax {ll_mm:.1f}, non-saturating {ll_ns:.1f} nats"
    if ll_ns > ll_mm:
        return text + "; it agrees."
    return text + (
        "; it does not favour the non-saturating run here. A Parzen window scores blurry, "
        "average-like samples relatively well (Theis et al. 2016): the grids below show what "
        "each run draws."
    )


def training_figure(histories: dict[str, pd.DataFrame]) -> Figure:
    """D(G(z)) and the probe gradient norm per epoch, one line per generator cost."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for name, h in histories.items():
        ax1.plot(h.epoch, h.d_fake, marker="o", label=f"{LABELS[name]} (training batches)")
        ax2.semilogy(h.epoch, h.probe_grad_norm, marker="o", label=LABELS[name])
    ax1.set(xlabel="epoch", ylabel="mean D(G(z))", ylim=(0, 1), title="D(G(z)) during training")
    ax2.set(
        xlabel="epoch",
        ylabel=r"$\|\nabla_{\theta_G} J^{(G)}\|$ (probe batch)",
        title="Generator gradient norm",
    )
    ax1.legend()
    ax2.legend()
    fig.tight_layout()
    return fig


def samples_figure(gans: dict[str, GAN], cfg: LossSaturationConfig, device: torch.device) -> Figure:
    """100 samples of each trained run: what the Parzen numbers cannot show."""
    fig, axes = plt.subplots(1, len(gans), figsize=(5 * len(gans), 5))
    for ax, (name, gan) in zip(np.atleast_1d(axes), gans.items(), strict=True):
        ax.imshow(sample_grid(gan.generator.sample(100, device, seed=cfg.seed + 4)), cmap="gray")
        ax.set_title(f"{LABELS[name]}, epoch {gan.epoch}")
        ax.axis("off")
    fig.tight_layout()
    return fig
