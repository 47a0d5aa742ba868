"""The one training loop: every GAN of the book trains here; a loss is a function passed in.

Speed: the training set lives on the device as one tensor, batches are index slices of it, and
losses are summed on the device and read back once per epoch, so a step does no host work.
Resume: `last.pt` holds models, optimisers, step counters, RNG states and the history, written
atomically after every epoch; a killed run restarts from it and reproduces the same weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from .losses import GeneratorCost, discriminator_bce
from .optim import decayed_lr, linear_momentum, set_hyper
from .results import atomic_path

DiscriminatorCost = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class TrainingDiverged(RuntimeError):
    """A loss became NaN or inf; the last good checkpoint is kept."""


class CheckpointMismatch(RuntimeError):
    """A checkpoint exists for this run but was made with other settings."""


@dataclass(frozen=True)
class Schedule:
    """SGD hyperparameters over time (the 2014 recipe; see the chapter configs for sources)."""

    lr: float
    lr_decay: float = 1.0
    min_lr: float = 0.0
    momentum_start: float = 0.5
    momentum_final: float = 0.5
    momentum_start_epoch: int = 1
    momentum_saturate_epoch: int = 1

    def lr_at(self, step: int) -> float:
        return decayed_lr(self.lr, step, self.lr_decay, self.min_lr)

    def momentum_at(self, epoch: int) -> float:
        """`epoch` counts from 1, as pylearn2's MomentumAdjustor did."""
        return linear_momentum(
            epoch,
            self.momentum_start,
            self.momentum_final,
            self.momentum_start_epoch,
            self.momentum_saturate_epoch,
        )


@dataclass
class GAN:
    generator: nn.Module
    discriminator: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    epoch: int = 0  # epochs completed
    step: int = 0  # parameter updates completed
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] | None = None  # {"epoch": ..., metric: ...} of the selected checkpoint
    resumed_from_epoch: int = 0  # epochs already in the checkpoint this run started from

    def state_dict(self) -> dict[str, Any]:
        return {
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "history": self.history,
            "best": self.best,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.epoch, self.step = state["epoch"], state["step"]
        self.history, self.best = state["history"], state["best"]


def simultaneous_step(
    gan: GAN,
    x: torch.Tensor,
    g_cost: GeneratorCost,
    d_cost: DiscriminatorCost = discriminator_bce,
    g_cost_scale: float = 1.0,
    update_g: bool = True,
) -> torch.Tensor:
    """One update of the 2014 code (AdversaryCost2, k = 1): D's and G's gradients come from the
    same minibatch, the same samples and the same dropout masks, and are applied together.

    Returns [d_loss, g_loss, mean D(x), mean D(G(z))] as one device tensor (no host sync).
    """
    G, D = gan.generator, gan.discriminator
    z = G.sample_noise(x.shape[0], x.device)
    fake = G(z)
    logits = D(torch.cat([x, fake]))  # one pass; dropout masks are drawn per row anyway
    real_l, fake_l = logits[: x.shape[0]], logits[x.shape[0] :]
    d_loss = d_cost(real_l, fake_l)
    g_loss = g_cost_scale * g_cost(fake_l)
    d_params = [p for p in D.parameters()]
    d_grads = torch.autograd.grad(d_loss, d_params, retain_graph=update_g)
    for p, g in zip(d_params, d_grads, strict=True):
        p.grad = g
    if update_g:
        g_params = [p for p in G.parameters()]
        for p, g in zip(g_params, torch.autograd.grad(g_loss, g_params), strict=True):
            p.grad = g
        gan.opt_g.step()
    gan.opt_d.step()
    with torch.no_grad():
        return torch.stack(
            [d_loss, g_loss, torch.sigmoid(real_l).mean(), torch.sigmoid(fake_l).mean()]
        )


def _rng_state() -> dict[str, Any]:
    state = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Path, gan: GAN, fingerprint: dict[str, Any]) -> None:
    with atomic_path(path) as tmp:
        torch.save({**gan.state_dict(), "rng": _rng_state(), "fingerprint": fingerprint}, tmp)


def load_checkpoint(path: Path, gan: GAN, fingerprint: dict[str, Any]) -> None:
    state = torch.load(path, map_location="cpu", weights_only=False)
    if state["fingerprint"] != fingerprint:
        diff = {
            k: (state["fingerprint"].get(k), fingerprint.get(k))
            for k in set(state["fingerprint"]) | set(fingerprint)
            if state["fingerprint"].get(k) != fingerprint.get(k)
        }
        raise CheckpointMismatch(
            f"checkpoint {path} was made with other settings (checkpoint, now): {diff}. "
            "Delete that folder to start afresh, or give this run another run_name."
        )
    gan.load_state_dict(state)
    _set_rng_state(state["rng"])


