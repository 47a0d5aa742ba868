"""Optimiser hyperparameters over time: pylearn2's SGD schedules, as the 2014 code trained.

The loop calls `apply` once before every update; a run without a schedule keeps the values its
optimisers were built with (`KeepHyper`), so the loop never asks whether there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from replication.training.optim import decayed_lr, linear_momentum, set_hyper
from replication.training.state import GAN


class HyperSchedule(Protocol):
    def apply(self, gan: GAN) -> dict[str, float]:
        """Set both optimisers' hyperparameters for the next update; return what was set."""
        ...


@dataclass(frozen=True)
class KeepHyper:
    """No schedule: the optimisers keep their own lr (WGAN's RMSprop, Adam)."""

    def apply(self, gan: GAN) -> dict[str, float]:
        return {}


@dataclass(frozen=True)
class Schedule:
    """SGD's lr decayed per update and momentum ramped per epoch (pylearn2 ExponentialDecay and
    MomentumAdjustor; see the chapter configs for the sources of the values)."""

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

    def apply(self, gan: GAN) -> dict[str, float]:
        """lr after `gan.step` updates, momentum of the epoch under way, on both optimisers:
        pylearn2 trained both nets with one SGD."""
        lr, momentum = self.lr_at(gan.step), self.momentum_at(gan.epoch + 1)
        set_hyper(gan.opt_g, lr=lr, momentum=momentum)
        set_hyper(gan.opt_d, lr=lr, momentum=momentum)
        return {"lr": lr, "momentum": momentum}


class Pylearn2SgdFields(Protocol):
    """The SGD fields the 2014 MNIST and TFD configs share (each with its own sources)."""

    lr: float
    lr_decay: float
    min_lr: float
    momentum_start: float
    momentum_final: float
    momentum_saturate_epoch: int


def pylearn2_schedule(cfg: Pylearn2SgdFields) -> Schedule:
    """The schedule those fields describe (momentum ramps from epoch 1, as MomentumAdjustor)."""
    return Schedule(
        lr=cfg.lr,
        lr_decay=cfg.lr_decay,
        min_lr=cfg.min_lr,
        momentum_start=cfg.momentum_start,
        momentum_final=cfg.momentum_final,
        momentum_saturate_epoch=cfg.momentum_saturate_epoch,
    )
