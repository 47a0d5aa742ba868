"""Table 1 of Goodfellow et al. 2014, MNIST column: the adversarial net's Parzen log-likelihood.

Training follows `mnist.yaml` (see `recipe2014.py`). The paper does not say how many epochs it
trained, so every `eval_every` epochs the generator is scored by the Parzen protocol on the
validation set and the best epoch's weights are kept; the test set is only ever reported.
"""

from __future__ import annotations

import json
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from replication.chapters.recipe2014 import Mnist2014Recipe, build_gan, train_with_recipe
from replication.config import ConfigError, param, resolve_device
from replication.datasets.mnist import MnistSplits, load_mnist
from replication.metrics import nearest, parzen
from replication.metrics.parzen_sensitivity import evaluate_fine_sigma, sample_draw_spread
from replication.nets.mlp2014 import Generator
from replication.runs.checkpoints import start_from_run
from replication.runs.cli import TrainRequest, select_runs, train_setup
from replication.runs.locks import exclusive
from replication.runs.parked import unpark
from replication.runs.paths import project_root
from replication.runs.weights import load_weights
from replication.training.loop import GAN

P = "parzen_ll.py of goodfeli/adversarial"
RESUMES_PARKED_STATE = True  # `python -m replication park parzen_mnist --run NAME` is taken up


@dataclass(frozen=True)
class ParzenMnistConfig(Mnist2014Recipe):
    CHAPTER = "parzen_mnist"
    # a time budget changes when training stops (reported as epochs_trained), not the protocol
    BUDGET_FIELDS = ("device", "data_dir", "time_budget_minutes")
    PROFILE_OVERRIDES = {
        "quick": {"epochs": 3, "eval_every": 1, "kmeans_iters": 2, "kmeans_fit_images": 10000},
    }

    epochs: int = param(
        1000,
        "epochs to train; the checkpoint is then chosen on validation",
        source="our choice: the paper records no epoch count (the code saved every epoch)",
        min=0,
    )
    eval_every: int = param(5, "score the generator on validation every n epochs", min=1)
    time_budget_minutes: float | None = param(
        None, "stop training after the epoch that crosses this; re-run resumes", min=0
    )
    continue_from: str | None = param(
        None,
        "run whose checkpoints start this one (e.g. paper with a larger `epochs` and its own "
        "run name: trains past the paper's budget without touching that run)",
    )
    n_samples: int = param(
        10000, "generator samples = Parzen centres", source=f"{P}: -n 10000", min=2
    )
    n_sigma_valid: int = param(
        1000,
        "validation images that choose sigma and the epoch",
        source=f"{P}: --limit_size 1000",
        min=1,
        max=10000,
    )
    sigma_min_log10: float = param(
        -1.0, "sigma grid: logspace(min, max, n)", source=f"{P}: --sigma_start -1"
    )
    sigma_max_log10: float = param(
        0.0, "sigma grid: logspace(min, max, n)", source=f"{P}: --sigma_end 0"
    )
    sigma_grid_size: int = param(10, "sigma grid size", source=f"{P}: --cross_val 10", min=2)
    n_test: int = param(10000, "test images scored (the official test set)", min=1, max=10000)
    kmeans_fit_images: int = param(
        50000, "training images the k-means reference row is fitted on", min=1, max=50000
    )
    kmeans_iters: int = param(20, "Lloyd iterations of the k-means reference row", min=1)
    fine_sigma_points: int = param(
        41,
        "sensitivity: sigmas between the chosen grid point's neighbours (odd), chosen on the "
        "same validation images",
        source="ours; parzen_ll.py's grid steps 29 % (other versions of it used 15 points)",
        min=3,
    )
    sample_draws: int = param(
        5,
        "sensitivity: re-draws of the centres with other seeds (0: none; else at least 2)",
        source="ours: the estimator's spread for one generator",
        min=0,
    )

    # evaluation only: a checkpoint trained under other values is the same training
    EVALUATION_FIELDS = ("continue_from", "fine_sigma_points", "sample_draws")

    def fingerprint(self) -> dict:
        # where a run started from, and how it is scored, are not settings of its training
        skip = set(self.EVALUATION_FIELDS)
        return {k: v for k, v in super().fingerprint().items() if k not in skip}

    def check(self) -> None:
        if self.sigma_min_log10 > self.sigma_max_log10:
            raise ConfigError("sigma_min_log10 must not exceed sigma_max_log10")
        if self.fine_sigma_points % 2 == 0:
            raise ConfigError(
                f"fine_sigma_points must be odd (the grid then holds the protocol's sigma), "
                f"got {self.fine_sigma_points}"
            )
        if self.sample_draws == 1:
            raise ConfigError("sample_draws must be 0 (none) or at least 2 (a spread needs two)")

    def sigmas(self) -> torch.Tensor:
        return torch.logspace(
            self.sigma_min_log10, self.sigma_max_log10, self.sigma_grid_size, dtype=torch.float64
        )


