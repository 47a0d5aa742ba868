"""Generator-cost saturation (Goodfellow, NIPS 2016 tutorial, Figure 16), drawn and measured.

1. The three generator costs and their derivatives w.r.t. D's logit, in closed form.
2. Measured on real networks: the 2014 MNIST G and D, with D trained briefly so it confidently
   rejects G's samples; the norm of G's parameter gradient under each cost.
3. From that same starting point, training with the minimax and the non-saturating cost.

The figures and the reading of the results are in `replication/report/loss_saturation.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from replication.chapters.recipe2014 import Mnist2014Recipe, build_gan, train_with_recipe
from replication.config import ConfigError, param, resolve_device
from replication.datasets.mnist import load_mnist
from replication.metrics import parzen
from replication.runs.cli import TrainRequest, select_runs, train_setup
from replication.training.losses import (
    GENERATOR_COSTS,
    LABELS,
    closed_form_cost,
    closed_form_logit_grad,
)
from replication.training.state import GAN
from replication.training.steps import simultaneous_step

COSTS = tuple(GENERATOR_COSTS)
TRAINED_COSTS = ("minimax", "nonsaturating")


@dataclass(frozen=True)
class LossSaturationConfig(Mnist2014Recipe):
    CHAPTER = "loss_saturation"
    PROFILE_OVERRIDES = {
        "quick": {
            "train_images": 10000,
            "measure_batch": 500,
            "epochs": 5,
            "parzen_samples": 2000,
            "parzen_valid": 500,
        },
    }

    y_min: float = param(
        -20.0,
        "lower y-limit of the cost panel",
        source="the tutorial's Figure 16 axis runs from -20 to 5",
    )
    y_max: float = param(
        5.0,
        "upper y-limit of the cost panel",
        source="the tutorial's Figure 16 axis runs from -20 to 5",
    )
    d_pretrain_target: float = param(
        0.01,
        "D-only training stops once mean D(G(z)) on a batch falls below this",
        source="our choice: the tutorial's 'D rejects samples with high confidence'",
        min=0,
        max=1,
    )
    d_pretrain_steps: int = param(3000, "cap on the D-only steps (reported if reached)", min=0)
    measure_batch: int = param(1000, "samples in the measurement batch", min=2)
    epochs: int = param(20, "epochs of each training run (minimax, non-saturating)", min=0)
    parzen_samples: int = param(10000, "generated samples for the validation Parzen score", min=10)
    parzen_valid: int = param(
        1000, "validation images: first half chooses sigma, second scores", min=4, max=10000
    )

    def check(self) -> None:
        if self.y_min >= self.y_max:
            raise ConfigError(f"y_min ({self.y_min}) must be below y_max ({self.y_max})")


# -- 1. closed forms ----------------------------------------------------------------------------
def closed_form_curves(n: int = 999) -> pd.DataFrame:
    """Costs and logit-gradients on D in [1e-3, 1 - 1e-3] (finite everywhere on the grid)."""
    d = torch.linspace(1e-3, 1 - 1e-3, n, dtype=torch.float64)
    cols: dict[str, Any] = {"d_of_g": d.numpy()}
    for name in COSTS:
        cols[f"cost_{name}"] = closed_form_cost(name, d).numpy()
        cols[f"grad_{name}"] = closed_form_logit_grad(name, d).numpy()
    return pd.DataFrame(cols)


# -- 2. measurement on real networks ------------------------------------------------------------
def setup(cfg: LossSaturationConfig, train_images: torch.Tensor) -> tuple[GAN, torch.device]:
    device = resolve_device(cfg.device)
    data = train_images[: cfg.train_images].to(device)
    gan = build_gan(cfg, data, device)
    return gan, device


def pretrain_discriminator(gan: GAN, data: torch.Tensor, cfg: LossSaturationConfig) -> pd.DataFrame:
    """D-only steps of the training step (G frozen) until D confidently rejects G's samples.

    The target is checked every 25 steps, on the mean of those steps, to keep host syncs rare.
    """
    gen = torch.Generator(device=data.device)
    gen.manual_seed(cfg.seed)
    rows = []
    for step in range(cfg.d_pretrain_steps):
        idx = torch.randint(0, data.shape[0], (cfg.batch_size,), device=data.device, generator=gen)
        m = simultaneous_step(gan, data[idx], GENERATOR_COSTS["nonsaturating"], update_g=False)
        rows.append(m)
        if (step + 1) % 25 == 0 and float(
            torch.stack(rows[-25:])[:, 3].mean()
        ) < cfg.d_pretrain_target:
            break
    if not rows:
        return pd.DataFrame(columns=["step", "d_loss", "d_real", "d_fake"])
    m = torch.stack(rows).cpu().numpy()
    return pd.DataFrame(
        {"step": np.arange(1, len(m) + 1), "d_loss": m[:, 0], "d_real": m[:, 2], "d_fake": m[:, 3]}
    )


def measure_gradients(
    gan: GAN, cfg: LossSaturationConfig, device: torch.device
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """For one batch of z: D(G(z)) per sample and ||grad_theta_G J|| under each cost.

    D runs without dropout here (eval mode) so the three costs see identical logits.
    """
    G, D = gan.generator, gan.discriminator
    gen = torch.Generator(device=device)
    gen.manual_seed(cfg.seed + 1)
    z = G.sample_noise(cfg.measure_batch, device, gen)
    D.eval()
    per_sample: dict[str, Any] = {}
    norms = []
    for name in COSTS:
        logits = D(G(z))
        logits.retain_grad()
        G.zero_grad(set_to_none=True)
        cost = GENERATOR_COSTS[name](logits)
        cost.backward()
        sq = sum(float((p.grad.double() ** 2).sum()) for p in G.parameters())
        # per-sample dJ_i/dl_i: the batch mean divides by the batch size, undo it
        per_sample[f"logit_grad_{name}"] = (logits.grad * cfg.measure_batch).detach().cpu().numpy()
        per_sample["d_of_g"] = torch.sigmoid(logits).detach().cpu().numpy()
        norms.append(
            {
                "cost": name,
                "label": LABELS[name],
                "grad_norm": sq**0.5,
                "cost_value": float(cost.detach()),
            }
        )
    D.train()
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=True)
    return pd.DataFrame(norms), pd.DataFrame(per_sample)


# -- 3. training from the measurement point -----------------------------------------------------
def train_from(
    state: dict[str, Any],
    name: str,
    cfg: LossSaturationConfig,
    data: torch.Tensor,
    ckpt_root: Path,
    progress: bool = True,
) -> GAN:
    """Train from the saved measurement point with one generator cost; same seed for both.
    Checkpoints go to `ckpt_root/<cost>/`, so the notebook resumes what `train` trained."""
    gan = build_gan(cfg, data, data.device)
    gan.load_state_dict(state)
    torch.manual_seed(cfg.seed + 2)
    z_probe = gan.generator.sample_noise(
        cfg.measure_batch, data.device, torch.Generator(data.device).manual_seed(cfg.seed + 1)
    )

    def probe(g: GAN) -> dict[str, float]:
        g.discriminator.eval()
        logits = g.discriminator(g.generator(z_probe))
        cost = GENERATOR_COSTS[name](logits)
        grads = torch.autograd.grad(cost, list(g.generator.parameters()))
        g.discriminator.train()
        return {
            # detached: a float of a tensor that needs grad warns, and the warning names the
            # module's absolute path in the executed notebook
            "probe_d_of_g": float(torch.sigmoid(logits.detach()).mean()),
            "probe_grad_norm": float(torch.sqrt(sum((x.double() ** 2).sum() for x in grads))),
        }

    return train_with_recipe(
        gan,
        data,
        cfg,
        name,
        checkpoint_dir=ckpt_root / name,
        on_epoch_end=probe,
        progress=progress,
        desc=name,
    )


def sample_quality(gan: GAN, cfg: LossSaturationConfig, valid: torch.Tensor) -> float:
    """A validation Parzen log-likelihood (sigma chosen on the first half of `valid`).

    An indication of sample quality for comparing the two runs, not the Table 1 protocol.
    """
    samples = gan.generator.sample(cfg.parzen_samples, valid.device, seed=cfg.seed + 3)
    half = cfg.parzen_valid // 2
    res = parzen.evaluate(samples, valid[:half], valid[half : cfg.parzen_valid])
    return res.mean


def train_cli(req: TrainRequest) -> None:
    """`python -m replication train loss_saturation [--runs minimax]`: the notebook's steps up to
    the measurement point, then each cost's training run into the checkpoints the notebook of
    the same run resumes (so it only evaluates)."""
    cfg, ckpt = train_setup(LossSaturationConfig, req)
    costs = select_runs(cfg.CHAPTER, list(TRAINED_COSTS), req.runs)
    mnist = load_mnist(cfg.data_dir)
    gan, device = setup(cfg, mnist.train)
    data = mnist.train[: cfg.train_images].to(device)
    pretrain_discriminator(gan, data, cfg)
    measure_gradients(gan, cfg, device)  # as the notebook: the start state follows it
    start = gan.state_dict()
    for name in costs:
        trained = train_from(start, name, cfg, data, ckpt)
        d_fake = trained.history[-1]["d_fake"] if trained.history else float("nan")
        print(f"{name}: {trained.epoch}/{cfg.epochs} epochs, mean D(G(z)) {d_fake:.3g}; {ckpt}")
