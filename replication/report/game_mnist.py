"""The game chapter's MNIST part in figures and words: Algorithm 1's k and consensus optimisation
with the 2014 networks, each verdict counted over seeds paired by their initial weights (split
from `game_dynamics.py`, which re-exports these names for the notebook)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from replication.chapters import game_mnist
from replication.chapters.game_dynamics_config import GameDynamicsConfig

# -- 3./4. MNIST ---------------------------------------------------------------------------------
MNIST_LABELS = {
    "simultaneous": "simultaneous (2014 code)",
    "consensus": "consensus",
    "rmsprop_simultaneous": "simultaneous RMSProp",
    "rmsprop_alternating": "alternating RMSProp",
}


def mnist_label(condition: str) -> str:
    k = game_mnist.k_of(condition)
    return f"k = {k}" if k is not None else MNIST_LABELS.get(condition, condition)


def mnist_not_run(reason: str) -> str:
    return f"**The MNIST part was not run:** {reason}. The summary records it as not run."


def mnist_quality_figure(per_seed: pd.DataFrame, real: dict[str, float]) -> Figure:
    """Per condition: FID and Parzen LL, the mean over seeds as a bar and every seed as a point
    (2014 SGD conditions in one colour, RMSProp ones in another); real test images' scores as
    a dashed line."""
    conds = list(dict.fromkeys(per_seed.condition))
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 1.5 * len(conds)), 3.8))
    for ax, (col, title) in zip(
        axes,
        (("fid", "FID in classifier features (lower is better)"), ("parzen_ll", "Parzen LL")),
        strict=True,
    ):
        for i, c in enumerate(conds):
            v = per_seed[per_seed.condition == c][col]
            colour = "C0" if game_mnist.optimiser_of(c) == game_mnist.SGD else "C1"
            ax.bar(i, v.mean(), color=colour, alpha=0.35)
            ax.plot([i] * len(v), v, "o", color=colour, ms=5)
        ax.axhline(real[col], color="k", ls="--", lw=1, label="real test images")
        ax.set_xticks(range(len(conds)), [mnist_label(c) for c in conds], rotation=30, ha="right")
        ax.set(title=title)
    axes[1].set_ylabel("nats (validation images)")
    axes[0].plot([], [], "s", color="C0", alpha=0.5, label=game_mnist.SGD)
    axes[0].plot([], [], "s", color="C1", alpha=0.5, label=game_mnist.RMSPROP)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def mnist_samples_figure(samples: dict[str, torch.Tensor], side: int = 6) -> Figure:
    """The first seed's samples of each condition from one fixed noise, side x side each."""
    fig, axes = plt.subplots(1, len(samples), figsize=(2.2 * len(samples), 2.5))
    for ax, (c, s) in zip(np.atleast_1d(axes), samples.items(), strict=True):
        img = s[: side * side].reshape(side, side, 28, 28).permute(0, 2, 1, 3)
        ax.imshow(img.reshape(side * 28, side * 28).numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set(title=mnist_label(c), xticks=[], yticks=[])
    fig.tight_layout()
    return fig


# two runs' scores count as the same when they differ by less than this (our choice): FID
# relative to the larger value, Parzen LL in nats (Table 1's standard errors are 2 nats)
SAME_FID_RTOL, SAME_PARZEN_NATS = 0.01, 1.0


def paired_wins(
    per_seed: pd.DataFrame, a: str, b: str, metric: str = "fid"
) -> tuple[int, int, int]:
    """Per seed, condition `a` against `b` on `metric` (lower FID, higher Parzen LL is better;
    within a seed both started from one set of weights): (seeds where `a` is better, seeds where
    it is worse, seeds with scores for both). A difference below the tolerance is neither."""
    p = per_seed.pivot(index="seed", columns="condition", values=metric)[[a, b]].dropna()
    gain = p[b] - p[a] if metric == "fid" else p[a] - p[b]
    tol = SAME_FID_RTOL * p.max(axis=1) if metric == "fid" else SAME_PARZEN_NATS
    return int((gain > tol).sum()), int((gain < -tol).sum()), len(p)


def _agreement(wins: int, losses: int, n: int, better: str, worse: str, measure: str) -> str:
    if n == 0:
        return f"no seed to compare on {measure}"
    if wins == n:
        return f"{better} in all {n} seeds"
    if losses == n:
        return f"{worse} in all {n} seeds"
    if wins == losses == 0:
        return f"{measure} the same within tolerance in all {n} seeds"
    same = n - wins - losses
    return f"{better} in {wins}, {worse} in {losses}, the same in {same} of {n} seeds"


def _both(per_seed: pd.DataFrame, a: str, b: str) -> str:
    """`a` against `b` by seed, FID first (the verdicts' measure), then Parzen LL."""
    fid = _agreement(*paired_wins(per_seed, a, b, "fid"), "lower FID", "higher FID", "FID")
    ll = _agreement(
        *paired_wins(per_seed, a, b, "parzen_ll"),
        "higher Parzen LL",
        "lower Parzen LL",
        "Parzen LL",
    )
    return f"{fid}, {ll}"


def _mean_sd(per_seed: pd.DataFrame, c: str, col: str, digits: int = 1) -> str:
    v = per_seed[per_seed.condition == c][col]
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f} (n = {v.count()})"


