"""WGAN vs JS (Arjovsky, Chintala & Bottou 2017): closed forms beside measurements.

1. Parallel lines (Example 1, Figure 1): W1 and JSD in closed form; per theta, a GAN
   discriminator and two critics (clipping, gradient penalty) trained to near optimality, their
   divergence estimates and the gradient each gives w.r.t. theta.
2. Two far-apart 1-D Gaussians (Figure 2): the saturated discriminator beside the critic.
3. MNIST training runs (Figures 3 and 4): GAN, WGAN and WGAN-GP with one generator; the loss
   curves against an independent quality score; then GAN and WGAN with an MLP generator
   without batch norm (the robustness claim).

This module holds the MNIST runs' compute; the configuration is in `wgan_vs_js_config.py`,
the toys (parts 1 and 2) in `wgan_toys.py`; the curve statistics are in
`metrics/curves.py`, the text, verdicts and claims in `report/wgan_findings.py` and
`report/wgan_claims.py`, the figures in `report/wgan_figures.py`.
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from replication.chapters.wgan_vs_js_config import LOSSES, WganVsJsConfig
from replication.config import ConfigError, resolve_device
from replication.datasets.mnist import MnistSplits, load_mnist
from replication.metrics import parzen
from replication.metrics.classifier import ClassifierScorer, accuracy, load_or_train
from replication.metrics.curves import loss_curve, spearman_of, spread
from replication.nets.wgan2017 import GENERATORS, ConvCritic, dcgan_init_
from replication.runs.cli import TrainRequest, train_setup
from replication.runs.locks import exclusive
from replication.training import objectives
from replication.training.loop import train
from replication.training.objectives import Objective
from replication.training.state import GAN


# -- 3. MNIST training runs ----------------------------------------------------------------------
def run_names(cfg: WganVsJsConfig) -> list[tuple[str, str, str]]:
    """(run name, loss, generator): the main trio, then the robustness pair."""
    main = [(f"{loss}-{cfg.generator}", loss, cfg.generator) for loss in LOSSES]
    robust = [(f"{loss}-{cfg.robust_generator}", loss, cfg.robust_generator) for loss in LOSSES[:2]]
    return main + [r for r in robust if r not in main]


def build(cfg: WganVsJsConfig, loss: str, generator: str, device: torch.device) -> GAN:
    torch.manual_seed(cfg.seed)  # same initial generator for every loss
    G = GENERATORS[generator](cfg.noise_dim, cfg.dim)
    D = ConvCritic(cfg.dim)
    dcgan_init_(G)
    dcgan_init_(D)
    G, D = G.to(device), D.to(device)
    obj = objective_for(cfg, loss)
    obj.prepare_critic(D)  # WGAN: the released code clamps before the first critic step
    # this config's lr of each run; a variant it has none for trains at its published lr
    lr = {"gan": cfg.gan_lr, "wgan": cfg.wgan_lr, "wgan_gp": cfg.gp_lr}.get(loss)
    return GAN(G, D, *obj.optimisers(G, D, lr))


def objective_for(cfg: WganVsJsConfig, loss: str) -> Objective:
    """The registered objective `loss` with this config's hyperparameters (each objective takes
    those it has: the clip value, the GP weight, the critic schedule's counts)."""
    hyper = {
        "clip": cfg.clip,
        "n_critic": cfg.n_critic,
        "warmup_critic": cfg.warmup_critic,
        "gp_weight": cfg.gp_weight,
    }
    return objectives.get(loss).tuned(**hyper)


# per quality checkpoint: (history column, label, whether higher is better)
SCORES = {
    "quality": ("validation Parzen LL (nats)", True),
    "fid": ("FID (classifier features)", False),
    "classifier_score": ("classifier score (1-10)", True),
    "effective_classes": ("effective classes (1-10)", True),
    "diversity": ("sample diversity (real digits = 1)", True),
}
REAL_ROW = "real test images (reference)"
SCORES_VERSION = "parzen+classifier-v1"  # in the fingerprint: other scores, other checkpoints


