"""Algorithm 1's k and consensus optimisation on MNIST with the 2014 networks, seed by seed.

Every condition trains the networks of Goodfellow et al. 2014 (`recipe2014`, `nets.mlp2014`)
from the same initial weights within a seed, in the one loop, for the same number of generator
updates; they differ only in the update rule and, between the two groups, the optimiser:

    the 2014 SGD recipe (lr 0.1 decayed per update, momentum 0.5 ramping; its costs)
      simultaneous        the 2014 code's step (AdversaryCost2): D and G from one minibatch
      alternating_k<k>    Algorithm 1: k D updates, each on its own minibatch, then one G update
    RMSProp at one lr (the consensus authors' costs, `gan_consensus`)
      consensus           simultaneous gradients g moved along g + gamma grad(1/2 ||g||^2)
      rmsprop_simultaneous, rmsprop_alternating   the same without the consensus term

Equal budgets: the loop's plain epoch is one pass over the images in minibatches, and a
minibatch is one D update, so under k = 5 an epoch holds a fifth of the generator updates of
k = 1. Here the loop counts rounds of generator updates instead (`round_g_iters`): one round
is one pass at k = 1 (images / batch), the recipe's epoch for its momentum ramp, and k = 5
reads five passes of images in it. Quality: Parzen log-likelihood of validation images (sigma
chosen on the first half, the second half scored) and FID in the features of the project's
digit classifier (`metrics.classifier`), both on the same samples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from replication.chapters.game_dynamics_config import GameDynamicsConfig
from replication.chapters.recipe2014 import Mnist2014Recipe, build_gan
from replication.datasets.mnist import MnistSplits, load_mnist_or_reason
from replication.metrics import mnist_scoring
from replication.metrics.classifier import ClassifierScorer
from replication.training import objectives
from replication.training.loop import TrainingDiverged, train
from replication.training.objectives import CriticSchedule, Objective
from replication.training.state import GAN

SGD, RMSPROP = "2014 SGD recipe", "RMSProp"
CONSENSUS = "consensus"
RMSPROP_CONDITIONS = (CONSENSUS, "rmsprop_simultaneous", "rmsprop_alternating")


def optimiser_of(condition: str) -> str:
    return RMSPROP if condition in RMSPROP_CONDITIONS else SGD


def k_of(condition: str) -> int | None:
    """k of an `alternating_k<k>` condition, else None."""
    if condition.startswith("alternating_k"):
        return int(condition.removeprefix("alternating_k"))
    return None


def objective_for(condition: str, cfg: GameDynamicsConfig) -> Objective:
    """The condition's objective: the 2014 entry (its costs, G cost x2) with the simultaneous
    or alternating rule, or the consensus entry with or without its term."""
    sgd = objectives.get("gan2014_nonsaturating")
    con = objectives.get("gan_consensus")
    if condition == "simultaneous":
        return sgd
    if (k := k_of(condition)) is not None:
        return replace(sgd, update="alternating", n_critic=CriticSchedule(k))
    if condition == CONSENSUS:
        return con.tuned(consensus_weight=cfg.mnist_consensus_weight)
    if condition == "rmsprop_simultaneous":
        return replace(con, update="simultaneous", consensus_weight=0.0)
    if condition == "rmsprop_alternating":
        return replace(con, update="alternating", consensus_weight=0.0)
    raise ValueError(f"unknown MNIST condition {condition!r}")


def recipe_for(cfg: GameDynamicsConfig, seed: int) -> Mnist2014Recipe:
    """The 2014 recipe (networks, initialisation, SGD schedule, batch 100) for one seed."""
    return Mnist2014Recipe(seed=seed, device=cfg.device, train_images=cfg.mnist_train_images)


def build(
    condition: str, cfg: GameDynamicsConfig, recipe: Mnist2014Recipe, data: torch.Tensor
) -> tuple[GAN, Objective]:
    """Networks initialised as the 2014 code did (seeded by the recipe: one seed, one start for
    every condition); RMSProp conditions swap in RMSProp at `mnist_rmsprop_lr`."""
    gan = build_gan(recipe, data, data.device)
    obj = objective_for(condition, cfg)
    if optimiser_of(condition) == RMSPROP:
        gan.opt_g, gan.opt_d = obj.optimisers(
            gan.generator, gan.discriminator, lr=cfg.mnist_rmsprop_lr
        )
    return gan, obj


def train_condition(
    condition: str,
    cfg: GameDynamicsConfig,
    data: torch.Tensor,
    recipe: Mnist2014Recipe,
    g_steps: int,
    progress: bool = True,
) -> tuple[GAN, bool]:
    """One condition, one seed: `g_steps` generator updates in rounds of one pass at k = 1.
    Returns the GAN and whether it diverged (a non-finite loss stops it: an outcome, on record,
    not a crash of the chapter)."""
    per_pass = data.shape[0] // recipe.batch_size
    if per_pass == 0 or g_steps % per_pass:
        raise ValueError(
            f"g_steps ({g_steps}) must be a positive multiple of one pass at k = 1 "
            f"({data.shape[0]} images / batch {recipe.batch_size} = {per_pass})"
        )
    gan, obj = build(condition, cfg, recipe, data)
    try:
        train(
            gan,
            data,
            obj,
            epochs=g_steps // per_pass,
            batch_size=recipe.batch_size,
            schedule=recipe.schedule() if optimiser_of(condition) == SGD else None,
            round_g_iters=per_pass,
            progress=progress,
            desc=f"MNIST {condition}, seed {recipe.seed}",
        )
    except TrainingDiverged:
        return gan, True
    return gan, False


# -- data and the classifier -----------------------------------------------------------------
def load(cfg: GameDynamicsConfig) -> tuple[MnistSplits | None, str]:
    """MNIST, or None and why the MNIST part is not run (switched off, or the files missing,
    incomplete or failing their checksum: the rest of the chapter needs no data, so it runs
    on and says so, without the paths searched, `mnist_unavailable`)."""
    if cfg.mnist_g_steps == 0:
        return None, "switched off (mnist_g_steps = 0)"
    return load_mnist_or_reason(cfg.data_dir)


def classifier_scorer(
    cfg: GameDynamicsConfig, mnist: MnistSplits, folder: Path, progress: bool = True
) -> tuple[ClassifierScorer, float]:
    """The digit classifier (trained on the first `mnist_classifier_images` training images,
    cached in `folder`), its FID reference statistics on validation images, and its accuracy
    on the 10,000 test images (`metrics.mnist_scoring`, shared with the mode-collapse chapter)."""
    d = mnist_scoring.digit_scorer(
        mnist,
        cfg.mnist_classifier_images,
        cfg.mnist_classifier_epochs,
        cfg.mnist_fid_reference,
        folder,
        progress,
    )
    return d.scorer, d.test_accuracy


def score_images(
    images: torch.Tensor, cfg: GameDynamicsConfig, valid: torch.Tensor, scorer: ClassifierScorer
) -> dict[str, float]:
    """Parzen LL of validation images (sigma on the first half of `mnist_parzen_valid`, the
    second half scored) with `images` as centres, and the classifier's scores of `images`."""
    half = cfg.mnist_parzen_valid // 2
    return mnist_scoring.score_images(images, scorer, valid[:half], valid[half : 2 * half])