def sample_seed(cfg: ParzenMnistConfig) -> int:
    """Samples for scoring come from a fixed private seed: epochs are compared on equal terms."""
    return cfg.seed + 10_000


def score(
    gan: GAN, cfg: ParzenMnistConfig, mnist: MnistSplits, with_test: bool = True
) -> dict[str, Any]:
    """The paper's protocol: sigma by validation mean LL, then the test LL at that sigma."""
    samples = gan.generator.sample(cfg.n_samples, mnist.valid.device, seed=sample_seed(cfg))
    valid = mnist.valid[: cfg.n_sigma_valid]
    sigma, per_sigma = parzen.select_sigma(samples, valid, cfg.sigmas())
    row = {"valid_ll": float(per_sigma.max()), "sigma": sigma}
    if with_test:
        ll = parzen.log_likelihood(mnist.test[: cfg.n_test], samples, sigma)
        row["test_ll"] = float(ll.mean())
    return row


def train_gan(
    cfg: ParzenMnistConfig, mnist: MnistSplits, ckpt_dir: Path, progress: bool = True
) -> GAN:
    """Train (or resume) to `cfg.epochs`, scoring every `eval_every` epochs; keeps best.pt."""
    data = mnist.train[: cfg.train_images]
    gan = build_gan(cfg, data, data.device)

    def on_epoch_end(g: GAN) -> dict[str, Any]:
        if g.epoch % cfg.eval_every and g.epoch != cfg.epochs:
            return {}
        return score(g, cfg, mnist)

    budget = None if cfg.time_budget_minutes is None else 60.0 * cfg.time_budget_minutes
    writes = budget != 0  # a zero budget only loads: it may evaluate beside a training process
    with exclusive(ckpt_dir / ".lock", f"run {ckpt_dir.name}") if writes else nullcontext():
        unpark(ckpt_dir)  # a state committed by another machine, when this one has none
        if cfg.continue_from:
            start_from_run(ckpt_dir, cfg.continue_from)
        return train_with_recipe(
            gan,
            data,
            cfg,
            "nonsaturating",
            checkpoint_dir=ckpt_dir,
            on_epoch_end=on_epoch_end,
            select=("valid_ll", "max"),
            time_budget_s=budget,
            progress=progress,
            desc="2014 MNIST GAN",
        )


def load_selected(gan: GAN, ckpt_dir: Path) -> int:
    """Put the validation-selected generator weights into `gan`; return their epoch."""
    best = torch.load(ckpt_dir / "best.pt", map_location="cpu", weights_only=False)
    gan.generator.load_state_dict(best["generator"])
    return int(best["epoch"])


def final_evaluation(gan: GAN, cfg: ParzenMnistConfig, mnist: MnistSplits) -> parzen.ParzenResult:
    samples = gan.generator.sample(cfg.n_samples, mnist.valid.device, seed=sample_seed(cfg))
    return parzen.evaluate(
        samples, mnist.valid[: cfg.n_sigma_valid], mnist.test[: cfg.n_test], cfg.sigmas()
    )


