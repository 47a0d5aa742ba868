"""The one training loop: every GAN of the book trains here; a loss is a function passed in.

Two update rules share it: the 2014 simultaneous step (D and G from the same minibatch, k = 1)
and the alternating step of DCGAN/WGAN (n_critic updates of D, then one of G with new noise),
chosen by passing `n_critic`. A critic's gradient penalty is a function passed in too; weight
clipping and max-norm constraints are an `after_step` hook.

Speed: the training set lives on the device as one tensor, batches are index slices of it, and
losses are summed on the device and read back once per epoch, so a step does no host work.
Resume: `last.pt` holds models, optimisers, step counters, RNG states and the history, written
atomically after every epoch; a killed run restarts from it and reproduces the same weights.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from replication.runs.store import atomic_path
from replication.training.losses import GeneratorCost, discriminator_bce
from replication.training.optim import decayed_lr, linear_momentum, set_hyper

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

    @classmethod
    def from_config(cls, cfg: Any) -> Schedule:
        """From a config with the pylearn2 SGD fields (lr, lr_decay, min_lr, momentum_start,
        momentum_final, momentum_saturate_epoch): the MNIST and TFD recipes share these."""
        return cls(
            lr=cfg.lr,
            lr_decay=cfg.lr_decay,
            min_lr=cfg.min_lr,
            momentum_start=cfg.momentum_start,
            momentum_final=cfg.momentum_final,
            momentum_start_epoch=1,
            momentum_saturate_epoch=cfg.momentum_saturate_epoch,
        )

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
    g_step: int = 0  # generator updates completed (= step under the simultaneous rule)
    critic_streak: int = 0  # D updates since G's last update (alternating rule)
    trace: list[dict[str, float]] = field(default_factory=list)  # per generator update
    cursor: dict[str, Any] | None = None  # data order across rounds shorter than an epoch

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
            "g_step": self.g_step,
            "critic_streak": self.critic_streak,
            "trace": self.trace,
            "cursor": self.cursor,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Modules copy the weights they load; optimisers keep the tensors they are given and
        the lists here are appended to, so those are copied: two runs started from one in-memory
        state must not share them (the weights, the bulk of a state, are not copied twice)."""
        own = copy.deepcopy
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(own(state["opt_g"]))
        self.opt_d.load_state_dict(own(state["opt_d"]))
        self.epoch, self.step = state["epoch"], state["step"]
        self.history, self.best = own(state["history"]), own(state["best"])
        # checkpoints written before the alternating rule existed lack these: simultaneous runs
        self.g_step = state.get("g_step", self.step)
        self.critic_streak = state.get("critic_streak", 0)
        self.trace = own(state.get("trace", []))
        self.cursor = own(state.get("cursor"))


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
        gan.g_step += 1
    gan.opt_d.step()
    with torch.no_grad():
        return torch.stack(
            [d_loss, g_loss, torch.sigmoid(real_l).mean(), torch.sigmoid(fake_l).mean()]
        )


Penalty = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]


def alternating_step(
    gan: GAN,
    x: torch.Tensor,
    g_cost: GeneratorCost,
    d_cost: DiscriminatorCost,
    n_critic: Callable[[int], int],
    penalty: Penalty | None = None,
    update_g: bool = True,
) -> torch.Tensor:
    """One D (critic) update on `x` against fresh samples; then, once D has had
    `n_critic(generator updates so far)` updates since G's last, one G update with new noise
    (WGAN Algorithm 1; with n_critic = 1 the DCGAN schedule).

    Returns [d_loss (without penalty), g_loss (0 when G did not move), mean D(x), mean D(G(z))]
    with D's raw outputs (logits, or critic values), as one device tensor.
    """
    G, D = gan.generator, gan.discriminator
    with torch.no_grad():
        fake = G(G.sample_noise(x.shape[0], x.device))
    out = D(torch.cat([x, fake]))
    real_o, fake_o = out[: x.shape[0]], out[x.shape[0] :]
    d_loss = d_cost(real_o, fake_o)
    total = d_loss if penalty is None else d_loss + penalty(D, x, fake)
    gan.opt_d.zero_grad(set_to_none=True)
    total.backward()
    gan.opt_d.step()
    gan.critic_streak += 1
    g_loss = torch.zeros((), device=x.device)
    if update_g and gan.critic_streak >= n_critic(gan.g_step):
        gan.critic_streak = 0
        d_params = list(D.parameters())
        for p in d_params:
            p.requires_grad_(False)  # G's backward need not fill D's gradients
        g_loss = g_cost(D(G(G.sample_noise(x.shape[0], x.device))))
        gan.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        gan.opt_g.step()
        for p in d_params:
            p.requires_grad_(True)
        gan.g_step += 1
    with torch.no_grad():
        return torch.stack([d_loss.detach(), g_loss.detach(), real_o.mean(), fake_o.mean()])


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
    try:
        gan.load_state_dict(state)
    except RuntimeError as err:  # same settings, other layers: the code's network changed
        raise CheckpointMismatch(
            f"checkpoint {path} holds a network of another architecture than the code builds "
            f"now (made by an older version of it?): {str(err).splitlines()[0]} Move that "
            "folder away to start afresh, or give this run another run_name."
        ) from err
    _set_rng_state(state["rng"])