@torch.no_grad()
def score(
    gan: GAN, cfg: GameDynamicsConfig, valid: torch.Tensor, scorer: ClassifierScorer, seed: int
) -> dict[str, float]:
    """`score_images` of `mnist_eval_samples` samples, and where the game ended: D's mean
    output (dropout off) on validation images and on samples (near 1 and 0: D wins; both
    near 0.5: D cannot tell them apart, or has gone flat)."""
    samples = gan.generator.sample(cfg.mnist_eval_samples, valid.device, seed=seed + 7)
    D = gan.discriminator
    was = D.training
    D.eval()
    n = cfg.mnist_parzen_valid // 2
    d_real = float(torch.sigmoid(D(valid[:n])).mean())
    d_fake = float(torch.sigmoid(D(samples[:n])).mean())
    D.train(was)
    return {**score_images(samples, cfg, valid, scorer), "d_real": d_real, "d_fake": d_fake}


def real_reference(
    cfg: GameDynamicsConfig, mnist: MnistSplits, scorer: ClassifierScorer
) -> dict[str, float]:
    """The same scores of as many real test images as samples: what a perfect generator gets
    at this sample count (both scores depend on it)."""
    return score_images(mnist.test[: cfg.mnist_eval_samples], cfg, mnist.valid, scorer)


# -- every condition and seed ---------------------------------------------------------------
NAN = float("nan")
NOT_SCORED = {k: NAN for k in ("parzen_ll", "parzen_se", "parzen_sigma", "fid", "d_real", "d_fake")}


@dataclass
class MnistRuns:
    per_seed: pd.DataFrame  # one row per condition and seed: quality, counts, wall time
    histories: pd.DataFrame  # one row per round: losses, wall time
    samples: dict[str, torch.Tensor]  # per condition: fixed-noise samples of the first seed