def sensitivity(
    gan: GAN, cfg: ParzenMnistConfig, mnist: MnistSplits
) -> tuple[parzen.ParzenResult, pd.DataFrame]:
    """Beside the protocol number, never in its place: sigma refined on the same validation
    images (`fine_sigma_points`), and the protocol over `sample_draws` other draws of the
    centres (seeds after the protocol's own)."""
    device = mnist.valid.device
    valid, test = mnist.valid[: cfg.n_sigma_valid], mnist.test[: cfg.n_test]
    samples = gan.generator.sample(cfg.n_samples, device, seed=sample_seed(cfg))
    fine = evaluate_fine_sigma(samples, valid, test, cfg.sigmas(), cfg.fine_sigma_points)
    if cfg.sample_draws == 0:
        return fine, pd.DataFrame(columns=["sample_seed", "sigma", "test_ll", "se"])
    seeds = [sample_seed(cfg) + 1 + k for k in range(cfg.sample_draws)]
    draws = sample_draw_spread(
        lambda s: gan.generator.sample(cfg.n_samples, device, seed=s),
        seeds,
        valid,
        test,
        cfg.sigmas(),
    )
    return fine, draws


def config_of_run(run_dir: Path) -> ParzenMnistConfig:
    """The config a committed run was made with (fields added since take their defaults)."""
    prov = json.loads((run_dir / "provenance.json").read_text())
    known = set(ParzenMnistConfig.field_names())
    return ParzenMnistConfig(**{k: v for k, v in prov["config"].items() if k in known})


def rescore(run_dir: Path, mnist: MnistSplits) -> dict[str, float]:
    """Table 1 again from the run's committed generator weights, no training: the protocol
    number (to compare with its summary) and the fine-sigma sensitivity."""
    cfg = config_of_run(run_dir)
    G = Generator(cfg.noise_dim, cfg.g_hidden, mnist.test.shape[1], noise=cfg.noise)
    G.load_state_dict(load_weights(run_dir, "generator"))
    G = G.to(mnist.valid.device)
    samples = G.sample(cfg.n_samples, mnist.valid.device, seed=sample_seed(cfg))
    valid, test = mnist.valid[: cfg.n_sigma_valid], mnist.test[: cfg.n_test]
    ours = parzen.evaluate(samples, valid, test, cfg.sigmas())
    fine = evaluate_fine_sigma(samples, valid, test, cfg.sigmas(), cfg.fine_sigma_points)
    return {
        "ll": ours.mean,
        "se": ours.se,
        "sigma": ours.sigma,
        "ll_fine_sigma": fine.mean,
        "sigma_fine": fine.sigma,
    }


def rescore_cli(run: str, results_dir: str | None, data_dir: str | None) -> None:
    """`python -m replication rescore parzen_mnist --run NAME`: compare with its summary."""
    run_dir = Path(results_dir or project_root() / "results") / ParzenMnistConfig.CHAPTER / run
    if not (run_dir / "summary.json").is_file():
        raise ConfigError(f"no committed run {run!r} of parzen_mnist (looked in {run_dir})")
    committed = json.loads((run_dir / "summary.json").read_text())
    load_weights(run_dir, "generator")  # missing or altered weights fail before MNIST loads
    mnist = load_mnist(data_dir)  # not the run's recorded folder: another machine's path
    again = rescore(run_dir, mnist)
    was = committed["mnist_parzen_ll_mean"]
    scored_on = json.loads((run_dir / "provenance.json").read_text()).get("device_type", "cpu")
    if scored_on != "cpu":  # a seeded draw differs between CPU and CUDA generators
        print(
            f"note: {run} was scored on {scored_on}; re-scored here on the CPU, its 10,000 "
            "centres are another draw, so expect a difference of about the sample-draw sd"
        )
    same = "identical" if again["ll"] == was else f"differs by {again['ll'] - was:+.3g} nats"
    print(
        f"{run}: protocol {again['ll']:.4f} ± {again['se']:.4f} nats at sigma "
        f"{again['sigma']:.4f} (committed {was:.4f}: {same}); fine sigma "
        f"{again['sigma_fine']:.4f}: {again['ll_fine_sigma']:.4f} nats"
    )


