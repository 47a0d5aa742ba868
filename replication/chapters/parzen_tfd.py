"""Table 1 of Goodfellow et al. 2014, TFD column: Parzen log-likelihood across the 5 folds.

With the licensed `TFD_48x48.mat` this runs the paper's protocol on it; without, the same
protocol runs on a public face set in TFD's layout (`replication/datasets/faces.py`), labelled
everywhere as a stand-in whose numbers cannot be compared with the published 2057 ± 26
(`replication/report/published.py`; the chapter's text, tables and figures are in `report/`).

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
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from replication.chapters.parzen_tfd_config import ParzenTfdConfig
from replication.config import resolve_device
from replication.datasets.faces import FaceFolds, load_faces
from replication.metrics import parzen
from replication.nets.mlp2014 import Discriminator, init_output_bias_from_marginals_, init_uniform_
from replication.nets.tfd2014 import (
    GaussianGenerator,
    MaxColNorm,
    pretrain_generator,
    stacked_generator,
)
from replication.runs.cli import TrainRequest, select_runs, train_setup
from replication.training import objectives
from replication.training.loop import train
from replication.training.optim import ClassicMomentumSGD
from replication.training.state import GAN


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
        "objective": objectives.get("gan2014_nonsaturating").tuned(g_cost_scale=cfg.g_cost_scale),
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
    cfg: ParzenTfdConfig,
    faces: FaceFolds,
    ckpt_root: Path,
    device,
    progress: bool = True,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Train (or resume) a generator per distinct training split, score every fold; `only`
    names the generators to train (`python -m replication train parzen_tfd --runs fold0`)."""
    deadline = None
    if cfg.time_budget_minutes is not None:
        deadline = time.perf_counter() + 60.0 * cfg.time_budget_minutes
    rows, histories, generators = [], [], {}
    groups = generator_groups(faces, cfg)
    names = select_runs(cfg.CHAPTER, [g["name"] for g in groups], only)
    for group in (g for g in groups if g["name"] in names):
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


def train_cli(req: TrainRequest) -> None:
    """`python -m replication train parzen_tfd [--runs fold0,fold1]`: the fold generators
    without the notebook, into the checkpoints the notebook of the same run resumes."""
    cfg, ckpt = train_setup(ParzenTfdConfig, req)
    faces = load_faces(cfg.dataset, cfg.data_dir)
    device = resolve_device(cfg.device)
    out = run_folds(cfg, faces, ckpt, device, only=req.runs)
    print(out["per_fold"][["fold", "generator", "complete", "sigma", "test_ll"]].to_string())
