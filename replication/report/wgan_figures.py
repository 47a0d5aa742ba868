"""The WGAN vs JS chapter's figures: closed forms, toy estimates, loss curves and samples.

Each draws what the chapter computed (tables and checkpoint files); none computes a number the
text or summary.json reports.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from replication.chapters.wgan_vs_js import SCORES
from replication.chapters.wgan_vs_js_config import LOSS_LABELS, WganVsJsConfig
from replication.metrics.divergences import parallel_lines
from replication.report.figures import sample_grid


# -- 1. parallel lines ---------------------------------------------------------------------------
def closed_form_figure(n: int = 401) -> Figure:
    """W1 and JSD of the parallel lines in closed form (the paper's Figure 1), before any
    measurement."""
    t = np.linspace(-1, 1, n)
    cf = parallel_lines(t)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.plot(t, cf["w1"])
    ax1.set(xlabel="θ", ylabel="W1(P0, Pθ)", title="Earth mover distance")
    js = cf["js"].copy()
    js[n // 2] = np.nan  # the isolated point at theta = 0 is drawn as a dot
    ax2.plot(t, js)
    ax2.plot([0], [0], "o", color="C0")
    ax2.set(xlabel="θ", ylabel="JSD(P0, Pθ)", title="Jensen-Shannon divergence (with the ½s)")
    fig.tight_layout()
    return fig


def parallel_lines_figure(df: pd.DataFrame) -> Figure:
    """The trained estimates and their gradients w.r.t. theta (`parallel_lines_estimates`)
    over the closed forms: what a generator would receive from each."""
    t = np.linspace(-1, 1, 401)
    cf = parallel_lines(t)
    js = cf["js"].copy()
    js[200] = np.nan
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    ax = axes[0]
    ax.plot(t, cf["w1"], color="k", lw=1, label="W1 (closed form)")
    ax.plot(df.theta, df.wgan_gp_estimate, "o", label="WGAN-GP critic")
    ax.plot(df.theta, df.wgan_estimate_rescaled, "s", ms=4, label="clipped critic ÷ K")
    ax.set(xlabel="θ", ylabel="W1 estimate", title="Wasserstein estimates")
    ax.legend(fontsize=8)
    ax = axes[1]
    ax.plot(t, js, color="k", lw=1, label="JSD (closed form)")
    ax.plot(df.theta, df.gan_estimate, "o", color="C3", label="log 2 − L_D (trained D)")
    ax.set(xlabel="θ", ylabel="JSD estimate", title="Jensen-Shannon estimate")
    ax.legend(fontsize=8)
    ax = axes[2]
    ax.plot(df.theta, df.wgan_gp_grad, "o", label="d/dθ of WGAN-GP estimate")
    ax.plot(df.theta, df.wgan_grad / df.wgan_scale_k, "s", ms=4, label="d/dθ clipped ÷ K")
    ax.plot(df.theta, df.gan_grad, "o", color="C3", label="d/dθ of JSD estimate")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set(xlabel="θ", ylabel="gradient w.r.t. θ", title="What the generator would receive")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


# -- 2. two Gaussians ----------------------------------------------------------------------------
def gaussians_figure(curves: pd.DataFrame, cfg: WganVsJsConfig) -> Figure:
    """The discriminator and the critics on the two Gaussians (the paper's Figure 2); critics
    rescaled to [0, 1], being defined up to a constant (and the clipped one up to a scale)."""
    fig, ax = plt.subplots(figsize=(9, 4.2))
    x = curves.x.to_numpy()
    for mean, label, color in (
        (cfg.gauss_real_mean, "real density", "C0"),
        (cfg.gauss_fake_mean, "fake density", "C1"),
    ):
        dens = np.exp(-0.5 * ((x - mean) / cfg.gauss_std) ** 2)
        ax.fill_between(x, 0, dens, alpha=0.2, color=color, label=label + " (scaled)")
    ax.plot(x, curves.gan, color="C3", label="GAN discriminator D(x)")
    for kind, color in (("wgan_gp", "C2"), ("wgan", "C4")):
        f = curves[kind].to_numpy()
        f = (f - f.min()) / (f.max() - f.min())  # critics are defined up to a constant
        ax.plot(x, f, color=color, label=f"{LOSS_LABELS[kind]} critic (rescaled to [0, 1])")
    ax.set(xlabel="x", ylabel="value", title="Optimal discriminator vs critic")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
    fig.tight_layout()
    return fig


# -- 3. MNIST training runs ----------------------------------------------------------------------
def curves_figure(
    curves: dict[str, pd.DataFrame],
    tables: dict[str, pd.DataFrame],
    score: str = "quality",
    window: int | None = None,
) -> Figure:
    """Each run's loss curve (raw faint, filtered solid) with one quality score on a twin axis.
    W estimates fall by orders of magnitude after the first iterations, so their axis is
    symmetric-log (linear near 0, where late values and the odd negative one live)."""
    names = list(curves)
    label, higher_better = SCORES[score]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.8), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        c, t = curves[name], tables[name]
        loss = name.split("-")[0]
        ax.plot(c.g_step, c.estimate, color="C0", alpha=0.2, lw=0.5)
        filt = "median filter" if window is None else f"trailing median, {window} G iterations"
        ax.plot(c.g_step, c.filtered, color="C0", label=filt)
        ax.legend(fontsize=7, loc="upper right")
        if loss != "gan":
            late = c.filtered[c.g_step > c.g_step.iloc[-1] / 2].abs()
            ax.set_yscale("symlog", linthresh=max(float(late.median()), 1e-4))
        ax.set(
            xlabel="generator iterations",
            ylabel="JSD estimate" if loss == "gan" else "W estimate (critic)",
            title=name,
        )
        ax.tick_params(axis="y", colors="C0")
        ax2 = ax.twinx()
        ax2.plot(t.g_step, t[score], "o-", color="C1", ms=3)
        ax2.set_ylabel(f"{label}, {'higher' if higher_better else 'lower'} = better", color="C1")
        ax2.tick_params(axis="y", colors="C1")
    fig.tight_layout()
    return fig


def samples_figure(
    ckpt_root: Path, names: list[str], picks: int = 3, upto: dict[str, int] | None = None
) -> Figure:
    """Fixed-noise sample grids of each run at the first, a middle and the last checkpoint;
    `upto` leaves out grids past a run's checkpoint (written by a session killed before it
    saved its checkpoint)."""
    # about one screen pixel per image pixel (a 64-sample grid is 242 pixels wide): noisy grids
    # do not compress, and larger ones made the executed notebooks megabytes each
    size = 2.4
    fig, axes = plt.subplots(
        len(names), picks, figsize=(size * picks, size * len(names)), squeeze=False
    )
    for i, name in enumerate(names):
        files = sorted((ckpt_root / name).glob("samples_*.pt"))
        if upto is not None:
            files = [f for f in files if int(f.stem.split("_")[1]) <= upto[name]]
        chosen = [files[int(j)] for j in np.linspace(0, len(files) - 1, picks)] if files else []
        for j, ax in enumerate(axes[i]):
            ax.axis("off")
            if j < len(chosen):
                grid = sample_grid(torch.load(chosen[j]), nrow=8)
                ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                ax.set_title(f"{name}, G iter {int(chosen[j].stem.split('_')[1])}", fontsize=8)
    fig.tight_layout()
    return fig