def reference_rows(cfg: ParzenMnistConfig, mnist: MnistSplits) -> pd.DataFrame:
    """How far Parzen can be trusted: the same estimator with real images as the centres."""
    k = min(cfg.n_samples, cfg.kmeans_fit_images)
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
    idx = torch.randperm(mnist.train.shape[0], generator=gen)[: cfg.n_samples].to(
        mnist.train.device
    )
    t0 = time.perf_counter()
    km = nearest.kmeans_centres(
        mnist.train[: cfg.kmeans_fit_images], k, iters=cfg.kmeans_iters, seed=cfg.seed
    )
    t_km = time.perf_counter() - t0
    rows = []
    for name, centres, note in (
        ("Real training images", mnist.train[idx], f"{cfg.n_samples} random training images"),
        (
            "k-means centres",
            km,
            f"{k} centres, {cfg.kmeans_iters} Lloyd iterations on "
            f"{cfg.kmeans_fit_images} training images ({t_km:.0f} s)",
        ),
    ):
        res = parzen.evaluate(
            centres, mnist.valid[: cfg.n_sigma_valid], mnist.test[: cfg.n_test], cfg.sigmas()
        )
        rows.append(
            {"model": name, "ours": res.mean, "ours_se": res.se, "sigma": res.sigma, "note": note}
        )
    return pd.DataFrame(rows)


def memorisation(
    gan: GAN, cfg: ParzenMnistConfig, mnist: MnistSplits, n: int = 2000
) -> tuple[pd.DataFrame, int]:
    """Does the generator reproduce its training images? Each sample's nearest neighbour is
    sought among as many training as held-out (validation) images: without memorisation it is a
    training image about half the time, as for unseen test digits (the control); a copier's
    almost always. Counted over the distinct neighbours found, so that samples collapsed onto a
    few images count as few, not as many independent votes. Returns the table and k, the
    training (and held-out) images searched; `report.parzen_findings.memorisation_text` reads
    them."""
    train = mnist.train[: cfg.train_images]
    held = mnist.valid
    k = min(len(train), len(held))
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed + 3)
    train = train[torch.randperm(len(train), generator=gen)[:k].to(train.device)]
    refs = torch.cat([train, held[:k]])
    samples = gan.generator.sample(n, train.device, seed=sample_seed(cfg) + 2)
    rows = []
    for name, pts in (("generated samples", samples), ("test images (control)", mnist.test[:n])):
        _, idx = nearest.nearest(pts, refs)
        distinct = idx.unique()
        rows.append(
            {
                "points": name,
                "n": len(pts),
                "nearest is a training image": float((idx < k).double().mean()),
                "distinct nearest images": int(distinct.numel()),
                "training share of distinct nearest": float((distinct < k).double().mean()),
            }
        )
    table = pd.DataFrame(rows).set_index("points")
    return table, k


def train_cli(req: TrainRequest) -> None:
    """`python -m replication train parzen_mnist ...`: the long training without the notebook."""
    cfg, ckpt = train_setup(ParzenMnistConfig, req)
    select_runs(cfg.CHAPTER, ["generator"], req.runs)  # one run: --runs can only name it
    device = resolve_device(cfg.device)
    mnist = load_mnist(cfg.data_dir).to(device)
    t0 = time.perf_counter()
    gan = train_gan(cfg, mnist, ckpt)
    best = gan.best or {}
    print(
        f"epochs {gan.epoch}/{cfg.epochs} in {time.perf_counter() - t0:.0f} s; best validation "
        f"LL {best.get('valid_ll', math.nan):.1f} at epoch {best.get('epoch')}; checkpoints: {ckpt}"
    )
