"""What `python -m replication train NAME` does for every chapter before its own training."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from replication.config import ConfigError, ExperimentConfig
from replication.runs import determinism
from replication.runs.store import checkpoint_dir, run_name_for

C = TypeVar("C", bound=ExperimentConfig)


@dataclass(frozen=True)
class TrainRequest:
    """What `python -m replication train CHAPTER ...` asks of the chapter's `train_cli`."""

    profile: str = "auto"
    params: dict[str, Any] = field(default_factory=dict)
    results_dir: str | None = None
    run_name: str | None = None
    budget_minutes: float | None = None
    runs: list[str] | None = None


def train_setup(config_cls: type[C], req: TrainRequest) -> tuple[C, Path]:
    """The chapter's config, built as its notebook builds it (`--time-budget-minutes` becomes
    `time_budget_minutes`), and the run's checkpoint folder: the notebook run of the same name
    then finds what the command line trained."""
    determinism.apply()  # `--deterministic`: before the chapter builds anything
    params = dict(req.params)
    if req.budget_minutes is not None:
        params["time_budget_minutes"] = req.budget_minutes
    cfg = config_cls.for_profile(req.profile, **params)
    return cfg, checkpoint_dir(req.results_dir, cfg.CHAPTER, run_name_for(cfg, req.run_name))


def select_runs(chapter: str, known: list[str], runs: list[str] | None) -> list[str]:
    """The chapter's runs that `--runs` names (all when None), checked before any data loads."""
    if runs is None:
        return list(known)
    unknown = sorted(set(runs) - set(known))
    if unknown or not runs:
        raise ConfigError(f"--runs {runs} for {chapter}: unknown {unknown}; its runs are {known}")
    return [r for r in known if r in runs]


def add_chapter_arguments(p: argparse.ArgumentParser, names: list[str], what: str) -> None:
    """The arguments every chapter command shares: the chapter, its profile, `-p KEY VALUE`
    overrides (as Papermill's; `what` says what they apply to), the results folder and
    `--deterministic`."""
    p.add_argument("name", choices=names)
    p.add_argument("--profile", default="auto", help="quick, paper or auto (paper on a GPU)")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("KEY", "VALUE"),
        help=f"override one parameter{what} (repeatable), as papermill's -p",
    )
    p.add_argument("--results-dir", default=None)
    p.add_argument(
        "--deterministic",
        action="store_true",
        help="one thread, torch.use_deterministic_algorithms, CUBLAS_WORKSPACE_CONFIG=:4096:8: "
        "repeats a run made this way bit for bit (recorded in provenance.json)",
    )
