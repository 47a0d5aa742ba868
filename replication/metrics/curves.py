"""Statistics of training curves: trailing median filters, rank correlations of a loss with a
quality score (with circular block-bootstrap intervals), windows of a run, sample spread.

Pure functions of tables and tensors, so that a chapter computes them and the report reads them
without either recomputing the other's numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import stats

from replication.training.losses import js_estimate


def trailing_median(values: pd.Series, window: int) -> pd.Series:
    """Median of the last `window` values up to each point: it does not look ahead, so a value
    does not change when a run is resumed past it."""
    return values.rolling(window, min_periods=1).median()


def loss_curve(gan_trace: pd.DataFrame, loss: str, window: int) -> pd.DataFrame:
    """Per generator iteration: the quantity the paper plots, raw and median-filtered.

    GAN: JSD estimate log 2 - d_loss (d_loss carries the 1/2); WGAN: W estimate -d_loss from the
    critic's last update before each generator update (the penalty excluded). The median is
    trailing: the filtered value at iteration g uses the `window` iterations up to g, so it does
    not look ahead and does not change when a run is resumed past g.
    """
    out = pd.DataFrame({"g_step": gan_trace.g_step})
    raw = -gan_trace.d_loss if loss != "gan" else js_estimate(gan_trace.d_loss)
    out["estimate"] = raw
    out["filtered"] = trailing_median(raw, window)
    return out


def spread(images: torch.Tensor) -> float:
    """Mean pairwise Euclidean distance between images: near 0 when every noise vector gives
    the same picture, whatever a classifier makes of it (effective classes count digits only
    when the classifier is confident, so they cannot see the collapse of a failed run)."""
    x = images.flatten(1).double()
    n = len(x)
    d = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")  # exact 0 on repeats
    return float(d.sum() / (n * (n - 1)))


def second_half(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Each run's checkpoints past half of its reach: the correlations without the first move
    away from noise, which every loss makes and which can carry a whole-run correlation."""
    return {n: t[t.g_step > t.g_step.iloc[-1] / 2] for n, t in tables.items()}


def recent(table: pd.DataFrame, g_step: int, k: int = 3) -> pd.Series:
    """A run's scores averaged over its last `k` quality checkpoints at or before `g_step`
    generator iterations: one checkpoint of a failing run can jump by hundreds of FID."""
    rows = table[table.g_step <= g_step].tail(k)
    out = rows.mean(numeric_only=True)
    out["g_step"], out["checkpoints"] = rows.g_step.iloc[-1], len(rows)
    return out


def spearman_interval(
    x: Any, y: Any, block: int = 5, draws: int = 2000, level: float = 0.9, seed: int = 0
) -> tuple[float, float]:
    """A circular block bootstrap interval for Spearman's rho: checkpoints next to each other are
    not independent, so whole blocks of `block` consecutive (x, y) pairs are resampled. Blocks
    wrap around the end (rho does not depend on the order of the pairs), so the first and last
    checkpoints are drawn as often as the others. NaN below four blocks' worth of pairs."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n < 4 * block:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, n, size=(draws, -(-n // block)))
    idx = ((starts[:, :, None] + np.arange(block)) % n).reshape(draws, -1)[:, :n]
    rx, ry = stats.rankdata(x[idx], axis=1), stats.rankdata(y[idx], axis=1)
    rx -= rx.mean(1, keepdims=True)
    ry -= ry.mean(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rx * ry).sum(1) / np.sqrt((rx**2).sum(1) * (ry**2).sum(1))
    lo, hi = np.nanquantile(rho, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def correlations(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rank (Spearman) and linear (Pearson) correlation of each run's filtered loss with each
    quality score, and a 90% block-bootstrap interval of the Spearman with the FID. Signs are
    as measured: a loss that falls as samples improve correlates negatively with Parzen LL and
    positively with FID."""
    rows = []
    for name, t in tables.items():
        row: dict[str, Any] = {"run": name, "checkpoints": len(t)}
        for score in ("quality", "fid"):
            ok = len(t) >= 3 and t.loss_filtered.nunique() > 1 and t[score].nunique() > 1
            short = "parzen" if score == "quality" else score
            row[f"spearman_{short}"] = (
                stats.spearmanr(t.loss_filtered, t[score]).statistic if ok else math.nan
            )
            row[f"pearson_{short}"] = (
                stats.pearsonr(t.loss_filtered, t[score]).statistic if ok else math.nan
            )
        ok = not math.isnan(row["spearman_fid"])
        lo, hi = spearman_interval(t.loss_filtered, t.fid) if ok else (math.nan, math.nan)
        row["spearman_fid_90%_low"], row["spearman_fid_90%_high"] = lo, hi
        # do the two scores agree on which checkpoints are better? (negative = they agree)
        ok = len(t) >= 3 and t.quality.nunique() > 1 and t.fid.nunique() > 1
        row["spearman_parzen_vs_fid"] = (
            stats.spearmanr(t.quality, t.fid).statistic if ok else math.nan
        )
        rows.append(row)
    columns = ["run", "checkpoints"] + [
        f"{kind}_{short}" for short in ("parzen", "fid") for kind in ("spearman", "pearson")
    ]
    columns += ["spearman_fid_90%_low", "spearman_fid_90%_high", "spearman_parzen_vs_fid"]
    return pd.DataFrame(rows, columns=columns).set_index("run")


def spearman_of(corr: pd.DataFrame, run: str, short: str) -> float | None:
    """A run's Spearman value from `correlations` (`short`: parzen or fid), None where the run
    has none (not yet trained, or too few checkpoints): JSON and verdicts both need 'unknown'."""
    if run not in corr.index:
        return None
    v = float(corr.loc[run, f"spearman_{short}"])
    return None if math.isnan(v) else v
