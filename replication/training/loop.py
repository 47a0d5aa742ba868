"""The one training loop: every GAN of the book trains here, as Algorithm 1 of the 2014 paper.

Per minibatch: the schedule sets the optimisers' hyperparameters, the objective's update rule
steps (k discriminator updates, then `g_updates` generator updates, usually one; or the 2014
simultaneous step), and the constraints are imposed. Per epoch: a history row, the best epoch,
a checkpoint. What a variant trains is an `objectives.Objective`; the loop knows none by name.

Speed: the training set lives on the device as one tensor, batches are index slices of it, and
losses are summed on the device and read back once per epoch, so a step does no host work.
Resume: `last.pt` (see `state`) is written atomically after every epoch; a killed run restarts
from it and reproduces the same weights.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import torch
from tqdm import tqdm

from replication.training.objectives import Objective
from replication.training.schedules import HyperSchedule, KeepHyper
from replication.training.state import GAN, Checkpoints, keep_best
from replication.training.steps import UpdateRule, update_rule


class TrainingDiverged(RuntimeError):
    """A loss became NaN or inf; the last good checkpoint is kept."""


# -- what an epoch is --------------------------------------------------------------------------
class Period(Protocol):
    per_epoch: int  # progress units per epoch
    unit: str

    def batches(self, gan: GAN, device: torch.device) -> Iterator[torch.Tensor]: ...

    def counts(self, moved: int) -> int:
        """Progress units of a step that made `moved` G updates."""
        ...

    def over(self, gan: GAN, moved: int) -> bool:
        """Whether the epoch ends after a step that made `moved` G updates."""
        ...


@dataclass(frozen=True)
class Epochs:
    """An epoch is one pass over the data in a fresh random order; progress counts steps."""

    n: int
    batch_size: int
    unit: ClassVar[str] = "step"

    @property
    def per_epoch(self) -> int:
        return self.n // self.batch_size

    def batches(self, gan: GAN, device: torch.device) -> Iterator[torch.Tensor]:
        perm = torch.randperm(self.n, device=device)  # drawn now, before the epoch's first step
        b = self.batch_size
        return (perm[i * b : (i + 1) * b] for i in range(self.per_epoch))

    def counts(self, moved: int) -> int:
        return 1

    def over(self, gan: GAN, moved: int) -> bool:
        return False  # the batches run out


@dataclass(frozen=True)
class Rounds:
    """An epoch is a round of `g_iters` generator updates (WGAN counts time in generator
    iterations); minibatches continue across rounds in an order kept in the checkpoint."""

    n: int
    batch_size: int
    g_iters: int
    unit: ClassVar[str] = "G step"

    @property
    def per_epoch(self) -> int:
        return self.g_iters

    def batches(self, gan: GAN, device: torch.device) -> Iterator[torch.Tensor]:
        while True:
            cur = gan.cursor
            if cur is None or cur["pos"] + self.batch_size > self.n:
                cur = gan.cursor = {"perm": torch.randperm(self.n, device=device).cpu(), "pos": 0}
            perm = cur["perm"].to(device)
            while cur["pos"] + self.batch_size <= self.n:
                pos = cur["pos"]
                cur["pos"] = pos + self.batch_size
                yield perm[pos : pos + self.batch_size]

    def counts(self, moved: int) -> int:
        return moved

    def over(self, gan: GAN, moved: int) -> bool:
        """G's count crossed a multiple of g_iters in this step (reached it, as g_iters is a
        multiple of the G updates per step)."""
        return moved > 0 and gan.g_step // self.g_iters > (gan.g_step - moved) // self.g_iters


def _period(
    n: int, batch_size: int, round_g_iters: int | None, train_generator: bool, g_updates: int = 1
) -> Period:
    if n // batch_size == 0:
        raise ValueError(f"batch_size {batch_size} is larger than the {n} training rows")
    if round_g_iters is None:
        return Epochs(n, batch_size)
    if not (train_generator and round_g_iters > 0):
        raise ValueError("round_g_iters needs a positive count and a generator that trains")
    if round_g_iters % g_updates:
        raise ValueError(
            f"round_g_iters {round_g_iters} is not a multiple of the objective's g_updates "
            f"{g_updates}: a round would end inside a step's G updates"
        )
    return Rounds(n, batch_size, round_g_iters)


# -- one epoch -----------------------------------------------------------------------------------
@dataclass
class EpochStats:
    sums: torch.Tensor  # per-step stats summed on the device
    steps: int = 0
    g_moves: list[torch.Tensor] = field(default_factory=list)  # stats of the steps that moved G
    g_after: list[int] = field(default_factory=list)  # G's count after each of those steps
    hyper: dict[str, float] = field(default_factory=dict)  # as set for the last step


def _epoch(
    gan: GAN,
    data: torch.Tensor,
    period: Period,
    rule: UpdateRule,
    schedule: HyperSchedule,
    constraints: tuple[Callable[[GAN], None], ...],
    bar: tqdm,
) -> EpochStats:
    """Algorithm 1 over one epoch: per minibatch the schedule, the update rule's step (D's k
    updates and G's g_updates, or the simultaneous step), then the constraints."""
    out = EpochStats(torch.zeros(4, device=data.device))
    for idx in period.batches(gan, data.device):
        out.hyper = schedule.apply(gan)
        g_was = gan.g_step
        stats = rule.step(gan, data[idx])
        out.sums += stats
        for constrain in constraints:
            constrain(gan)
        gan.step += 1
        out.steps += 1
        moved = gan.g_step - g_was  # G updates in this step
        if moved:
            out.g_moves.append(stats)
            out.g_after.append(gan.g_step)
        units = period.counts(moved)
        if units:
            bar.update(units)
        if period.over(gan, moved):
            break
    return out


