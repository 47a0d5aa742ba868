"""The mode-collapse chapter's image results as tables, summary keys and figures: Stacked MNIST
(modes of 1,000, KL to uniform) and the MNIST row (FID, Parzen LL, classifier score, effective
classes, the conditional GAN's accuracy), mean ± standard error over seeds (n given when a seed
diverged). Seed s of every method starts from the same generator, as on the toys.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import torch

from replication.report.mode_collapse import _finite, _pm, mean_se

# per benchmark: (per-seed column, summary key, table column, digits)
COLUMNS: dict[str, tuple[tuple[str, str, str, int], ...]] = {
    "stacked": (
        ("modes", "stacked_modes", "Stacked MNIST: modes (of 1000)", 1),
        ("kl", "stacked_kl", "Stacked MNIST: KL", 2),
    ),
    "mnist": (
        ("fid", "mnist_fid", "MNIST: FID (classifier features)", 1),
        ("parzen", "mnist_parzen", "MNIST: Parzen LL (nats)", 1),
        ("effective_classes", "mnist_effective_classes", "MNIST: effective classes", 2),
        ("cgan_accuracy", "cgan_accuracy", "cGAN: classifier accuracy", 3),
    ),
}


def aggregate_images(per_seed: pd.DataFrame) -> pd.DataFrame:
    """One row per method and benchmark: seeds, diverged seeds, and each metric's mean, SE and
    n over the seeds that have it."""
    rows = []
    for (method, bench), g in per_seed.groupby(["method", "benchmark"], sort=False):
        row: dict[str, Any] = {"method": method, "benchmark": bench, "seeds": len(g)}
        row["diverged"] = int(g.diverged.sum())
        for col, *_ in COLUMNS[bench]:
            if col in g:
                row[col], row[f"{col}_se"], row[f"{col}_n"] = mean_se(g[col])
        rows.append(row)
    return pd.DataFrame(rows)


def _cells(agg: pd.DataFrame) -> Iterator[tuple[pd.Series, str, str, str, int]]:
    for _, r in agg.iterrows():
        for col, key, label, digits in COLUMNS[r.benchmark]:
            mean = r.get(col, math.nan)
            if isinstance(mean, float) and math.isnan(mean) and r.get(f"{col}_n", 0) == 0:
                continue
            yield r, col, key, label, digits


REAL_ROW = "real images (reference)"


def image_table(
    agg: pd.DataFrame, reference: dict[str, dict[str, float]] | None = None
) -> pd.DataFrame:
    """Methods × image metrics, mean ± SE (n when fewer seeds than run); last, the same
    scores of real images when given (`mode_collapse_images.real_reference`)."""
    out: dict[str, dict[str, str]] = {}
    for r, col, _, label, digits in _cells(agg):
        n = int(r[f"{col}_n"])
        text = _pm(r[col], r[f"{col}_se"], digits) + (f" (n={n})" if n < r.seeds else "")
        out.setdefault(r.method, {})[label] = text
    for bench, values in (reference or {}).items():
        for col, _, label, digits in COLUMNS[bench]:
            if col in values:
                out.setdefault(REAL_ROW, {})[label] = f"{values[col]:.{digits}f}"
    table = pd.DataFrame.from_dict(out, orient="index").fillna("–")
    table.index.name = "method (ours)"
    return table


def image_summary(agg: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    """Per method: the image keys of summary.json (`stacked_modes`, `stacked_kl`, `mnist_fid`,
    `mnist_parzen`, `cgan_accuracy`, ...) with `_se` standard errors and `_n` the seeds scored
    (fewer than run when a seed diverged)."""
    out: dict[str, dict[str, float | None]] = {}
    for r, col, key, _, _ in _cells(agg):
        d = out.setdefault(r.method, {})
        d[key], d[f"{key}_se"] = _finite(float(r[col])), _finite(float(r[f"{col}_se"]))
        d[f"{key}_n"] = int(r[f"{col}_n"])
    return out


def per_digit_table(per_digit: pd.DataFrame) -> pd.DataFrame:
    """The conditional GAN's accuracy for each digit asked for, mean ± SE over seeds."""
    rows = {}
    for digit, g in per_digit.groupby("digit"):
        mean, se, n = mean_se(g.accuracy)
        rows[int(digit)] = {"accuracy": _pm(mean, se, 3), "seeds": n}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "digit asked for"
    return table


def stacked_modes_per_seed(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Stacked MNIST's per-seed modes in the toys' claim format (method, benchmark, seed,
    modes, diverged), so the chapter's claim verdicts count these seeds too. A diverged seed
    is kept with 0 modes: dropping it would let a method that diverges never count against
    its claim."""
    s = per_seed[per_seed.benchmark == "stacked"].copy()
    s["diverged"] = s.diverged.astype(bool)
    s.loc[s.diverged, "modes"] = 0
    return s[["method", "benchmark", "seed", "modes", "diverged"]].reset_index(drop=True)


def sample_montage(grid: torch.Tensor, n: int) -> torch.Tensor:
    """One method's samples side by side, [28, 28 n, channels] in [0, 1] (blank past its own)."""
    channels = grid.shape[1] // 784
    imgs = grid.view(len(grid), channels, 28, 28).clamp(0, 1)
    row = torch.zeros(channels, 28, 28 * n)
    for j, img in enumerate(imgs[:n]):
        row[:, :, 28 * j : 28 * (j + 1)] = img
    return row.permute(1, 2, 0)


def sample_grid_figure(grids: dict[tuple[str, str], torch.Tensor], bench: str) -> plt.Figure:
    """Seed 0's samples per method, one row each (Stacked MNIST as colour images), drawn as one
    image: one axes per sample, upscaled, made the page's PNG 1 MB per benchmark."""
    items = [(m, g) for (m, b), g in grids.items() if b == bench]
    if not items:
        raise ValueError(f"no sample grids for {bench!r}")
    n = max(len(g) for _, g in items)
    montage = torch.cat([sample_montage(g, n) for _, g in items]).numpy()
    gray = montage.shape[2] == 1
    # about one screen pixel per image pixel at 100 dpi: noisy samples do not compress
    fig, ax = plt.subplots(figsize=(0.28 * n + 1.3, 0.28 * len(items) + 0.4))
    image = montage[:, :, 0] if gray else montage
    ax.imshow(image, cmap="gray" if gray else None, vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([28 * i + 14 for i in range(len(items))], [m for m, _ in items], fontsize=6)
    ax.set_xticks([])
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    name = "Stacked MNIST" if bench == "stacked" else "MNIST"
    ax.set_title(f"{name}: samples of seed 0", fontsize=8)
    fig.tight_layout()
    return fig


def status_frame(agg: pd.DataFrame, timings: pd.DataFrame) -> pd.DataFrame:
    """Per method and benchmark: seeds, diverged seeds, mean G and D updates, training seconds."""
    t = timings.groupby(["method", "benchmark"], sort=False)[
        ["g_steps", "d_steps", "train_seconds"]
    ].mean()
    out = agg.set_index(["method", "benchmark"])[["seeds", "diverged"]].join(t)
    return out.round({"g_steps": 0, "d_steps": 0, "train_seconds": 1})