def classifier_scorer(
    cfg: WganVsJsConfig, mnist: Any, path: Path, progress: bool = True
) -> tuple[ClassifierScorer, float]:
    """The digit classifier (trained once, cached at `path`), its FID reference statistics
    on validation images, and its test accuracy."""
    settings = {"epochs": cfg.classifier_epochs, "seed": cfg.seed}
    with exclusive(path.with_name(f".{path.name}.lock"), "the digit classifier", wait=True):
        model = load_or_train(path, mnist.train, mnist.train_labels, settings, progress=progress)
    scorer = ClassifierScorer.fit(model, mnist.valid[: cfg.fid_reference])
    return scorer, accuracy(model, mnist.test, mnist.test_labels)


def quality(
    gen: torch.nn.Module, cfg: WganVsJsConfig, valid: torch.Tensor, scorer: ClassifierScorer
) -> dict[str, float]:
    """Independent sample-quality scores of one set of samples: validation Parzen
    log-likelihood (the Table 1 estimator; sigma chosen on the first half of the images, the
    second half scored), and the classifier's FID, classifier score and effective classes."""
    samples = gen.sample(cfg.quality_samples, valid.device, seed=cfg.seed + 7)
    return score_images(samples, cfg, valid, scorer)


def score_images(
    images: torch.Tensor, cfg: WganVsJsConfig, valid: torch.Tensor, scorer: ClassifierScorer
) -> dict[str, float]:
    """Every quality score of a set of images (generated, or real ones as the reference)."""
    half = cfg.quality_valid // 2
    ll = parzen.evaluate(images, valid[:half], valid[half : cfg.quality_valid]).mean
    return {"quality": ll, **scorer(images)}


def train_run(
    cfg: WganVsJsConfig,
    loss: str,
    generator: str,
    data: torch.Tensor,
    valid: torch.Tensor,
    scorer: ClassifierScorer,
    ckpt_dir: Path,
    progress: bool = True,
    time_budget_s: float | None = None,
) -> GAN:
    """One run, resumable; every `eval_every` generator iterations a quality score and a fixed
    grid of 64 samples (saved beside the checkpoint)."""
    gan = build(cfg, loss, generator, data.device)
    fixed_z = gan.generator.sample_noise(
        64, data.device, torch.Generator(data.device).manual_seed(cfg.seed + 6)
    )
    ckpt_dir.mkdir(parents=True, exist_ok=True)

    def on_epoch_end(g: GAN) -> dict[str, Any]:
        g.generator.eval()
        with torch.no_grad():
            torch.save(g.generator(fixed_z).cpu(), ckpt_dir / f"samples_{g.g_step:07d}.pt")
        g.generator.train()
        return quality(g.generator, cfg, valid, scorer)

    # what shapes the training and its scores; g_iters is left out so a run can be extended
    ignored = (
        "device",
        "data_dir",
        "g_iters",
        "profile",
        "median_window",
        "theta_grid_size",
        "time_budget_minutes",
    )
    fingerprint = {
        k: v
        for k, v in cfg.as_dict().items()
        if k not in ignored and not k.startswith(("toy", "gauss"))
    }
    writes = time_budget_s != 0  # a zero budget only loads: no lock, so it can run beside
    with exclusive(ckpt_dir / ".lock", f"run {ckpt_dir.name}") if writes else nullcontext():
        return train(
            gan,
            data,
            objective_for(cfg, loss),
            epochs=cfg.g_iters // cfg.eval_every,
            batch_size=cfg.batch_size,
            round_g_iters=cfg.eval_every,
            trace=True,
            checkpoint_dir=ckpt_dir,
            fingerprint={
                **fingerprint,
                "loss": loss,
                "run_generator": generator,
                "quality_scores": SCORES_VERSION,
            },
            on_epoch_end=on_epoch_end,
            progress=progress,
            desc=f"{loss}, {generator} G",
            time_budget_s=time_budget_s,
        )