def train(
    gan: GAN,
    data: torch.Tensor,
    *,
    epochs: int,
    batch_size: int,
    g_cost: GeneratorCost,
    d_cost: DiscriminatorCost = discriminator_bce,
    g_cost_scale: float = 1.0,
    schedule: Schedule | None = None,
    n_critic: Callable[[int], int] | None = None,
    penalty: Penalty | None = None,
    train_generator: bool = True,
    round_g_iters: int | None = None,
    trace: bool = False,
    checkpoint_dir: Path | None = None,
    fingerprint: dict[str, Any] | None = None,
    on_epoch_end: Callable[[GAN], dict[str, Any]] | None = None,
    select: tuple[str, str] | None = None,
    time_budget_s: float | None = None,
    after_step: Callable[[GAN], None] | None = None,
    checkpoint_every_s: float = 0.0,
    progress: bool = True,
    desc: str = "train",
) -> GAN:
    """Train `gan` on the rows of `data` (already on the device) up to `epochs` epochs.

    Update rule: the 2014 simultaneous step, or with `n_critic` (generator updates so far ->
    D updates per G update) the alternating step, optionally with a critic `penalty`.
    `schedule` sets SGD's lr and momentum every step; None leaves the optimisers' own values.
    An epoch is one pass over `data`, or with `round_g_iters` a round of that many generator
    updates (WGAN counts time in generator iterations); `trace` records every G update's losses.
    `on_epoch_end` returns extra metrics for the history (e.g. a validation log-likelihood);
    `select=(metric, "max"|"min")` keeps `best.pt` with the weights of the best epoch.
    `time_budget_s` stops after the epoch that crosses it; the run resumes later from `last.pt`.
    `after_step(gan)` runs after every update: weight constraints (max column norm, clipping).
    `checkpoint_every_s` > 0 writes `last.pt` at most that often (and always when the run stops
    at its end or budget): for big models on small data, where a save outlasts an epoch. A kill
    then loses at most that much training.
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
    if round_g_iters is not None and not (train_generator and round_g_iters > 0):
        raise ValueError("round_g_iters needs a positive count and a generator that trains")
    if n_critic is None:
        if penalty is not None:
            raise ValueError("a critic penalty needs the alternating rule (pass n_critic)")

        def update(x: torch.Tensor) -> torch.Tensor:
            return simultaneous_step(gan, x, g_cost, d_cost, g_cost_scale, train_generator)

        names = ("d_loss", "g_loss", "d_real", "d_fake")
    else:
        cost = g_cost if g_cost_scale == 1.0 else (lambda f: g_cost_scale * g_cost(f))

        def update(x: torch.Tensor) -> torch.Tensor:
            return alternating_step(gan, x, cost, d_cost, n_critic, penalty, train_generator)

        names = ("d_loss", "g_loss", "critic_real", "critic_fake")
    per_epoch = round_g_iters or steps_per_epoch
    t0 = time.perf_counter()
    bar = tqdm(
        total=epochs * per_epoch,
        initial=min(gan.epoch, epochs) * per_epoch,
        desc=desc,
        disable=not progress,
        mininterval=2.0,
        unit="G step" if round_g_iters else "step",
        dynamic_ncols=True,
    )
    lr = momentum = None
    last_save = time.perf_counter()
    try:
        while gan.epoch < epochs:
            if time_budget_s is not None and time.perf_counter() - t0 > time_budget_s:
                break
            epoch_t0 = time.perf_counter()
            if schedule is not None:
                momentum = schedule.momentum_at(gan.epoch + 1)
            if round_g_iters is None:
                perm = torch.randperm(n, device=data.device)
                batches = (perm[i * batch_size : (i + 1) * batch_size] for i in range(per_epoch))
            else:
                batches = _endless_batches(gan, n, batch_size, data.device)
            sums = torch.zeros(4, device=data.device)
            steps = []  # per-update stats, read back once per epoch when tracing
            g_before, n_steps = gan.g_step, 0
            for idx in batches:
                if schedule is not None:
                    lr = schedule.lr_at(gan.step)
                    set_hyper(gan.opt_g, lr=lr, momentum=momentum)
                    set_hyper(gan.opt_d, lr=lr, momentum=momentum)
                g_was = gan.g_step
                stats = update(data[idx])
                sums += stats
                if after_step is not None:
                    after_step(gan)
                gan.step += 1
                n_steps += 1
                if trace and gan.g_step > g_was:
                    steps.append(stats)
                if round_g_iters is None:
                    bar.update(1)
                elif gan.g_step > g_was:
                    bar.update(1)
                    if gan.g_step % round_g_iters == 0:
                        break
            means = (sums / n_steps).tolist()  # the one host sync of the epoch
            n_g = gan.g_step - g_before
            # G's loss is averaged over the updates that moved G (all of them, k = 1)
            means[1] = (sums[1] / n_g).item() if n_g else math.nan
            checked = means if n_g else means[:1] + means[2:]
            if not all(math.isfinite(v) for v in checked):
                raise TrainingDiverged(
                    f"non-finite loss in epoch {gan.epoch + 1} ({', '.join(names)} = "
                    f"{means}); the last good checkpoint (epoch {gan.epoch}) is kept"
                    + (f" in {last}" if last else "")
                )
            if steps:
                first = gan.g_step - len(steps) + 1
                for k, v in enumerate(torch.stack(steps).tolist()):
                    gan.trace.append({"g_step": first + k, **dict(zip(names, v, strict=True))})
            gan.epoch += 1
            row = {"epoch": gan.epoch, "step": gan.step, "g_step": gan.g_step}
            if schedule is not None:
                row.update(lr=lr, momentum=momentum)
            row.update(dict(zip(names, means, strict=True)))
            row["epoch_time_s"] = time.perf_counter() - epoch_t0
            if on_epoch_end is not None:
                row.update(on_epoch_end(gan))
            gan.history.append(row)
            bar.set_postfix(
                d=f"{means[0]:.3f}",
                g=f"{means[1]:.3f}",
                real=f"{means[2]:.2f}",
                fake=f"{means[3]:.2f}",
                refresh=False,
            )
            if select is not None and row.get(select[0]) is not None:
                _maybe_keep_best(gan, row, select, checkpoint_dir)
            now = time.perf_counter()
            stopping = gan.epoch >= epochs or (
                time_budget_s is not None and now - t0 > time_budget_s
            )
            if last is not None and (stopping or now - last_save >= checkpoint_every_s):
                save_checkpoint(last, gan, fingerprint)
                last_save = now
    finally:
        bar.close()
    return gan


def _endless_batches(gan: GAN, n: int, batch_size: int, device: torch.device):
    """Shuffled minibatches that continue across rounds; the order is kept in the checkpoint."""
    while True:
        cur = gan.cursor
        if cur is None or cur["pos"] + batch_size > n:
            cur = gan.cursor = {"perm": torch.randperm(n, device=device).cpu(), "pos": 0}
        perm = cur["perm"].to(device)
        while cur["pos"] + batch_size <= n:
            pos = cur["pos"]
            cur["pos"] = pos + batch_size
            yield perm[pos : pos + batch_size]


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