def mnist_k_verdict(per_seed: pd.DataFrame) -> str:
    """Algorithm 1's k on MNIST, from the numbers: the best mean FID, and each condition of the
    2014 recipe against k = 1 (paired by seed). The 2014 paper makes no quality claim here."""
    conds = [
        c for c in dict.fromkeys(per_seed.condition) if game_mnist.optimiser_of(c) == game_mnist.SGD
    ]
    if not conds:
        return "no condition of the 2014 recipe was run"
    ref = "alternating_k1" if "alternating_k1" in conds else conds[0]
    # a condition whose every seed diverged has no FID (NaN); idxmin of nothing would raise
    means = per_seed[per_seed.condition.isin(conds)].groupby("condition").fid.mean().dropna()
    if means.empty:
        return "no 2014-recipe run was scored (all diverged)"
    best = means.idxmin()
    parts = [f"{mnist_label(c)}: {_both(per_seed, c, ref)}" for c in conds if c != ref]
    return (
        f"best mean FID: {mnist_label(best)} ({_mean_sd(per_seed, best, 'fid')}); against "
        f"{mnist_label(ref)}, paired by seed: " + "; ".join(parts)
    )


def mnist_consensus_verdict(per_seed: pd.DataFrame) -> str:
    """Consensus against simultaneous RMSProp (the gradient play whose failure to converge it
    corrects), paired by seed: 'consistent with' the claim when consensus has the lower FID in
    every seed and the Parzen LL does not say the opposite in any, 'not supported' when it is
    better in no seed, else 'mixed' (also when the two measures disagree). Alternating RMSProp,
    the fair baseline, is reported beside it."""
    conds = set(per_seed.condition)
    sim = "rmsprop_simultaneous"
    if game_mnist.CONSENSUS not in conds or sim not in conds:
        return "not judged: consensus and simultaneous RMSProp are both needed"
    wins, _, n = paired_wins(per_seed, game_mnist.CONSENSUS, sim)
    _, ll_losses, _ = paired_wins(per_seed, game_mnist.CONSENSUS, sim, "parzen_ll")
    if n == 0:
        word = "not judged (no seed scored for both)"
    elif wins == n and ll_losses:
        word = "mixed: FID and Parzen LL disagree"
    elif wins == n:
        word = "consistent with Mescheder et al."
    elif wins == 0:
        word = "not supported"
    else:
        word = "mixed"
    bases = [b for b in (sim, "rmsprop_alternating") if b in conds]
    detail = "; ".join(
        f"against {mnist_label(b)}: {_both(per_seed, game_mnist.CONSENSUS, b)}" for b in bases
    )
    return f"{word} ({detail})"


