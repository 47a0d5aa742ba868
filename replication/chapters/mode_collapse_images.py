"""Stacked MNIST and the MNIST row of the mode-collapse chapter.

Every chapter method trains through the one loop with its registered objective, tuned as on the
toys (`mode_collapse.tuned_objective`; EBGAN's margin is the image one, `ebgan_image_margin`), at
its published optimiser (the GAN family's is DCGAN's Adam 2e-4, beta1 0.5: PacGAN's too):

    stacked  Stacked MNIST (`datasets.stacked_mnist`), 3-channel DCGAN; scored by the digit
             classifier on each channel: modes covered of 1,000 and KL to uniform
             (`metrics.stacked`), as PacGAN's code scores VEEGAN's benchmark
    mnist    MNIST, 1-channel DCGAN; FID in the classifier's features, Table 1's Parzen LL,
             and for the conditional GAN the classifier's accuracy on samples of each digit

Each method's networks are the DCGAN pair's variants (`nets.dcgan_variants`): EBGAN's D a
convolutional autoencoder, virtual batch norm's G the DCGAN generator with VBN layers (reference
noise of `vbn_reference` rows, drawn once per run), minibatch discrimination's D with the
minibatch layer, the conditional GAN's pair with the labels. An image GAN is arithmetic-bound,
so seeds are separate runs (one after the other here); seed s of every method starts from the
same generator weights (built first, from the same seed; the VBN generator has its own layers)
and sees the same training images. The conditional GAN runs on MNIST only (it needs labels).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from replication.chapters.mode_collapse import METHODS, ModeCollapseConfig, tuned_objective
from replication.config import ConfigError
from replication.datasets import stacked_mnist
from replication.datasets.mnist import MnistSplits, load_mnist_or_reason
from replication.metrics import mnist_scoring
from replication.metrics.classifier import ClassifierScorer, DigitClassifier
from replication.metrics.stacked import (
    channel_digits,
    conditional_accuracy,
    predict_digits,
    stacked_scores,
)
from replication.nets.dcgan_variants import (
    ConditionalConvCritic,
    ConditionalConvGenerator,
    ConvAutoencoder,
    MinibatchConvCritic,
    VbnConvGenerator,
)
from replication.nets.wgan2017 import ConvCritic, ConvGenerator, dcgan_init_
from replication.training.loop import TrainingDiverged, train
from replication.training.objectives import Objective
from replication.training.state import GAN

DIGITS = 10
GRID = 16  # samples of seed 0 kept per method and benchmark for the figure


def image_runs(cfg: ModeCollapseConfig) -> list[tuple[str, str]]:
    """(method, benchmark) pairs: every chosen method, the conditional GAN on MNIST only."""
    out = []
    for bench in cfg.image_benchmark_names():
        for name in cfg.method_names():
            if not (METHODS[name].generator == "conditional" and bench == "stacked"):
                out.append((name, bench))
    return out


def image_objective(name: str, cfg: ModeCollapseConfig) -> Objective:
    """The method's tuned objective (`tuned_objective`) with EBGAN's image margin; the GAN family
    (not the WGANs, which keep their n_critic) makes `image_g_updates` G updates per D update."""
    obj = tuned_objective(name, cfg).tuned(margin=cfg.ebgan_image_margin)
    if METHODS[name].critic_schedule:
        return obj
    return replace(obj, g_updates=cfg.image_g_updates)


def run_seed(cfg: ModeCollapseConfig, s: int) -> int:
    """The seed of image run s: distinct per base seed and seed index."""
    return 1000 * cfg.seed + s


# -- data and the classifier ---------------------------------------------------------------------
@dataclass
class ImageData:
    """MNIST on the device, the digit classifier, its FID reference and its test accuracy."""

    mnist: MnistSplits
    classifier: DigitClassifier
    scorer: ClassifierScorer
    classifier_accuracy: float

    def stacked_pool(self) -> tuple[torch.Tensor, torch.Tensor]:
        return stacked_mnist.pool(self.mnist)


def _check_counts(cfg: ModeCollapseConfig, mnist: MnistSplits) -> None:
    have = {"valid": len(mnist.valid), "test": len(mnist.test), "train": len(mnist.train)}
    need = {
        "fid_reference": ("valid", cfg.fid_reference),
        "parzen_valid": ("valid", cfg.parzen_valid),
        "parzen_test": ("test", cfg.parzen_test),
        "mnist_train_images": ("train", cfg.mnist_train_images),
    }
    for name, (split, n) in need.items():
        if n > have[split]:
            raise ConfigError(f"{name} = {n} but the {split} split has {have[split]} images")


def load_image_data(
    cfg: ModeCollapseConfig, mnist: MnistSplits, device: torch.device, folder: Path
) -> ImageData:
    """MNIST on the device and the digit classifier of all its training images, trained once
    and cached in `folder` (`metrics.mnist_scoring`, shared with the game chapter)."""
    mnist = mnist.to(device)
    _check_counts(cfg, mnist)
    d = mnist_scoring.digit_scorer(
        mnist, len(mnist.train), cfg.classifier_epochs, cfg.fid_reference, folder, progress=False
    )
    return ImageData(mnist, d.classifier, d.scorer, d.test_accuracy)


def training_rows(
    bench: str, conditional: bool, cfg: ModeCollapseConfig, data: ImageData, seed: int
) -> torch.Tensor:
    """A run's training rows: stacked images drawn for this seed, or the first MNIST training
    images (with their one-hot labels appended for the conditional GAN)."""
    if bench == "stacked":
        images, labels = data.stacked_pool()
        return stacked_mnist.stack(images, labels, cfg.stacked_train_images, seed + 500_000).images
    n = cfg.mnist_train_images
    x = data.mnist.train[:n]
    if conditional:
        y = nn.functional.one_hot(data.mnist.train_labels[:n], DIGITS).to(x.dtype)
        x = torch.cat([x, y], 1)
    return x


# -- networks ------------------------------------------------------------------------------------
def build_image_gan(
    name: str, bench: str, cfg: ModeCollapseConfig, device: torch.device, seed: int
) -> GAN:
    """The method's DCGAN pair for `bench`, DCGAN-initialised, and its published optimisers.
    G is built first from `seed`, so every method with the same G starts from the same one;
    the VBN generator's reference noise comes from its own stream (`seed` + 999)."""
    method = METHODS[name]
    channels = stacked_mnist.CHANNELS if bench == "stacked" else 1
    nz, dim = cfg.image_noise_dim, cfg.image_dim
    torch.manual_seed(seed)
    if method.generator == "conditional":
        G: nn.Module = ConditionalConvGenerator(nz, dim, DIGITS, channels=channels)
    elif method.generator == "vbn":
        gen = torch.Generator().manual_seed(seed + 999)
        ref = torch.randn(cfg.vbn_reference, nz, generator=gen)
        G = VbnConvGenerator(nz, dim, ref, channels=channels)
    else:
        G = ConvGenerator(nz, dim, batchnorm=True, channels=channels)
    dcgan_init_(G)
    if method.generator == "conditional":
        D: nn.Module = ConditionalConvCritic(dim, DIGITS, channels)
    elif method.discriminator == "minibatch":
        D = MinibatchConvCritic(dim, channels, cfg.mb_image_kernels, cfg.mb_image_kernel_dim)
    elif method.discriminator == "autoencoder":
        D = ConvAutoencoder(dim, channels)
    else:
        D = ConvCritic(dim, channels)
    dcgan_init_(D)
    G, D = G.to(device), D.to(device)
    obj = image_objective(name, cfg)
    obj.prepare_critic(D)
    return GAN(G, D, *obj.optimisers(G, D))


