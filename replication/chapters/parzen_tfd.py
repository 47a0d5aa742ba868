"""Table 1 of Goodfellow et al. 2014, TFD column: Parzen log-likelihood across the 5 folds.

With the licensed `TFD_48x48.mat` this runs the paper's protocol on it; without, the same
protocol runs on a public face set in TFD's layout (`replication/datasets/faces.py`), labelled
everywhere as a stand-in whose numbers cannot be compared with the published 2057 ± 26.

Training follows the paper's code, `tfd_pretrain/pretrain.yaml` then `tfd_pretrain/train.yaml`
of goodfeli/adversarial (networks in `replication/nets/tfd2014.py`); evaluation its
`parzen_ll.py -d tfd -f FOLD`: sigma chosen on the whole validation split of the fold, the
log-likelihood of that fold's test split at that sigma. The reported ± is the standard error of
the 5 fold means.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from replication.config import ConfigError, ExperimentConfig, param
from replication.datasets.faces import SIDE, STANDIN_FILES, FaceFolds
from replication.metrics import parzen
from replication.nets.mlp2014 import Discriminator, init_output_bias_from_marginals_, init_uniform_
from replication.nets.tfd2014 import (
    GaussianGenerator,
    MaxColNorm,
    pretrain_generator,
    stacked_generator,
)
from replication.report.figures import sample_grid
from replication.training.loop import GAN, Schedule, train
from replication.training.losses import GENERATOR_COSTS
from replication.training.optim import ClassicMomentumSGD

PRE = "tfd_pretrain/pretrain.yaml"
TRN = "tfd_pretrain/train.yaml"
BOTH = "pretrain.yaml and train.yaml"
P = "parzen_ll.py of goodfeli/adversarial"
PAPER = "Goodfellow et al. 2014, Table 1"

PUBLISHED_TFD = 2057.0
# Table 1 of Goodfellow et al. 2014 (TFD column): mean log-likelihood in nats ± standard error
# across folds. The first three rows are the paper's copies of earlier results.
PUBLISHED = pd.DataFrame(
    [
        {
            "model": "DBN",
            "published": 1909.0,
            "published_se": 66.0,
            "source": f"{PAPER} (from Bengio et al. 2013)",
        },
        {
            "model": "Stacked CAE",
            "published": 2110.0,
            "published_se": 50.0,
            "source": f"{PAPER} (from Bengio et al. 2013)",
        },
        {
            "model": "Deep GSN",
            "published": 1890.0,
            "published_se": 29.0,
            "source": f"{PAPER} (from Bengio et al. 2014)",
        },
        {
            "model": "Adversarial nets",
            "published": PUBLISHED_TFD,
            "published_se": 26.0,
            "source": PAPER,
        },
    ]
)


@dataclass(frozen=True)
class ParzenTfdConfig(ExperimentConfig):
    CHAPTER = "parzen_tfd"
    BUDGET_FIELDS = ("device", "data_dir", "time_budget_minutes", "checkpoint_every_minutes")
    PROFILE_OVERRIDES = {
        "quick": {
            "g_hidden": 1000,
            "stack_hidden": 1000,
            "d_units": 240,
            "max_train_images": 5000,
        },
    }

    dataset: str = param(
        "auto",
        "'tfd' (the licensed TFD_48x48.mat), a public stand-in ('olivetti', 'frey'), or 'auto': "
        "TFD when the file is found, else the Olivetti stand-in",
        choices=("auto", "tfd", "olivetti", "frey"),
    )
    n_folds: int = param(
        5, "folds evaluated (0..n-1)", source=f"{PAPER}: ± across folds", min=1, max=5
    )
    noise_dim: int = param(
        100,
        "dimension of z ~ N(0, I)",
        source=f"{PRE}: nvis 100; adversarial.Generator noise='gaussian' (default)",
        min=1,
    )
    g_hidden: int = param(
        8000,
        "units of G's ReLU layer and of its sigmoid layer",
        source=f"{PRE}: h0 dim 8000, h1 dim 8000",
        min=1,
    )
    g_irange: float = param(
        0.05, "G weights ~ U(-irange, irange)", source=f"{BOTH}: irange .05", min=0
    )
    g_h1_bias: float = param(
        -2.0, "initial bias of G's sigmoid hidden layers", source=f"{BOTH}: h1 init_bias -2.0"
    )
    g_out_sparse_init: int = param(
        100,
        "G's output layer: inputs with N(0,1) weights per pixel, others 0; bias = "
        "logit(mean pixel)",
        source=f"{PRE}: y sparse_init 100, init_sigmoid_bias_from_marginals",
        min=1,
    )
    stack_hidden: int = param(
        8000,
        "ReLU units of the block stacked in front for stage 2",
        source=f"{TRN}: h0 dim 8000 (then h1 sigmoid dim 100)",
        min=1,
    )
    max_col_norm: float = param(
        1.9365,
        "L2 cap on the weights into each unit, every layer of both nets, after every update",
        source=f"{BOTH}: max_col_norm 1.9365",
        min=0,
    )
    d_units: int = param(1200, "maxout units per D layer", source=f"{BOTH}: num_units 1200", min=1)
    d_pieces: int = param(5, "pieces per maxout unit", source=f"{BOTH}: num_pieces 5", min=1)
    d_irange: float = param(
        0.005, "D weights ~ U(-irange, irange)", source=f"{BOTH}: irange .005", min=0
    )
    d_input_keep: float = param(
        0.8,
        "dropout: probability of keeping a pixel (kept x1.25)",
        source=f"{BOTH}: discriminator_input_include_probs h0 .8",
        min=0.01,
        max=1,
    )
    d_hidden_keep: float = param(
        0.5,
        "dropout: probability of keeping a hidden unit (kept x2)",
        source=f"{BOTH}: discriminator_default_input_include_prob .5",
        min=0.01,
        max=1,
    )
    batch_size: int = param(100, "minibatch size", source=f"{BOTH}: batch_size 100", min=1)
    lr: float = param(
        0.05, "initial learning rate (each stage)", source=f"{BOTH}: learning_rate .05", min=0
    )
    lr_decay: float = param(
        1.000004,
        "lr divided by this after every update",
        source=f"{BOTH}: ExponentialDecay decay_factor 1.000004",
        min=1,
    )
    min_lr: float = param(
        1e-6, "floor of the learning rate", source=f"{BOTH}: min_lr .000001", min=0
    )
    momentum_start: float = param(
        0.5, "momentum in epoch 1", source=f"{BOTH}: init_momentum .5", min=0, max=1
    )
    momentum_final: float = param(
        0.7,
        "momentum from the saturate epoch on",
        source=f"{BOTH}: MomentumAdjustor final_momentum .7",
        min=0,
        max=1,
    )
    momentum_saturate_epoch: int = param(
        250,
        "epoch at which momentum reaches its final value (never reached in 50 + 22 epochs)",
        source=f"{BOTH}: MomentumAdjustor saturate 250",
        min=1,
    )
    g_cost_scale: float = param(
        2.0,
        "G's cost is this times the tutorial's 1/2-scaled J(G)",
        source="AdversaryCost2 (as on MNIST)",
        min=0,
    )
    pretrain_epochs: int = param(
        50,
        "epochs of stage 1 (the 3-layer generator)",
        source=f"{PRE}: EpochCounter max_epochs 50",
        min=0,
    )
    train_epochs: int = param(
        22,
        "epochs of stage 2 (block stacked in front, fresh D)",
        source=f"{TRN}: EpochCounter max_epochs 22",
        min=0,
    )
    max_train_images: int | None = param(
        None,
        "use at most the first n images of the generator's training split (None: all)",
        source="our budget knob; TFD's unlabeled split has about 98,000 images",
        min=100,
    )
    n_samples: int = param(
        10000, "generator samples = Parzen centres, per fold", source=f"{P}: -n 10000", min=2
    )
    sigma_min_log10: float = param(
        -1.0, "sigma grid: logspace(min, max, n)", source=f"{P}: --sigma_start -1"
    )
    sigma_max_log10: float = param(
        0.0, "sigma grid: logspace(min, max, n)", source=f"{P}: --sigma_end 0"
    )
    sigma_grid_size: int = param(10, "sigma grid size", source=f"{P}: --cross_val 10", min=1)
    time_budget_minutes: float | None = param(
        None, "stop training after the epoch that crosses this (all folds); re-run resumes", min=0
    )

    checkpoint_every_minutes: float = param(
        5.0,
        "write last.pt at most this often (and when training stops); 0 = every epoch. A save "
        "of the paper-size nets is ~0.8 GB, longer than a stand-in epoch",
        min=0,
    )

    def check(self) -> None:
        if self.sigma_min_log10 > self.sigma_max_log10:
            raise ConfigError("sigma_min_log10 must not exceed sigma_max_log10")

    def sigmas(self) -> torch.Tensor:
        return torch.logspace(
            self.sigma_min_log10, self.sigma_max_log10, self.sigma_grid_size, dtype=torch.float64
        )

    def schedule(self) -> Schedule:
        return Schedule.from_config(self)

    def fingerprint(self) -> dict[str, Any]:
        """What a training checkpoint must agree on (budgets, evaluation and location may
        change)."""
        skip = set(self.BUDGET_FIELDS) | {
            "n_folds",
            "n_samples",
            "sigma_min_log10",
            "sigma_max_log10",
            "sigma_grid_size",
            "pretrain_epochs",  # stage 1 may be extended; stage 2 records the epochs it built on
            "train_epochs",
        }
        return {k: v for k, v in self.as_dict().items() if k not in skip}


def generator_groups(faces: FaceFolds, cfg: ParzenTfdConfig) -> list[dict[str, Any]]:
    """Folds whose generator training rows are identical share one generator.

    On TFD the generator trains on the unlabeled split (as the paper's code: `which_set:
    'unlabeled'`), which holds the same images in every fold: one generator serves all folds, as
    the paper's single trained model was scored per fold. Stand-ins train on each fold's training
    split, so every fold has its own generator.
    """
    groups: list[dict[str, Any]] = []
    for fold in range(cfg.n_folds):
        rows = faces.generator_rows(fold)
        if cfg.max_train_images is not None:
            rows = rows[: cfg.max_train_images]
        for g in groups:
            if np.array_equal(g["rows"], rows):
                g["folds"].append(fold)
                break
        else:
            groups.append({"name": f"fold{fold}", "folds": [fold], "rows": rows})
    return groups


def _rows_digest(faces: FaceFolds, rows: np.ndarray) -> str:
    h = hashlib.sha1(faces.file_md5.encode())
    h.update(np.ascontiguousarray(rows, dtype=np.int64).tobytes())
    return h.hexdigest()[:16]


def _discriminator(cfg: ParzenTfdConfig, in_dim: int) -> Discriminator:
    d = Discriminator(in_dim, cfg.d_units, cfg.d_pieces, cfg.d_input_keep, cfg.d_hidden_keep)
    init_uniform_(d, cfg.d_irange)
    return d


def _gan(g: GaussianGenerator, d: Discriminator, cfg: ParzenTfdConfig, device) -> GAN:
    g, d = g.to(device), d.to(device)
    # pylearn2 trained both nets with one SGD; two optimisers with the same schedule are the same
    return GAN(
        g,
        d,
        ClassicMomentumSGD(g.parameters(), lr=cfg.lr, momentum=cfg.momentum_start),
        ClassicMomentumSGD(d.parameters(), lr=cfg.lr, momentum=cfg.momentum_start),
    )


def train_generator(
    cfg: ParzenTfdConfig,
    data: torch.Tensor,
    ckpt_dir: Path,
    seed: int,
    data_digest: str,
    deadline: float | None = None,
    progress: bool = True,
    desc: str = "",
) -> tuple[GaussianGenerator, dict[str, Any]]:
    """Both stages of the code on `data` (rows on the device); resumes from `ckpt_dir/<stage>/`.

    Returns the generator to score (stage 2 once started, else stage 1) and what ran."""
    device = data.device
    common = {
        "batch_size": cfg.batch_size,
        "schedule": cfg.schedule(),
        "g_cost": GENERATOR_COSTS["nonsaturating"],
        "g_cost_scale": cfg.g_cost_scale,
        "after_step": MaxColNorm(cfg.max_col_norm),
        "progress": progress,
    }
    fp = {**cfg.fingerprint(), "data": data_digest, "seed_stage": seed}

    def budget() -> float | None:
        return None if deadline is None else deadline - time.perf_counter()

    # stage 1: pretrain.yaml
    torch.manual_seed(seed)
    g1 = pretrain_generator(
        cfg.noise_dim,
        cfg.g_hidden,
        data.shape[1],
        cfg.g_irange,
        cfg.g_h1_bias,
        cfg.g_out_sparse_init,
    )
    init_output_bias_from_marginals_(g1, data.cpu(), eps=1e-7)  # pylearn2 clips at 1e-7
    gan1 = _gan(g1, _discriminator(cfg, data.shape[1]), cfg, device)
    train(
        gan1,
        data,
        epochs=cfg.pretrain_epochs,
        checkpoint_dir=ckpt_dir / "pretrain",
        fingerprint={**fp, "stage": "pretrain"},
        time_budget_s=budget(),
        checkpoint_every_s=60.0 * cfg.checkpoint_every_minutes,
        desc=f"{desc} pretrain",
        **common,
    )
    info = {
        "pretrain_epochs": gan1.epoch,
        "pretrain_history": gan1.history,
        "train_epochs": 0,
        "train_history": [],
    }
    if gan1.epoch < cfg.pretrain_epochs:
        info["complete"] = False
        return gan1.generator, info
    # stage 2: train.yaml -- a new block in front of every pretrained layer, a fresh D
    torch.manual_seed(seed + 1)
    g2 = stacked_generator(gan1.generator, cfg.stack_hidden, cfg.g_irange, cfg.g_h1_bias)
    gan2 = _gan(g2, _discriminator(cfg, data.shape[1]), cfg, device)
    train(
        gan2,
        data,
        epochs=cfg.train_epochs,
        checkpoint_dir=ckpt_dir / "train",
        fingerprint={**fp, "stage": "train", "pretrain_epochs_done": gan1.epoch},
        time_budget_s=budget(),
        checkpoint_every_s=60.0 * cfg.checkpoint_every_minutes,
        desc=f"{desc} train",
        **common,
    )
    info.update(train_epochs=gan2.epoch, train_history=gan2.history)
    info["complete"] = gan2.epoch >= cfg.train_epochs
    return gan2.generator, info


def sample_seed(cfg: ParzenTfdConfig, fold: int) -> int:
    return cfg.seed + 10_000 + fold


def score_fold(
    g: GaussianGenerator, cfg: ParzenTfdConfig, faces: FaceFolds, fold: int, device
) -> parzen.ParzenResult:
    """parzen_ll.py -d tfd -f fold: sigma on the whole validation split, then the test split."""
    samples = g.sample(cfg.n_samples, device, seed=sample_seed(cfg, fold))
    return parzen.evaluate(
        samples, faces.x("valid", fold).to(device), faces.x("test", fold).to(device), cfg.sigmas()
    )


def run_folds(
    cfg: ParzenTfdConfig, faces: FaceFolds, ckpt_root: Path, device, progress: bool = True
) -> dict[str, Any]:
    """Train (or resume) a generator per distinct training split, score every fold."""
    deadline = None
    if cfg.time_budget_minutes is not None:
        deadline = time.perf_counter() + 60.0 * cfg.time_budget_minutes
    rows, histories, generators = [], [], {}
    for group in generator_groups(faces, cfg):
        data = faces.x(faces.generator_split, group["folds"][0])
        if cfg.max_train_images is not None:
            data = data[: cfg.max_train_images]
        data = data.to(device)
        t0 = time.perf_counter()
        g, info = train_generator(
            cfg,
            data,
            ckpt_root / group["name"],
            cfg.seed * 1000 + 10 * group["folds"][0],
            _rows_digest(faces, group["rows"]),
            deadline,
            progress,
            group["name"],
        )
        t_train = time.perf_counter() - t0
        generators[group["name"]] = g
        for stage in ("pretrain", "train"):
            for h in info[f"{stage}_history"]:
                histories.append({"generator": group["name"], "stage": stage, **h})
        for fold in group["folds"]:
            t0 = time.perf_counter()
            res = score_fold(g, cfg, faces, fold, device)
            rows.append(
                {
                    "fold": fold,
                    "generator": group["name"],
                    "train_images": int(data.shape[0]),
                    "valid_images": len(faces.indices("valid", fold)),
                    "test_images": res.n_test,
                    "pretrain_epochs": info["pretrain_epochs"],
                    "train_epochs": info["train_epochs"],
                    "complete": info["complete"],
                    "sigma": res.sigma,
                    "valid_ll_at_sigma": max(res.valid_mean_ll),
                    "test_ll": res.mean,
                    "test_ll_se_over_images": res.se,
                    "train_time_s": t_train,
                    "score_time_s": time.perf_counter() - t0,
                    "valid_mean_ll_per_sigma": res.valid_mean_ll,
                }
            )
    per_fold = pd.DataFrame(rows).sort_values("fold").reset_index(drop=True)
    return {"per_fold": per_fold, "history": pd.DataFrame(histories), "generators": generators}


def across_folds(per_fold: pd.DataFrame) -> tuple[float, float]:
    """Mean of the fold means and its standard error, std (n - 1) / sqrt(n) over folds."""
    ll = per_fold.test_ll.to_numpy(dtype=float)
    se = float(ll.std(ddof=1) / math.sqrt(len(ll))) if len(ll) > 1 else math.nan
    return float(ll.mean()), se


def table1(per_fold: pd.DataFrame, faces: FaceFolds, label: str) -> pd.DataFrame:
    """Published TFD rows beside ours; ours is flagged as comparable only on the real TFD."""
    mean, se = across_folds(per_fold)
    rows = [
        {
            "model": r.model,
            "data": "TFD",
            "published": f"{r.published:.0f} ± {r.published_se:g}",
            "ours": "",
            "comparable to the published rows": "",
            "source": r.source,
        }
        for r in PUBLISHED.itertuples()
    ]
    rows.append(
        {
            "model": f"Adversarial nets, this code ({label})",
            "data": faces.name,
            "published": "",
            "ours": f"{mean:.0f} ± {se:.0f}" if math.isfinite(se) else f"{mean:.0f}",
            "comparable to the published rows": (
                "yes (same data and protocol)"
                if faces.is_tfd
                else "NO: other images, other people, far fewer of them"
            ),
            "source": f"this run, {len(per_fold)} fold(s)",
        }
    )
    return pd.DataFrame(rows).set_index("model")


def data_table(faces: FaceFolds, cfg: ParzenTfdConfig) -> pd.DataFrame:
    sizes = pd.DataFrame(faces.split_sizes()).set_index("fold").iloc[: cfg.n_folds]
    sizes["generator trains on"] = faces.generator_split
    return sizes


def sigma_figure(per_fold: pd.DataFrame, sigmas: torch.Tensor):
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


def samples_figure(
    run: dict[str, Any], cfg: ParzenTfdConfig, faces: FaceFolds, device, per_row: int = 10
):
    """Per generator one row of samples, under it one row of its real training images."""
    rows = []
    for name, g in run["generators"].items():
        fold = int(name.removeprefix("fold"))
        s = g.sample(per_row, device, seed=sample_seed(cfg, fold) + 1).cpu()
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


def history_figure(history: pd.DataFrame):
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


def standin_note(faces: FaceFolds) -> str:
    if faces.is_tfd:
        return ""
    names = ", ".join(f"`{f}`" for f, _, _ in STANDIN_FILES.values())
    return (
        f"**This run did not use TFD.** It used {faces.name} ({faces.images.shape[0]} images, "
        f"file `{Path(faces.source).name}`, MD5 `{faces.file_md5}`), resized to 48×48 and split "
        "into 5 folds the way TFD is. Its log-likelihoods measure other images, of other people, "
        "with far fewer training images (TFD has about 98,000 unlabeled ones) and **cannot be "
        f"compared with the published {PUBLISHED_TFD:.0f} ± 26**. Stand-in files: {names}."
    )


def training_note(history: pd.DataFrame, faces: FaceFolds) -> str:
    """How much training the generators got, in updates, and whether D separated anything."""
    if history.empty:
        return "No training ran (zero epochs)."
    last = history.groupby(["generator", "stage"], sort=False).last()
    updates = last.groupby("generator").step.sum()
    gap = (last.d_real - last.d_fake).xs("pretrain", level="stage")
    lo, hi = int(updates.min()), int(updates.max())
    text = (
        f"Each generator made {lo:,}" + (f"–{hi:,}" if hi != lo else "") + " updates over both "
        f"stages; in its last stage-1 epoch, mean D(x) − D(G(z)) was between {gap.min():.2g} and "
        f"{gap.max():.2g}."
    )
    if not faces.is_tfd:
        n = faces.generator_rows(0).size
        text += (
            f" With {n} training images a batch of 100 gives {n // 100} updates per epoch, so "
            "the code's 50 + 22 epochs are a few hundred updates at most, where TFD's roughly "
            "98,000 unlabeled images give about 70,000."
        )
    if float(gap.abs().max()) < 0.01:
        text += (
            " **D has hardly begun to tell data from samples**: the generators are still close "
            "to their initialisation (the data's mean face through random sparse output "
            "weights), and the log-likelihood below scores that, not a trained GAN."
        )
    return text