@dataclass
class MnistRuns:
    """The MNIST runs of one chapter run: trained models, loss curves and checkpoint tables.
    `curves` and `tables` hold only runs with at least one quality checkpoint."""

    gans: dict[str, GAN]
    curves: dict[str, pd.DataFrame]
    tables: dict[str, pd.DataFrame]
    main: list[str]
    robust: list[str]


def check_runs(cfg: WganVsJsConfig, only: list[str] | None) -> None:
    names = [n for n, _, _ in run_names(cfg)]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise ConfigError(f"unknown run(s) {unknown}; this configuration's runs are {names}")


def train_runs(
    cfg: WganVsJsConfig,
    mnist: MnistSplits,
    scorer: ClassifierScorer,
    ckpt_root: Path,
    progress: bool = True,
    only: list[str] | None = None,
) -> MnistRuns:
    """Train (or resume) every run in turn within `time_budget_minutes` for all of them; `only`
    restricts this to some runs (the others are neither trained nor reported)."""
    check_runs(cfg, only)
    deadline = (
        None
        if cfg.time_budget_minutes is None
        else time.perf_counter() + 60.0 * cfg.time_budget_minutes
    )
    gans, curves, tables = {}, {}, {}
    real_spread = spread(mnist.valid[:64])
    for name, loss, gen_name in run_names(cfg):
        if only is not None and name not in only:
            continue
        left = None if deadline is None else max(0.0, deadline - time.perf_counter())
        gan = train_run(
            cfg, loss, gen_name, mnist.train, mnist.valid, scorer, ckpt_root / name, progress, left
        )
        gans[name] = gan
        if gan.history:
            curves[name] = loss_curve(pd.DataFrame(gan.trace), loss, cfg.median_window)
            tables[name] = checkpoint_table(pd.DataFrame(gan.history), curves[name])
            tables[name]["diversity"] = grid_diversity(
                ckpt_root / name, tables[name].g_step, real_spread
            )
    runs = run_names(cfg)
    main = [n for n, _, g in runs if g == cfg.generator and n in tables]
    robust = [n for n, _, g in runs if g == cfg.robust_generator and n in tables and n not in main]
    return MnistRuns(gans, curves, tables, main, robust)


def train_cli(req: TrainRequest) -> None:
    """`python -m replication train wgan_vs_js [--runs a,b] ...`: the MNIST runs without the
    notebook (which then evaluates them, `-p time_budget_minutes 0`), e.g. two runs side by side
    on two cores; never point two processes at the same run."""
    cfg, root = train_setup(WganVsJsConfig, req)
    check_runs(cfg, req.runs)  # before any data or model is loaded
    device = resolve_device(cfg.device)
    mnist = load_mnist(cfg.data_dir).to(device)
    scorer, acc = classifier_scorer(cfg, mnist, root / "classifier.pt")
    print(f"digit classifier: test accuracy {acc:.2%}")
    done = train_runs(cfg, mnist, scorer, root, only=req.runs)
    print(progress_table(done, cfg).round(1).to_string())


def progress_table(runs: MnistRuns, cfg: WganVsJsConfig) -> pd.DataFrame:
    """How far each run got: generator iterations against the target, and training time."""
    rows = []
    for name, gan in runs.gans.items():
        rows.append(
            {
                "run": name,
                "generator iterations": gan.g_step,
                "target": cfg.g_iters,
                "complete": gan.g_step >= cfg.g_iters,
                "quality checkpoints": len(gan.history),
                "training time (min)": sum(r.get("epoch_time_s", 0.0) for r in gan.history) / 60,
            }
        )
    return pd.DataFrame(rows).set_index("run")


def grid_diversity(ckpt_dir: Path, g_steps: Any, reference: float) -> list[float]:
    """The spread of each checkpoint's fixed-noise grid (64 samples) over `reference`, the
    spread of as many real images: 1 = as varied as real digits, 0 = one image repeated."""
    out = []
    for g in g_steps:
        f = ckpt_dir / f"samples_{int(g):07d}.pt"
        out.append(spread(torch.load(f)) / reference if f.exists() else math.nan)
    return out