def _means(gan: GAN, stats: EpochStats, names: tuple[str, ...], last: Path | None) -> list[float]:
    """The epoch's mean stats (the one host sync of the epoch); G's loss is averaged over the
    steps that moved G (all of them under k = 1), each step's loss that of its last G update
    (its only one unless g_updates > 1). Non-finite values stop the run."""
    means = (stats.sums / stats.steps).tolist()
    n_g = len(stats.g_moves)
    means[1] = (stats.sums[1] / n_g).item() if n_g else math.nan
    checked = means if n_g else means[:1] + means[2:]
    if not all(math.isfinite(v) for v in checked):
        raise TrainingDiverged(
            f"non-finite loss in epoch {gan.epoch + 1} ({', '.join(names)} = "
            f"{means}); the last good checkpoint (epoch {gan.epoch}) is kept"
            + (f" in {last}" if last else "")
        )
    return means


def _append_trace(gan: GAN, stats: EpochStats, names: tuple[str, ...]) -> None:
    """One row per step of the epoch that moved G (WGAN's loss curves are per G iteration):
    `g_step` is G's count after the step, so with g_updates > 1 the rows are g_updates apart
    and hold the loss of the step's last G update."""
    if not stats.g_moves:
        return
    for g_step, v in zip(stats.g_after, torch.stack(stats.g_moves).tolist(), strict=True):
        gan.trace.append({"g_step": g_step, **dict(zip(names, v, strict=True))})


@dataclass(frozen=True)
class Budget:
    """Wall-clock seconds for this call (None: unlimited); checked between epochs."""

    seconds: float | None
    t0: float

    def spent(self, now: float) -> bool:
        return self.seconds is not None and now - self.t0 > self.seconds


def _progress_bar(period: Period, epochs: int, done: int, desc: str, show: bool) -> tqdm:
    return tqdm(
        total=epochs * period.per_epoch,
        initial=min(done, epochs) * period.per_epoch,
        desc=desc,
        disable=not show,
        mininterval=2.0,
        unit=period.unit,
        dynamic_ncols=True,
    )


def _show(bar: tqdm, means: list[float]) -> None:
    d, g, real, fake = means
    bar.set_postfix(
        d=f"{d:.3f}", g=f"{g:.3f}", real=f"{real:.2f}", fake=f"{fake:.2f}", refresh=False
    )


def _no_metrics(gan: GAN) -> dict[str, Any]:
    return {}


# -- the loop ------------------------------------------------------------------------------------
def train(
    gan: GAN,
    data: torch.Tensor,
    objective: Objective,
    *,
    epochs: int,
    batch_size: int,
    schedule: HyperSchedule | None = None,
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
    """Train `gan` with `objective` on the rows of `data` (on the device) up to `epochs` epochs.

    `schedule` sets the optimisers' hyperparameters before every step (None: their own values).
    An epoch is one pass over `data`, or with `round_g_iters` a round of that many generator
    updates (a multiple of the objective's `g_updates`); `trace` records the losses of every
    step that moved G. `train_generator=False` trains D alone.
    `on_epoch_end` returns extra metrics for the history (e.g. a validation log-likelihood);
    `select=(metric, "max"|"min")` keeps `best.pt` with the weights of the best epoch.
    `time_budget_s` stops after the epoch that crosses it; the run resumes later from `last.pt`.
    `after_step(gan)` runs after every update, after the objective's own constraint: network
    constraints such as max column norm. `checkpoint_every_s` > 0 writes `last.pt` at most that
    often (and always when the run stops at its end or budget).
    """
    ckpt = Checkpoints(checkpoint_dir, fingerprint or {}, checkpoint_every_s)
    ckpt.resume(gan)
    gan.resumed_from_epoch = gan.epoch  # on record in provenance: epochs trained in earlier runs
    period = _period(data.shape[0], batch_size, round_g_iters, train_generator, objective.g_updates)
    rule = update_rule(objective, train_generator)
    constraints = tuple(c for c in (objective.constraint, after_step) if c is not None)
    hyper = schedule or KeepHyper()
    metrics = on_epoch_end or _no_metrics
    budget = Budget(time_budget_s, time.perf_counter())
    bar = _progress_bar(period, epochs, gan.epoch, desc, progress)
    ckpt.last_save = time.perf_counter()
    try:
        while gan.epoch < epochs and not budget.spent(time.perf_counter()):
            epoch_t0 = time.perf_counter()
            stats = _epoch(gan, data, period, rule, hyper, constraints, bar)
            means = _means(gan, stats, rule.names, ckpt.last)
            if trace:
                _append_trace(gan, stats, rule.names)
            gan.epoch += 1
            row = {"epoch": gan.epoch, "step": gan.step, "g_step": gan.g_step, **stats.hyper}
            row.update(dict(zip(rule.names, means, strict=True)))
            row["epoch_time_s"] = time.perf_counter() - epoch_t0
            row.update(metrics(gan))
            gan.history.append(row)
            _show(bar, means)
            if select is not None:
                keep_best(gan, row, select, checkpoint_dir)
            now = time.perf_counter()
            ckpt.save_if_due(gan, now, stopping=gan.epoch >= epochs or budget.spent(now))
    finally:
        bar.close()
    return gan