def train(
    gan: GAN,
    data: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    schedule: Schedule,
    g_cost: GeneratorCost,
    d_cost: DiscriminatorCost = discriminator_bce,
    g_cost_scale: float = 1.0,
    checkpoint_dir: Path | None = None,
    fingerprint: dict[str, Any] | None = None,
    on_epoch_end: Callable[[GAN], dict[str, Any]] | None = None,
    select: tuple[str, str] | None = None,
    time_budget_s: float | None = None,
    after_step: Callable[[GAN], None] | None = None,
    progress: bool = True,
    desc: str = "train",
) -> GAN:
    """Train `gan` on the rows of `data` (already on the device) up to `epochs` epochs.

    `on_epoch_end` returns extra metrics for the history (e.g. a validation log-likelihood);
    `select=(metric, "max"|"min")` keeps `best.pt` with the weights of the best epoch.
    `time_budget_s` stops after the epoch that crosses it; the run resumes later from `last.pt`.
    `after_step(gan)` runs after every update: weight constraints (max column norm, clipping).
    """
    fingerprint = fingerprint or {}
    last = checkpoint_dir / "last.pt" if checkpoint_dir else None
    if last is not None and last.exists():
        load_checkpoint(last, gan, fingerprint)
    gan.resumed_from_epoch = gan.epoch  # on record in provenance: epochs trained in earlier runs
    n = data.shape[0]
    steps_per_epoch = n // batch_size
    if steps_per_epoch == 0:
        raise ValueError(f"batch_size {batch_size} is larger than the {n} training rows")
    t0 = time.perf_counter()
    bar = tqdm(
        total=epochs * steps_per_epoch,
        initial=min(gan.epoch, epochs) * steps_per_epoch,
        desc=desc,
        disable=not progress,
        mininterval=2.0,
        unit="step",
        dynamic_ncols=True,
    )
    try:
        while gan.epoch < epochs:
            if time_budget_s is not None and time.perf_counter() - t0 > time_budget_s:
                break
            epoch_t0 = time.perf_counter()
            momentum = schedule.momentum_at(gan.epoch + 1)
            perm = torch.randperm(n, device=data.device)
            sums = torch.zeros(4, device=data.device)
            for i in range(steps_per_epoch):
                lr = schedule.lr_at(gan.step)
                set_hyper(gan.opt_g, lr=lr, momentum=momentum)
                set_hyper(gan.opt_d, lr=lr, momentum=momentum)
                x = data[perm[i * batch_size : (i + 1) * batch_size]]
                sums += simultaneous_step(gan, x, g_cost, d_cost, g_cost_scale)
                if after_step is not None:
                    after_step(gan)
                gan.step += 1
                bar.update(1)
            means = (sums / steps_per_epoch).tolist()  # the one host sync of the epoch
            if not all(math.isfinite(v) for v in means):
                raise TrainingDiverged(
                    f"non-finite loss in epoch {gan.epoch + 1} (d_loss, g_loss, D(x), D(G(z)) = "
                    f"{means}); the last good checkpoint (epoch {gan.epoch}) is kept"
                    + (f" in {last}" if last else "")
                )
            gan.epoch += 1
            row = {
                "epoch": gan.epoch,
                "step": gan.step,
                "lr": lr,
                "momentum": momentum,
                "d_loss": means[0],
                "g_loss": means[1],
                "d_real": means[2],
                "d_fake": means[3],
                "epoch_time_s": time.perf_counter() - epoch_t0,
            }
            if on_epoch_end is not None:
                row.update(on_epoch_end(gan))
            gan.history.append(row)
            bar.set_postfix(
                d=f"{means[0]:.3f}",
                g=f"{means[1]:.3f}",
                Dx=f"{means[2]:.2f}",
                DGz=f"{means[3]:.2f}",
                refresh=False,
            )
            if select is not None and row.get(select[0]) is not None:
                _maybe_keep_best(gan, row, select, checkpoint_dir)
            if last is not None:
                save_checkpoint(last, gan, fingerprint)
    finally:
        bar.close()
    return gan


def _maybe_keep_best(
    gan: GAN, row: dict[str, Any], select: tuple[str, str], ckpt_dir: Path | None
) -> None:
    metric, mode = select
    value = row[metric]
    best = gan.best
    better = best is None or (value > best[metric] if mode == "max" else value < best[metric])
    if not better:
        return
    gan.best = {"epoch": gan.epoch, metric: value}
    if ckpt_dir is not None:
        with atomic_path(ckpt_dir / "best.pt") as tmp:
            torch.save(
                {"generator": gan.generator.state_dict(), "epoch": gan.epoch, metric: value}, tmp
            )