def checkpoint_table(history: pd.DataFrame, curve: pd.DataFrame) -> pd.DataFrame:
    """Per quality checkpoint: the filtered loss at that generator iteration and the scores."""
    f = curve.set_index("g_step").filtered
    scores = [c for c in SCORES if c in history]
    out = history[["g_step", *scores]].reset_index(drop=True).astype({"g_step": int})
    out.insert(1, "loss_filtered", [float(f.loc[:g].iloc[-1]) for g in out.g_step])
    return out


def final_scores(
    tables: dict[str, pd.DataFrame], real: dict[str, float] | None = None
) -> pd.DataFrame:
    """Each run's scores at its last checkpoint, its best Parzen LL and FID over all, and the
    same scores of as many real test images (`real`) as a reference row."""
    rows = {}
    for name, t in tables.items():
        last = t.iloc[-1]
        rows[name] = {
            "generator iterations": int(last.g_step),
            "Parzen LL (nats)": float(last.quality),
            "FID": float(last.fid),
            "classifier score": float(last.classifier_score),
            "effective classes": float(last.effective_classes),
            "sample diversity": float(last.get("diversity", math.nan)),
            "best Parzen LL": float(t.quality.max()),
            "best FID": float(t.fid.min()),
        }
    if real is not None:
        rows[REAL_ROW] = {
            "Parzen LL (nats)": real["quality"],
            "FID": real["fid"],
            "classifier score": real["classifier_score"],
            "effective classes": real["effective_classes"],
            "sample diversity": real.get("diversity", math.nan),
        }
    columns = ["generator iterations", "Parzen LL (nats)", "FID", "classifier score"]
    columns += ["effective classes", "sample diversity", "best Parzen LL", "best FID"]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    return out.astype({"generator iterations": "Int64"})


def summary_metrics(
    cfg: WganVsJsConfig,
    corr: pd.DataFrame,
    final: pd.DataFrame,
    classifier_accuracy: float,
    late: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The MNIST part of summary.json: Spearman correlations of the main runs (whole runs, and
    with `late` their second halves), final scores."""
    g = cfg.generator
    runs = final.drop(index=REAL_ROW, errors="ignore")
    out: dict[str, Any] = {}
    for short, key in (("parzen", "quality"), ("fid", "fid")):
        out[f"corr_wgan_loss_vs_{key}"] = spearman_of(corr, f"wgan-{g}", short)
        out[f"corr_gan_js_vs_{key}"] = spearman_of(corr, f"gan-{g}", short)
        out[f"corr_wgan_gp_loss_vs_{key}"] = spearman_of(corr, f"wgan_gp-{g}", short)
        if late is not None:
            for name, run in (
                ("wgan_loss", "wgan"),
                ("gan_js", "gan"),
                ("wgan_gp_loss", "wgan_gp"),
            ):
                key_late = f"corr_{name}_vs_{key}_second_half"
                out[key_late] = spearman_of(late, f"{run}-{g}", short)
    return {
        **out,
        "correlation": "Spearman, median-filtered loss vs score over the quality checkpoints",
        "corr_sign_convention": (
            "a loss that falls as samples improve gives a negative correlation with the Parzen "
            "LL (higher = better) and a positive one with the FID (lower = better)"
        ),
        "median_window": cfg.median_window,
        "quality_score_name": "validation Parzen log-likelihood (nats)",
        "second_score_name": "FID in the features of the project's MNIST classifier",
        "classifier_test_accuracy": classifier_accuracy,
        "final_quality": runs["Parzen LL (nats)"].to_dict(),
        "final_fid": runs["FID"].to_dict(),
        "final_effective_classes": runs["effective classes"].to_dict(),
        "final_sample_diversity": runs["sample diversity"].to_dict(),
        "final_g_iters": {k: int(v) for k, v in runs["generator iterations"].items()},
        "real_images_scores": (
            final.loc[REAL_ROW].dropna().to_dict() if REAL_ROW in final.index else None
        ),
        "g_iters": cfg.g_iters,
    }