# -- scores --------------------------------------------------------------------------------------
def score_stacked(gan: GAN, cfg: ModeCollapseConfig, data: ImageData, seed: int) -> dict[str, Any]:
    x = gan.generator.sample(cfg.stacked_eval_samples, data.mnist.train.device, seed=seed + 7)
    sc = stacked_scores(channel_digits(data.classifier, x))
    return {"modes": sc.modes, "kl": sc.kl, "_grid": x[:GRID].cpu()}


@torch.no_grad()
def digit_samples(
    G: ConditionalConvGenerator, n_per: int, device: torch.device, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """`n_per` samples of each digit (pixels only) and the digits they were asked for."""
    asked = torch.arange(DIGITS, device=device).repeat_interleave(n_per)
    gen = torch.Generator(device=device).manual_seed(seed)
    was = G.training
    G.eval()
    pixels = G.channels * 28 * 28
    x = torch.cat([G(G.noise_for(a, gen))[:, :pixels] for a in asked.split(2000)])
    G.train(was)
    return x, asked


def mnist_scores(x: torch.Tensor, cfg: ModeCollapseConfig, data: ImageData) -> dict[str, float]:
    """FID, classifier score and effective classes of `x`, and the Parzen LL of test images
    with `x` as the window's centres (sigma on validation images)."""
    m = data.mnist
    s = mnist_scoring.score_images(
        x, data.scorer, m.valid[: cfg.parzen_valid], m.test[: cfg.parzen_test]
    )
    return {
        **{k: s[k] for k in ("fid", "classifier_score", "effective_classes")},
        "parzen": s["parzen_ll"],
        "parzen_sigma": s["parzen_sigma"],
    }


def score_mnist(
    gan: GAN, cfg: ModeCollapseConfig, data: ImageData, seed: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """`mnist_scores` of the samples; for a conditional G also its per-digit accuracy."""
    G, device = gan.generator, data.mnist.train.device
    x = G.sample(cfg.mnist_eval_samples, device, seed=seed + 7)[:, : 28 * 28]
    out = {**mnist_scores(x, cfg, data), "_grid": x[:GRID].cpu()}
    per_digit: list[dict] = []
    if isinstance(G, ConditionalConvGenerator):
        xs, asked = digit_samples(G, cfg.cgan_samples_per_digit, device, seed + 8)
        acc = conditional_accuracy(predict_digits(data.classifier, xs), asked, DIGITS)
        out["cgan_accuracy"] = acc["accuracy"]
        per_digit = [{"digit": d, "accuracy": a} for d, a in enumerate(acc["per_label"])]
    return out, per_digit


def real_reference(cfg: ModeCollapseConfig, data: ImageData) -> dict[str, dict[str, float]]:
    """The same scores of real images as many as a run's samples, for scale: stacked real
    images (modes near 1,000 less what the sample count and the classifier's errors miss) and
    MNIST training images (FID against the validation reference, Parzen LL with them as the
    window's centres)."""
    out: dict[str, dict[str, float]] = {}
    if "stacked" in cfg.image_benchmark_names():
        images, labels = data.stacked_pool()
        real = stacked_mnist.stack(images, labels, cfg.stacked_eval_samples, cfg.seed + 600_000)
        sc = stacked_scores(channel_digits(data.classifier, real.images))
        out["stacked"] = {"modes": sc.modes, "kl": sc.kl}
    if "mnist" in cfg.image_benchmark_names():
        scores = mnist_scores(data.mnist.train[: cfg.mnist_eval_samples], cfg, data)
        out["mnist"] = {k: v for k, v in scores.items() if k != "parzen_sigma"}
    return out


# -- one run, all runs ---------------------------------------------------------------------------
@dataclass
class ImageResults:
    """Per-seed rows (metrics and timings), the conditional GAN's per-digit accuracy, seed 0's
    sample grids, the classifier's test accuracy and the scores of real images."""

    per_seed: pd.DataFrame
    per_digit: pd.DataFrame
    grids: dict[tuple[str, str], torch.Tensor] = field(default_factory=dict)
    classifier_accuracy: float = float("nan")
    reference: dict[str, dict[str, float]] = field(default_factory=dict)


def run_image(
    name: str, bench: str, s: int, cfg: ModeCollapseConfig, data: ImageData
) -> tuple[dict[str, Any], list[dict], torch.Tensor | None]:
    """Train seed s of `name` on `bench` and score it; a run whose loss diverges is recorded
    as diverged, without scores."""
    seed = run_seed(cfg, s)
    device = data.mnist.train.device
    conditional = METHODS[name].generator == "conditional"
    rows = training_rows(bench, conditional, cfg, data, seed)
    gan = build_image_gan(name, bench, cfg, device, seed)
    row: dict[str, Any] = {"method": name, "benchmark": bench, "seed": s, "diverged": False}
    t0 = time.perf_counter()
    try:
        train(
            gan,
            rows,
            image_objective(name, cfg),
            epochs=cfg.image_epochs,
            batch_size=cfg.image_batch,
            progress=False,
        )
    except TrainingDiverged:
        row["diverged"] = True
    row.update(train_seconds=time.perf_counter() - t0, g_steps=gan.g_step, d_steps=gan.step)
    if row["diverged"]:
        return row, [], None
    t1 = time.perf_counter()
    if bench == "stacked":
        scores, per_digit = score_stacked(gan, cfg, data, seed), []
    else:
        scores, per_digit = score_mnist(gan, cfg, data, seed)
    grid = scores.pop("_grid")
    row.update(scores, score_seconds=time.perf_counter() - t1)
    per_digit = [{"method": name, "seed": s, **r} for r in per_digit]
    return row, per_digit, grid


def run_all_images(
    cfg: ModeCollapseConfig,
    mnist: MnistSplits,
    device: torch.device,
    folder: Path,
    progress: bool = True,
) -> ImageResults:
    """Every image run, seed after seed."""
    data = load_image_data(cfg, mnist, device, folder)
    rows, digits, grids = [], [], {}
    jobs = [(n, b, s) for n, b in image_runs(cfg) for s in range(cfg.seeds_image)]
    for name, bench, s in tqdm(jobs, desc="image runs", disable=not progress):
        row, per_digit, grid = run_image(name, bench, s, cfg, data)
        rows.append(row)
        digits.extend(per_digit)
        if s == 0 and grid is not None:
            grids[(name, bench)] = grid
    return ImageResults(
        pd.DataFrame(rows),
        pd.DataFrame(digits, columns=["method", "seed", "digit", "accuracy"]),
        grids,
        data.classifier_accuracy,
        real_reference(cfg, data),
    )


def run_if_data(
    cfg: ModeCollapseConfig, device: torch.device, folder: Path, progress: bool = True
) -> tuple[ImageResults | None, str]:
    """The image runs and a status line; without MNIST, None and what went wrong and how to
    fix it, without the paths searched (`mnist_unavailable`: the status goes into the summary
    and the page): the toys need no data, so the chapter goes on without."""
    if not image_runs(cfg):
        return None, "not run: no image benchmark chosen (image_benchmarks)"
    mnist, why = load_mnist_or_reason(cfg.data_dir)
    if mnist is None:
        return None, f"not run: {why}"
    res = run_all_images(cfg, mnist, device, folder, progress)
    return res, f"run: {', '.join(cfg.image_benchmark_names())}, {cfg.seeds_image} seeds"