def run(
    cfg: GameDynamicsConfig,
    mnist: MnistSplits,
    scorer: ClassifierScorer,
    record: Callable[[str, GAN], None] | None = None,
    progress: bool = True,
    figure_samples: int = 36,
) -> MnistRuns:
    """Every condition for every seed, trained and scored in turn (an image GAN is FLOP-bound:
    seeds gain nothing from batching on a CPU). `record(name, gan)` puts each run's training on
    record (the store's provenance) before the run is dropped."""
    data = mnist.train[: cfg.mnist_train_images]
    valid = mnist.valid
    rows, hists, samples = [], [], {}
    seeds = cfg.seeds(cfg.mnist_seeds)  # 1000 base + s: no two base seeds share one
    for condition in cfg.mnist_condition_list():
        for seed in seeds:
            recipe = recipe_for(cfg, seed)
            gan, diverged = train_condition(
                condition, cfg, data, recipe, cfg.mnist_g_steps, progress
            )
            hist = pd.DataFrame(gan.history, columns=["g_step", "epoch_time_s"])
            rows.append(
                {
                    "condition": condition,
                    "optimiser": optimiser_of(condition),
                    "seed": seed,
                    "diverged": diverged,
                    "g_steps": gan.g_step,
                    "d_steps": gan.step,
                    "d_steps_per_g_step": gan.step / max(gan.g_step, 1),
                    "train_s": float(hist.epoch_time_s.sum()),
                    # over the rounds on record (a diverged run's last round is not)
                    "wall_s_per_g_step": float(hist.epoch_time_s.sum())
                    / max(int(hist.g_step.max()) if len(hist) else 0, 1),
                    **(NOT_SCORED if diverged else score(gan, cfg, valid, scorer, seed)),
                }
            )
            hists.append(pd.DataFrame(gan.history).assign(condition=condition, seed=seed))
            if seed == seeds[0]:
                samples[condition] = gan.generator.sample(
                    figure_samples, data.device, seed=seed + 13
                ).cpu()
            if record is not None:
                record(f"mnist_{condition}_seed{seed}", gan)
    return MnistRuns(pd.DataFrame(rows), pd.concat(hists, ignore_index=True), samples)


def summarise(per_seed: pd.DataFrame) -> pd.DataFrame:
    """Per condition: mean and sd over the seeds that did not diverge of Parzen LL and FID,
    that n, the diverged seeds, the time per G update."""
    g = per_seed.groupby("condition", sort=False)
    out = g.agg(
        optimiser=("optimiser", "first"),
        parzen_ll_mean=("parzen_ll", "mean"),
        parzen_ll_sd=("parzen_ll", "std"),
        fid_mean=("fid", "mean"),
        fid_sd=("fid", "std"),
        n=("fid", "count"),
        diverged=("diverged", "sum"),
        g_steps=("g_steps", "first"),
        d_steps_per_g_step=("d_steps_per_g_step", "first"),
        wall_s_per_g_step=("wall_s_per_g_step", "mean"),
        d_real=("d_real", "mean"),
        d_fake=("d_fake", "mean"),
    )
    return out.reset_index()


def condition_record(per_seed: pd.DataFrame, condition: str) -> dict[str, Any]:
    """One condition in summary.json: each quality's mean, sd, n (seeds scored), seeds and
    per-seed values (NaN where a seed diverged), and the wall time per G update (mean over
    seeds)."""
    r = per_seed[per_seed.condition == condition].sort_values("seed")
    return {
        "optimiser": str(r.optimiser.iloc[0]),
        "parzen_ll_mean": float(r.parzen_ll.mean()),
        "parzen_ll_sd": float(r.parzen_ll.std()),
        "parzen_ll_per_seed": [float(v) for v in r.parzen_ll],
        "fid_mean": float(r.fid.mean()),
        "fid_sd": float(r.fid.std()),
        "fid_per_seed": [float(v) for v in r.fid],
        "n": int(r.fid.notna().sum()),
        "seeds": [int(s) for s in r.seed],
        "diverged_seeds": [int(s) for s in r.seed[r.diverged]],
        "g_steps": int(r.g_steps.iloc[0]),
        "d_steps_per_g_step": float(r.d_steps_per_g_step.iloc[0]),
        "wall_s_per_g_step": float(r.wall_s_per_g_step.mean()),
        "wall_s_per_g_step_per_seed": [float(v) for v in r.wall_s_per_g_step],
        "d_real_per_seed": [float(v) for v in r.d_real],
        "d_fake_per_seed": [float(v) for v in r.d_fake],
    }
