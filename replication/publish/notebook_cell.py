"""What a chapter notebook calls in its first cell after the parameters.

Papermill only warns about a parameter the notebook does not declare and injects it anyway; here
every name defined by the parameters and injected cells is checked against the config, so a typo
stops the notebook at once with the list of allowed names.
"""

from __future__ import annotations

from typing import Any

from replication.config import ConfigError, ExperimentConfig
from replication.runs.store import RunStore

# Notebook parameters that are not config fields: where to write, and under which name.
RUN_PARAMETERS = ("profile", "results_dir", "run_name")


def parameters_from(namespace: dict[str, Any], before: set[str]) -> dict[str, Any]:
    """The names the parameters cell and Papermill's injected cell defined."""
    return {k: v for k, v in namespace.items() if k not in before and not k.startswith("_")}


def start(
    cls: type[ExperimentConfig], namespace: dict[str, Any], before: set[str]
) -> tuple[ExperimentConfig, RunStore]:
    params = parameters_from(namespace, before)
    allowed = set(cls.field_names()) | set(RUN_PARAMETERS)
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(
            f"unknown parameter(s) {unknown} for the {cls.CHAPTER} notebook; "
            f"allowed: {sorted(allowed)}"
        )
    overrides = {k: v for k, v in params.items() if k not in RUN_PARAMETERS}
    cfg = cls.for_profile(params.get("profile") or "auto", **overrides)
    store = RunStore(cfg, results_dir=params.get("results_dir"), run_name=params.get("run_name"))
    return cfg, store
