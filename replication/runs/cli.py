"""What `python -m replication train NAME` does for every chapter before its own training."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

from replication.config import ConfigError, ExperimentConfig
from replication.runs.store import checkpoint_dir, run_name_for

C = TypeVar("C", bound=ExperimentConfig)


def train_setup(
    config_cls: type[C],
    profile: str,
    params: dict[str, Any],
    results_dir: str | None,
    run_name: str | None,
    budget_minutes: float | None,
) -> tuple[C, Path]:
    """The chapter's config, built as its notebook builds it (`--time-budget-minutes` becomes
    `time_budget_minutes`), and the run's checkpoint folder: the notebook run of the same name
    then finds what the command line trained."""
    if budget_minutes is not None:
        params = {**params, "time_budget_minutes": budget_minutes}
    cfg = config_cls.for_profile(profile, **params)
    return cfg, checkpoint_dir(results_dir, cfg.CHAPTER, run_name_for(cfg, run_name))


def select_runs(chapter: str, known: list[str], runs: list[str] | None) -> list[str]:
    """The chapter's runs that `--runs` names (all when None), checked before any data loads."""
    if runs is None:
        return list(known)
    unknown = sorted(set(runs) - set(known))
    if unknown or not runs:
        raise ConfigError(f"--runs {runs} for {chapter}: unknown {unknown}; its runs are {known}")
    return [r for r in known if r in runs]
