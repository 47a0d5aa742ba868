"""A GAN in training and its checkpoints: models, optimisers, counters, history, RNG states.

`last.pt` is written atomically (never half a file) and holds the RNG states too, so a killed run
restarts from it and reproduces the weights of one that was never stopped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from replication.runs.store import atomic_path


class CheckpointMismatch(RuntimeError):
    """A checkpoint exists for this run but was made with other settings."""


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
    """Restore `gan` and the RNG states from `path`; refuse one made with other settings."""
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


@dataclass
class Checkpoints:
    """Where and how often a run writes `last.pt`; no folder means a run without checkpoints."""

    folder: Path | None
    fingerprint: dict[str, Any]
    every_s: float = 0.0  # > 0: at most this often (a save can outlast an epoch), and at the end
    last_save: float = 0.0  # clock time of the last save (the loop owns the clock)

    @property
    def last(self) -> Path | None:
        return self.folder / "last.pt" if self.folder else None

    def resume(self, gan: GAN) -> None:
        """Load `last.pt` when there is one (the weights, counters and RNG states)."""
        if self.last is not None and self.last.exists():
            load_checkpoint(self.last, gan, self.fingerprint)

    def save_if_due(self, gan: GAN, now: float, stopping: bool) -> None:
        if self.last is not None and (stopping or now - self.last_save >= self.every_s):
            save_checkpoint(self.last, gan, self.fingerprint)
            self.last_save = now


def keep_best(gan: GAN, row: dict[str, Any], select: tuple[str, str], folder: Path | None) -> None:
    """Record the epoch of `row` as the best when its `select = (metric, "max"|"min")` beats the
    best so far, and write its generator to `best.pt` (an epoch without the metric is skipped)."""
    metric, mode = select
    value = row.get(metric)
    if value is None:
        return
    best = gan.best
    better = best is None or (value > best[metric] if mode == "max" else value < best[metric])
    if not better:
        return
    gan.best = {"epoch": gan.epoch, metric: value}
    if folder is not None:
        with atomic_path(folder / "best.pt") as tmp:
            torch.save(
                {"generator": gan.generator.state_dict(), "epoch": gan.epoch, metric: value}, tmp
            )