def _costs(per_seed: pd.DataFrame) -> str:
    """Wall time per G update against k = 1, and consensus against simultaneous RMSProp."""
    wall = per_seed.groupby("condition").wall_s_per_g_step.mean()
    parts = []
    if "alternating_k1" in wall:
        parts += [
            f"{mnist_label(c)} {wall[c] / wall['alternating_k1']:.1f}× k = 1"
            for c in dict.fromkeys(per_seed.condition)
            if c != "alternating_k1" and game_mnist.optimiser_of(c) == game_mnist.SGD
        ]
    if "consensus" in wall and "rmsprop_simultaneous" in wall:
        ratio = wall["consensus"] / wall["rmsprop_simultaneous"]
        parts.append(f"consensus {ratio:.1f}× simultaneous RMSProp")
    if not parts:
        return ""
    return (
        " Wall time per G update: "
        + ", ".join(parts)
        + " (this machine; rough where other work shares the CPU)."
    )


def mnist_findings(
    per_seed: pd.DataFrame,
    cfg: GameDynamicsConfig,
    classifier_accuracy: float,
    real: dict[str, float],
) -> str:
    """The MNIST section's reading: both verdicts, the cost per G update, what was measured."""
    diverged = per_seed[per_seed.diverged]
    div = ", ".join(
        f"{mnist_label(c)} seed {s}" for c, s in zip(diverged.condition, diverged.seed, strict=True)
    )
    quick = cfg.profile == "quick"
    return (
        f"After {cfg.mnist_g_steps} generator updates per condition and seed "
        f"({cfg.mnist_eval_samples} samples scored; as many real test images score FID "
        f"{real['fid']:.1f} and Parzen LL {real['parzen_ll']:.1f} nats; digit classifier "
        f"test accuracy {classifier_accuracy:.1%}). **Algorithm 1's k** (the 2014 paper used "
        f"k = 1, 'the least expensive option', and makes no quality claim): "
        f"{mnist_k_verdict(per_seed)}. "
        f"**Consensus optimisation** (Mescheder et al.: it converges where simultaneous "
        f"gradient play does not; measured here as sample quality at a fixed budget, not as "
        f"convergence): {mnist_consensus_verdict(per_seed)}.{_costs(per_seed)}"
        + (f" Diverged (non-finite loss, not scored): {div}." if div else "")
        + (
            f" *Quick profile: a pipeline check at {cfg.mnist_g_steps} G updates, not a test "
            "of either claim.*"
            if quick
            else ""
        )
    )


def mnist_summary(
    per_seed: pd.DataFrame | None,
    cfg: GameDynamicsConfig,
    classifier_accuracy: float | None,
    real: dict[str, float] | None = None,
    not_run: str = "",
) -> dict[str, object]:
    """summary.json's MNIST keys: per condition its qualities (mean, sd, n, seeds, per-seed)
    and time per G update, the k ablation and the consensus comparison apart; or why not run."""
    if per_seed is None:
        why = f"not run: {not_run}"
        return {"mnist_k_ablation": why, "mnist_consensus": why}
    conds = list(dict.fromkeys(per_seed.condition))
    record = {c: game_mnist.condition_record(per_seed, c) for c in conds}
    return {
        "mnist_k_ablation": {c: r for c, r in record.items() if r["optimiser"] == game_mnist.SGD},
        "mnist_consensus": {
            c: r for c, r in record.items() if r["optimiser"] == game_mnist.RMSPROP
        },
        "mnist_k_verdict": mnist_k_verdict(per_seed),
        "mnist_consensus_verdict": mnist_consensus_verdict(per_seed),
        "mnist_g_steps": cfg.mnist_g_steps,
        "mnist_eval_samples": cfg.mnist_eval_samples,
        "mnist_rmsprop_lr": cfg.mnist_rmsprop_lr,
        "mnist_classifier_test_accuracy": classifier_accuracy,
        "mnist_real_images_scores": real,
    }


# -- summary.json ---------------------------------------------------------------------------------
